// Command suite is every steadfast filter in one Wasm module: give each
// filter entry the same vm_id and one VM per Envoy worker serves them all;
// the root_id picks the filter.
package main

import (
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/plugins"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

func main() {}

func init() {
	plugins.Register(faults.RootID, faults.NewPluginContext)
	plugins.Register(webhookauth.RootID, webhookauth.NewPluginContext)
}
