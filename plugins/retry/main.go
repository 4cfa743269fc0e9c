// Command retry is the retry filter as a Wasm module (root_id "retry").
package main

import (
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/retry"
)

func main() {}

func init() { pipeline.Register(retry.Filter) }
