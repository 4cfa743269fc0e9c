package faults

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/ipaddr"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// RootID is the root_id that selects this filter in a module, and its
// section in the suite's configuration.
const RootID = "faults"

// Filter is the faults filter as modules register it.
var Filter = pipeline.Filter{Name: RootID, New: newStage}

// activeKey is the shared-data key of the leases of the faults in progress
// across all worker VMs, for max_active_faults (a pipeline.Leases list).
const activeKey = "steadfast.faults.leases"

// LeaseSlack is how long a fault's lease outlives its planned delays. A
// lease is held from the request's headers until its last planned fault
// has run, which for response faults includes the upstream's answer
// (Envoy's default route timeout is 15s), plus a tick; the slack covers
// that with room to spare. It matters only when a lease is never released
// (its VM trapped): the slot then frees itself this long after the delays.
// An upstream slower than the slack lets its fault's slot go early, so the
// cap may then count one fault too few.
const LeaseSlack = time.Minute

// unlabelledRoute is the route label of metrics when the route name is not
// read (route_metrics false and no routes entry goes by name).
const unlabelledRoute = "all"

// filterStateKey is the property the injected faults are recorded under;
// Envoy exposes it to access logs as
// %FILTER_STATE(wasm.steadfast_faults:PLAIN)%.
const filterStateKey = "steadfast_faults"

// maxRoutes bounds the per-VM cache of route metric handles; route names
// come from Envoy's configuration, so this is only a safety net (Envoy
// hands out the same handles again after a reset).
const maxRoutes = 4096

// stage is the faults filter in one plugin of one worker VM.
type stage struct {
	env    *pipeline.Env
	routes *pipeline.Routes[Config]
	// readRoute: a request's route name is read, for the routes list or
	// for the route label of the metrics.
	readRoute bool
	// strip lists the headers removed from every request (StrippedHeaders):
	// nil unless some configuration enables header control.
	strip   []string
	byRoute map[string]*routeMetrics
	active  pipeline.Gauge
	leases  pipeline.Leases
}

// routeMetrics are one route's counters, defined on its first request.
type routeMetrics struct {
	requests, overflow        pipeline.Counter
	unrecorded, tokenRejected pipeline.Counter
	requestAborts, respAborts pipeline.Counter
	requestDelays, respDelays pipeline.Counter
}

func newStage(env *pipeline.Env, config []byte) (pipeline.Stage, error) {
	routes, err := pipeline.LoadRoutes[Config](env, config)
	if err != nil {
		return nil, err
	}
	st := &stage{
		env:       env,
		routes:    routes,
		readRoute: routes.NeedsRoute() || routes.Default.RouteLabel(),
		strip:     StrippedHeaders(routes),
		byRoute:   map[string]*routeMetrics{},
		active:    env.Metrics.Gauge("active"),
	}
	st.leases = pipeline.Leases{Store: env.Shared, Key: activeKey, Observe: func(n int) { pipeline.SetGauge(st.active, uint64(n)) }}
	if err := st.leases.Create(); err != nil {
		env.Log.Warnf("steadfast %s: cannot create the active faults list; faults are not injected until it exists: %v", RootID, err)
	}
	env.Log.Infof("steadfast %s: route entries: %v", RootID, routes.Names())
	return st, nil
}

func (st *stage) Name() string { return RootID }

// OnFailure lets the request go on: a chaos tool that fails must not
// become the outage.
func (st *stage) OnFailure() *pipeline.Reply { return nil }

// Start decides the request's faults. Control and token headers never
// reach the upstream, on any route, honoured or not: they are removed once
// the decision has read them.
func (st *stage) Start(s *pipeline.Stream) pipeline.Handler {
	h := st.decide(s)
	for _, name := range st.strip {
		_ = s.RemoveHeader(name)
	}
	if h == nil {
		return nil // the common case: nothing more to do, nothing allocated
	}
	return h
}

func (st *stage) decide(s *pipeline.Stream) *handler {
	cfg := st.routes.Resolve(s)
	if cfg == nil {
		return nil
	}
	route := unlabelledRoute
	if st.readRoute {
		route = s.Route()
	}
	m := st.routeMetrics(route)
	m.requests.Increment(1)
	if !cfg.live {
		return nil // nothing to inject: Decide would not look at the request, nor the clock
	}
	now := st.env.Now()
	plan := cfg.Decide(request{s}, now, st.env.Rand)
	if plan.TokenRejected {
		m.tokenRejected.Increment(1)
	}
	if plan.Empty() {
		return nil
	}
	h := &handler{st: st, cfg: cfg, metrics: m, plan: plan}
	if !h.acquire(now) {
		return nil
	}
	return h
}

func (st *stage) routeMetrics(route string) *routeMetrics {
	return pipeline.Cached(&st.byRoute, route, maxRoutes, func() *routeMetrics { return st.newRouteMetrics(route) })
}

func (st *stage) newRouteMetrics(route string) *routeMetrics {
	c := func(name string, labels ...string) pipeline.Counter {
		return st.env.Metrics.Counter(name, append([]string{"route", route}, labels...)...)
	}
	m := &routeMetrics{
		requests:      c("requests_total"),
		overflow:      c("overflow_total"),
		unrecorded:    c("unrecorded_total"),
		tokenRejected: c("token_rejected_total"),
		requestAborts: c("aborts_injected_total", "kind", "request"),
		respAborts:    c("aborts_injected_total", "kind", "response"),
		requestDelays: c("delays_injected_total", "kind", "request"),
		respDelays:    c("delays_injected_total", "kind", "response"),
	}
	return m
}

// handler carries out one request's plan.
type handler struct {
	pipeline.BaseHandler
	st       *stage
	cfg      *Config
	metrics  *routeMetrics
	plan     Plan
	lease    uint64 // the id of the lease held in the active faults list
	leased   bool   // the lease is held: released once the last planned fault has run
	response bool   // the pending delay is the response's
}

func (h *handler) RequestHeaders(s *pipeline.Stream) pipeline.Verdict {
	_ = s.SetFilterState(filterStateKey, []byte(h.plan.HeaderValue()))
	if h.plan.Delay > 0 {
		h.metrics.requestDelays.Increment(1)
		err := s.After(s.Now().Add(h.plan.Delay))
		if err == nil {
			return pipeline.Hold()
		}
		h.st.env.Log.Warnf("steadfast %s: cannot arm the delay timer, the request passes undelayed: %v", RootID, err)
	}
	return h.abortRequest()
}

func (h *handler) Timer(s *pipeline.Stream) pipeline.Verdict {
	if h.response {
		return h.abortResponse(s)
	}
	return h.abortRequest()
}

// abortRequest runs the request's abort, if planned, once its delay is over.
func (h *handler) abortRequest() pipeline.Verdict {
	v := pipeline.Continue
	if h.plan.Abort != nil {
		h.metrics.requestAborts.Increment(1)
		v = pipeline.Respond(h.reply(h.plan.Abort))
	}
	if h.plan.Abort != nil || h.plan.ResponseAbort == nil && h.plan.ResponseDelay == 0 {
		h.release() // the request's faults were the last ones planned
	}
	return v
}

func (h *handler) ResponseHeaders(s *pipeline.Stream) pipeline.Verdict {
	if h.plan.ResponseDelay > 0 {
		h.metrics.respDelays.Increment(1)
		h.response = true
		err := s.After(s.Now().Add(h.plan.ResponseDelay))
		if err == nil {
			return pipeline.Hold()
		}
		h.st.env.Log.Warnf("steadfast %s: cannot arm the delay timer, the response passes undelayed: %v", RootID, err)
	}
	return h.abortResponse(s)
}

// abortResponse replaces the upstream's answer, if planned, once the
// response delay is over; else it marks the answer.
func (h *handler) abortResponse(s *pipeline.Stream) pipeline.Verdict {
	defer h.release() // the response's faults are the last ones planned
	if h.plan.ResponseAbort != nil {
		h.metrics.respAborts.Increment(1)
		return pipeline.Respond(h.reply(h.plan.ResponseAbort))
	}
	if name := h.cfg.FaultHeader(); name != "" {
		_ = s.SetResponseHeader(name, h.plan.HeaderValue())
	}
	return pipeline.Continue
}

func (h *handler) Done(*pipeline.Stream) { h.release() }

// reply is an abort's local answer, marked with the fault header.
func (h *handler) reply(a *Abort) *pipeline.Reply {
	headers := a.Headers
	if name := h.cfg.FaultHeader(); name != "" {
		headers = append(headers[:len(headers):len(headers)], [2]string{name, h.plan.HeaderValue()})
	}
	return &pipeline.Reply{Status: a.HTTPStatus, Headers: headers, Body: []byte(a.Body), GRPCStatus: &a.GRPCStatus}
}

// acquire takes a lease in the active faults list for the planned faults,
// expiring LeaseSlack after their delays. Without max_active_faults the
// route still counts toward the shared count, up to pipeline.MaxLeases;
// beyond that its faults run unrecorded. false means the faults must not
// run: the cap is reached, or it cannot be checked (the list is contended
// or missing), which fails open as overflow.
func (h *handler) acquire(now time.Time) bool {
	limit := h.cfg.MaxActive()
	capped := limit > 0
	if !capped {
		limit = pipeline.MaxLeases
	}
	id := rand.Uint64()
	ttl := h.plan.Delay + h.plan.ResponseDelay + LeaseSlack
	err := h.st.leases.Acquire(id, now.Add(ttl), limit, now)
	switch {
	case err == nil:
		h.lease, h.leased = id, true
		return true
	case !capped && errors.Is(err, pipeline.ErrLimit):
		h.metrics.unrecorded.Increment(1)
		return true
	default:
		h.metrics.overflow.Increment(1)
		return false
	}
}

// release gives the lease back, if one is held.
func (h *handler) release() {
	if !h.leased {
		return
	}
	h.leased = false
	if err := h.st.leases.Release(h.lease, h.st.env.Now()); err != nil {
		h.st.env.Log.Warnf("steadfast %s: release active fault (it expires by itself): %v", RootID, err)
	}
}

// request is the stream as Decide reads it.
type request struct{ s *pipeline.Stream }

func (r request) Header(name string) (string, bool) { return r.s.Header(name) }

func (r request) HeaderCount(name string) int {
	n := 0
	for _, h := range r.s.Headers() {
		if h[0] == name {
			n++
		}
	}
	return n
}

func (r request) Cluster() string { return r.s.Cluster() }

var propertySourceAddress = []string{"source", "address"}

func (r request) SourceIP() (ipaddr.Addr, bool) {
	b, ok := r.s.Property(propertySourceAddress)
	if !ok {
		return ipaddr.Addr{}, false
	}
	if a, _, err := ipaddr.ParseAddrPort(string(b)); err == nil {
		return a.Unmap(), true
	}
	a, err := ipaddr.ParseAddr(string(b))
	return a.Unmap(), err == nil
}
