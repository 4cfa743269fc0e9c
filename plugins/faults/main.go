// Command faults is the faults filter as a Wasm module (root_id "faults").
package main

import (
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func main() {}

func init() { pipeline.Register(faults.Filter) }
