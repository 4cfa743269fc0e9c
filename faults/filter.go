package faults

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/steadfast-proxy/steadfast/plugins"
)

// RootID is the root_id that selects this filter in a module.
const RootID = "faults"

// activeKey is the shared-data key of the leases of the faults in progress
// across all worker VMs, for max_active_faults (a plugins.Leases list).
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
// read (route_metrics false and no routes list).
const unlabelledRoute = "all"

// filterStateKey is the property the injected faults are recorded under;
// Envoy exposes it to access logs as
// %FILTER_STATE(wasm.steadfast_faults:PLAIN)%.
const filterStateKey = "steadfast_faults"

// pluginContext is one faults plugin in one worker VM.
type pluginContext struct {
	types.DefaultPluginContext
	routes *plugins.Routes[Config]
	// readRoute: the request path asks Envoy for the route name, which the
	// routes list or the route label of the metrics needs.
	readRoute bool
	// strip lists the headers removed from every request (StrippedHeaders):
	// nil unless some configuration enables header control.
	strip   []string
	sched   *plugins.Scheduler
	metrics *plugins.Metrics
	byRoute map[string]*routeMetrics
	active  proxywasm.MetricGauge
	store   plugins.SharedStore
	leases  plugins.Leases
	now     func() time.Time
	rnd     func() float64
	leaseID func() uint64
	env     func(string) (string, bool)
}

// routeMetrics are one route's counters, defined on its first request.
type routeMetrics struct {
	requests, overflow        proxywasm.MetricCounter
	unrecorded, tokenRejected proxywasm.MetricCounter
	requestAborts, respAborts proxywasm.MetricCounter
	requestDelays, respDelays proxywasm.MetricCounter
}

var _ types.PluginContext = (*pluginContext)(nil)

// NewPluginContext is the filter's factory for plugins.Register.
func NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{
		store:   plugins.HostShared,
		now:     time.Now,
		rnd:     rand.Float64,
		leaseID: rand.Uint64,
		env:     os.LookupEnv,
	}
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	routes, ok := plugins.LoadRoutes(RootID, Parse, func(c *Config) error { return c.ResolveSecrets(p.env) })
	if !ok {
		return types.OnPluginStartStatusFailed
	}
	p.routes = routes
	p.readRoute = len(routes.Names()) > 0 || routes.Default.RouteLabel()
	p.strip = StrippedHeaders(routes)
	p.sched = plugins.NewHostScheduler(p.now)
	p.metrics = plugins.NewMetrics(RootID)
	p.byRoute = map[string]*routeMetrics{}
	p.active = p.metrics.Gauge("active")
	p.leases = plugins.Leases{Store: p.store, Key: activeKey, Observe: func(n int) { setGauge(p.active, n) }}
	if err := p.leases.Create(); err != nil {
		proxywasm.LogWarnf("steadfast %s: cannot create the active faults list; faults are not injected until it exists: %v", RootID, err)
	}
	proxywasm.LogInfof("steadfast %s: started; route entries: %v", RootID, routes.Names())
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() { p.sched.Tick() }

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &stream{p: p, id: contextID}
}

// maxRoutes bounds the per-VM cache of route metric handles; route names
// come from Envoy's configuration, so this is only a safety net (Envoy
// hands out the same handles again after a reset).
const maxRoutes = 4096

func (p *pluginContext) routeMetrics(route string) *routeMetrics {
	if m, ok := p.byRoute[route]; ok {
		return m
	}
	if len(p.byRoute) >= maxRoutes {
		p.byRoute = map[string]*routeMetrics{}
	}
	c := func(name string, labels ...string) proxywasm.MetricCounter {
		return p.metrics.Counter(name, append([]string{"route", route}, labels...)...)
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
	p.byRoute[route] = m
	return m
}

// stream is one HTTP request through the filter.
type stream struct {
	types.DefaultHttpContext
	p       *pluginContext
	id      uint32
	cfg     *Config
	metrics *routeMetrics
	plan    Plan
	lease   uint64 // the id of the lease held in the active faults list
	leased  bool   // the lease is held: released once the last planned fault has run
	grpc    bool   // the request is gRPC: aborts answer with a gRPC status
	replied bool   // a local reply was sent: its response headers pass untouched
}

var _ types.HttpContext = (*stream)(nil)

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if s.p.strip == nil {
		return s.onRequestHeaders()
	}
	// Control and token headers never reach the upstream, on any route,
	// honoured or not; the decision has read them already.
	action := s.onRequestHeaders()
	for _, name := range s.p.strip {
		_ = proxywasm.RemoveHttpRequestHeader(name)
	}
	return action
}

func (s *stream) onRequestHeaders() types.Action {
	route := unlabelledRoute
	if s.p.readRoute {
		route = plugins.RouteName()
	}
	s.cfg = s.p.routes.Resolve(route)
	if s.cfg == nil {
		return types.ActionContinue
	}
	s.metrics = s.p.routeMetrics(route)
	s.metrics.requests.Increment(1)
	now := s.p.now()
	s.plan = s.cfg.Decide(hostRequest{}, now, s.p.rnd)
	if s.plan.TokenRejected {
		s.metrics.tokenRejected.Increment(1)
	}
	if s.plan.Empty() {
		return types.ActionContinue
	}
	if !s.acquire(now) {
		s.plan = Plan{}
		return types.ActionContinue
	}
	s.record()
	if ct, err := proxywasm.GetHttpRequestHeader("content-type"); err == nil {
		s.grpc = strings.HasPrefix(ct, "application/grpc")
	}
	if s.plan.Delay > 0 {
		s.metrics.requestDelays.Increment(1)
		err := s.p.sched.Schedule(s.id, s.p.now().Add(s.plan.Delay), s.afterRequestDelay)
		if err == nil {
			return types.ActionPause
		}
		proxywasm.LogWarnf("steadfast faults: cannot arm the delay timer, request passes undelayed: %v", err)
	}
	return s.abortRequestOrContinue()
}

// afterRequestDelay runs on the tick that ends the request delay.
func (s *stream) afterRequestDelay() {
	if s.abortRequestOrContinue() == types.ActionContinue {
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogWarnf("steadfast faults: resume request: %v", err)
		}
	}
}

func (s *stream) abortRequestOrContinue() types.Action {
	action := types.ActionContinue
	if s.plan.Abort != nil {
		s.metrics.requestAborts.Increment(1)
		if s.sendAbort(s.plan.Abort) {
			action = types.ActionPause
		}
	}
	if s.replied || s.plan.ResponseAbort == nil && s.plan.ResponseDelay == 0 {
		s.release() // the request's faults were the last ones planned
	}
	return action
}

// acquire takes a lease in the active faults list for the planned faults,
// expiring LeaseSlack after their delays. Without max_active_faults the
// route still counts toward the shared count, up to plugins.MaxLeases;
// beyond that its faults run unrecorded. false means the faults must not
// run: the cap is reached, or it cannot be checked (the list is contended
// or missing), which fails open as overflow.
func (s *stream) acquire(now time.Time) bool {
	limit := s.cfg.MaxActive()
	capped := limit > 0
	if !capped {
		limit = plugins.MaxLeases
	}
	id := s.p.leaseID()
	ttl := s.plan.Delay + s.plan.ResponseDelay + LeaseSlack
	err := s.p.leases.Acquire(id, now.Add(ttl), limit, now)
	switch {
	case err == nil:
		s.lease, s.leased = id, true
		return true
	case !capped && errors.Is(err, plugins.ErrLimit):
		s.metrics.unrecorded.Increment(1)
		return true
	default:
		s.metrics.overflow.Increment(1)
		return false
	}
}

// release gives the lease back, if one is held.
func (s *stream) release() {
	if !s.leased {
		return
	}
	s.leased = false
	if err := s.p.leases.Release(s.lease, s.p.now()); err != nil {
		proxywasm.LogWarnf("steadfast faults: release active fault (it expires by itself): %v", err)
	}
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	if s.plan.Empty() || s.replied {
		return types.ActionContinue
	}
	if s.plan.ResponseDelay > 0 {
		s.metrics.respDelays.Increment(1)
		err := s.p.sched.Schedule(s.id, s.p.now().Add(s.plan.ResponseDelay), s.afterResponseDelay)
		if err == nil {
			return types.ActionPause
		}
		proxywasm.LogWarnf("steadfast faults: cannot arm the delay timer, response passes undelayed: %v", err)
	}
	return s.abortResponseOrContinue()
}

func (s *stream) afterResponseDelay() {
	if s.abortResponseOrContinue() == types.ActionContinue {
		if err := proxywasm.ResumeHttpResponse(); err != nil {
			proxywasm.LogWarnf("steadfast faults: resume response: %v", err)
		}
	}
}

func (s *stream) abortResponseOrContinue() types.Action {
	defer s.release() // the response's faults are the last ones planned
	if s.plan.ResponseAbort != nil {
		s.metrics.respAborts.Increment(1)
		if s.sendAbort(s.plan.ResponseAbort) {
			return types.ActionPause
		}
	}
	if name := s.cfg.FaultHeader(); name != "" {
		_ = proxywasm.ReplaceHttpResponseHeader(name, s.plan.HeaderValue())
	}
	return types.ActionContinue
}

// sendAbort answers locally; false means the host refused and the stream
// must go on as if no fault were planned.
func (s *stream) sendAbort(a *Abort) bool {
	headers := a.Headers
	if name := s.cfg.FaultHeader(); name != "" {
		headers = append(headers[:len(headers):len(headers)], [2]string{name, s.plan.HeaderValue()})
	}
	grpcStatus := int32(-1)
	if s.grpc {
		grpcStatus = int32(a.GRPCStatus)
	}
	if err := proxywasm.SendHttpResponse(uint32(a.HTTPStatus), headers, []byte(a.Body), grpcStatus); err != nil {
		proxywasm.LogWarnf("steadfast faults: local reply refused: %v", err)
		return false
	}
	s.replied = true
	return true
}

// record puts the planned faults into filter state for access logs.
func (s *stream) record() {
	_ = proxywasm.SetProperty([]string{filterStateKey}, []byte(s.plan.HeaderValue()))
}

func (s *stream) OnHttpStreamDone() {
	if s.plan.Empty() {
		return
	}
	s.p.sched.Cancel(s.id)
	s.release() // the stream ended before its last planned fault ran
}

// setGauge sets g to v. The SDK's gauges only add, which from several VMs
// sums per-VM numbers; the ABI's record_metric sets a gauge (Envoy's
// Context::recordMetric), and the SDK offers it on histograms only.
func setGauge(g proxywasm.MetricGauge, v int) { proxywasm.MetricHistogram(g).Record(uint64(v)) }

// hostRequest reads the current request from the host, lazily.
type hostRequest struct{}

func (hostRequest) Header(name string) (string, bool) {
	v, err := proxywasm.GetHttpRequestHeader(name)
	return v, err == nil
}

func (hostRequest) HeaderCount(name string) int {
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		return 0
	}
	n := 0
	for _, h := range headers {
		if h[0] == name {
			n++
		}
	}
	return n
}

func (hostRequest) Cluster() string {
	b, err := proxywasm.GetProperty([]string{"xds", "cluster_name"})
	if err != nil {
		return ""
	}
	return string(b)
}

func (hostRequest) SourceIP() (netip.Addr, bool) {
	b, err := proxywasm.GetProperty([]string{"source", "address"})
	if err != nil {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(string(b)); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(string(b))
	return a.Unmap(), err == nil
}
