package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sec is t0 plus n seconds.
func sec(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }

var (
	ok      = Result{Outcome: Success}
	failed  = Result{Outcome: Failure}
	slow    = Result{Outcome: Slow}
	ignored = Result{Outcome: Ignored}
)

// outcome is what one call saw: Allow's decision and Done's transition.
type outcome struct {
	Decision   Decision
	Transition Transition
}

// call runs one call through the circuit at now: Allow, then Done with r
// at the same time when Allow handed out a ticket. rnd is 0.5, so open
// times carry no jitter.
func call(c *Config, s Snapshot, now time.Time, r Result) (Snapshot, outcome) {
	s, ticket, d := c.Allow(s, now, 0.5)
	var tr Transition
	if ticket.Kind != NoTicket {
		s, tr = c.Done(s, ticket, r, now, 0.5)
	}
	return s, outcome{d, tr}
}

// calls runs results one second apart from start and returns the final
// snapshot and what each call saw.
func calls(c *Config, s Snapshot, start time.Time, results ...Result) (Snapshot, []outcome) {
	var out []outcome
	for i, r := range results {
		var o outcome
		s, o = call(c, s, start.Add(time.Duration(i)*time.Second), r)
		out = append(out, o)
	}
	return s, out
}

var allowed = outcome{Decision: Decision{Verdict: Allow}}

func TestConsecutiveFailuresTripOnTheConfiguredFailure(t *testing.T) {
	c := parse(t, `{"trip": {"consecutive_failures": 3}}`)
	s, seen := calls(c, Snapshot{}, t0, failed, failed, ok, failed, failed, failed)
	assert.Equal(t, []outcome{allowed, allowed, allowed, allowed, allowed, {
		Decision:   Decision{Verdict: Allow},
		Transition: Transition{From: Closed, To: Open, Reason: "3 consecutive failures", OpenFor: 30 * time.Second},
	}}, seen)
	assert.Equal(t, Snapshot{State: Open, Generation: 1, ConsecutiveTrips: 1, OpenUntil: sec(35)}, s)
}

func TestRateTripsNotBeforeMinimumCallsAndOnTheCrossingCall(t *testing.T) {
	c := parse(t, `{"trip": {"consecutive_failures": 0, "failure_rate": 50, "minimum_calls": 4, "window": {"type": "count", "size": 10}}}`)

	s, seen := calls(c, Snapshot{}, t0, failed, failed, failed)
	assert.Equal(t, []outcome{allowed, allowed, allowed}, seen, "100% of 3 calls is below minimum_calls")
	assert.Equal(t, Closed, s.State)

	s, seen = calls(c, Snapshot{}, t0, ok, ok, ok, failed, failed, ok, failed)
	assert.Equal(t, []outcome{allowed, allowed, allowed, allowed, allowed, allowed, allowed}, seen, "3 of 7 is 42.9%")
	assert.Equal(t, Closed, s.State)

	s, o := call(c, s, sec(7), failed)
	assert.Equal(t, outcome{
		Decision:   Decision{Verdict: Allow},
		Transition: Transition{From: Closed, To: Open, Reason: "failure rate 50% ≥ 50% over 8 calls", OpenFor: 30 * time.Second},
	}, o)
	assert.Equal(t, Snapshot{State: Open, Generation: 1, ConsecutiveTrips: 1, OpenUntil: sec(37)}, s)
}

func TestSlowCallRateTrips(t *testing.T) {
	c := parse(t, `{"slow_call": {"threshold": "1s"}, "trip": {"consecutive_failures": 0, "slow_call_rate": 60, "minimum_calls": 5,
		"window": {"type": "time", "duration": "10s", "buckets": 5}}}`)
	s, seen := calls(c, Snapshot{}, t0, slow, slow, ok, slow, ok)
	assert.Equal(t, []outcome{allowed, allowed, allowed, allowed, {
		Decision:   Decision{Verdict: Allow},
		Transition: Transition{From: Closed, To: Open, Reason: "slow-call rate 60% ≥ 60% over 5 calls", OpenFor: 30 * time.Second},
	}}, seen)
	assert.Equal(t, Open, s.State)
}

func TestTimeWindowForgetsAcrossAnIdleGap(t *testing.T) {
	c := parse(t, `{"trip": {"consecutive_failures": 0, "failure_rate": 50, "minimum_calls": 3,
		"window": {"type": "time", "duration": "10s", "buckets": 5}}}`)
	s, _ := calls(c, Snapshot{}, t0, failed, failed)
	s, seen := calls(c, s, sec(3600), ok, ok, failed)
	assert.Equal(t, []outcome{allowed, allowed, allowed}, seen, "the failures of an hour ago are gone")
	assert.Equal(t, Closed, s.State)
}

// opened is the circuit right after its first trip at t0, open until t0+30s.
func opened() Snapshot {
	return Snapshot{State: Open, Generation: 1, ConsecutiveTrips: 1, OpenUntil: sec(30)}
}

func TestOpenRejectsWithTheTimeLeftThenTurnsHalfOpenLazily(t *testing.T) {
	c := parse(t, `{}`)
	s, ticket, d := c.Allow(opened(), sec(10), 0.5)
	assert.Equal(t, Decision{Verdict: Reject, RetryAfter: 20 * time.Second}, d)
	assert.Equal(t, Ticket{}, ticket)
	assert.Equal(t, opened(), s)

	s, ticket, d = c.Allow(opened(), sec(30), 0.5)
	assert.Equal(t, Decision{Verdict: AllowProbe, Changed: true, Transition: Transition{From: Open, To: HalfOpen, Reason: "open time over"}}, d)
	assert.Equal(t, Ticket{Kind: Probe, Generation: 2, Probe: 0}, ticket)
	assert.Equal(t, Snapshot{State: HalfOpen, Generation: 2, ConsecutiveTrips: 1, HalfOpenSince: sec(30), Probes: []uint16{0}, NextProbe: 1}, s)
}

func TestProbeCapAcrossWorkers(t *testing.T) {
	c := parse(t, `{"half_open": {"probes": 2, "successes": 2}}`)
	shared := Encode(nil, opened())

	// Each worker decodes the shared value, decides, and writes back what
	// it decided (the stage's compare-and-swap loop, one turn each).
	worker := func(now time.Time) (Ticket, Decision) {
		s, err := Decode(shared)
		require.NoError(t, err)
		s, ticket, d := c.Allow(s, now, 0.5)
		if d.Changed {
			shared = Encode(nil, s)
		}
		return ticket, d
	}
	ticketA, a := worker(sec(31))
	ticketB, b := worker(sec(31))
	ticketC, cc := worker(sec(32))
	assert.Equal(t, []Ticket{{Kind: Probe, Generation: 2, Probe: 0}, {Kind: Probe, Generation: 2, Probe: 1}, {}}, []Ticket{ticketA, ticketB, ticketC})
	assert.Equal(t, []Verdict{AllowProbe, AllowProbe, Reject}, []Verdict{a.Verdict, b.Verdict, cc.Verdict})

	// A's probe comes back: its slot frees, one success of two.
	s, _ := Decode(shared)
	s, tr := c.Done(s, ticketA, ok, sec(33), 0.5)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, Snapshot{State: HalfOpen, Generation: 2, ConsecutiveTrips: 1, HalfOpenSince: sec(31), Probes: []uint16{1}, NextProbe: 2, ProbeSuccesses: 1}, s)
	shared = Encode(nil, s)
	_, d := worker(sec(33))
	assert.Equal(t, AllowProbe, d.Verdict, "the freed slot is taken again")
}

func TestHalfOpenSuccessCloses(t *testing.T) {
	c := parse(t, `{}`)
	s, probe, _ := c.Allow(opened(), sec(30), 0.5)
	s, tr := c.Done(s, probe, ok, sec(31), 0.5)
	assert.Equal(t, Transition{From: HalfOpen, To: Closed, Reason: "1 of 1 probes succeeded"}, tr)
	assert.Equal(t, Snapshot{State: Closed, Generation: 3, NextProbe: 1}, s)
}

func TestHalfOpenFailureReopensForLonger(t *testing.T) {
	c := parse(t, `{}`)
	s, probe, _ := c.Allow(opened(), sec(30), 0.5)
	s, tr := c.Done(s, probe, failed, sec(31), 0.5)
	assert.Equal(t, Transition{From: HalfOpen, To: Open, Reason: "probe failed (failure)", OpenFor: time.Minute}, tr)
	assert.Equal(t, Snapshot{State: Open, Generation: 3, ConsecutiveTrips: 2, OpenUntil: sec(91), NextProbe: 1}, s)
}

func TestIgnoredProbeFreesItsSlot(t *testing.T) {
	c := parse(t, `{}`)
	s, probe, _ := c.Allow(opened(), sec(30), 0.5)
	s, tr := c.Done(s, probe, ignored, sec(31), 0.5)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, Snapshot{State: HalfOpen, Generation: 2, ConsecutiveTrips: 1, HalfOpenSince: sec(30), Probes: []uint16{}, NextProbe: 1}, s)
}

func TestLateOutcomesOfAnOlderGenerationAreIgnored(t *testing.T) {
	c := parse(t, `{"trip": {"consecutive_failures": 1}}`)
	_, slowTicket, _ := c.Allow(Snapshot{}, t0, 0.5)
	s, _ := call(c, Snapshot{}, sec(1), failed) // opens, generation 1
	s, tr := c.Done(s, slowTicket, failed, sec(2), 0.5)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, Snapshot{State: Open, Generation: 1, ConsecutiveTrips: 1, OpenUntil: sec(31)}, s)

	// A probe that outlives its half-open is ignored by the next one.
	s, oldProbe, _ := c.Allow(s, sec(31), 0.5)
	s, _ = c.Done(s, Ticket{Kind: Probe, Generation: 2, Probe: 7}, ok, sec(32), 0.5) // unknown probe id
	assert.Equal(t, []uint16{0}, s.Probes)
	s, _ = c.Done(s, oldProbe, failed, sec(32), 0.5) // re-opens, generation 3
	s, _, _ = c.Allow(s, sec(92), 0.5)               // half-open again, generation 4
	s, tr = c.Done(s, oldProbe, ok, sec(93), 0.5)
	assert.Equal(t, Transition{}, tr)
	assert.Equal(t, Snapshot{State: HalfOpen, Generation: 4, ConsecutiveTrips: 2, HalfOpenSince: sec(92), Probes: []uint16{1}, NextProbe: 2}, s)
}

func TestMaxWaitReopensAHalfOpenWhoseProbeWasLost(t *testing.T) {
	c := parse(t, `{"half_open": {"max_wait": "10s"}}`)
	s, _, _ := c.Allow(opened(), sec(30), 0.5) // the probe's stream vanishes
	_, _, d := c.Allow(s, sec(39), 0.5)
	assert.Equal(t, Decision{Verdict: Reject}, d, "the slot is still held")

	s, ticket, d := c.Allow(s, sec(40), 0.5)
	assert.Equal(t, Ticket{}, ticket)
	assert.Equal(t, Decision{Verdict: Reject, RetryAfter: time.Minute, Changed: true, Transition: Transition{
		From: HalfOpen, To: Open, Reason: "half-open for 10s, 0 of 1 probes succeeded", OpenFor: time.Minute,
	}}, d)
	assert.Equal(t, Snapshot{State: Open, Generation: 3, ConsecutiveTrips: 2, OpenUntil: sec(100), NextProbe: 1}, s)
}

func TestServerGuidedOpen(t *testing.T) {
	c := parse(t, `{"server_guided": {"enabled": true}}`)
	tests := []struct {
		name  string
		given Response
		want  Transition
		until time.Time
	}{
		{
			name:  "Retry-After: 2",
			given: Response{Status: 429, RetryAfter: "2"},
			want:  Transition{From: Closed, To: Open, Reason: "server asked to back off for 2s", OpenFor: 2 * time.Second},
			until: sec(2),
		},
		{
			name:  "Retry-After as an HTTP-date",
			given: Response{Status: 503, RetryAfter: "Mon, 02 Mar 2026 12:01:00 GMT"},
			want:  Transition{From: Closed, To: Open, Reason: "server asked to back off for 1m0s", OpenFor: time.Minute},
			until: sec(60),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, o := call(c, Snapshot{}, t0, c.Classify(tt.given, t0))
			assert.Equal(t, outcome{Decision: Decision{Verdict: Allow}, Transition: tt.want}, o)
			assert.Equal(t, Snapshot{State: Open, Generation: 1, OpenUntil: tt.until}, s)
		})
	}
}

func TestModes(t *testing.T) {
	t.Run("dry_run computes everything but never rejects", func(t *testing.T) {
		c := parse(t, `{"mode": "dry_run", "trip": {"consecutive_failures": 2}}`)
		s, seen := calls(c, Snapshot{}, t0, failed, failed, failed)
		assert.Equal(t, []outcome{allowed, {
			Decision:   Decision{Verdict: Allow},
			Transition: Transition{From: Closed, To: Open, Reason: "2 consecutive failures", OpenFor: 30 * time.Second},
		}, {
			Decision: Decision{Verdict: WouldReject, RetryAfter: 29 * time.Second},
		}}, seen)
		assert.Equal(t, Snapshot{State: Open, Generation: 1, ConsecutiveTrips: 1, OpenUntil: sec(31)}, s)
	})
	t.Run("forced_open always rejects", func(t *testing.T) {
		c := parse(t, `{"mode": "forced_open"}`)
		s, seen := calls(c, Snapshot{}, t0, ok)
		assert.Equal(t, []outcome{{Decision: Decision{Verdict: Reject}}}, seen)
		assert.Equal(t, Snapshot{}, s)
	})
	t.Run("disabled always allows and records nothing", func(t *testing.T) {
		c := parse(t, `{"mode": "disabled", "trip": {"consecutive_failures": 1}}`)
		s, seen := calls(c, opened(), t0, failed, failed)
		assert.Equal(t, []outcome{allowed, allowed}, seen)
		assert.Equal(t, opened(), s)
		s, tr := c.Done(Snapshot{}, Ticket{Kind: Call}, failed, t0, 0.5)
		assert.Equal(t, Transition{}, tr)
		assert.Equal(t, Snapshot{}, s)
	})
}

func TestOpenTime(t *testing.T) {
	c := parse(t, `{"open": {"base": "1s", "max": "10s", "multiplier": 2, "jitter": 0.1}}`)
	tests := []struct {
		trips int
		rnd   float64
		want  time.Duration
	}{
		{1, 0, 900 * time.Millisecond},
		{1, 0.5, time.Second},
		{1, 1, 1100 * time.Millisecond},
		{3, 0.5, 4 * time.Second},
		{4, 0, 7200 * time.Millisecond},
		{5, 0, 9 * time.Second},
		{5, 0.5, 10 * time.Second},
		{5, 1, 10 * time.Second},
		{1000, 1, 10 * time.Second},
		{0, 0.5, time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, c.OpenTime(tt.trips, tt.rnd), "trips %d, rnd %v", tt.trips, tt.rnd)
	}
}

func TestAllowDoesNotModifyItsInput(t *testing.T) {
	c := parse(t, `{"half_open": {"probes": 2}, "trip": {"failure_rate": 50}}`)
	half := Snapshot{State: HalfOpen, Generation: 2, HalfOpenSince: t0, Probes: make([]uint16, 1, 4), NextProbe: 5}
	next, _, _ := c.Allow(half, sec(1), 0.5)
	assert.Equal(t, []uint16{0, 5}, next.Probes)
	assert.Equal(t, []uint16{0, 0}, half.Probes[:2], "the input's spare capacity is untouched")

	closed := Snapshot{Window: NewCountWindow(DefaultWindowSize)}
	_, _ = c.Done(closed, Ticket{Kind: Call}, failed, t0, 0.5)
	assert.Equal(t, Snapshot{Window: NewCountWindow(DefaultWindowSize)}, closed)
}

func TestKeyOf(t *testing.T) {
	long := string(make([]byte, MaxKeyBytes+1))
	tests := []struct {
		name    string
		config  string
		header  string
		present bool
		want    string
	}{
		{"cluster by default", `{}`, "acme", true, "backend"},
		{"route", `{"key": "route"}`, "acme", true, "api"},
		{"tenant header", `{"key": "header:x-tenant"}`, "acme", true, "acme"},
		{"no tenant header", `{"key": "header:x-tenant"}`, "", false, NoHeaderKey},
		{"a tenant too long", `{"key": "header:x-tenant"}`, long, true, OverflowKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parse(t, tt.config).KeyOf("backend", "api", tt.header, tt.present))
		})
	}
}

func TestProbeOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		config string
		given  Result
		want   Transition
	}{
		{"success closes", `{}`, ok, Transition{From: HalfOpen, To: Closed, Reason: "1 of 1 probes succeeded"}},
		{"slow counts as a success without a slow-call trip", `{}`, slow, Transition{From: HalfOpen, To: Closed, Reason: "1 of 1 probes succeeded"}},
		{"slow re-opens with a slow-call trip", `{"slow_call": {"threshold": "1s"}, "trip": {"slow_call_rate": 50}}`, slow,
			Transition{From: HalfOpen, To: Open, Reason: "probe failed (slow)", OpenFor: time.Minute}},
		{"failure re-opens for longer", `{}`, failed, Transition{From: HalfOpen, To: Open, Reason: "probe failed (failure)", OpenFor: time.Minute}},
		{"pushback re-opens for the server's time", `{"server_guided": {"enabled": true}}`, Result{Outcome: Failure, Pushback: 5 * time.Second},
			Transition{From: HalfOpen, To: Open, Reason: "probe: server asked to back off for 5s", OpenFor: 5 * time.Second}},
		{"one success of two", `{"half_open": {"successes": 2}}`, ok, Transition{}},
		{"ignored frees the slot only", `{}`, ignored, Transition{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, tt.config)
			s, probe, _ := c.Allow(opened(), sec(30), 0.5)
			_, tr := c.Done(s, probe, tt.given, sec(31), 0.5)
			assert.Equal(t, tt.want, tr)
		})
	}
}

// Quiet never claims a change away: wherever it says Done leaves the
// snapshot as it is, Done does.
func TestQuietAgreesWithDone(t *testing.T) {
	now := time.Unix(1700000000, 0)
	configs := []string{
		`{}`,
		`{"trip": {"consecutive_failures": 3}}`,
		`{"trip": {"consecutive_failures": 3}, "shadow": [{"name": "strict", "trip": {"consecutive_failures": 1}}]}`,
		`{"trip": {"failure_rate": 50, "minimum_calls": 2, "window": {"type": "count", "size": 10}}}`,
		`{"mode": "dry_run", "trip": {"consecutive_failures": 1}}`,
	}
	snaps := []Snapshot{
		{},
		{Generation: 3},
		{ConsecutiveFailures: 2},
		{Shadows: 1},
		{State: Open, Generation: 1, OpenUntil: now.Add(time.Minute)},
		{State: Open, Generation: 1, OpenUntil: now.Add(-time.Second)},
		{State: HalfOpen, Generation: 2, HalfOpenSince: now, Probes: []uint16{1}},
	}
	tickets := []Ticket{{Kind: Call}, {Kind: Call, Generation: 3}, {Kind: Probe, Generation: 2, Probe: 1}, {Kind: NoTicket}}
	results := []Result{{Outcome: Success}, {Outcome: Ignored}, {Outcome: Failure}, {Outcome: Slow}, {Outcome: Failure, Pushback: time.Second}}
	quiet := 0
	for _, config := range configs {
		cfg := parse(t, config)
		for _, snap := range snaps {
			for _, tk := range tickets {
				for _, r := range results {
					if !cfg.Quiet(snap, tk, r) {
						continue
					}
					quiet++
					next, tr := cfg.Done(snap, tk, r, now, 0.5)
					assert.Equal(t, Encode(nil, snap), Encode(nil, next), "%s: %+v %+v %+v", config, snap, tk, r)
					assert.False(t, tr.Changed())
				}
			}
		}
	}
	assert.Positive(t, quiet)
}
