// Package retry is the retry filter: it retries an upstream's failed
// answer with jittered exponential backoff, within a budget shared by all
// workers, for idempotent requests only, and never past the request's
// deadline or into a circuit the breaker holds open.
//
// The first attempt goes through Envoy's router; a retryable answer is held
// at its response headers (a gRPC answer until its trailers), the backoff
// waits on the pipeline's timers, and each retry is an HTTP callout to the
// route's cluster with the original headers and a bounded copy of the body.
// The last answer replaces the held one.
//
// The decisions (classification, backoff and jitter, pushback, admission
// against the deadline, the budget) are plain functions of their inputs,
// with the clock and the random source passed in; stage.go plugs them into
// the pipeline.
package retry
