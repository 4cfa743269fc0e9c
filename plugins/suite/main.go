// Command suite is every steadfast filter in one Wasm module: root_id
// "suite" runs them all as one chain in one pass, configured by sections
// ({"webhookauth": {...}, "faults": {...}}), and each filter's own root_id
// runs it alone. Give every filter entry of the module the same vm_id and
// one VM per Envoy worker serves them all.
package main

import (
	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/retry"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

func main() {}

func init() { pipeline.RegisterSuite(webhookauth.Filter, faults.Filter, breaker.Filter, retry.Filter) }
