package webhookauth

import (
	"slices"
	"strconv"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// RootID is the root_id that selects this filter in a module, and its
// section in the suite's configuration.
const RootID = "webhookauth"

// Filter is the webhookauth filter as modules register it.
var Filter = pipeline.Filter{Name: RootID, New: newStage}

// Reasons the stage adds to those of Verify. All but body_timeout are
// failures of the proxy, not of the sender, so the reply is 503: every
// provider redelivers on a 5xx, and a genuine delivery then gets another
// chance.
const (
	// ReasonReplayCheckUnavailable: the replay cache in shared data could
	// not be read or written, or stayed contended past
	// pipeline.DefaultCASAttempts. A security filter that let the delivery
	// through here would accept replays exactly when it is under load, so
	// it refuses (fails closed).
	ReasonReplayCheckUnavailable Reason = "replay_check_unavailable"
	// ReasonBodyUnavailable: the proxy did not hand over the body.
	ReasonBodyUnavailable Reason = "body_unavailable"
	// ReasonBodyTimeout: the whole body did not arrive within body_timeout
	// (answered 408), so no request is held back without end.
	ReasonBodyTimeout Reason = "body_timeout"
	// ReasonTimerUnavailable: the proxy refused the timer that bounds the
	// wait for the body. Holding the request back without it could hang
	// it for good, so it is answered at once.
	ReasonTimerUnavailable Reason = "timer_unavailable"
)

// Local replies. They say nothing an attacker could learn from: the reason
// goes to the debug log and the metrics only.
var (
	jsonHeaders     = [][2]string{{"content-type", "application/json"}}
	failedBody      = []byte(`{"error":"webhook verification failed"}`)
	tooLargeBody    = []byte(`{"error":"payload too large"}`)
	unavailableBody = []byte(`{"error":"webhook verification unavailable"}`)
	timeoutBody     = []byte(`{"error":"request body not received in time"}`)

	failClosedReply = &pipeline.Reply{Status: 503, Headers: jsonHeaders, Body: unavailableBody}
)

// maxRoutes bounds the per-VM cache of route outcome counters; route names
// come from Envoy's configuration, so this is only a safety net.
const maxRoutes = 4096

// stage is the webhookauth filter in one plugin of one worker VM.
type stage struct {
	env    *pipeline.Env
	routes *pipeline.Routes[Config]
	replay map[*Config]*replayCache
	etcd   map[*Config]*etcdStore
	// markers are every verified header name the configuration mentions,
	// the default one included: a client's copy of any of them is removed
	// on every route the filter sees.
	markers []string
	// outcomes caches the outcome counters per route name and
	// configuration, defined on first use.
	outcomes map[outcomeKey]*outcomes
	// bodySeen: a body reached a request held back in its headers, which
	// proves Envoy honours that pause (see warnNoBody).
	bodySeen, warnedNoBody bool
}

type outcomeKey struct {
	route string
	cfg   *Config
}

// outcomes are one route's counters of steadfast_webhookauth_requests_total.
type outcomes struct {
	route    string
	scheme   string
	counters map[Reason]pipeline.Counter
}

func newStage(env *pipeline.Env, config []byte) (pipeline.Stage, error) {
	routes, err := pipeline.LoadRoutes[Config](env, config)
	if err != nil {
		return nil, err
	}
	st := &stage{
		env:      env,
		routes:   routes,
		replay:   replayCaches(routes),
		etcd:     etcdStores(env, routes),
		markers:  markers(routes),
		outcomes: map[outcomeKey]*outcomes{},
	}
	created := map[*replayCache]bool{}
	for _, rc := range st.replay {
		if !created[rc] {
			created[rc] = true
			rc.create(env)
		}
	}
	env.Log.Infof("steadfast %s: scheme %s; route entries: %v", RootID, routes.Default.Scheme, routes.Names())
	return st, nil
}

func (st *stage) Name() string { return RootID }

// OnFailure refuses the delivery: nothing reaches the application
// unverified, and providers redeliver on a 5xx.
func (st *stage) OnFailure() *pipeline.Reply { return failClosedReply }

// markers lists the verified header names of every configuration, and
// the default name, which an application may look for even where the
// configuration adds none or another.
func markers(routes *pipeline.Routes[Config]) []string {
	out := []string{DefaultVerifiedHeader}
	_ = routes.Each(func(c *Config) error {
		if h := c.Settings().VerifiedHeader; h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
		return nil
	})
	return out
}

// Start removes every copy of the markers, on every route: the marker is
// the application's proof that the filter ran. On a route where the filter
// verifies, it goes on as the stream's handler.
func (st *stage) Start(s *pipeline.Stream) pipeline.Handler {
	cfg := st.routes.Resolve(s)
	if cfg == nil {
		for _, name := range st.markers {
			st.removeHeader(s, name)
		}
		return nil
	}
	h := Headers(s.Headers())
	for _, name := range st.markers {
		if h.has(name) {
			st.removeHeader(s, name)
		}
	}
	return &handler{st: st, cfg: cfg, settings: cfg.Settings(), out: st.outcomesOf(s.Route(), cfg)}
}

func (st *stage) removeHeader(s *pipeline.Stream, name string) {
	if err := s.RemoveHeader(name); err != nil {
		st.env.Log.Warnf("steadfast %s: cannot remove %s: %v", RootID, name, err)
	}
}

func (st *stage) outcomesOf(route string, cfg *Config) *outcomes {
	return pipeline.Cached(&st.outcomes, outcomeKey{route, cfg}, maxRoutes, func() *outcomes {
		return &outcomes{route: route, scheme: cfg.Settings().Scheme, counters: map[Reason]pipeline.Counter{}}
	})
}

// count adds one to steadfast_webhookauth_requests_total of the route and
// reason; the handle is defined and cached on the first request of a kind.
func (st *stage) count(o *outcomes, reason Reason) {
	c, ok := o.counters[reason]
	if !ok {
		outcome, label := "rejected", string(reason)
		if reason == ReasonNone {
			outcome, label = "accepted", "none"
		}
		c = st.env.Metrics.Counter("requests_total", "route", o.route, "scheme", o.scheme, "outcome", outcome, "reason", label)
		o.counters[reason] = c
	}
	c.Increment(1)
}

// warnNoBody explains, once per VM, a request whose body did not arrive
// within body_timeout while no body has reached this VM yet. The filter
// cannot tell the two causes apart: a client that announced a body and
// stalled, or an Envoy that never hands bodies over because a pause in the
// request headers turns into "stop all" (no body callbacks until the filter
// resumes, which it cannot do unverified) unless the plugin config has
// allow_on_headers_stop_iteration: true (Envoy 1.35 and later).
func (st *stage) warnNoBody(route string) {
	if st.bodySeen || st.warnedNoBody {
		return
	}
	st.warnedNoBody = true
	st.env.Log.Warnf("steadfast %s: route %q: no body arrived within body_timeout for a request held back for verification, "+
		"and none has reached this worker yet: either the client stalled, or Envoy holds bodies back because the Wasm filter's "+
		"plugin config lacks allow_on_headers_stop_iteration: true (then every request with a body times out)", RootID, route)
}

// handler verifies one delivery: its headers at once, its body as it
// passes, held back until the last byte decides.
type handler struct {
	pipeline.BaseHandler
	st       *stage
	cfg      *Config
	settings Settings
	out      *outcomes
	v        *Verifier
	size     int    // body bytes written to v
	body     []byte // the whole body, kept only when v.NeedsBody
	call     etcdCall
}

func (h *handler) Wants() pipeline.Wants { return pipeline.WantRequestBody }

// RequestHeaders begins the verification: a delivery its headers already
// condemn (stale, malformed, ambiguous, too large) is answered before its
// body arrives. Otherwise the request is held while the body is hashed.
func (h *handler) RequestHeaders(s *pipeline.Stream) pipeline.Verdict {
	hs := Headers(s.Headers())
	if cl, r := hs.get("content-length"); r == ReasonNone {
		if n, err := strconv.ParseUint(cl, 10, 63); err == nil && n > uint64(h.settings.MaxBodyBytes) {
			return h.refuse(ReasonTooLarge)
		}
	}
	v, reason := h.cfg.Begin(hs, s.Now())
	if reason != ReasonNone {
		return h.refuse(reason)
	}
	h.v = v
	if s.RequestEnded() {
		return h.finish(s)
	}
	// No timer, no hold: nothing would end a body that never comes.
	if err := s.After(s.Now().Add(h.settings.BodyTimeout)); err != nil {
		h.st.env.Log.Warnf("steadfast %s: route %q: cannot arm the body timeout: %v", RootID, h.out.route, err)
		return h.refuse(ReasonTimerUnavailable)
	}
	return pipeline.Hold()
}

// RequestBody hands each new piece of the body to the verifier; the last
// piece decides.
func (h *handler) RequestBody(s *pipeline.Stream, chunk []byte, end bool) pipeline.Verdict {
	if h.v == nil {
		return pipeline.Continue // decided already
	}
	h.st.bodySeen = true
	if h.size+len(chunk) > h.settings.MaxBodyBytes {
		return h.refuse(ReasonTooLarge)
	}
	h.v.Write(chunk)
	h.size += len(chunk)
	if h.v.NeedsBody() {
		h.body = append(h.body, chunk...)
	}
	if !end {
		return pipeline.Hold()
	}
	return h.finish(s)
}

// Timer is the body timeout.
func (h *handler) Timer(*pipeline.Stream) pipeline.Verdict {
	if h.v == nil {
		return pipeline.Continue
	}
	h.st.warnNoBody(h.out.route)
	return h.refuse(ReasonBodyTimeout)
}

// finish decides on the delivery once the whole body was written: the
// request goes on, changed only by the configured header edits, or is
// answered locally.
func (h *handler) finish(s *pipeline.Stream) pipeline.Verdict {
	s.CancelTimer()
	now := s.Now()
	v := h.v.Finish(h.body, now)
	h.v, h.body = nil, nil
	if v.OK() {
		if es := h.st.etcd[h.cfg]; es != nil {
			return h.checkEtcd(s, es, v)
		}
		if rc := h.st.replay[h.cfg]; rc != nil {
			v.Reason = rc.checkAndInsert(h.st.env.Shared, v.ReplayKey, v.Expires, now)
		}
	}
	return h.conclude(s, v.Reason)
}

// conclude lets a verified delivery go on, with the configured header
// edits, or refuses it for reason.
func (h *handler) conclude(s *pipeline.Stream, reason Reason) pipeline.Verdict {
	if reason != ReasonNone {
		return h.refuse(reason)
	}
	h.st.count(h.out, ReasonNone)
	if h.settings.StripSignatureHeaders {
		for _, name := range h.cfg.SignatureHeaders() {
			h.st.removeHeader(s, name)
		}
	}
	if name := h.settings.VerifiedHeader; name != "" {
		if err := s.SetHeader(name, h.settings.Scheme); err != nil {
			h.st.env.Log.Warnf("steadfast %s: route %q: cannot set %s: %v", RootID, h.out.route, name, err)
		}
	}
	return pipeline.Continue
}

// refuse answers the delivery locally. If the proxy refuses the reply, the
// chain keeps the request held: it never reaches the application
// unverified, and Envoy's stream timeout ends it.
func (h *handler) refuse(reason Reason) pipeline.Verdict {
	h.v, h.body = nil, nil
	h.st.count(h.out, reason)
	status, body := h.settings.FailureStatus, failedBody
	switch reason {
	case ReasonTooLarge:
		status, body = 413, tooLargeBody
	case ReasonReplayCheckUnavailable, ReasonBodyUnavailable, ReasonTimerUnavailable:
		status, body = 503, unavailableBody
	case ReasonBodyTimeout:
		status, body = 408, timeoutBody
	}
	h.st.env.Log.Debugf("steadfast %s: route %q: %s delivery refused with %d: %s", RootID, h.out.route, h.settings.Scheme, status, string(reason))
	return pipeline.Respond(&pipeline.Reply{Status: status, Headers: jsonHeaders, Body: body})
}
