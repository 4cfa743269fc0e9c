// Package pipeline is the plumbing every steadfast filter stands on: one
// proxy-wasm HTTP filter that runs the filters as stages of a chain, in a
// fixed order (webhookauth, faults, breaker, retry), inside one set of
// callbacks per stream.
//
// A stage sees a stream through a *Stream: a view of the request read from
// the proxy lazily and at most once (route and cluster names, headers),
// header edits, deadlines (Stream.After) and HTTP callouts
// (Stream.Dispatch). It never calls the proxy to resume, pause or answer a
// stream: each of its handler's events returns a Verdict (Continue, Hold,
// Respond, Fail), and the chain alone turns verdicts into host calls. The
// chain guarantees that every stream is resumed or answered whatever a
// stage does: a Hold with nothing pending to release it, a panic or a Fail
// ends in the stage's failure policy (answer, or let the stream pass
// without the stage), never in a stream left paused.
//
// Around the chain: root_id dispatch (each filter under its own root_id, a
// chain of one, and every filter under "suite", configured by sections),
// strict JSON configuration whose errors name the JSON path, per-route
// rules that match by route name or by host, path, method and cluster,
// timers that multiplex the plugin's one tick timer over many deadlines,
// bounded compare-and-swap helpers and expiring leases over proxy-wasm
// shared data, and metrics labelled through their stat names.
//
// Only this package calls the proxy-wasm SDK; the filters' packages hold
// their decision logic and their stage.
package pipeline
