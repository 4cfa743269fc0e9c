package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDecide(t *testing.T) {
	c := parsed(t, `{"backoff": {"base": "100ms", "max": "1s", "jitter": "none"}, "pushback": {"max": "2s"}, "per_try_timeout": "500ms"}`)
	get := Request{Method: "GET"}
	unavailable := Answer{Status: 503}
	tests := []struct {
		name     string
		req      Request
		answer   Answer
		attempts int
		deadline time.Time
		want     Decision
	}{
		{"a success", get, Answer{Status: 200}, 1, time.Time{}, Decision{Reason: ReasonNotRetryable}},
		{"a 503 of a GET", get, unavailable, 1, time.Time{}, Decision{Wait: 100 * ms, Timeout: 500 * ms}},
		{"the second retry waits longer", get, unavailable, 2, time.Time{}, Decision{Wait: 200 * ms, Timeout: 500 * ms}},
		{"attempts exhausted", get, unavailable, 3, time.Time{}, Decision{Reason: ReasonExhausted}},
		{"a POST without a key", Request{Method: "POST"}, unavailable, 1, time.Time{}, Decision{Reason: ReasonMethod}},
		{"a POST with a key", Request{Method: "POST", HasKey: true}, unavailable, 1, time.Time{}, Decision{Wait: 100 * ms, Timeout: 500 * ms}},
		{"a POST that never reached the upstream", Request{Method: "POST"}, Answer{Status: 503, NotReached: true}, 1, time.Time{}, Decision{Wait: 100 * ms, Timeout: 500 * ms}},
		{"a POST reset by the upstream", Request{Method: "POST"}, Answer{Status: 503, Reset: true}, 1, time.Time{}, Decision{Reason: ReasonMethod}},
		{"a body too large", Request{Method: "PUT", BodyTooLarge: true}, unavailable, 1, time.Time{}, Decision{Reason: ReasonBodySize}},
		{"forbidden by the answer", get, Answer{Status: 503, NoRetryHeader: true}, 1, time.Time{}, Decision{Reason: ReasonForbidden}},
		{"retry-after", get, Answer{Status: 503, Pushback: PushbackHeaders{RetryAfter: "1"}}, 1, time.Time{}, Decision{Wait: time.Second, Timeout: 500 * ms, Pushback: true}},
		{"retry-after capped", get, Answer{Status: 503, Pushback: PushbackHeaders{RetryAfter: "60"}}, 1, time.Time{}, Decision{Wait: 2 * time.Second, Timeout: 500 * ms, Pushback: true}},
		{"a negative grpc pushback", get, Answer{Status: 200, GRPCStatus: 14, HasGRPCStatus: true, Pushback: PushbackHeaders{GRPCRetryPushbackMs: "-1"}}, 1, time.Time{}, Decision{Reason: ReasonPushback}},
		{"the deadline leaves room", get, unavailable, 1, now.Add(600 * ms), Decision{Wait: 100 * ms, Timeout: 500 * ms}},
		{"the deadline does not", get, unavailable, 1, now.Add(599 * ms), Decision{Reason: ReasonDeadline}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.Decide(tt.req, tt.answer, tt.attempts, 0, now, tt.deadline, 0.5))
		})
	}
}

func TestPushbackOffUsesTheBackoff(t *testing.T) {
	c := parsed(t, `{"backoff": {"base": "100ms", "jitter": "none"}, "pushback": {"enabled": false}}`)
	d := c.Decide(Request{Method: "GET"}, Answer{Status: 503, Pushback: PushbackHeaders{RetryAfter: "garbage"}}, 1, 0, now, time.Time{}, 0)
	assert.Equal(t, Decision{Wait: 100 * ms, Timeout: DefaultTryTimeout}, d)
}

func TestReasonNames(t *testing.T) {
	assert.Equal(t, "breaker_open", ReasonBreakerOpen.String())
	assert.Equal(t, "body_size", ReasonBodySize.String())
	assert.Equal(t, "unknown", Reason(200).String())
}
