package breaker

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// State is a circuit's state.
type State uint8

// States.
const (
	Closed State = iota
	Open
	HalfOpen
)

var stateNames = [...]string{"closed", "open", "half_open"}

// String returns the state's name, as logs and metrics write it.
func (s State) String() string {
	return nameOf(stateNames[:], s)
}

// Snapshot is one key's circuit, small enough to live in one shared-data
// value (see Encode). Its zero value is a fresh Closed circuit. Allow and
// Done never modify the Snapshot they are given.
type Snapshot struct {
	State State
	// Generation grows on every change of state; a Ticket of another
	// generation is ignored by Done.
	Generation uint32
	// ConsecutiveFailures counts failures in a row while Closed.
	ConsecutiveFailures int
	// ConsecutiveTrips counts opens since the circuit last closed; it
	// grows the open time.
	ConsecutiveTrips int
	// OpenUntil is when an Open circuit turns HalfOpen.
	OpenUntil time.Time
	// HalfOpenSince is when the circuit turned HalfOpen; half_open.max_wait
	// later it re-opens, which also frees the slots of probes lost with
	// their streams.
	HalfOpenSince time.Time
	// Probes are the ids of the probes in flight, at most half_open.probes.
	Probes []uint16
	// NextProbe is the id the next probe takes.
	NextProbe uint16
	// ProbeSuccesses counts successful probes in this half-open.
	ProbeSuccesses int
	// Shadows has bit i set while shadow policy i would be open.
	Shadows uint8
	// Window holds the recent outcomes while Closed; nil when no rate is
	// configured.
	Window Window
}

// clone returns a copy of s that shares nothing mutable with it.
func (s Snapshot) clone() Snapshot {
	s.Probes = slices.Clone(s.Probes)
	if s.Window != nil {
		s.Window = s.Window.Clone()
	}
	return s
}

// TicketKind says what a Ticket lets through.
type TicketKind uint8

// Ticket kinds.
const (
	// NoTicket: the call is not counted (rejected, dry-run would-reject,
	// or the breaker disabled). Done ignores it.
	NoTicket TicketKind = iota
	// Call is a call let through a Closed circuit.
	Call
	// Probe is a call let through a HalfOpen circuit to test the upstream.
	Probe
)

// Ticket is what Allow hands out and Done takes back. It is a few bytes
// the stage keeps per stream.
type Ticket struct {
	Kind       TicketKind
	Generation uint32
	Probe      uint16 // the probe's id, for Probe tickets
}

// Verdict is Allow's answer.
type Verdict uint8

// Verdicts.
const (
	// Allow lets the call through.
	Allow Verdict = iota
	// AllowProbe lets the call through as a half-open probe.
	AllowProbe
	// Reject answers locally (Config.LocalReply).
	Reject
	// WouldReject lets the call through in dry_run where enforcing would
	// have rejected it.
	WouldReject
)

var verdictNames = [...]string{"allow", "probe", "reject", "would_reject"}

// String returns the verdict's name, as metrics label it.
func (v Verdict) String() string {
	return nameOf(verdictNames[:], v)
}

// Decision is what Allow decided for one call.
type Decision struct {
	Verdict Verdict
	// RetryAfter is how long until the circuit may let calls through, for
	// Reject and WouldReject; 0 when unknown (half-open with every probe
	// slot taken, or forced_open).
	RetryAfter time.Duration
	// Changed: the returned Snapshot differs from the given one and must
	// be written back; otherwise the stage may skip the write.
	Changed bool
	// Transition is the change of state Allow made, if any (an Open
	// circuit turning HalfOpen, or a HalfOpen one re-opening).
	Transition Transition
}

// Transition is a change of state, with the reason and its figures, for
// the info log line.
type Transition struct {
	From, To State
	// Reason says why, with figures: "5 consecutive failures",
	// "failure rate 62% ≥ 50% over 20 calls".
	Reason string
	// OpenFor is how long the circuit opened for, when To is Open.
	OpenFor time.Duration
	// Shadows has bit i set when shadow policy i would have opened on
	// this call (Config.ShadowNames); it may be set without a change of
	// state.
	Shadows uint8
}

// Changed reports whether the state changed.
func (t Transition) Changed() bool { return t.From != t.To }

// Allow decides whether a call may go through the circuit snap at now,
// the first of the two steps; rnd is a uniform random value in [0, 1] for
// the jitter of an open time. It returns the next snapshot, the ticket the
// stage hands to Done with the call's outcome, and the decision. An Open
// circuit whose time is up turns HalfOpen here, lazily.
func (c *Config) Allow(snap Snapshot, now time.Time, rnd float64) (Snapshot, Ticket, Decision) {
	switch c.p.mode {
	case ModeDisabled:
		return snap, Ticket{}, Decision{Verdict: Allow}
	case ModeForcedOpen:
		return snap, Ticket{}, Decision{Verdict: Reject}
	}
	next, tr := c.advance(snap, now, rnd)
	changed := tr.Changed()
	var (
		ticket Ticket
		d      Decision
	)
	switch next.State {
	case Closed:
		ticket, d = Ticket{Kind: Call, Generation: next.Generation}, Decision{Verdict: Allow}
	case Open:
		d = Decision{Verdict: Reject, RetryAfter: next.OpenUntil.Sub(now)}
	case HalfOpen:
		if len(next.Probes) >= c.p.probes {
			d = Decision{Verdict: Reject}
			break
		}
		if !changed {
			next = next.clone()
		}
		ticket = Ticket{Kind: Probe, Generation: next.Generation, Probe: next.NextProbe}
		next.Probes = append(next.Probes, next.NextProbe)
		next.NextProbe++
		d, changed = Decision{Verdict: AllowProbe}, true
	}
	if d.Verdict == Reject && c.p.mode == ModeDryRun {
		d.Verdict = WouldReject
	}
	d.Changed, d.Transition = changed, tr
	return next, ticket, d
}

// Quiet reports, without computing it, whether Done would leave snap as
// it is: a success or an ignored outcome of an ordinary call in a closed
// circuit with no failure in a row, no shadow policy open and no window.
// It is the common case of a healthy circuit, which the stage decides on
// without encoding anything; false means "compute Done".
func (c *Config) Quiet(snap Snapshot, t Ticket, r Result) bool {
	return snap.State == Closed && t.Kind == Call && t.Generation == snap.Generation &&
		snap.ConsecutiveFailures == 0 && snap.Shadows == 0 && snap.Window == nil &&
		c.p.window.size == 0 && c.p.window.buckets == 0 &&
		(r.Outcome == Success || r.Outcome == Ignored) && r.Pushback == 0
}

// Done records the outcome of a call let through by Allow, the second
// step, and returns the next snapshot and the change of state it made, if
// any. A ticket of another generation than the circuit's (an outcome that
// arrives after the circuit changed state) is ignored.
func (c *Config) Done(snap Snapshot, t Ticket, r Result, now time.Time, rnd float64) (Snapshot, Transition) {
	if c.p.mode == ModeDisabled || c.p.mode == ModeForcedOpen {
		return snap, Transition{}
	}
	next, tr := c.advance(snap, now, rnd)
	if t.Kind == NoTicket || t.Generation != next.Generation {
		return next, tr
	}
	if !tr.Changed() {
		next = next.clone()
	}
	switch {
	case t.Kind == Call && next.State == Closed:
		return c.closedDone(next, r, now, rnd)
	case t.Kind == Probe && next.State == HalfOpen:
		i := slices.Index(next.Probes, t.Probe)
		if i < 0 {
			return next, tr
		}
		next.Probes = slices.Delete(next.Probes, i, i+1)
		return c.probeDone(next, r, now, rnd)
	}
	return next, tr
}

// advance moves the circuit along the clock: an Open circuit whose time
// is up turns HalfOpen, a HalfOpen one past max_wait re-opens. The
// snapshot it returns is a fresh copy when the state changed.
func (c *Config) advance(s Snapshot, now time.Time, rnd float64) (Snapshot, Transition) {
	switch {
	case s.State == Open && !now.Before(s.OpenUntil):
		return Snapshot{
			State: HalfOpen, Generation: s.Generation + 1, ConsecutiveTrips: s.ConsecutiveTrips,
			HalfOpenSince: now, NextProbe: s.NextProbe,
		}, Transition{From: Open, To: HalfOpen, Reason: "open time over"}
	case s.State == HalfOpen && now.Sub(s.HalfOpenSince) >= c.p.maxWait:
		reason := "half-open for " + c.p.maxWait.String() + ", " + strconv.Itoa(s.ProbeSuccesses) + " of " + strconv.Itoa(c.p.successes) + " probes succeeded"
		trips := min(s.ConsecutiveTrips+1, MaxConsecutive)
		return c.open(s, now, c.openTime(trips, rnd), trips, reason)
	}
	return s, Transition{}
}

// open returns the circuit s opened at now for d, with trips consecutive
// trips.
func (c *Config) open(s Snapshot, now time.Time, d time.Duration, trips int, reason string) (Snapshot, Transition) {
	return Snapshot{
			State: Open, Generation: s.Generation + 1, ConsecutiveTrips: trips,
			OpenUntil: now.Add(d), NextProbe: s.NextProbe,
		}, Transition{
			From: s.State, To: Open, Reason: reason, OpenFor: d,
		}
}

// closedDone records an outcome of a Closed circuit s (a copy Done owns)
// and opens it when a trip condition holds.
func (c *Config) closedDone(s Snapshot, r Result, now time.Time, rnd float64) (Snapshot, Transition) {
	if r.Outcome == Failure && r.Pushback > 0 && c.p.guided {
		return c.open(s, now, r.Pushback, s.ConsecutiveTrips, "server asked to back off for "+r.Pushback.String())
	}
	switch r.Outcome {
	case Ignored:
		return s, Transition{}
	case Failure:
		s.ConsecutiveFailures = min(s.ConsecutiveFailures+1, MaxConsecutive)
	default:
		s.ConsecutiveFailures = 0
	}
	if s.Window == nil || !s.Window.fits(c.p.window) {
		s.Window = newWindow(c.p.window)
	}
	if s.Window != nil {
		s.Window.Record(r.Outcome, now)
	}
	var shadows uint8
	s.Shadows, shadows = c.shadows(s, now)
	if reason, ok := c.p.trip.trips(s, now); ok {
		trips := min(s.ConsecutiveTrips+1, MaxConsecutive)
		next, tr := c.open(s, now, c.openTime(trips, rnd), trips, reason)
		tr.Shadows = shadows
		return next, tr
	}
	return s, Transition{Shadows: shadows}
}

// probeDone records the outcome of a probe, whose slot is freed already,
// in a HalfOpen circuit s (a copy Done owns).
func (c *Config) probeDone(s Snapshot, r Result, now time.Time, rnd float64) (Snapshot, Transition) {
	failed := r.Outcome == Failure || (r.Outcome == Slow && c.p.trip.slowRate > 0)
	switch {
	case r.Outcome == Ignored:
		return s, Transition{}
	case failed && r.Pushback > 0 && c.p.guided:
		return c.open(s, now, r.Pushback, s.ConsecutiveTrips, "probe: server asked to back off for "+r.Pushback.String())
	case failed:
		trips := min(s.ConsecutiveTrips+1, MaxConsecutive)
		return c.open(s, now, c.openTime(trips, rnd), trips, "probe failed ("+r.Outcome.String()+")")
	}
	s.ProbeSuccesses++
	if s.ProbeSuccesses < c.p.successes {
		return s, Transition{}
	}
	return Snapshot{State: Closed, Generation: s.Generation + 1, NextProbe: s.NextProbe},
		Transition{From: HalfOpen, To: Closed, Reason: strconv.Itoa(s.ProbeSuccesses) + " of " + strconv.Itoa(c.p.successes) + " probes succeeded"}
}

// OpenTime is how long the circuit opens on its trips-th consecutive trip
// for the random value rnd in [0, 1]: open.base × open.multiplier^(trips −
// 1), capped at open.max, then varied by ±open.jitter (rnd 0 shortest,
// 0.5 exact, 1 longest) and capped at open.max again.
func (c *Config) OpenTime(trips int, rnd float64) time.Duration { return c.openTime(trips, rnd) }

func (c *Config) openTime(trips int, rnd float64) time.Duration {
	p := &c.p
	d := float64(p.openBase) * math.Pow(p.multiplier, float64(max(trips, 1)-1))
	d = min(d, float64(p.openMax))
	if math.IsNaN(rnd) {
		rnd = 0.5
	}
	rnd = min(max(rnd, 0), 1)
	d *= 1 + p.jitter*(2*rnd-1)
	return time.Duration(min(d, float64(p.openMax)))
}

// trips reports whether the Closed circuit s meets the policy, and why.
func (t trip) trips(s Snapshot, now time.Time) (string, bool) {
	if t.consecutive > 0 && s.ConsecutiveFailures >= t.consecutive {
		return strconv.Itoa(s.ConsecutiveFailures) + " consecutive failures", true
	}
	if !t.usesWindow() || s.Window == nil {
		return "", false
	}
	calls, failureRate, slowRate := s.Window.Rates(now)
	if calls < t.minimumCalls {
		return "", false
	}
	if t.failureRate > 0 && failureRate >= t.failureRate {
		return rateReason("failure rate", failureRate, t.failureRate, calls), true
	}
	if t.slowRate > 0 && slowRate >= t.slowRate {
		return rateReason("slow-call rate", slowRate, t.slowRate, calls), true
	}
	return "", false
}

// rateReason writes a rate trip with one decimal at most: "failure rate
// 62.5% ≥ 50% over 40 calls".
func rateReason(what string, got, limit float64, calls int) string {
	return what + " " + strconv.FormatFloat(math.Round(got*10)/10, 'f', -1, 64) + "% ≥ " +
		strconv.FormatFloat(limit, 'f', -1, 64) + "% over " + strconv.Itoa(calls) + " calls"
}
