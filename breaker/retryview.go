package breaker

import "time"

// What another stage (the retry filter) reads of the breaker: the
// shared-data key of a circuit, whether its snapshot holds calls back, and
// how the breaker reads an answer that is not the upstream's own. The
// state key's format and the snapshot's encoding are stable: a retry
// filter of one version reads a breaker of another.

// StateKey is the shared-data key of the snapshot of circuit key.
func StateKey(key string) string { return stateKeyPrefix + key }

// Holds reports whether the circuit lets no ordinary call through at now:
// open and its open time not over, or half-open, where only probes pass.
func (s Snapshot) Holds(now time.Time) bool {
	switch s.State {
	case Open:
		return now.Before(s.OpenUntil)
	case HalfOpen:
		return true
	}
	return false
}

// UpstreamFailure reads Envoy's response.code_details and response.flags:
// notReached when the upstream was never reached (connection failure, no
// healthy host), reset when it reset the stream or timed out.
func UpstreamFailure(details string, flags []byte) (notReached, reset bool) {
	return upstreamFailure(details, flags)
}

// ParseGRPCStatus reads a grpc-status value, 0 to 63.
func ParseGRPCStatus(v string) (int, bool) { return parseGRPCStatus(v) }
