package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/steadfast-proxy/steadfast/breaker"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestReadPushback(t *testing.T) {
	tests := []struct {
		name  string
		given PushbackHeaders
		want  Pushback
	}{
		{"none", PushbackHeaders{}, Pushback{}},
		{"retry-after seconds", PushbackHeaders{RetryAfter: "3"}, Pushback{Wait: 3 * time.Second}},
		{"retry-after date", PushbackHeaders{RetryAfter: "Sun, 01 Mar 2026 12:00:05 GMT"}, Pushback{Wait: 5 * time.Second}},
		{"retry-after in the past", PushbackHeaders{RetryAfter: "Sun, 01 Mar 2026 11:00:00 GMT"}, Pushback{Stop: true}},
		{"retry-after negative", PushbackHeaders{RetryAfter: "-1"}, Pushback{Stop: true}},
		{"retry-after garbage", PushbackHeaders{RetryAfter: "soon"}, Pushback{Stop: true}},
		{"retry-after huge", PushbackHeaders{RetryAfter: "99999999999999999999"}, Pushback{Stop: true}},
		{"ratelimit-reset", PushbackHeaders{RateLimitReset: "2"}, Pushback{Wait: 2 * time.Second}},
		{"x-ratelimit-reset seconds", PushbackHeaders{XRateLimitReset: "4"}, Pushback{Wait: 4 * time.Second}},
		{"x-ratelimit-reset unix time", PushbackHeaders{XRateLimitReset: "1772366410"}, Pushback{Wait: 10 * time.Second}},
		{"x-ratelimit-reset past unix time", PushbackHeaders{XRateLimitReset: "1772366390"}, Pushback{Stop: true}},
		{"grpc pushback", PushbackHeaders{GRPCRetryPushbackMs: "150"}, Pushback{Wait: 150 * time.Millisecond}},
		{"grpc pushback zero", PushbackHeaders{GRPCRetryPushbackMs: "0"}, Pushback{}},
		{"grpc pushback negative", PushbackHeaders{GRPCRetryPushbackMs: "-1"}, Pushback{Stop: true}},
		{"grpc pushback wins", PushbackHeaders{GRPCRetryPushbackMs: "20", RetryAfter: "9"}, Pushback{Wait: 20 * time.Millisecond}},
		{"retry-after before ratelimit-reset", PushbackHeaders{RetryAfter: "1", RateLimitReset: "9"}, Pushback{Wait: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ReadPushback(tt.given, now))
		})
	}
}

func TestGRPCRetryPushbackBounds(t *testing.T) {
	_, ok := GRPCRetryPushback("86400001")
	assert.False(t, ok, "longer than a day")
	d, ok := GRPCRetryPushback(" 86400000 ")
	assert.True(t, ok)
	assert.Equal(t, breaker.MaxPushback, d)
}

func TestXRateLimitResetRejectsGarbage(t *testing.T) {
	for _, v := range []string{"", "1.5", "abc", "0", "-5", "99999999999999999999999"} {
		_, ok := XRateLimitReset(v, now)
		assert.False(t, ok, v)
	}
}
