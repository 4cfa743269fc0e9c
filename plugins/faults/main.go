// Command faults is the faults filter as a Wasm module (root_id "faults").
package main

import (
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/plugins"
)

func main() {}

func init() { plugins.Register(faults.RootID, faults.NewPluginContext) }
