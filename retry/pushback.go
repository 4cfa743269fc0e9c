package retry

import (
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/breaker"
)

// Pushback is what a server asked for about retrying.
type Pushback struct {
	// Wait is how long to wait before the retry; 0 with Stop unset: no
	// pushback, the backoff applies.
	Wait time.Duration
	// Stop: the server asked not to retry (a negative or malformed
	// pushback header).
	Stop bool
}

// PushbackHeaders are the response headers a pushback is read from, ""
// when absent.
type PushbackHeaders struct {
	RetryAfter, RateLimitReset, XRateLimitReset, GRPCRetryPushbackMs string
}

// Names of the pushback headers, in the order they are honoured.
const (
	HeaderRetryAfter          = "retry-after"
	HeaderRateLimitReset      = "ratelimit-reset"
	HeaderXRateLimitReset     = "x-ratelimit-reset"
	HeaderGRPCRetryPushbackMs = "grpc-retry-pushback-ms"
)

// ReadPushback reads the first pushback header present, in the order
// grpc-retry-pushback-ms, Retry-After, RateLimit-Reset, X-RateLimit-Reset.
// A value that is present but unusable (negative, malformed, in the past,
// or longer than breaker.MaxPushback) stops the retry: the server said
// something about retrying that the filter cannot honour.
func ReadPushback(h PushbackHeaders, now time.Time) Pushback {
	var (
		d  time.Duration
		ok bool
	)
	switch {
	case h.GRPCRetryPushbackMs != "":
		d, ok = GRPCRetryPushback(h.GRPCRetryPushbackMs)
	case h.RetryAfter != "":
		d, ok = breaker.RetryAfter(h.RetryAfter, now)
	case h.RateLimitReset != "":
		d, ok = breaker.RateLimitReset(h.RateLimitReset)
	case h.XRateLimitReset != "":
		d, ok = XRateLimitReset(h.XRateLimitReset, now)
	default:
		return Pushback{}
	}
	if !ok {
		return Pushback{Stop: true}
	}
	return Pushback{Wait: d}
}

// GRPCRetryPushback reads grpc-retry-pushback-ms (gRPC A6): a
// non-negative decimal number of milliseconds. A negative or malformed
// value, or one longer than breaker.MaxPushback, is not usable: gRPC
// clients do not retry then.
func GRPCRetryPushback(v string) (time.Duration, bool) {
	n, ok := decimal(strings.TrimSpace(v), int64(breaker.MaxPushback/time.Millisecond))
	return time.Duration(n) * time.Millisecond, ok
}

// epochThreshold tells an X-RateLimit-Reset in Unix seconds (GitHub's,
// past 2001) from one in seconds to wait.
const epochThreshold = 1_000_000_000

// XRateLimitReset reads X-RateLimit-Reset: a Unix time in seconds (as
// GitHub sends it) or, for small values, seconds to wait. It reports false
// for a malformed value, a time in the past, or a wait longer than
// breaker.MaxPushback.
func XRateLimitReset(v string, now time.Time) (time.Duration, bool) {
	n, ok := decimal(strings.TrimSpace(v), 1<<40)
	if !ok {
		return 0, false
	}
	d := time.Duration(n) * time.Second
	if n >= epochThreshold {
		d = time.Unix(n, 0).Sub(now)
	}
	if d <= 0 || d > breaker.MaxPushback {
		return 0, false
	}
	return d, true
}

// decimal parses 1*DIGIT (no sign, no spaces) up to limit.
func decimal(s string, limit int64) (int64, bool) {
	if s == "" || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil || n > uint64(limit) {
		return 0, false
	}
	return int64(n), true
}
