package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/conftest"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func TestParseDefaults(t *testing.T) {
	c := parsed(t, `{}`)
	assert.Equal(t, DefaultMaxAttempts, c.MaxAttemptsAllowed())
	assert.Equal(t, DefaultBodyLimit, c.BodyLimitBytes())
	assert.Equal(t, Backoff{Base: DefaultBackoffBase, Max: DefaultBackoffMax, Multiplier: DefaultBackoffMultiplier,
		Jitter: DefaultJitter, Proportion: DefaultProportion}, c.BackoffPolicy())
	b, on := c.BudgetPolicy()
	assert.True(t, on)
	assert.Equal(t, Budget{Percent: DefaultBudgetPercent, Window: DefaultBudgetWindow, MinPerSecond: DefaultBudgetMinPerSecond}, b)
	assert.Equal(t, "idempotency-key", c.KeyHeader())
	assert.Equal(t, "x-steadfast-attempt", c.AttemptHeaderName())
	kind, _ := c.CircuitKey()
	assert.Equal(t, KeyCluster, kind)
	for _, a := range []Answer{{Status: 502}, {Status: 503}, {Status: 504}, {Status: 200, GRPCStatus: 14, HasGRPCStatus: true}, {NotReached: true}, {Reset: true}} {
		assert.True(t, c.Retryable(a), "%+v", a)
	}
	for _, a := range []Answer{{Status: 200}, {Status: 500}, {Status: 429}, {Status: 200, GRPCStatus: 13, HasGRPCStatus: true}} {
		assert.False(t, c.Retryable(a), "%+v", a)
	}
}

func TestParseFields(t *testing.T) {
	c := parsed(t, `{
		"max_attempts": 5,
		"retry_on": {"statuses": [500, "520-529"], "grpc_statuses": ["resource_exhausted"], "connection_failures": false,
			"response_header": "X-Retry-Me", "no_retry_header": "x-no-retry"},
		"methods": ["get", "POST"],
		"idempotency_key_header": "X-Request-Key",
		"body_limit": 0,
		"backoff": {"base": "10ms", "max": "1s", "multiplier": 3, "jitter": "proportional", "proportion": 0.5},
		"pushback": {"enabled": false},
		"per_try_timeout": "2s",
		"budget": {"percent": 5, "window": "1s", "min_per_second": 0, "key": "header:X-Tenant"},
		"breaker_key": "off",
		"attempt_header": "",
		"retries_header": "X-Retries"
	}`)
	assert.Equal(t, 5, c.MaxAttemptsAllowed())
	assert.True(t, c.Retryable(Answer{Status: 525}))
	assert.True(t, c.Retryable(Answer{Status: 200, RetryHeader: true}))
	assert.True(t, c.Retryable(Answer{Status: 200, GRPCStatus: 8, HasGRPCStatus: true}))
	assert.False(t, c.Retryable(Answer{Status: 503}))
	assert.False(t, c.Retryable(Answer{NotReached: true}))
	assert.True(t, c.Idempotent(Request{Method: "POST"}))
	assert.False(t, c.Idempotent(Request{Method: "PUT"}))
	assert.Equal(t, "x-request-key", c.KeyHeader())
	assert.Equal(t, "x-no-retry", c.NoRetryHeader())
	assert.Equal(t, 0, c.BodyLimitBytes())
	assert.Equal(t, Backoff{Base: 10 * ms, Max: time.Second, Multiplier: 3, Jitter: JitterProportional, Proportion: 0.5}, c.BackoffPolicy())
	assert.False(t, c.ReadsPushback())
	b, _ := c.BudgetPolicy()
	assert.Equal(t, Budget{Percent: 5, Window: time.Second}, b)
	kind, header := c.BudgetKeyKind()
	assert.Equal(t, [2]string{KeyHeaderPrefix, "x-tenant"}, [2]string{kind, header})
	kind, _ = c.CircuitKey()
	assert.Equal(t, KeyOff, kind)
	assert.Equal(t, "", c.AttemptHeaderName())
	assert.Equal(t, "x-retries", c.RetriesHeaderName())
}

func TestParseErrorsNameThePath(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"max_attempts": 0}`, "max_attempts: must be from 1 to 10"},
		{`{"max_attempts": "3"}`, "max_attempts: must be a whole number"},
		{`{"retries": 3}`, "retries: unknown field"},
		{`{"retry_on": {"statuses": [700]}}`, "retry_on.statuses[0]: must be a status"},
		{`{"retry_on": {"grpc_statuses": ["NOPE"]}}`, "retry_on.grpc_statuses[0]: must be a gRPC status name"},
		{`{"retry_on": {"response_header": "bad header"}}`, `retry_on.response_header: "bad header" is not a valid header name`},
		{`{"methods": ["GE T"]}`, `methods[0]: "GE T" is not a method`},
		{`{"body_limit": -1}`, "body_limit: must be from 0 to 1048576 bytes"},
		{`{"grpc_hold_limit": 1000}`, "grpc_hold_limit: unknown field"},
		{`{"retry_on": {"grpc_statuses": ["NOT_FOUND"]}}`, "retry_on.grpc_statuses[0]: gRPC requests are retried by Envoy's router"},
		{`{"backoff": {"base": "0s"}}`, "backoff.base: must be more than 0"},
		{`{"backoff": {"base": "1s", "max": "10ms"}}`, "backoff.max: must be at least backoff.base (1s)"},
		{`{"backoff": {"multiplier": 0.5}}`, "backoff.multiplier: must be from 1 to 10"},
		{`{"backoff": {"jitter": "random"}}`, "backoff.jitter: must be none, full, equal, decorrelated or proportional"},
		{`{"backoff": {"proportion": 0.3}}`, `backoff.proportion: applies only to "jitter": "proportional"`},
		{`{"pushback": {"max": "2h"}}`, "pushback.max: must be more than 0 and at most 1h"},
		{`{"per_try_timeout": "soon"}`, `per_try_timeout: "soon" is not a duration`},
		{`{"deadline": "-1s"}`, `deadline: "-1s" must not be negative`},
		{`{"budget": {"percent": 101}}`, "budget.percent: must be between 0 and 100"},
		{`{"budget": {"window": "1ms"}}`, "budget.window: must be from 10ms to 1h"},
		{`{"budget": {"min_per_second": -1}}`, "budget.min_per_second: must be from 0 to 100000"},
		{`{"budget": {"key": "off"}}`, `budget.key: must be "cluster", "route" or "header:<name>"`},
		{`{"breaker_key": "tenant"}`, `breaker_key: must be "cluster", "route", "header:<name>" or "off"`},
		{`{"routes": [{"name": "api", "max_attempts": 11}]}`, `routes["api"].max_attempts: must be from 1 to 10`},
		{`{"max_attempts": 2, "max_attempts": 3}`, `duplicate key "max_attempts"`},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			_, err := Parse([]byte(tt.config))
			require.Error(t, err)
			var fe *pipeline.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRoutesOverrideAndDisable(t *testing.T) {
	r, err := Parse([]byte(`{"max_attempts": 2, "routes": [{"name": "pay", "max_attempts": 4}, {"name": "stream-*", "disabled": true}]}`))
	require.NoError(t, err)
	assert.Equal(t, 2, r.Resolve(pipeline.Named("other")).MaxAttemptsAllowed())
	assert.Equal(t, 4, r.Resolve(pipeline.Named("pay")).MaxAttemptsAllowed())
	assert.Nil(t, r.Resolve(pipeline.Named("stream-events")))
}

func TestDecodeJSONReadsEveryField(t *testing.T) {
	conftest.ReadsEveryField(t, &Config{})
}
