package webhookauth

import (
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/steadfast-proxy/steadfast/plugins"
)

// RootID is the root_id that selects this filter in a module.
const RootID = "webhookauth"

// Reasons the glue adds to those of Verify. All but body_timeout are
// failures of the proxy, not of the sender, so the reply is 503: every provider redelivers on a
// 5xx, and a genuine delivery then gets another chance.
const (
	// ReasonReplayCheckUnavailable: the replay cache in shared data could
	// not be read or written, or stayed contended past
	// plugins.DefaultCASAttempts. A security filter that let the delivery
	// through here would accept replays exactly when it is under load, so
	// it refuses (fails closed).
	ReasonReplayCheckUnavailable Reason = "replay_check_unavailable"
	// ReasonBodyUnavailable: the host did not hand over the buffered body.
	ReasonBodyUnavailable Reason = "body_unavailable"
	// ReasonBodyTimeout: the whole body did not arrive within body_timeout
	// (answered 408), so no request is held back without end.
	ReasonBodyTimeout Reason = "body_timeout"
	// ReasonTimerUnavailable: the host refused the timer that bounds the
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
)

// maxRoutes bounds the per-VM cache of Envoy route names; they come from
// Envoy's configuration, so this is only a safety net.
const maxRoutes = 4096

// pluginContext is one webhookauth plugin in one worker VM.
type pluginContext struct {
	types.DefaultPluginContext
	routes  *plugins.Routes[Config]
	sched   *plugins.Scheduler
	metrics *plugins.Metrics
	byRoute map[string]*route
	replay  map[*Config]*replayCache
	// markers are every verified header name the configuration mentions,
	// the default one included: a client's copy of any of them is removed
	// on every route the filter sees.
	markers []string
	// bodySeen: a body reached a stream held back in its headers, which
	// proves Envoy honours that pause (see warnNoBody).
	bodySeen, warnedNoBody bool
	store                  plugins.SharedStore
	now                    func() time.Time
	env                    func(string) (string, bool)
	newScheduler           func(now func() time.Time) *plugins.Scheduler
}

var _ types.PluginContext = (*pluginContext)(nil)

// NewPluginContext is the filter's factory for plugins.Register.
func NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{
		store:        plugins.HostShared,
		now:          time.Now,
		env:          os.LookupEnv,
		newScheduler: plugins.NewHostScheduler,
	}
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	routes, ok := plugins.LoadRoutes(RootID, Parse, func(c *Config) error { return c.ResolveSecrets(p.env) })
	if !ok {
		return types.OnPluginStartStatusFailed
	}
	p.routes = routes
	p.sched = p.newScheduler(p.now)
	p.metrics = plugins.NewMetrics(RootID)
	p.byRoute = map[string]*route{}
	p.markers = markers(routes)
	p.replay = replayCaches(routes)
	created := map[*replayCache]bool{}
	for _, rc := range p.replay {
		if !created[rc] {
			created[rc] = true
			rc.create(p.store)
		}
	}
	proxywasm.LogInfof("steadfast %s: started; scheme %s; route entries: %v", RootID, routes.Default.Scheme, routes.Names())
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() { p.sched.Tick() }

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &stream{p: p, id: contextID}
}

// markers lists the verified header names of every configuration, and
// the default name, which an application may look for even where the
// configuration adds none or another.
func markers(routes *plugins.Routes[Config]) []string {
	out := []string{DefaultVerifiedHeader}
	_ = routes.Each(func(c *Config) error {
		if h := c.Settings().VerifiedHeader; h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
		return nil
	})
	return out
}

// route is what the filter keeps per Envoy route name: the configuration it
// resolves to and the counters of its outcomes, defined on first use.
type route struct {
	name     string
	cfg      *Config // nil: the filter is disabled on this route
	settings Settings
	replay   *replayCache // nil: replay protection is off
	counters map[Reason]proxywasm.MetricCounter
}

func (p *pluginContext) route(name string) *route {
	if r, ok := p.byRoute[name]; ok {
		return r
	}
	r := &route{name: name, cfg: p.routes.Resolve(name)}
	if r.cfg != nil {
		r.settings = r.cfg.Settings()
		r.replay = p.replay[r.cfg]
		r.counters = map[Reason]proxywasm.MetricCounter{}
	}
	if len(p.byRoute) >= maxRoutes {
		p.byRoute = map[string]*route{}
	}
	p.byRoute[name] = r
	return r
}

// count adds one to steadfast_webhookauth_requests_total of the route and
// reason; the handle is defined and cached on the first request of a kind.
func (r *route) count(m *plugins.Metrics, reason Reason) {
	c, ok := r.counters[reason]
	if !ok {
		outcome, label := "rejected", string(reason)
		if reason == ReasonNone {
			outcome, label = "accepted", "none"
		}
		c = m.Counter("requests_total", "route", r.name, "scheme", r.settings.Scheme, "outcome", outcome, "reason", label)
		r.counters[reason] = c
	}
	c.Increment(1)
}

// streamState is where a request is in the filter.
type streamState uint8

const (
	// passing: the filter is disabled on the route, or the delivery was
	// verified; everything goes on untouched.
	passing streamState = iota
	// buffering: the headers are held back until the whole body is in.
	buffering
	// refused: a local reply was sent; nothing more goes upstream.
	refused
)

// stream is one HTTP request through the filter.
type stream struct {
	types.DefaultHttpContext
	p     *pluginContext
	id    uint32
	r     *route
	state streamState
	v     *Verifier
	// bodySize is the buffered body's size as the last body callback saw
	// it; all of it has been written to v.
	bodySize int
}

var _ types.HttpContext = (*stream)(nil)

// OnHttpRequestHeaders removes every copy of the markers, then reads the
// headers once and begins the verification: a delivery its headers
// already condemn (stale, malformed, ambiguous, too large) is answered
// before its body arrives. Otherwise the request is held back while the
// body is hashed as it passes.
func (s *stream) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	s.r = s.p.route(plugins.RouteName())
	if s.r.cfg == nil {
		for _, name := range s.p.markers {
			s.removeHeader(name)
		}
		return types.ActionContinue
	}
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		// Verified against no headers, the delivery is refused.
		proxywasm.LogWarnf("steadfast %s: route %q: cannot read the request headers: %v", RootID, s.r.name, err)
	}
	h := Headers(headers)
	for _, name := range s.p.markers {
		if h.has(name) {
			s.removeHeader(name)
		}
	}
	if cl, r := h.get("content-length"); r == ReasonNone {
		if n, err := strconv.ParseUint(cl, 10, 63); err == nil && n > uint64(s.r.settings.MaxBodyBytes) {
			return s.refuse(ReasonTooLarge)
		}
	}
	v, reason := s.r.cfg.Begin(h, s.p.now())
	if reason != ReasonNone {
		return s.refuse(reason)
	}
	s.v = v
	if endOfStream {
		return s.finish()
	}
	// No timer, no pause: nothing would end a body that never comes.
	if err := s.p.sched.Schedule(s.id, s.p.now().Add(s.r.settings.BodyTimeout), s.bodyTimedOut); err != nil {
		proxywasm.LogWarnf("steadfast %s: route %q: cannot arm the body timeout: %v", RootID, s.r.name, err)
		return s.refuse(ReasonTimerUnavailable)
	}
	s.state = buffering
	return types.ActionPause
}

// removeHeader removes every copy of a request header (Envoy's removal
// takes them all).
func (s *stream) removeHeader(name string) {
	if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
		proxywasm.LogWarnf("steadfast %s: route %q: cannot remove %s: %v", RootID, s.r.name, name, err)
	}
}

// bodyTimedOut runs when the body did not arrive within body_timeout.
func (s *stream) bodyTimedOut() {
	if s.state != buffering {
		return
	}
	s.p.warnNoBody(s.r.name)
	s.refuse(ReasonBodyTimeout)
}

// OnHttpRequestBody holds every chunk back (ActionPause makes Envoy buffer
// it, and bodySize is then the whole body so far), and hands only the new
// bytes to the verifier; the last chunk decides.
func (s *stream) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	switch s.state {
	case passing:
		return types.ActionContinue
	case refused:
		return types.ActionPause
	}
	s.p.bodySeen = true
	if bodySize > s.r.settings.MaxBodyBytes {
		return s.refuse(ReasonTooLarge)
	}
	if reason := s.readNew(bodySize); reason != ReasonNone {
		return s.refuse(reason)
	}
	if !endOfStream {
		return types.ActionPause
	}
	return s.finish()
}

// maxRead bounds each piece of the body copied into the VM. Envoy's
// callbacks bring whatever arrived since the last one, megabytes under
// load; read in pieces, the body never needs more than this of the VM's
// memory at once, which never shrinks once grown.
const maxRead = 64 << 10

// readNew writes the bytes the buffered body gained since the last
// callback to the verifier, maxRead at a time.
func (s *stream) readNew(bodySize int) Reason {
	if bodySize < s.bodySize {
		proxywasm.LogWarnf("steadfast %s: route %q: the buffered body shrank from %d to %d bytes", RootID, s.r.name, s.bodySize, bodySize)
		return ReasonBodyUnavailable
	}
	for s.bodySize < bodySize {
		n := min(maxRead, bodySize-s.bodySize)
		piece, err := proxywasm.GetHttpRequestBody(s.bodySize, n)
		if err != nil || len(piece) != n {
			proxywasm.LogWarnf("steadfast %s: route %q: cannot read body bytes %d to %d: %d bytes, %v",
				RootID, s.r.name, s.bodySize, s.bodySize+n, len(piece), err)
			return ReasonBodyUnavailable
		}
		s.v.Write(piece)
		s.bodySize += n
	}
	return ReasonNone
}

// OnHttpRequestTrailers ends the body of a request with trailers, whose
// body callbacks never see end of stream. The decision is made here and
// now, so returning ActionContinue is what resumes the held-back headers
// and body (ResumeHttpRequest is for decisions made outside a callback).
func (s *stream) OnHttpRequestTrailers(int) types.Action {
	switch s.state {
	case passing:
		return types.ActionContinue
	case refused:
		return types.ActionPause
	}
	return s.finish()
}

// OnHttpStreamDone drops the body timeout of a stream that ends early. A
// client that announced a body and left says nothing about Envoy's
// settings: only warnNoBody, at the timeout, may.
func (s *stream) OnHttpStreamDone() {
	if s.state == buffering {
		s.p.sched.Cancel(s.id)
	}
}

// warnNoBody explains, once per VM, a request whose body did not arrive
// within body_timeout while no body has reached this VM yet. The filter
// cannot tell the two causes apart: a client that announced a body and
// stalled, or an Envoy that never hands bodies over because a pause in the
// request headers turns into "stop all" (no body callbacks until the filter
// resumes, which it cannot do unverified) unless the plugin config has
// allow_on_headers_stop_iteration: true (Envoy 1.35 and later).
func (p *pluginContext) warnNoBody(route string) {
	if p.bodySeen || p.warnedNoBody {
		return
	}
	p.warnedNoBody = true
	proxywasm.LogWarnf("steadfast %s: route %q: no body arrived within body_timeout for a request held back for verification, "+
		"and none has reached this worker yet: either the client stalled, or Envoy holds bodies back because the Wasm filter's "+
		"plugin config lacks allow_on_headers_stop_iteration: true (then every request with a body times out)", RootID, route)
}

// finish decides on the delivery once the whole body was written: the
// request goes on, changed only by the configured header edits, or is
// answered locally.
func (s *stream) finish() types.Action {
	var body []byte
	if s.v.NeedsBody() && s.bodySize > 0 {
		var err error
		if body, err = proxywasm.GetHttpRequestBody(0, s.bodySize); err != nil || len(body) != s.bodySize {
			proxywasm.LogWarnf("steadfast %s: route %q: cannot read the buffered body: %d of %d bytes, %v", RootID, s.r.name, len(body), s.bodySize, err)
			return s.refuse(ReasonBodyUnavailable)
		}
	}
	now := s.p.now()
	v := s.v.Finish(body, now)
	s.v = nil
	if v.OK() && s.r.replay != nil {
		v.Reason = s.r.replay.checkAndInsert(s.p.store, v.ReplayKey, v.Expires, now)
	}
	if !v.OK() {
		return s.refuse(v.Reason)
	}
	s.r.count(s.p.metrics, ReasonNone)
	if s.r.settings.StripSignatureHeaders {
		for _, name := range s.r.cfg.SignatureHeaders() {
			s.removeHeader(name)
		}
	}
	if h := s.r.settings.VerifiedHeader; h != "" {
		if err := proxywasm.ReplaceHttpRequestHeader(h, s.r.settings.Scheme); err != nil {
			proxywasm.LogWarnf("steadfast %s: route %q: cannot set %s: %v", RootID, s.r.name, h, err)
		}
	}
	s.p.sched.Cancel(s.id)
	s.state = passing
	return types.ActionContinue
}

// refuse answers the request locally. When the host refuses the local
// reply the request stays held back: it never reaches the application
// unverified, and Envoy's stream timeout ends it.
func (s *stream) refuse(reason Reason) types.Action {
	s.p.sched.Cancel(s.id)
	s.state = refused
	s.v = nil
	s.r.count(s.p.metrics, reason)
	status, body := s.r.settings.FailureStatus, failedBody
	switch reason {
	case ReasonTooLarge:
		status, body = 413, tooLargeBody
	case ReasonReplayCheckUnavailable, ReasonBodyUnavailable, ReasonTimerUnavailable:
		status, body = 503, unavailableBody
	case ReasonBodyTimeout:
		status, body = 408, timeoutBody
	}
	proxywasm.LogDebugf("steadfast %s: route %q: %s delivery refused with %d: %s", RootID, s.r.name, s.r.settings.Scheme, status, reason)
	if err := proxywasm.SendHttpResponse(uint32(status), jsonHeaders, body, -1); err != nil {
		proxywasm.LogWarnf("steadfast %s: route %q: the host refused the local reply %d: %v", RootID, s.r.name, status, err)
	}
	return types.ActionPause
}
