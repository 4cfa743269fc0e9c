package breaker

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/rx"
)

// Defaults of the optional fields.
const (
	// DefaultKey keys circuits by upstream cluster.
	DefaultKey = KeyCluster
	// DefaultMaxKeys is max_keys when absent.
	DefaultMaxKeys = 100
	// DefaultConsecutiveFailures is trip.consecutive_failures when absent.
	DefaultConsecutiveFailures = 5
	// DefaultMinimumCalls is trip.minimum_calls when absent.
	DefaultMinimumCalls = 20
	// DefaultWindowSize is the size of the count window used when a rate
	// is configured without trip.window.
	DefaultWindowSize = 100
	// DefaultOpenBase is open.base: how long the first trip opens a key.
	DefaultOpenBase = 30 * time.Second
	// DefaultOpenMax is open.max: the longest open time.
	DefaultOpenMax = 5 * time.Minute
	// DefaultOpenMultiplier is open.multiplier: each consecutive trip
	// multiplies the open time by it.
	DefaultOpenMultiplier = 2.0
	// DefaultOpenJitter is open.jitter: the open time varies by up to this
	// fraction either way.
	DefaultOpenJitter = 0.1
	// DefaultProbes is half_open.probes: concurrent probes across workers.
	DefaultProbes = 1
	// DefaultMaxWait is half_open.max_wait: how long half-open may last.
	DefaultMaxWait = time.Minute
	// DefaultServerGuidedMax is server_guided.max.
	DefaultServerGuidedMax = 5 * time.Minute
	// DefaultReplyStatus is the status of the reply to a rejected request.
	DefaultReplyStatus = 503
	// DefaultReplyBody is the body of the reply to a rejected request.
	DefaultReplyBody = "upstream circuit open\n"
	// DefaultMode is mode when absent.
	DefaultMode = ModeEnforcing
)

// Default lists: failure.statuses, failure.grpc_statuses and
// server_guided.statuses when absent.
var (
	DefaultFailureStatuses = []StatusRange{{500, 599}}
	DefaultGRPCStatuses    = []GRPCCode{4, 13, 14} // DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE
	DefaultGuidedStatuses  = []StatusRange{{429, 429}, {503, 503}}
)

// Bounds of the configurable values.
const (
	MaxKeysLimit       = 10000
	MaxWindowCalls     = 1000
	MaxWindowBuckets   = 60
	MaxDuration        = time.Hour
	MaxProbes          = 10
	MaxShadows         = 4
	MaxConsecutive     = 1000
	MaxMultiplier      = 10.0
	MaxMinimumCalls    = 1000000
	minBucketWidth     = time.Millisecond
	maxDurationText    = "1h"
	maxHeaderNameBytes = 256
)

// Key kinds.
const (
	KeyCluster = "cluster"
	KeyRoute   = "route"
	// KeyHeaderPrefix starts a key that is a request header's value:
	// "header:x-tenant".
	KeyHeaderPrefix = "header:"
)

// OverflowKey is the key shared by every key beyond max_keys.
const OverflowKey = "~overflow"

// Modes.
const (
	ModeEnforcing  = "enforcing"
	ModeDryRun     = "dry_run"
	ModeForcedOpen = "forced_open"
	ModeDisabled   = "disabled"
)

// Window types.
const (
	WindowCount = "count"
	WindowTime  = "time"
)

// Config is the breaker filter configuration. Its zero value, validated,
// is the default breaker: per cluster, 5xx, connection failures and three
// gRPC statuses are failures, 5 consecutive failures open a key for 30s
// (doubling per consecutive trip up to 5m), one probe at a time.
type Config struct {
	// Key is what a circuit is kept per: "cluster", "route" or
	// "header:<name>". "": DefaultKey.
	Key string `json:"key"`
	// MaxKeys caps the distinct keys, 1 to MaxKeysLimit; beyond it every
	// new key shares OverflowKey. Absent: DefaultMaxKeys.
	MaxKeys *int `json:"max_keys"`
	// Failure says which outcomes are failures. Absent: the defaults of
	// FailureSpec.
	Failure *FailureSpec `json:"failure"`
	// SlowCall makes calls slower than a threshold count as slow. Absent:
	// no call is slow.
	SlowCall *SlowCallSpec `json:"slow_call"`
	// Trip says when a closed circuit opens. Absent: after
	// DefaultConsecutiveFailures consecutive failures.
	Trip *TripSpec `json:"trip"`
	// Open says how long an open circuit stays open.
	Open *OpenSpec `json:"open"`
	// HalfOpen says how an open circuit is probed.
	HalfOpen *HalfOpenSpec `json:"half_open"`
	// ServerGuided opens a key for as long as the upstream asks.
	ServerGuided *ServerGuidedSpec `json:"server_guided"`
	// Mode is ModeEnforcing, ModeDryRun, ModeForcedOpen or ModeDisabled.
	// "": DefaultMode.
	Mode string `json:"mode"`
	// Reply is the local answer to a rejected request.
	Reply *ReplySpec `json:"reply"`
	// Shadow lists up to MaxShadows candidate trip policies evaluated on
	// the same outcomes; they only report when they would open.
	Shadow []ShadowSpec `json:"shadow"`

	p policy // prepared by Validate
}

// FailureSpec classifies outcomes (see Classify).
type FailureSpec struct {
	// Statuses are HTTP statuses and ranges ("500-599") that are failures.
	// Absent: DefaultFailureStatuses; []: none.
	Statuses []StatusRange `json:"statuses"`
	// GRPCStatuses are gRPC statuses, by name or number, that are
	// failures. Absent: DefaultGRPCStatuses; []: none.
	GRPCStatuses []GRPCCode `json:"grpc_statuses"`
	// ConnectionFailures counts an upstream never reached or reset as a
	// failure; false ignores it. Absent: true.
	ConnectionFailures *bool `json:"connection_failures"`
	// ResponseHeader makes a response carrying a header a failure.
	// Absent: off.
	ResponseHeader *HeaderMatch `json:"response_header"`
}

// HeaderMatch matches a response header by exactly one of Exact, Regex or
// Present.
type HeaderMatch struct {
	Name    string  `json:"name"`
	Exact   *string `json:"exact"`
	Regex   *string `json:"regex"`
	Present *bool   `json:"present"`
}

// SlowCallSpec defines a slow call.
type SlowCallSpec struct {
	// Threshold is the time to response headers from which a call is slow,
	// more than 0 and at most MaxDuration. Required.
	Threshold *pipeline.Duration `json:"threshold"`
}

// TripSpec says when a closed circuit opens: any condition that holds
// opens it.
type TripSpec struct {
	// ConsecutiveFailures opens after this many failures in a row, up to
	// MaxConsecutive; 0 is off. Absent: DefaultConsecutiveFailures.
	ConsecutiveFailures *int `json:"consecutive_failures"`
	// FailureRate opens when the share of failures over the window reaches
	// it, more than 0. Absent: off.
	FailureRate *pipeline.Percent `json:"failure_rate"`
	// SlowCallRate opens when the share of slow calls over the window
	// reaches it, more than 0. Absent: off.
	SlowCallRate *pipeline.Percent `json:"slow_call_rate"`
	// MinimumCalls is how many calls the window must hold before a rate
	// counts, 1 to MaxMinimumCalls (and at most a count window's size).
	// Absent: DefaultMinimumCalls, or the window's size if smaller.
	MinimumCalls *int `json:"minimum_calls"`
	// Window is the window rates are taken over. Absent: a count window of
	// DefaultWindowSize calls. Shadow policies may not give one: they
	// share the main window.
	Window *WindowSpec `json:"window"`
}

// WindowSpec is a count window ({"type": "count", "size": N}) or a time
// window ({"type": "time", "duration": "60s", "buckets": 10}).
type WindowSpec struct {
	Type string `json:"type"`
	// Size is a count window's calls, 1 to MaxWindowCalls.
	Size int `json:"size"`
	// Duration is a time window's span, at most MaxDuration.
	Duration *pipeline.Duration `json:"duration"`
	// Buckets divides a time window, 1 to MaxWindowBuckets. Absent: 10.
	Buckets *int `json:"buckets"`
}

// OpenSpec says how long an open circuit stays open: Base ×
// Multiplier^(consecutive trips − 1), at most Max, varied by Jitter.
type OpenSpec struct {
	// Base is the first open time, more than 0. Absent: DefaultOpenBase.
	Base *pipeline.Duration `json:"base"`
	// Max caps the open time, at least Base. Absent: DefaultOpenMax.
	Max *pipeline.Duration `json:"max"`
	// Multiplier, 1 to MaxMultiplier. Absent: DefaultOpenMultiplier.
	Multiplier *float64 `json:"multiplier"`
	// Jitter, a fraction from 0 to 1. Absent: DefaultOpenJitter.
	Jitter *float64 `json:"jitter"`
}

// HalfOpenSpec says how an open circuit is probed once its time is up.
type HalfOpenSpec struct {
	// Probes is how many probes may run at once across workers, 1 to
	// MaxProbes. Absent: DefaultProbes.
	Probes *int `json:"probes"`
	// Successes is how many probe successes close the circuit, 1 to
	// MaxConsecutive. Absent: Probes.
	Successes *int `json:"successes"`
	// MaxWait is how long half-open may last before it re-opens; a probe
	// lost with its stream holds its slot at most this long. Absent:
	// DefaultMaxWait.
	MaxWait *pipeline.Duration `json:"max_wait"`
}

// ServerGuidedSpec opens a key for the time an upstream's Retry-After or
// RateLimit-Reset asks for.
type ServerGuidedSpec struct {
	// Enabled turns it on. Absent: false.
	Enabled bool `json:"enabled"`
	// Statuses whose pushback is honoured. Absent: DefaultGuidedStatuses.
	Statuses []StatusRange `json:"statuses"`
	// Max caps the time, at most MaxDuration. Absent: DefaultServerGuidedMax.
	Max *pipeline.Duration `json:"max"`
}

// ReplySpec is the local answer to a rejected request.
type ReplySpec struct {
	// Status from 200 to 599. Absent: DefaultReplyStatus.
	Status *int `json:"status"`
	// Body. Absent: DefaultReplyBody.
	Body *string `json:"body"`
	// Headers added to the reply; pseudo-headers are not allowed.
	Headers map[string]string `json:"headers"`
}

// ShadowSpec is a candidate trip policy.
type ShadowSpec struct {
	// Name says which policy would have opened, in logs and metrics: a
	// token, unique among the shadows. Required.
	Name string `json:"name"`
	// Trip is the candidate; Window is not allowed. Required.
	Trip *TripSpec `json:"trip"`
}

// StatusRange is an HTTP status or an inclusive range, written in JSON as
// a number (503) or a string ("503", "500-599").
type StatusRange struct{ Lo, Hi int }

// DecodeValue reads a status or a range of statuses.
func (r *StatusRange) DecodeValue(v pipeline.Value) error {
	const msg = `must be a status (503) or a range of statuses ("500-599"), from 100 to 599`
	if n, err := v.Int(); err == nil {
		*r = StatusRange{n, n}
	} else {
		s, err := v.Str()
		if err != nil {
			return errors.New(msg)
		}
		lo, hi, isRange := strings.Cut(s, "-")
		if !isRange {
			hi = lo
		}
		var e1, e2 error
		r.Lo, e1 = strconv.Atoi(strings.TrimSpace(lo))
		r.Hi, e2 = strconv.Atoi(strings.TrimSpace(hi))
		if e1 != nil || e2 != nil {
			return errors.New(msg)
		}
	}
	if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
		return errors.New(msg)
	}
	return nil
}

// grpcNames are the gRPC status codes by name, indexed by number.
var grpcNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// GRPCCode is a gRPC status code, written in JSON as a number (14) or a
// name ("UNAVAILABLE", any case).
type GRPCCode int

// DecodeValue reads a gRPC status by number or name.
func (g *GRPCCode) DecodeValue(v pipeline.Value) error {
	if n, err := v.Int(); err == nil {
		if n < 0 || n >= len(grpcNames) {
			return pipeline.Errorf("", "must be a gRPC status from 0 to %d", len(grpcNames)-1)
		}
		*g = GRPCCode(n)
		return nil
	}
	if s, err := v.Str(); err == nil {
		if i := slices.Index(grpcNames[:], strings.ToUpper(s)); i >= 0 {
			*g = GRPCCode(i)
			return nil
		}
	}
	return errors.New(`must be a gRPC status name ("UNAVAILABLE") or number (14)`)
}

// String returns the code's name.
func (g GRPCCode) String() string {
	if g >= 0 && int(g) < len(grpcNames) {
		return grpcNames[g]
	}
	return strconv.Itoa(int(g))
}

// statusSet is a set of HTTP statuses 0 to 639.
type statusSet [10]uint64

func (s *statusSet) add(r StatusRange) {
	for c := r.Lo; c <= r.Hi; c++ {
		s[c/64] |= 1 << (c % 64)
	}
}

// statusSetOf is the set of the ranges given, or of defaults when given is
// nil (absent; an empty list is no status).
func statusSetOf(given, defaults []StatusRange) statusSet {
	if given == nil {
		given = defaults
	}
	var s statusSet
	for _, r := range given {
		s.add(r)
	}
	return s
}

func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 640 && s[code/64]&(1<<(code%64)) != 0
}

// trip is a prepared TripSpec.
type trip struct {
	consecutive  int     // 0: off
	failureRate  float64 // percent; 0: off
	slowRate     float64 // percent; 0: off
	minimumCalls int
}

func (t trip) usesWindow() bool { return t.failureRate > 0 || t.slowRate > 0 }

// windowShape is a prepared WindowSpec: size > 0 for a count window,
// otherwise buckets of width.
type windowShape struct {
	size    int
	buckets int
	width   time.Duration
}

// policy is the prepared configuration.
type policy struct {
	key, keyHeader string
	maxKeys        int

	failStatus   statusSet
	failGRPC     uint32 // bit per code
	connFailures bool
	header       string // response_header name, "" for none
	headerExact  *string
	headerRegex  *rx.Regexp
	slow         time.Duration // 0: off

	trip    trip
	window  windowShape // zero when no rate is configured anywhere
	shadows []shadow

	openBase, openMax time.Duration
	multiplier        float64
	jitter            float64

	probes, successes int
	maxWait           time.Duration

	guided       bool
	guidedStatus statusSet
	guidedMax    time.Duration

	mode  string
	reply Reply
}

// shadow is a prepared ShadowSpec.
type shadow struct {
	name string
	trip trip
}

// Reply is the local answer to a rejected request.
type Reply struct {
	Status int
	Body   string
	// Headers to add, sorted by name, names lower-case.
	Headers [][2]string
}

// Parse parses a breaker configuration with its per-route overrides (a
// "routes" list, see pipeline.ParseRoutes). Every configuration it returns
// is validated.
func Parse(data []byte) (*pipeline.Routes[Config], error) {
	return pipeline.ParseRoutes[Config](data)
}

// Validate checks the configuration and prepares it. Errors are
// pipeline.FieldErrors naming the JSON path of the offending value.
func (c *Config) Validate() error {
	p := policy{}
	var err error
	if p.key, p.keyHeader, err = parseKey(c.Key); err != nil {
		return err
	}
	p.maxKeys = DefaultMaxKeys
	if c.MaxKeys != nil {
		if p.maxKeys = *c.MaxKeys; p.maxKeys < 1 || p.maxKeys > MaxKeysLimit {
			return pipeline.Errorf("max_keys", "must be between 1 and %d", MaxKeysLimit)
		}
	}
	if err := c.Failure.prepare(&p); err != nil {
		return err
	}
	if c.SlowCall != nil {
		if c.SlowCall.Threshold == nil {
			return pipeline.Errorf("slow_call.threshold", "is required: a duration such as \"2s\"")
		}
		if err := positiveDuration("slow_call.threshold", c.SlowCall.Threshold, &p.slow); err != nil {
			return err
		}
	}
	if p.trip, p.window, err = c.Trip.prepare("trip", true); err != nil {
		return err
	}
	if err := c.prepareShadows(&p); err != nil {
		return err
	}
	if (p.trip.slowRate > 0 || slices.ContainsFunc(p.shadows, func(s shadow) bool { return s.trip.slowRate > 0 })) && p.slow == 0 {
		return pipeline.Errorf("slow_call.threshold", "is required when a slow_call_rate is set")
	}
	if err := c.Open.prepare(&p); err != nil {
		return err
	}
	if err := c.HalfOpen.prepare(&p); err != nil {
		return err
	}
	if err := c.ServerGuided.prepare(&p); err != nil {
		return err
	}
	if p.trip.consecutive == 0 && !p.trip.usesWindow() && !p.guided {
		return pipeline.Errorf("trip", "nothing would ever open the circuit: set consecutive_failures, failure_rate or slow_call_rate, or enable server_guided")
	}
	switch c.Mode {
	case "":
		p.mode = DefaultMode
	case ModeEnforcing, ModeDryRun, ModeForcedOpen, ModeDisabled:
		p.mode = c.Mode
	default:
		return pipeline.Errorf("mode", "%q is not a mode: use %q, %q, %q or %q", c.Mode, ModeEnforcing, ModeDryRun, ModeForcedOpen, ModeDisabled)
	}
	if p.reply, err = c.Reply.prepare("reply"); err != nil {
		return err
	}
	c.p = p
	return nil
}

func parseKey(key string) (kind, header string, err error) {
	switch {
	case key == "":
		return DefaultKey, "", nil
	case key == KeyCluster || key == KeyRoute:
		return key, "", nil
	case strings.HasPrefix(key, KeyHeaderPrefix):
		name := strings.ToLower(strings.TrimPrefix(key, KeyHeaderPrefix))
		if strings.HasPrefix(name, ":") || !pipeline.IsToken(name) || len(name) > maxHeaderNameBytes {
			return "", "", pipeline.Errorf("key", "%q does not name a request header: use \"header:x-tenant\"", key)
		}
		return KeyHeaderPrefix, name, nil
	}
	return "", "", pipeline.Errorf("key", "%q is not a key: use %q, %q or \"header:<name>\"", key, KeyCluster, KeyRoute)
}

func (f *FailureSpec) prepare(p *policy) error {
	if f == nil {
		f = &FailureSpec{}
	}
	p.failStatus = statusSetOf(f.Statuses, DefaultFailureStatuses)
	codes := f.GRPCStatuses
	if codes == nil {
		codes = DefaultGRPCStatuses
	}
	for _, g := range codes {
		p.failGRPC |= 1 << g
	}
	p.connFailures = f.ConnectionFailures == nil || *f.ConnectionFailures
	h := f.ResponseHeader
	if h == nil {
		return nil
	}
	const path = "failure.response_header"
	name := strings.ToLower(h.Name)
	if strings.HasPrefix(name, ":") || !pipeline.IsToken(name) || len(name) > maxHeaderNameBytes {
		return pipeline.Errorf(pipeline.Join(path, "name"), "%q is not a response header name", h.Name)
	}
	if count(h.Exact != nil, h.Regex != nil, h.Present != nil) != 1 {
		return pipeline.Errorf(path, "give exactly one of exact, regex or present")
	}
	if h.Present != nil && !*h.Present {
		return pipeline.Errorf(pipeline.Join(path, "present"), "must be true (leave response_header out to turn it off)")
	}
	if h.Regex != nil {
		re, err := rx.Compile(*h.Regex)
		if err != nil {
			return pipeline.Errorf(pipeline.Join(path, "regex"), "invalid regular expression: %v", err)
		}
		p.headerRegex = re
	}
	p.header, p.headerExact = name, h.Exact
	return nil
}

// prepare checks a trip policy; main tells the top-level trip (with
// defaults and a window) from a shadow's.
func (t *TripSpec) prepare(path string, main bool) (trip, windowShape, error) {
	if t == nil {
		t = &TripSpec{}
	}
	out := trip{consecutive: DefaultConsecutiveFailures}
	if t.ConsecutiveFailures != nil {
		if out.consecutive = *t.ConsecutiveFailures; out.consecutive < 0 || out.consecutive > MaxConsecutive {
			return trip{}, windowShape{}, pipeline.Errorf(pipeline.Join(path, "consecutive_failures"), "must be between 0 (off) and %d", MaxConsecutive)
		}
	}
	for _, r := range []struct {
		name string
		v    *pipeline.Percent
		dst  *float64
	}{{"failure_rate", t.FailureRate, &out.failureRate}, {"slow_call_rate", t.SlowCallRate, &out.slowRate}} {
		if r.v == nil {
			continue
		}
		if *r.v == 0 {
			return trip{}, windowShape{}, pipeline.Errorf(pipeline.Join(path, r.name), "must be more than 0 (leave it out to turn it off)")
		}
		*r.dst = float64(*r.v)
	}
	var shape windowShape
	if t.Window != nil {
		if !main {
			return trip{}, windowShape{}, pipeline.Errorf(pipeline.Join(path, "window"), "shadow policies share trip.window: leave it out")
		}
		var err error
		if shape, err = t.Window.prepare(pipeline.Join(path, "window")); err != nil {
			return trip{}, windowShape{}, err
		}
	} else if main {
		shape = windowShape{size: DefaultWindowSize}
	}
	out.minimumCalls = DefaultMinimumCalls
	if shape.size > 0 && shape.size < out.minimumCalls {
		out.minimumCalls = shape.size
	}
	if t.MinimumCalls != nil {
		if out.minimumCalls = *t.MinimumCalls; out.minimumCalls < 1 || out.minimumCalls > MaxMinimumCalls {
			return trip{}, windowShape{}, pipeline.Errorf(pipeline.Join(path, "minimum_calls"), "must be between 1 and %d", MaxMinimumCalls)
		}
	}
	if main && shape.size > 0 && out.minimumCalls > shape.size {
		return trip{}, windowShape{}, pipeline.Errorf(pipeline.Join(path, "minimum_calls"), "must be at most the window's size (%d): the rate would never count", shape.size)
	}
	if main && !out.usesWindow() {
		shape = windowShape{}
	}
	return out, shape, nil
}

func (w *WindowSpec) prepare(path string) (windowShape, error) {
	switch w.Type {
	case WindowCount:
		if w.Duration != nil || w.Buckets != nil {
			return windowShape{}, pipeline.Errorf(path, "a count window takes size only")
		}
		if w.Size < 1 || w.Size > MaxWindowCalls {
			return windowShape{}, pipeline.Errorf(pipeline.Join(path, "size"), "must be between 1 and %d calls", MaxWindowCalls)
		}
		return windowShape{size: w.Size}, nil
	case WindowTime:
		if w.Size != 0 {
			return windowShape{}, pipeline.Errorf(pipeline.Join(path, "size"), "a time window takes duration and buckets, not size")
		}
		if w.Duration == nil {
			return windowShape{}, pipeline.Errorf(pipeline.Join(path, "duration"), "is required: a duration such as \"60s\"")
		}
		var span time.Duration
		if err := positiveDuration(pipeline.Join(path, "duration"), w.Duration, &span); err != nil {
			return windowShape{}, err
		}
		buckets := 10
		if w.Buckets != nil {
			if buckets = *w.Buckets; buckets < 1 || buckets > MaxWindowBuckets {
				return windowShape{}, pipeline.Errorf(pipeline.Join(path, "buckets"), "must be between 1 and %d", MaxWindowBuckets)
			}
		}
		width := span / time.Duration(buckets)
		if width < minBucketWidth {
			return windowShape{}, pipeline.Errorf(pipeline.Join(path, "buckets"), "each bucket must span at least %v", minBucketWidth)
		}
		return windowShape{buckets: buckets, width: width}, nil
	}
	return windowShape{}, pipeline.Errorf(pipeline.Join(path, "type"), "%q is not a window type: use %q or %q", w.Type, WindowCount, WindowTime)
}

func (c *Config) prepareShadows(p *policy) error {
	if len(c.Shadow) > MaxShadows {
		return pipeline.Errorf("shadow", "at most %d shadow policies", MaxShadows)
	}
	for i, s := range c.Shadow {
		path := pipeline.Index("shadow", i)
		if !pipeline.IsToken(s.Name) || len(s.Name) > 64 {
			return pipeline.Errorf(pipeline.Join(path, "name"), "is required: a short name of letters, digits, - and _")
		}
		if slices.ContainsFunc(p.shadows, func(o shadow) bool { return o.name == s.Name }) {
			return pipeline.Errorf(pipeline.Join(path, "name"), "%q is given twice", s.Name)
		}
		if s.Trip == nil {
			return pipeline.Errorf(pipeline.Join(path, "trip"), "is required")
		}
		t, _, err := s.Trip.prepare(pipeline.Join(path, "trip"), false)
		if err != nil {
			return err
		}
		if t.usesWindow() && p.window == (windowShape{}) {
			p.window = windowShape{size: DefaultWindowSize}
			if c.Trip != nil && c.Trip.Window != nil {
				p.window, _ = c.Trip.Window.prepare("trip.window")
			}
		}
		if t.usesWindow() && p.window.size > 0 && t.minimumCalls > p.window.size {
			return pipeline.Errorf(pipeline.Join(path, "trip.minimum_calls"), "must be at most the window's size (%d): the rate would never count", p.window.size)
		}
		p.shadows = append(p.shadows, shadow{name: s.Name, trip: t})
	}
	return nil
}

func (o *OpenSpec) prepare(p *policy) error {
	if o == nil {
		o = &OpenSpec{}
	}
	p.openBase, p.openMax = DefaultOpenBase, DefaultOpenMax
	p.multiplier, p.jitter = DefaultOpenMultiplier, DefaultOpenJitter
	if err := positiveDuration("open.base", o.Base, &p.openBase); err != nil {
		return err
	}
	p.openMax = max(p.openMax, p.openBase)
	if err := positiveDuration("open.max", o.Max, &p.openMax); err != nil {
		return err
	}
	if p.openMax < p.openBase {
		return pipeline.Errorf("open.max", "must be at least open.base (%v)", p.openBase)
	}
	if m := o.Multiplier; m != nil {
		if math.IsNaN(*m) || *m < 1 || *m > MaxMultiplier {
			return pipeline.Errorf("open.multiplier", "must be between 1 and %v", MaxMultiplier)
		}
		p.multiplier = *m
	}
	if j := o.Jitter; j != nil {
		if math.IsNaN(*j) || *j < 0 || *j > 1 {
			return pipeline.Errorf("open.jitter", "must be a fraction between 0 and 1")
		}
		p.jitter = *j
	}
	return nil
}

func (h *HalfOpenSpec) prepare(p *policy) error {
	if h == nil {
		h = &HalfOpenSpec{}
	}
	p.probes, p.maxWait = DefaultProbes, DefaultMaxWait
	if h.Probes != nil {
		if p.probes = *h.Probes; p.probes < 1 || p.probes > MaxProbes {
			return pipeline.Errorf("half_open.probes", "must be between 1 and %d", MaxProbes)
		}
	}
	p.successes = p.probes
	if h.Successes != nil {
		if p.successes = *h.Successes; p.successes < 1 || p.successes > MaxConsecutive {
			return pipeline.Errorf("half_open.successes", "must be between 1 and %d", MaxConsecutive)
		}
	}
	return positiveDuration("half_open.max_wait", h.MaxWait, &p.maxWait)
}

func (s *ServerGuidedSpec) prepare(p *policy) error {
	if s == nil {
		s = &ServerGuidedSpec{}
	}
	p.guidedStatus = statusSetOf(s.Statuses, DefaultGuidedStatuses)
	p.guidedMax = DefaultServerGuidedMax
	p.guided = s.Enabled
	return positiveDuration("server_guided.max", s.Max, &p.guidedMax)
}

func (r *ReplySpec) prepare(path string) (Reply, error) {
	out := Reply{Status: DefaultReplyStatus, Body: DefaultReplyBody}
	if r == nil {
		return out, nil
	}
	if r.Status != nil {
		if out.Status = *r.Status; out.Status < 200 || out.Status > 599 {
			return Reply{}, pipeline.Errorf(pipeline.Join(path, "status"), "must be between 200 and 599")
		}
	}
	if r.Body != nil {
		out.Body = *r.Body
	}
	var err error
	if out.Headers, err = pipeline.ReplyHeaders(pipeline.Join(path, "headers"), r.Headers); err != nil {
		return Reply{}, err
	}
	return out, nil
}

// positiveDuration sets *dst to d when d is given, which must be more
// than 0 and at most MaxDuration.
func positiveDuration(path string, d *pipeline.Duration, dst *time.Duration) error {
	switch {
	case d == nil:
		return nil
	case *d == 0:
		return pipeline.Errorf(path, "must be more than 0")
	case d.Std() > MaxDuration:
		return pipeline.Errorf(path, "must be at most %s", maxDurationText)
	}
	*dst = d.Std()
	return nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// KeyKind is KeyCluster, KeyRoute or KeyHeaderPrefix; for the last,
// KeyHeader names the request header.
func (c *Config) KeyKind() string { return c.p.key }

// KeyHeader is the lower-case request header whose value is the key, or
// "" unless the key is a header.
func (c *Config) KeyHeader() string { return c.p.keyHeader }

// KeyLimit is max_keys: the cap on distinct keys; beyond it, OverflowKey.
func (c *Config) KeyLimit() int { return c.p.maxKeys }

// RunMode is mode, with its default.
func (c *Config) RunMode() string { return c.p.mode }

// LocalReply is the answer to a rejected request. Callers must not modify
// its Headers.
func (c *Config) LocalReply() Reply { return c.p.reply }

// FailureHeader is the response header Classify reads
// (Response.Header), or "" when failure.response_header is off.
func (c *Config) FailureHeader() string { return c.p.header }

// ShadowNames lists the shadow policies in order; Transition.Shadows
// indexes it.
func (c *Config) ShadowNames() []string {
	out := make([]string, len(c.p.shadows))
	for i, s := range c.p.shadows {
		out[i] = s.name
	}
	return out
}
