package breaker

import "time"

// Outcome is what a call's response says about its upstream.
type Outcome uint8

// Outcomes. A call that failed counts as a Failure however long it took:
// the slow-call rate is the share of calls that succeeded slowly.
const (
	// Ignored says nothing about the upstream: another filter answered, or
	// the stream ended before a response (the client went away).
	Ignored Outcome = iota
	// Success is an answer that is no failure, in time.
	Success
	// Failure is a failure status, gRPC status or header, or an upstream
	// that was never reached or was reset.
	Failure
	// Slow is a success that took at least slow_call.threshold.
	Slow
)

var outcomeNames = [...]string{"ignored", "success", "failure", "slow"}

// String returns the outcome's name, as metrics label it.
func (o Outcome) String() string {
	return nameOf(outcomeNames[:], o)
}

// nameOf is names[v], or "unknown" past its end.
func nameOf[T ~uint8](names []string, v T) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "unknown"
}

// Response is what the stage learned about a call, at response headers
// (or trailers, for gRPC) or when the stream ended.
type Response struct {
	// Status is the HTTP status; 0 when there was none.
	Status int
	// GRPCStatus is the grpc-status, from headers or trailers, when
	// HasGRPCStatus.
	GRPCStatus    int
	HasGRPCStatus bool
	// NotReached: the upstream was never reached (connection failure,
	// from response.flags / response.code_details).
	NotReached bool
	// Reset: the upstream reset the stream.
	Reset bool
	// LocalReply: another filter answered; nothing about the upstream.
	LocalReply bool
	// Header is the value of the failure.response_header header
	// (Config.FailureHeader), when HasHeader.
	Header    string
	HasHeader bool
	// Elapsed is the time from the request to the response headers.
	Elapsed time.Duration
	// RetryAfter and RateLimitReset are those response headers' values,
	// read only when Config.WantsPushback says so; "" when absent.
	RetryAfter     string
	RateLimitReset string
}

// Result is a classified call: its Outcome and, for a Failure, how long
// the upstream asked to be left alone (0: no pushback).
type Result struct {
	Outcome  Outcome
	Pushback time.Duration
}

// Classify turns what the stage learned about a call into a Result. A
// server-guided status with a usable Retry-After (or, failing that,
// RateLimit-Reset) is a Failure carrying the pushback, capped at
// server_guided.max.
func (c *Config) Classify(r Response, now time.Time) Result {
	p := &c.p
	switch {
	case r.LocalReply:
		return Result{Outcome: Ignored}
	case r.NotReached || r.Reset:
		if p.connFailures {
			return Result{Outcome: Failure}
		}
		return Result{Outcome: Ignored}
	}
	if c.WantsPushback(r.Status) {
		d, ok := RetryAfter(r.RetryAfter, now)
		if !ok {
			d, ok = RateLimitReset(r.RateLimitReset)
		}
		if ok {
			return Result{Outcome: Failure, Pushback: min(d, p.guidedMax)}
		}
	}
	switch {
	case p.failStatus.has(r.Status),
		r.HasGRPCStatus && r.GRPCStatus >= 0 && r.GRPCStatus < 32 && p.failGRPC&(1<<r.GRPCStatus) != 0,
		p.header != "" && r.HasHeader && c.headerFails(r.Header):
		return Result{Outcome: Failure}
	case r.Status == 0 && !r.HasGRPCStatus:
		return Result{Outcome: Ignored}
	case p.slow > 0 && r.Elapsed >= p.slow:
		return Result{Outcome: Slow}
	}
	return Result{Outcome: Success}
}

func (c *Config) headerFails(v string) bool {
	switch {
	case c.p.headerExact != nil:
		return v == *c.p.headerExact
	case c.p.headerRegex != nil:
		return c.p.headerRegex.MatchString(v)
	}
	return true // present
}

// WantsPushback reports whether a response with this status would be
// honoured for its Retry-After or RateLimit-Reset headers, so that the
// stage reads them only then.
func (c *Config) WantsPushback(status int) bool {
	return c.p.guided && c.p.guidedStatus.has(status)
}
