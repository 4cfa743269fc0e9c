package breaker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// RootID is the root_id that selects this filter in a module, and its
// section in the suite's configuration.
const RootID = "breaker"

// Filter is the breaker filter as modules register it.
var Filter = pipeline.Filter{Name: RootID, New: newStage}

// Shared-data keys. A circuit's snapshot lives under stateKeyPrefix and its
// key; keysKey lists the circuit keys admitted so far, up to max_keys.
// Configurations that share a circuit key share its snapshot, so they
// should agree on its window.
const (
	stateKeyPrefix = "steadfast.breaker.state."
	keysKey        = "steadfast.breaker.keys"
)

// maxAdmitted bounds the per-VM cache of admitted circuit keys; the shared
// list is bounded by max_keys.
const maxAdmitted = 4096

// Properties that tell how a response came about (Envoy 1.40).
var (
	propertyCodeDetails   = []string{"response", "code_details"}
	propertyResponseFlags = []string{"response", "flags"}
)

// Envoy's response flags (StreamInfo::CoreResponseFlag) that say the
// upstream was never reached, or reset the stream.
const (
	flagNoHealthyUpstream         = 0x2
	flagUpstreamRequestTimeout    = 0x4
	flagUpstreamRemoteReset       = 0x10
	flagUpstreamConnectionFailure = 0x20
	flagUpstreamConnectionEnded   = 0x40
)

// stage is the breaker filter in one plugin of one worker VM.
type stage struct {
	env    *pipeline.Env
	routes *pipeline.Routes[Config]
	// admitted caches which circuit keys the shared list holds (true) or
	// refused past max_keys (false).
	admitted map[string]bool
	metrics  map[string]*keyMetrics
	// buf holds the snapshot being written: the proxy copies it, so one
	// buffer serves every update of the VM.
	buf []byte
	// peers are the other workers' breakers: each change this VM writes
	// is announced to them, so that each VM can keep a view of a circuit
	// and read shared data only when the circuit changed.
	peers *pipeline.Broadcaster
	heard pipeline.Counter // announcements received
}

// keyMetrics are one circuit's shared-data key and metrics, made on first
// use.
type keyMetrics struct {
	stateKey                          string   // stateKeyPrefix and the circuit key
	view                              []byte   // the snapshot as this VM last read or wrote it
	viewSnap                          Snapshot // view, decoded (never modified: Allow and Done copy)
	fresh                             bool     // view is current: no peer announced a change since
	state                             pipeline.Gauge
	lastState                         State // as this VM last saw it: the gauge is set on a change
	allowed, probes, rejected, wouldR pipeline.Counter
	outcomes                          [4]pipeline.Counter // by Outcome
	contention                        pipeline.Counter
	transitions                       map[[2]State]pipeline.Counter
	shadows                           map[string]pipeline.Counter
}

func newStage(env *pipeline.Env, config []byte) (pipeline.Stage, error) {
	routes, err := Parse(config)
	if err != nil {
		return nil, err
	}
	if err := createKeyList(env.Shared); err != nil {
		env.Log.Warnf("steadfast %s: cannot create the list of circuit keys: %v; new circuits share the overflow key until it exists", RootID, err)
	}
	env.Log.Infof("steadfast %s: route entries: %v", RootID, routes.Names())
	st := &stage{env: env, routes: routes, admitted: map[string]bool{}, metrics: map[string]*keyMetrics{},
		heard: env.Metrics.Counter("changes_heard_total")}
	st.peers = env.Broadcast(RootID, st.changed)
	if st.peers.Joined() {
		// A lost announcement is made good within a second.
		if err := env.Every(viewLifetime, st.forgetViews); err != nil {
			st.peers = nil
		}
	}
	return st, nil
}

// viewLifetime bounds how long a VM trusts its view of a circuit without
// reading shared data, should an announcement of a change be lost.
const viewLifetime = time.Second

// changed hears a peer's announcement that it wrote the circuit key.
func (st *stage) changed(key []byte) {
	st.heard.Increment(1)
	if m, ok := st.metrics[string(key)]; ok {
		m.fresh = false
	}
}

func (st *stage) forgetViews() {
	for _, m := range st.metrics {
		m.fresh = false
	}
}

// viewing reports whether the VM may decide on its view of the circuit.
func (st *stage) viewing(m *keyMetrics) bool { return m.fresh && st.peers != nil && st.peers.Joined() }

func (st *stage) Name() string { return RootID }

// OnFailure lets the request go on: a breaker that cannot decide must not
// become the outage it guards against.
func (st *stage) OnFailure() *pipeline.Reply { return nil }

// Start decides whether the request may go through its circuit.
func (st *stage) Start(s *pipeline.Stream) pipeline.Handler {
	cfg := st.routes.Resolve(s)
	if cfg == nil || cfg.RunMode() == ModeDisabled {
		return nil
	}
	key := st.circuitKey(s, cfg)
	m := st.metricsOf(key)
	now := st.env.Now()
	var (
		ticket   Ticket
		decision Decision
	)
	if st.viewing(m) {
		// A closed circuit that lets the call in, or an open one that
		// refuses it, changes nothing: the view decides.
		_, ticket, decision = cfg.Allow(m.viewSnap, now, st.env.Rand())
	}
	var err error
	if !st.viewing(m) || decision.Changed {
		err = st.update(func(snap Snapshot) (Snapshot, bool) {
			next, t, d := cfg.Allow(snap, now, st.env.Rand())
			ticket, decision = t, d
			return next, d.Changed
		}, m)
	}
	if err != nil {
		m.contention.Increment(1)
		st.env.Log.Debugf("steadfast %s: circuit %q: %v; the request passes", RootID, key, err)
		return nil
	}
	st.transitioned(key, cfg, decision.Transition, m)
	switch decision.Verdict {
	case Reject:
		m.rejected.Increment(1)
		return &rejection{reply: replyFor(cfg.LocalReply(), decision.RetryAfter)}
	case WouldReject:
		m.wouldR.Increment(1)
	case AllowProbe:
		m.probes.Increment(1)
	default:
		m.allowed.Increment(1)
	}
	if ticket.Kind == NoTicket {
		return nil
	}
	return &handler{st: st, cfg: cfg, key: key, m: m, ticket: ticket, start: now}
}

// circuitKey is the request's circuit: by cluster, route or header value,
// or the overflow key once max_keys circuits exist.
func (st *stage) circuitKey(s *pipeline.Stream, cfg *Config) string {
	var cluster, route, header string
	present := false
	switch cfg.KeyKind() {
	case KeyRoute:
		route = s.Route()
	case KeyHeaderPrefix:
		header, present = s.Header(cfg.KeyHeader())
	default:
		cluster = s.Cluster()
	}
	key := cfg.KeyOf(cluster, route, header, present)
	if ok, seen := st.admitted[key]; seen {
		if ok {
			return key
		}
		return OverflowKey
	}
	ok := admitKey(st.env.Shared, key, cfg.KeyLimit()) == nil
	if len(st.admitted) >= maxAdmitted {
		st.admitted = map[string]bool{}
	}
	st.admitted[key] = ok
	if !ok {
		return OverflowKey
	}
	return key
}

// update applies change to the circuit's snapshot in shared data with a
// bounded compare-and-swap loop; change reports whether there is anything
// to write. What was read or written becomes the VM's view of the circuit,
// a write is announced to the other workers, and the state gauge follows.
func (st *stage) update(change func(Snapshot) (Snapshot, bool), m *keyMetrics) error {
	var (
		state   State
		wrote   bool
		current []byte
	)
	err := pipeline.Update(st.env.Shared, m.stateKey, func(cur []byte) ([]byte, error) {
		snap, _ := Decode(cur) // a value that does not decode is a fresh circuit (fails open)
		next, write := change(snap)
		state, wrote, current = next.State, false, cur
		if !write {
			return nil, pipeline.ErrUnchanged
		}
		st.buf = Encode(st.buf[:0], next)
		if bytes.Equal(st.buf, cur) {
			return nil, pipeline.ErrUnchanged // a success on a healthy circuit: nothing to write
		}
		wrote, current = true, st.buf
		return st.buf, nil
	})
	if err != nil {
		m.fresh = false
		return err
	}
	m.view = append(m.view[:0], current...)
	m.viewSnap, _ = Decode(m.view)
	m.fresh = true
	if wrote && st.peers != nil {
		st.peers.Send([]byte(m.stateKey[len(stateKeyPrefix):]))
	}
	if state != m.lastState {
		pipeline.SetGauge(m.state, uint64(state))
		m.lastState = state
	}
	return nil
}

// transitioned logs and counts a change of state, and the shadow policies
// that would have opened.
func (st *stage) transitioned(key string, cfg *Config, t Transition, m *keyMetrics) {
	if t.Changed() {
		st.env.Log.Infof("steadfast %s: circuit %q: %s -> %s: %s", RootID, key, t.From, t.To, t.Reason)
		c, ok := m.transitions[[2]State{t.From, t.To}]
		if !ok {
			c = st.env.Metrics.Counter("transitions_total", "key", key, "from", t.From.String(), "to", t.To.String())
			m.transitions[[2]State{t.From, t.To}] = c
		}
		c.Increment(1)
	}
	if t.Shadows == 0 {
		return
	}
	for i, name := range cfg.ShadowNames() {
		if t.Shadows&(1<<i) == 0 {
			continue
		}
		c, ok := m.shadows[name]
		if !ok {
			c = st.env.Metrics.Counter("shadow_would_open_total", "key", key, "policy", name)
			m.shadows[name] = c
		}
		c.Increment(1)
		st.env.Log.Infof("steadfast %s: circuit %q: shadow policy %q would open", RootID, key, name)
	}
}

func (st *stage) metricsOf(key string) *keyMetrics {
	return pipeline.Cached(&st.metrics, key, maxAdmitted, func() *keyMetrics { return st.newKeyMetrics(key) })
}

func (st *stage) newKeyMetrics(key string) *keyMetrics {
	mt := st.env.Metrics
	m := &keyMetrics{
		stateKey:    stateKeyPrefix + key,
		state:       mt.Gauge("state", "key", key),
		allowed:     mt.Counter("requests_total", "key", key, "verdict", "allowed"),
		probes:      mt.Counter("requests_total", "key", key, "verdict", "probe"),
		rejected:    mt.Counter("requests_total", "key", key, "verdict", "rejected"),
		wouldR:      mt.Counter("requests_total", "key", key, "verdict", "would_reject"),
		contention:  mt.Counter("contention_total", "key", key),
		transitions: map[[2]State]pipeline.Counter{},
		shadows:     map[string]pipeline.Counter{},
	}
	for o := Ignored; o <= Slow; o++ {
		m.outcomes[o] = mt.Counter("outcomes_total", "key", key, "outcome", o.String())
	}
	return m
}

// replyFor is the local answer of an open circuit, with retry-after in
// whole seconds, rounded up, when the time left is known.
func replyFor(r Reply, retryAfter time.Duration) *pipeline.Reply {
	headers := r.Headers
	if retryAfter > 0 {
		secs := (retryAfter + time.Second - 1) / time.Second
		headers = append(headers[:len(headers):len(headers)], [2]string{"retry-after", strconv.FormatInt(int64(secs), 10)})
	}
	return &pipeline.Reply{Status: r.Status, Headers: headers, Body: []byte(r.Body), GRPCStatus: &unavailable}
}

// unavailable is the gRPC status of an open circuit's answer (UNAVAILABLE).
var unavailable = 14

// rejection answers a request its open circuit refuses.
type rejection struct {
	pipeline.BaseHandler
	reply *pipeline.Reply
}

func (r *rejection) RequestHeaders(*pipeline.Stream) pipeline.Verdict {
	return pipeline.Respond(r.reply)
}

// handler learns the outcome of a call the circuit let through.
type handler struct {
	pipeline.BaseHandler
	st     *stage
	cfg    *Config
	key    string
	m      *keyMetrics
	ticket Ticket
	start  time.Time
	// resp is what the response headers said; pending: a gRPC answer whose
	// status comes in the trailers.
	resp    Response
	pending bool
	done    bool
}

func (h *handler) Wants() pipeline.Wants { return pipeline.WantResponseTrailers }

// ResponseHeaders classifies the upstream's answer, unless it is gRPC and
// its status is still to come in the trailers. The headers are read in
// one call: a closed circuit's request costs as few calls as possible.
func (h *handler) ResponseHeaders(s *pipeline.Stream) pipeline.Verdict {
	if h.done {
		return pipeline.Continue // a later stage reported this try (Attempt)
	}
	now := s.Now()
	r := Response{Elapsed: now.Sub(h.start)}
	failureHeader, pushback := h.cfg.FailureHeader(), false
	grpc := false
	for _, kv := range s.ResponseHeaders() {
		switch name, v := kv[0], kv[1]; {
		case name == ":status":
			r.Status, _ = strconv.Atoi(v)
			pushback = h.cfg.WantsPushback(r.Status)
		case name == "grpc-status":
			r.GRPCStatus, r.HasGRPCStatus = parseGRPCStatus(v)
		case name == "content-type":
			grpc = strings.HasPrefix(v, "application/grpc")
		case name == "retry-after":
			r.RetryAfter = v
		case name == "ratelimit-reset":
			r.RateLimitReset = v
		case failureHeader != "" && name == failureHeader && !r.HasHeader:
			r.Header, r.HasHeader = v, true
		}
	}
	if !pushback {
		r.RetryAfter, r.RateLimitReset = "", ""
	}
	// Envoy's own answers (no healthy upstream, a reset, a timeout) are
	// errors: a success is the upstream's, and its details need no reading.
	var details []byte
	if r.Status >= 400 || r.Status == 0 {
		details, _ = s.Property(propertyCodeDetails)
	}
	if len(details) > 0 && string(details) != "via_upstream" {
		flags, _ := s.Property(propertyResponseFlags)
		r.NotReached, r.Reset = upstreamFailure(string(details), flags)
		r.LocalReply = !r.NotReached && !r.Reset
	}
	h.resp = r
	if r.Status == 200 && !r.HasGRPCStatus && grpc {
		h.pending = true // trailers-only answers carry grpc-status in the headers
		return pipeline.Continue
	}
	h.finish(now)
	return pipeline.Continue
}

// ResponseTrailers reads a gRPC status sent in the trailers.
func (h *handler) ResponseTrailers(s *pipeline.Stream) pipeline.Verdict {
	if h.pending {
		if v, ok := s.ResponseTrailer("grpc-status"); ok {
			h.resp.GRPCStatus, h.resp.HasGRPCStatus = parseGRPCStatus(v)
		}
		h.finish(s.Now())
	}
	return pipeline.Continue
}

// Done gives the circuit the call's outcome if nothing did yet: a stream
// that ended before its answer (or before its gRPC trailers) frees its
// probe slot without counting for or against the upstream.
func (h *handler) Done(s *pipeline.Stream) {
	if !h.done {
		h.resp = Response{LocalReply: true}
		h.finish(s.Now())
	}
}

// finish records the call's outcome in its circuit.
func (h *handler) finish(now time.Time) {
	h.done, h.pending = true, false
	result := h.cfg.Classify(h.resp, now)
	h.m.outcomes[result.Outcome].Increment(1)
	if h.st.viewing(h.m) {
		// A success on a quiet closed circuit changes nothing: no write.
		if h.cfg.Quiet(h.m.viewSnap, h.ticket, result) {
			return
		}
		next, _ := h.cfg.Done(h.m.viewSnap, h.ticket, result, now, h.st.env.Rand())
		h.st.buf = Encode(h.st.buf[:0], next)
		if bytes.Equal(h.st.buf, h.m.view) {
			return
		}
	}
	var tr Transition
	err := h.st.update(func(snap Snapshot) (Snapshot, bool) {
		next, t := h.cfg.Done(snap, h.ticket, result, now, h.st.env.Rand())
		tr = t
		return next, true
	}, h.m)
	if err != nil {
		h.m.contention.Increment(1)
		h.st.env.Log.Debugf("steadfast %s: circuit %q: outcome not recorded: %v", RootID, h.key, err)
		return
	}
	h.st.transitioned(h.key, h.cfg, tr, h.m)
}

// upstreamFailure reads Envoy's account of a response that is not the
// upstream's own: never reached (no healthy host, connection failure) or
// reset (by the upstream, or timed out). Anything else is a local reply.
func upstreamFailure(details string, flags []byte) (notReached, reset bool) {
	var f uint64
	if len(flags) == 8 {
		f = binary.LittleEndian.Uint64(flags)
	}
	notReached = f&(flagNoHealthyUpstream|flagUpstreamConnectionFailure) != 0 ||
		strings.Contains(details, "connection_failure") || strings.Contains(details, "no_healthy_upstream")
	reset = !notReached && (f&(flagUpstreamRemoteReset|flagUpstreamConnectionEnded|flagUpstreamRequestTimeout) != 0 ||
		strings.HasPrefix(details, "upstream_reset") || details == "response_timeout")
	return notReached, reset
}

func parseGRPCStatus(v string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 63 {
		return 0, false
	}
	return n, true
}

// The shared list of admitted circuit keys: names separated by '\n'.

// createKeyList stores an empty list unless one exists (Envoy writes an
// absent key whatever the compare-and-swap value: created here, the list
// is never first written by a request).
func createKeyList(store pipeline.SharedStore) error {
	_, _, err := store.Get(keysKey)
	if !errors.Is(err, pipeline.ErrNotFound) {
		return err
	}
	return store.Set(keysKey, []byte{'\n'}, 0)
}

var errKeyLimit = errors.New("breaker: max_keys circuits exist")

// admitKey adds key to the shared list unless it holds limit keys already.
func admitKey(store pipeline.SharedStore, key string, limit int) error {
	entry := "\n" + key + "\n"
	return pipeline.Update(store, keysKey, func(cur []byte) ([]byte, error) {
		if cur == nil {
			return nil, pipeline.ErrNotFound
		}
		if strings.Contains(string(cur), entry) {
			return nil, pipeline.ErrUnchanged
		}
		if strings.Count(string(cur), "\n")-1 >= limit {
			return nil, errKeyLimit
		}
		return append(append([]byte{}, cur...), key+"\n"...), nil
	})
}
