// Package webhookauth verifies webhook deliveries before they reach the
// application: a forged, tampered, stale, ambiguous or replayed delivery
// is refused.
//
// It knows the signing schemes of Stripe, GitHub, Slack, Shopify, Standard
// Webhooks (Svix) and Twilio, and a generic HMAC scheme for everyone else.
// Everything here is pure: a Verifier reads the request's headers
// (Config.Begin), takes its body in the pieces it arrives in (Write) and
// decides at a given time (Finish), so the stage (stage.go, a stage of the
// request pipeline) never keeps a whole body in the VM unless the scheme
// needs it in one piece; Verify does the same for a whole delivery at once.
// The replay cache is a function from one encoded shard to the next, so the
// stage can keep it in shared data where every worker sees it. With
// replay.store "etcd" the replicas share one etcd instead: the requests
// and answers of etcd's JSON gateway and the lease buckets are pure too
// (etcdapi.go); the stage sends them through an Envoy cluster
// (etcdstore.go).
//
// Only the standard library's crypto is used, so the package builds for
// wasip1. Every comparison of a signature is constant-time, every header is
// parsed as hostile input, and secrets never appear in an error, a String
// or a formatted value.
package webhookauth
