package retry

import (
	"slices"
	"time"
)

// Answer is what the filter learned about one attempt.
type Answer struct {
	// Status is the HTTP status; 0 when there was none.
	Status int
	// GRPCStatus, from headers or trailers, when HasGRPCStatus.
	GRPCStatus    int
	HasGRPCStatus bool
	// NotReached: the request never reached the upstream (connection
	// refused or failed before it was sent).
	NotReached bool
	// Reset: the upstream reset the stream or the try timed out.
	Reset bool
	// RetryHeader and NoRetryHeader: the answer carries
	// retry_on.response_header, retry_on.no_retry_header.
	RetryHeader, NoRetryHeader bool
	// Pushback holds the answer's pushback headers.
	Pushback PushbackHeaders
}

// Request is what the filter knows of the request being retried.
type Request struct {
	Method string
	// HasKey: the request carries the idempotency key header.
	HasKey bool
	// BodyTooLarge: the body passed body_limit and was not kept.
	BodyTooLarge bool
}

// Reason says why an answer was not retried; ReasonNone when it was.
type Reason uint8

// Reasons, each a label of steadfast_retry_skipped_total except
// ReasonNone and ReasonNotRetryable.
const (
	ReasonNone Reason = iota
	// ReasonNotRetryable: the answer is a success or a failure the
	// policy does not retry.
	ReasonNotRetryable
	// ReasonForbidden: the answer carries retry_on.no_retry_header.
	ReasonForbidden
	// ReasonMethod: the request is not idempotent and reached the upstream.
	ReasonMethod
	// ReasonBodySize: the body was larger than body_limit.
	ReasonBodySize
	// ReasonExhausted: max_attempts were made.
	ReasonExhausted
	// ReasonPushback: the server's pushback is unusable or says not to.
	ReasonPushback
	// ReasonDeadline: the retry could not finish before the deadline.
	ReasonDeadline
	// ReasonBreakerOpen: the breaker holds the key's circuit open.
	ReasonBreakerOpen
	// ReasonBudget: the key's budget is spent.
	ReasonBudget
)

var reasonNames = [...]string{"none", "not_retryable", "forbidden", "method", "body_size", "exhausted",
	"pushback", "deadline", "breaker_open", "budget"}

// String returns the reason's name, as metrics label it.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Retryable reports whether the answer is one the policy retries, before
// the request, attempts, deadline and budget are considered.
func (c *Config) Retryable(a Answer) bool {
	p := &c.p
	switch {
	case a.NotReached || a.Reset:
		return p.connFailures
	case a.HasGRPCStatus && a.GRPCStatus >= 0 && a.GRPCStatus < 64 && p.grpc&(1<<a.GRPCStatus) != 0:
		return true
	case a.HasGRPCStatus && a.Status == 200:
		return false
	case p.statuses.has(a.Status), a.RetryHeader:
		return true
	}
	return false
}

// Idempotent reports whether the request may be sent again after it
// reached the upstream: its method is listed, or it carries the
// idempotency key.
func (c *Config) Idempotent(r Request) bool {
	return r.HasKey || slices.Contains(c.p.methods, r.Method)
}

// Decision is Decide's answer.
type Decision struct {
	// Reason is ReasonNone when the retry is to be made.
	Reason Reason
	// Wait before the retry, and the retry's Timeout.
	Wait    time.Duration
	Timeout time.Duration
	// Pushback: Wait is the server's, not the backoff's.
	Pushback bool
}

// Retry reports whether the decision is to retry.
func (d Decision) Retry() bool { return d.Reason == ReasonNone }

// Decide says whether to retry after attempt number attempts (1 for the
// first) got answer a, and how: prev is the previous wait (0 before the
// first retry), u a uniform random value in [0, 1), deadline the
// request's (zero: none). The breaker and the budget are the stage's to
// check after a yes.
func (c *Config) Decide(r Request, a Answer, attempts int, prev time.Duration, now, deadline time.Time, u float64) Decision {
	p := &c.p
	switch {
	case !c.Retryable(a):
		return Decision{Reason: ReasonNotRetryable}
	case a.NoRetryHeader:
		return Decision{Reason: ReasonForbidden}
	case !a.NotReached && !c.Idempotent(r):
		return Decision{Reason: ReasonMethod}
	case r.BodyTooLarge:
		return Decision{Reason: ReasonBodySize}
	case attempts >= p.maxAttempts:
		return Decision{Reason: ReasonExhausted}
	}
	d := Decision{Wait: p.backoff.Wait(attempts, prev, u)}
	if p.pushback {
		pb := ReadPushback(a.Pushback, now)
		if pb.Stop {
			return Decision{Reason: ReasonPushback}
		}
		if pb.Wait > 0 {
			d.Wait, d.Pushback = min(pb.Wait, p.pushbackMax), true
		}
	}
	timeout, ok := c.Admit(now, deadline, d.Wait)
	if !ok {
		return Decision{Reason: ReasonDeadline}
	}
	d.Timeout = timeout
	return d
}

// Names of headers the stage reads by configuration ("" when off).

// KeyHeader is the request header that makes any method
// retryable.
func (c *Config) KeyHeader() string { return c.p.keyHeader }

// RetryHeader and NoRetryHeader are retry_on's response headers.
func (c *Config) RetryHeader() string   { return c.p.retryHeader }
func (c *Config) NoRetryHeader() string { return c.p.noRetryHeader }

// AttemptHeaderName names the request header carrying the attempt number.
func (c *Config) AttemptHeaderName() string { return c.p.attemptHeader }

// RetriesHeaderName names the response header carrying the retries made.
func (c *Config) RetriesHeaderName() string { return c.p.retriesHeader }

// ReadsPushback reports whether pushback headers are read.
func (c *Config) ReadsPushback() bool { return c.p.pushback }

// BudgetKeyKind and CircuitKey are the kinds of the budget's key and of
// the breaker's circuit key, for the stage.
func (c *Config) BudgetKeyKind() (kind, header string) {
	return c.p.budgetKey.kind, c.p.budgetKey.header
}
func (c *Config) CircuitKey() (kind, header string) {
	return c.p.breakerKey.kind, c.p.breakerKey.header
}
