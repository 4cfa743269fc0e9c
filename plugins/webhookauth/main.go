// Command webhookauth is the webhookauth filter as a Wasm module (root_id
// "webhookauth").
package main

import (
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

func main() {}

func init() { pipeline.Register(webhookauth.Filter) }
