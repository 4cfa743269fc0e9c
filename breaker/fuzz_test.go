package breaker

import (
	"errors"
	"testing"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"key": "header:x-tenant", "max_keys": 10, "mode": "dry_run"}`,
		`{"failure": {"statuses": [502, "520-599"], "grpc_statuses": ["UNAVAILABLE", 8], "connection_failures": false,
			"response_header": {"name": "x-overloaded", "regex": "^y"}}}`,
		`{"slow_call": {"threshold": "1s"}, "trip": {"consecutive_failures": 0, "failure_rate": 50, "slow_call_rate": 80,
			"minimum_calls": 5, "window": {"type": "time", "duration": "60s", "buckets": 60}}}`,
		`{"trip": {"failure_rate": 0.5, "window": {"type": "count", "size": 1000}}}`,
		`{"open": {"base": "1s", "max": "1h", "multiplier": 10, "jitter": 1}, "half_open": {"probes": 10, "successes": 1000, "max_wait": "1h"}}`,
		`{"server_guided": {"enabled": true, "statuses": ["429"], "max": "1h"}, "reply": {"status": 429, "headers": {"retry-after": "1"}}}`,
		`{"shadow": [{"name": "a", "trip": {"consecutive_failures": 2}}, {"name": "b", "trip": {"failure_rate": 10, "minimum_calls": 1}}]}`,
		`{"routes": [{"name": "api", "mode": "forced_open"}, {"name": "x", "disabled": true}]}`,
		`{"open": {"base": "2562047h"}}`, `{"max_keys": 1e309}`, `{"trip": {"trip": 1}}`,
		`[]`, `null`, ``, `{"failure": {"statuses": ["-"]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := Parse(data)
		if err != nil {
			var fe *pipeline.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a FieldError: %v", err)
			}
			return
		}
		c := routes.Default
		for _, rnd := range []float64{0, 0.5, 1} {
			if d := c.OpenTime(MaxConsecutive, rnd); d < 0 || d > MaxDuration {
				t.Fatalf("open time %v", d)
			}
		}
		s := Snapshot{}
		now := t0
		for i := range 50 {
			r := c.Classify(Response{Status: 200 + 100*(i%4), Elapsed: time.Duration(i) * time.Second, RetryAfter: "1"}, now)
			next, ticket, d := c.Allow(s, now, 0.5)
			checkSnapshot(t, c, next)
			if d.Verdict == Reject && ticket.Kind != NoTicket {
				t.Fatalf("a rejected call got a ticket: %+v", ticket)
			}
			s, _ = c.Done(next, ticket, r, now, 0.5)
			checkSnapshot(t, c, s)
			now = now.Add(time.Duration(i) * time.Second)
		}
	})
}

// checkSnapshot fails unless s encodes and decodes to itself and keeps
// within the probe cap.
func checkSnapshot(t *testing.T, c *Config, s Snapshot) {
	t.Helper()
	if len(s.Probes) > c.p.probes {
		t.Fatalf("%d probes in flight, cap %d", len(s.Probes), c.p.probes)
	}
	b := Encode(nil, s)
	if len(b) > 400 {
		t.Fatalf("snapshot of %d bytes", len(b))
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("does not decode: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	full := NewCountWindow(16)
	record(full, t0, Failure, Slow, Success)
	timed := NewTimeWindow(6, time.Second)
	record(timed, t0, Failure, Slow, Success)
	for _, s := range []Snapshot{
		{}, opened(),
		{State: HalfOpen, Generation: 3, HalfOpenSince: t0, Probes: []uint16{1, 2}, NextProbe: 3, ProbeSuccesses: 1},
		{ConsecutiveFailures: 3, Window: full, Shadows: 1},
		{Window: timed},
	} {
		f.Add(Encode(nil, s))
	}
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	configs := []*Config{}
	for _, data := range []string{
		`{"half_open": {"probes": 2}, "shadow": [{"name": "a", "trip": {"failure_rate": 10}}]}`,
		`{"trip": {"failure_rate": 50, "minimum_calls": 2, "window": {"type": "count", "size": 16}}}`,
		`{"slow_call": {"threshold": "1s"}, "trip": {"slow_call_rate": 50, "minimum_calls": 2, "window": {"type": "time", "duration": "6s", "buckets": 6}}}`,
	} {
		routes, err := Parse([]byte(data))
		if err != nil {
			f.Fatal(err)
		}
		configs = append(configs, routes.Default)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v", err)
			}
			return
		}
		again, err := Decode(Encode(nil, s))
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if len(Encode(nil, again)) != len(Encode(nil, s)) {
			t.Fatal("re-encoding changed the snapshot")
		}
		for _, c := range configs {
			for _, at := range []time.Time{{}, t0, t0.Add(time.Hour)} {
				next, ticket, _ := c.Allow(s, at, 0.5)
				for _, r := range []Result{ok, failed, slow, {Outcome: Failure, Pushback: time.Second}} {
					_, _ = c.Done(next, ticket, r, at, 1)
					_, _ = c.Done(s, Ticket{Kind: Probe, Generation: s.Generation, Probe: s.NextProbe - 1}, r, at, 0)
				}
			}
		}
	})
}

func FuzzPushback(f *testing.F) {
	for _, seed := range []string{
		"2", "0", "-1", "86400", "86401", "99999999999999999999", " 7 ",
		"Mon, 02 Mar 2026 12:00:05 GMT", "Monday, 02-Mar-26 12:01:00 GMT", "Mon Mar  2 12:00:10 2026",
		"Fri, 31 Dec 9999 23:59:59 GMT", "", "soon",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if d, ok := RetryAfter(value, t0); ok && (d <= 0 || d > MaxPushback) {
			t.Fatalf("Retry-After %q: %v", value, d)
		}
		if d, ok := RateLimitReset(value); ok && (d <= 0 || d > MaxPushback) {
			t.Fatalf("RateLimit-Reset %q: %v", value, d)
		}
	})
}
