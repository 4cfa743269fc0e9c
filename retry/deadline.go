package retry

import (
	"strings"
	"time"
)

// Request headers that carry a deadline.
const (
	HeaderGRPCTimeout       = "grpc-timeout"
	HeaderExpectedRqTimeout = "x-envoy-expected-rq-timeout-ms"
)

// GRPCTimeout reads grpc-timeout: 1 to 8 digits and a unit, H, M, S, m
// (milliseconds), u or n. It reports false for anything else.
func GRPCTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, ok := decimal(v[:len(v)-1], 99999999)
	if !ok {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	if n > int64(MaxDuration/unit) {
		return MaxDuration, true
	}
	return time.Duration(n) * unit, true
}

// ExpectedRqTimeout reads x-envoy-expected-rq-timeout-ms, a decimal number
// of milliseconds more than 0.
func ExpectedRqTimeout(v string) (time.Duration, bool) {
	n, ok := decimal(strings.TrimSpace(v), int64(MaxDuration/time.Millisecond))
	return time.Duration(n) * time.Millisecond, ok && n > 0
}

// DeadlineOf is when the request must be answered, from its arrival at
// start: the configured deadline and, when deadline_from_request is on,
// grpc-timeout and x-envoy-expected-rq-timeout-ms (values "" when
// absent); the shortest wins. The zero time: no deadline. A malformed
// header is ignored.
func (c *Config) DeadlineOf(start time.Time, grpcTimeout, expected string) time.Time {
	d := c.p.deadline
	if c.p.fromRequest {
		if v, ok := GRPCTimeout(grpcTimeout); ok && (d == 0 || v < d) {
			d = v
		}
		if v, ok := ExpectedRqTimeout(expected); ok && (d == 0 || v < d) {
			d = v
		}
	}
	if d == 0 {
		return time.Time{}
	}
	return start.Add(d)
}

// ReadsRequestDeadline reports whether Deadline reads the request headers.
func (c *Config) ReadsRequestDeadline() bool { return c.p.fromRequest }

// Admit decides whether a retry waiting wait from now can still finish by
// deadline (zero: none), and returns its timeout. With per_try_timeout,
// the whole try must fit after the wait; without, the try gets what is
// left after the wait, at least MinTryTime. No try's timeout passes the
// deadline.
func (c *Config) Admit(now, deadline time.Time, wait time.Duration) (timeout time.Duration, ok bool) {
	perTry := c.p.perTry
	if deadline.IsZero() {
		if perTry > 0 {
			return perTry, true
		}
		return DefaultTryTimeout, true
	}
	left := deadline.Sub(now) - wait
	if perTry > 0 {
		return perTry, left >= perTry
	}
	return left, left >= MinTryTime
}

// FirstTryTimeout is the timeout of the first attempt, through the router:
// per_try_timeout cut to the deadline; 0 when neither is set (the route's
// own timeout applies).
func (c *Config) FirstTryTimeout(now, deadline time.Time) time.Duration {
	t := c.p.perTry
	if !deadline.IsZero() {
		if left := deadline.Sub(now); t == 0 || left < t {
			t = max(left, time.Millisecond)
		}
	}
	return t
}

// PerTry is per_try_timeout, 0 when there is none.
func (c *Config) PerTry() time.Duration { return c.p.perTry }
