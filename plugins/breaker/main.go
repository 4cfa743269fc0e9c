// Command breaker is the breaker filter as a Wasm module (root_id "breaker").
package main

import (
	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func main() {}

func init() { pipeline.Register(breaker.Filter) }
