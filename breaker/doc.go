// Package breaker is the decision logic of the steadfast breaker filter:
// it opens a circuit per key (upstream cluster, route, or a request
// header's value such as a tenant) on outlier signals, fails fast while it
// is open, and probes the upstream in half-open before closing again.
//
// Every Envoy worker runs its own VM, yet a key has one circuit for all of
// them, kept in proxy-wasm shared data. So the logic is pure functions
// over a small value, the Snapshot, that the stage applies inside a
// bounded compare-and-swap loop (pipeline.Update): read the bytes, Decode,
// decide, Encode, write. The functions never read the clock, draw random
// numbers, sleep or call the host: the stage passes now and a random value
// in [0, 1], and a decision may be recomputed on a fresh read as often as
// the loop needs. A Snapshot is a few dozen bytes, plus the window of
// recent outcomes when a rate is configured (at most about 400), because
// every compare-and-swap copies it whole in and out of the host. A value
// that does not decode reads as a fresh Closed circuit: the breaker fails
// open, never closed.
//
// A call goes through two steps, as in sony/gobreaker's two-step breaker.
// On request headers Config.Allow returns the next snapshot, a Ticket and
// a Decision (allow, allow as a probe, reject with the time left, or, in
// dry_run, would reject); on response headers or stream end the stage
// classifies what happened (Config.Classify: Success, Failure, Slow or
// Ignored, with the server's pushback) and Config.Done records it with the
// ticket. Every change of state increments the snapshot's generation, and
// Done ignores tickets of another generation, so an outcome that arrives
// after the circuit moved on (a slow call from before it opened, a probe
// from an earlier half-open) changes nothing. Open turns HalfOpen lazily,
// on the first Allow or Done after its time is up; a half-open that lasts
// half_open.max_wait re-opens, which also frees the slots of probes whose
// streams vanished without a Done.
//
// A Closed circuit opens on consecutive failures, or on the failure rate
// or slow-call rate over a count or time window once minimum_calls are in
// it, on exactly the call that crosses the threshold; or, with
// server_guided, for as long as a 429 or 503 asks through Retry-After or
// RateLimit-Reset. Each consecutive trip multiplies the open time. Shadow
// policies are evaluated on the same counts and only report when they
// would have opened. A Transition carries the reason with its figures for
// the stage's info log line.
package breaker
