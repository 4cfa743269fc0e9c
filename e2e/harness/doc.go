// Package harness runs a real Envoy in tests: it renders an Envoy bootstrap
// from a small Go model (listeners, routes, clusters, Wasm and native HTTP
// filters), starts Envoy on loopback ports chosen by the kernel, waits until
// it is ready, and stops and reaps it when the test ends. Go upstreams stand
// in for applications and record what reached them.
//
// Everything is bound to 127.0.0.1. A test that needs Envoy fails, never
// skips, when Envoy or a Wasm module is missing: a skipped end-to-end test
// looks like a passing one.
//
// When a test fails, the harness prints the end of Envoy's log, its
// /config_dump and its non-zero stats, which is usually enough to see why a
// request hung or a filter did not load.
package harness
