// Package plugins is the plumbing every steadfast filter shares: one VM
// context that hosts several filters and dispatches by root_id, strict JSON
// configuration with per-route overrides, a scheduler that multiplexes the
// plugin's single tick timer over many streams' deadlines, bounded
// compare-and-swap helpers over proxy-wasm shared data, and labelled metrics.
//
// The decision logic of each filter lives in its own package and never calls
// proxywasm; only the filters' filter.go files and this package do.
package plugins
