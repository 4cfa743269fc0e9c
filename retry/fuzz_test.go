package retry

import (
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"max_attempts": 4, "backoff": {"jitter": "decorrelated"}}`,
		`{"retry_on": {"statuses": ["500-599"]}, "routes": [{"name": "a*", "disabled": true}]}`,
		`{"budget": {"key": "header:x-tenant", "percent": 0.5}}`, `[`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		c := r.Default
		d := c.Decide(Request{Method: "GET"}, Answer{Status: 503}, 1, 0, now, now.Add(time.Second), 0.5)
		if d.Retry() && d.Wait < 0 {
			t.Fatalf("negative wait %v", d.Wait)
		}
	})
}

func FuzzPushback(f *testing.F) {
	for _, seed := range []string{"3", "Sun, 01 Mar 2026 12:00:05 GMT", "-1", "", "1772366410", "99999999999999999999", " 7 "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, h := range []PushbackHeaders{{RetryAfter: v}, {RateLimitReset: v}, {XRateLimitReset: v}, {GRPCRetryPushbackMs: v}} {
			p := ReadPushback(h, now)
			if p.Wait < 0 || (p.Stop && p.Wait != 0) {
				t.Fatalf("%+v: %+v", h, p)
			}
		}
	})
}

func FuzzDeadlineHeaders(f *testing.F) {
	for _, seed := range []string{"100m", "1H", "99999999n", "x", "1500", "-3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := GRPCTimeout(v); ok && (d < 0 || d > MaxDuration) {
			t.Fatalf("grpc-timeout %q: %v", v, d)
		}
		if d, ok := ExpectedRqTimeout(v); ok && (d <= 0 || d > MaxDuration) {
			t.Fatalf("expected timeout %q: %v", v, d)
		}
	})
}

func FuzzDecodeBudget(f *testing.F) {
	f.Add(EncodeBudget(nil, BudgetState{Epoch: 42, Requests: [BudgetBuckets]uint32{3}}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeBudget(b)
		if err != nil {
			return
		}
		again, err := DecodeBudget(EncodeBudget(nil, s))
		if err != nil || again != s {
			t.Fatalf("round trip of %x: %+v, %v", b, again, err)
		}
	})
}
