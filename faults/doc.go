// Package faults is the decision logic of the steadfast faults filter: it
// injects aborts and delays into a share of the requests that match a
// selector, for chaos experiments and game days.
//
// A Config is parsed once per plugin (Parse, with per-route overrides) and
// prepared by Validate: regular expressions are compiled, CIDRs parsed and
// delay distributions set up, so that Decide does no parsing and, when it
// injects nothing, no allocation. Decide takes the request through a small
// lazy interface, the time and a random source, and returns a Plan: what to
// inject on the request path (abort, delay) and on the response path
// (replace the answer, hold its headers). The stage (stage.go) carries the
// plan out as a stage of the request pipeline: it takes a lease of the
// active faults in shared data, holds the request or response for a delay
// (Stream.After and a Hold verdict), answers an abort (a Respond verdict),
// counts, and strips headers; the pipeline makes the host calls.
//
// Faults are sampled per kind, either from the random source or, with
// "sampling": "request_id", from a hash of the x-request-id header, so a
// request keeps the same fate on every hop and every retry.
//
// With header_control enabled, a request carrying the secret token (read
// from an environment variable named in the config) may ask for its own
// faults through the x-steadfast-fault-* headers; those replace the
// configured request faults for that request only, and are still subject to
// the match selector and the active windows. Without the token the headers
// are ignored. Whenever any configuration enables header control, the stage
// strips the control headers and every configured token header from every
// request it sees, on every route (StrippedHeaders).
package faults
