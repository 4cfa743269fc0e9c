package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// t0 is the clock's start in every test.
var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	defaults := `{}`
	tuned := `{"slow_call": {"threshold": "1s"}, "failure": {"connection_failures": false, "response_header": {"name": "x-overloaded", "exact": "yes"}},
		"server_guided": {"enabled": true, "max": "1m"}}`
	tests := []struct {
		name   string
		config string
		given  Response
		want   Result
	}{
		{"200 is a success", defaults, Response{Status: 200}, Result{Outcome: Success}},
		{"404 is a success by default", defaults, Response{Status: 404}, Result{Outcome: Success}},
		{"503 from the upstream", defaults, Response{Status: 503}, Result{Outcome: Failure}},
		{"never reached", defaults, Response{Status: 503, NotReached: true}, Result{Outcome: Failure}},
		{"reset", defaults, Response{Reset: true}, Result{Outcome: Failure}},
		{"another filter's local reply", defaults, Response{Status: 503, LocalReply: true}, Result{Outcome: Ignored}},
		{"stream ended without a response", defaults, Response{}, Result{Outcome: Ignored}},
		{"gRPC UNAVAILABLE in a 200", defaults, Response{Status: 200, GRPCStatus: 14, HasGRPCStatus: true}, Result{Outcome: Failure}},
		{"gRPC NOT_FOUND", defaults, Response{Status: 200, GRPCStatus: 5, HasGRPCStatus: true}, Result{Outcome: Success}},
		{"gRPC status out of range", defaults, Response{Status: 200, GRPCStatus: 99, HasGRPCStatus: true}, Result{Outcome: Success}},
		{"slow calls are off by default", defaults, Response{Status: 200, Elapsed: time.Hour}, Result{Outcome: Success}},
		{"slow success", tuned, Response{Status: 200, Elapsed: time.Second}, Result{Outcome: Slow}},
		{"slow failure is a failure", tuned, Response{Status: 500, Elapsed: time.Second}, Result{Outcome: Failure}},
		{"connection failures ignored", tuned, Response{Status: 503, NotReached: true}, Result{Outcome: Ignored}},
		{"failure header", tuned, Response{Status: 200, Header: "yes", HasHeader: true}, Result{Outcome: Failure}},
		{"failure header other value", tuned, Response{Status: 200, Header: "no", HasHeader: true}, Result{Outcome: Success}},
		{"429 with Retry-After: 2", tuned, Response{Status: 429, RetryAfter: "2"}, Result{Outcome: Failure, Pushback: 2 * time.Second}},
		{"503 with an HTTP-date", tuned, Response{Status: 503, RetryAfter: "Mon, 02 Mar 2026 12:00:30 GMT"}, Result{Outcome: Failure, Pushback: 30 * time.Second}},
		{"RateLimit-Reset when Retry-After is unusable", tuned, Response{Status: 429, RetryAfter: "soon", RateLimitReset: "7"}, Result{Outcome: Failure, Pushback: 7 * time.Second}},
		{"pushback capped at max", tuned, Response{Status: 429, RetryAfter: "3600"}, Result{Outcome: Failure, Pushback: time.Minute}},
		{"429 without pushback is no failure", tuned, Response{Status: 429}, Result{Outcome: Success}},
		{"pushback on another status is not read", tuned, Response{Status: 500, RetryAfter: "2"}, Result{Outcome: Failure}},
		{"pushback needs server_guided", defaults, Response{Status: 429, RetryAfter: "2"}, Result{Outcome: Success}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parse(t, tt.config).Classify(tt.given, t0))
		})
	}
}

func TestPushbackParsers(t *testing.T) {
	type pushback struct {
		D  time.Duration
		OK bool
	}
	retryAfter := []struct {
		given string
		want  pushback
	}{
		{"2", pushback{2 * time.Second, true}},
		{" 120 ", pushback{2 * time.Minute, true}},
		{"0", pushback{0, false}},
		{"-1", pushback{0, false}},
		{"1.5", pushback{0, false}},
		{"86400", pushback{24 * time.Hour, true}},
		{"86401", pushback{0, false}},
		{"99999999999999999999999", pushback{0, false}},
		{"Mon, 02 Mar 2026 12:00:05 GMT", pushback{5 * time.Second, true}},
		{"Monday, 02-Mar-26 12:01:00 GMT", pushback{time.Minute, true}},
		{"Mon Mar  2 12:00:10 2026", pushback{10 * time.Second, true}},
		{"Mon, 02 Mar 2026 11:59:00 GMT", pushback{0, false}},
		{"Tue, 03 Mar 2026 12:00:01 GMT", pushback{0, false}},
		{"tomorrow", pushback{0, false}},
		{"", pushback{0, false}},
	}
	for _, tt := range retryAfter {
		d, ok := RetryAfter(tt.given, t0)
		assert.Equal(t, tt.want, pushback{d, ok}, "Retry-After: %q", tt.given)
	}
	reset := []struct {
		given string
		want  pushback
	}{
		{"7", pushback{7 * time.Second, true}},
		{"0", pushback{0, false}},
		{"Mon, 02 Mar 2026 12:00:05 GMT", pushback{0, false}},
		{"x", pushback{0, false}},
	}
	for _, tt := range reset {
		d, ok := RateLimitReset(tt.given)
		assert.Equal(t, tt.want, pushback{d, ok}, "RateLimit-Reset: %q", tt.given)
	}
}
