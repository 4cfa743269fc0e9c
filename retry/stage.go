package retry

import (
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// RootID is the root_id that selects this filter in a module, and its
// section in the suite's configuration.
const RootID = "retry"

// Filter is the retry filter as modules register it.
var Filter = pipeline.Filter{Name: RootID, New: newStage}

// budgetKeyPrefix starts the shared-data key of a budget; the budget key
// follows.
const budgetKeyPrefix = "steadfast.retry.budget."

// Each VM counts its requests locally and adds them to the shared budget
// every flushRequests requests or flushPeriod, and whenever it takes a
// retry, so that the happy path rarely touches shared data.
const (
	flushRequests = 16
	flushPeriod   = 100 * time.Millisecond
)

// maxKeys bounds the per-VM table of keys (metrics and pending counts).
const maxKeys = 4096

// overflowKey is the key of requests whose key header is too long.
const overflowKey = "~overflow"

// headerTimeout is the router's timeout header: the first try's timeout.
const headerTimeout = "x-envoy-upstream-rq-timeout-ms"

// Properties that tell how a response came about (Envoy 1.40).
var (
	propertyCodeDetails   = []string{"response", "code_details"}
	propertyResponseFlags = []string{"response", "flags"}
)

// stage is the retry filter in one plugin of one worker VM.
type stage struct {
	env    *pipeline.Env
	routes *pipeline.Routes[Config]
	keys   map[string]*keyState
	// buf holds the budget being written: the proxy copies it.
	buf []byte
}

// keyState is one budget key's metrics and the requests this VM has not
// added to its shared budget yet.
type keyState struct {
	sharedKey string
	pending   uint32
	lastFlush time.Time

	attempts, retries, successAfterRetry, exhausted, budgetExhausted, deadlineSkipped, delegated pipeline.Counter
	skipped                                                                                      map[Reason]pipeline.Counter
	backoff                                                                                      pipeline.Histogram
}

func newStage(env *pipeline.Env, config []byte) (pipeline.Stage, error) {
	routes, err := Parse(config)
	if err != nil {
		return nil, err
	}
	env.Log.Infof("steadfast %s: route entries: %v", RootID, routes.Names())
	return &stage{env: env, routes: routes, keys: map[string]*keyState{}}, nil
}

func (st *stage) Name() string { return RootID }

// OnFailure lets the stream go on: a retry filter that fails must not
// fail the request it meant to save.
func (st *stage) OnFailure() *pipeline.Reply { return nil }

// Start takes part in every request the configuration covers: it counts
// the request into its key's budget and keeps what a retry would need
// (the headers now, the body as it passes).
func (st *stage) Start(s *pipeline.Stream) pipeline.Handler {
	cfg := st.routes.Resolve(s)
	if cfg == nil {
		return nil
	}
	if s.IsGRPC() {
		return st.delegate(s, cfg)
	}
	now := s.Now()
	headers := s.Headers() // request headers are not readable on the response path
	kind, name := cfg.BudgetKeyKind()
	ks := st.state(keyOf(s, kind, name))
	ks.attempts.Increment(1)
	if _, on := cfg.BudgetPolicy(); on {
		ks.pending++
		if ks.pending >= flushRequests || now.Sub(ks.lastFlush) >= flushPeriod {
			st.spend(ks, cfg, now, false)
		}
	}
	h := &handler{st: st, cfg: cfg, ks: ks, headers: headers, start: now, tryStart: now, attempt: 1}
	h.req.Method = s.Method()
	if k := cfg.KeyHeader(); k != "" {
		_, h.req.HasKey = s.Header(k)
	}
	if cfg.ReadsRequestDeadline() {
		g, _ := s.Header(HeaderGRPCTimeout)
		e, _ := s.Header(HeaderExpectedRqTimeout)
		h.deadline = cfg.DeadlineOf(now, g, e)
	} else {
		h.deadline = cfg.DeadlineOf(now, "", "")
	}
	if !s.RequestEnded() {
		if cfg.BodyLimitBytes() > 0 {
			h.wants |= pipeline.WantRequestBody
		} else {
			h.req.BodyTooLarge = true
		}
	}
	// Last: a header set makes the view forget the headers it read.
	if t := cfg.FirstTryTimeout(now, h.deadline); t > 0 {
		_ = s.SetHeader(headerTimeout, strconv.FormatInt(max(t.Milliseconds(), 1), 10))
	}
	return h
}

// Headers by which a request asks Envoy's router to retry it.
const (
	headerRetryGRPCOn  = "x-envoy-retry-grpc-on"
	headerMaxRetries   = "x-envoy-max-retries"
	headerPerTryTimout = "x-envoy-upstream-rq-per-try-timeout-ms"
)

// delegate hands a gRPC request's retries to Envoy's router: a retry's
// answer can reach a gRPC client only as a local reply, which Envoy sends
// trailers-only, without the response message. The router retries the
// configured statuses (from the response headers, as it reads them), up
// to max_attempts, each try within per_try_timeout, with its own backoff.
func (st *stage) delegate(s *pipeline.Stream, cfg *Config) pipeline.Handler {
	on := cfg.RouterGRPCRetryOn()
	if on == "" || cfg.MaxAttemptsAllowed() < 2 {
		return nil
	}
	kind, name := cfg.BudgetKeyKind()
	ks := st.state(keyOf(s, kind, name))
	ks.delegated.Increment(1)
	_ = s.SetHeader(headerRetryGRPCOn, on)
	_ = s.SetHeader(headerMaxRetries, strconv.Itoa(cfg.MaxAttemptsAllowed()-1))
	if t := cfg.PerTry(); t > 0 {
		_ = s.SetHeader(headerPerTryTimout, strconv.FormatInt(max(t.Milliseconds(), 1), 10))
	}
	return nil
}

// keyOf is a request's key: its cluster, its route, or a header's value
// (breaker.NoHeaderKey without it), as the breaker keys circuits.
func keyOf(s *pipeline.Stream, kind, header string) string {
	switch kind {
	case KeyRoute:
		return s.Route()
	case KeyHeaderPrefix:
		v, ok := s.Header(header)
		switch {
		case !ok:
			return breaker.NoHeaderKey
		case len(v) > breaker.MaxKeyBytes:
			return overflowKey
		}
		return v
	}
	return s.Cluster()
}

func (st *stage) state(key string) *keyState {
	return pipeline.Cached(&st.keys, key, maxKeys, func() *keyState { return st.newKeyState(key) })
}

func (st *stage) newKeyState(key string) *keyState {
	m := st.env.Metrics
	ks := &keyState{
		sharedKey:         budgetKeyPrefix + key,
		attempts:          m.Counter("attempts_total", "key", key),
		retries:           m.Counter("retries_total", "key", key),
		successAfterRetry: m.Counter("success_after_retry_total", "key", key),
		exhausted:         m.Counter("exhausted_total", "key", key),
		budgetExhausted:   m.Counter("budget_exhausted_total", "key", key),
		deadlineSkipped:   m.Counter("deadline_skipped_total", "key", key),
		delegated:         m.Counter("grpc_delegated_total", "key", key),
		backoff:           m.Histogram("backoff_ms", "key", key),
		skipped:           map[Reason]pipeline.Counter{},
	}
	for _, r := range []Reason{ReasonMethod, ReasonBodySize, ReasonBreakerOpen, ReasonForbidden, ReasonPushback} {
		ks.skipped[r] = m.Counter("skipped_total", "key", key, "reason", r.String())
	}
	return ks
}

// spend adds the VM's pending requests to the key's shared budget and,
// with retry, takes one retry from it; it reports whether the retry was
// taken. A budget that cannot be updated (contention, a refusing proxy)
// allows no retry.
func (st *stage) spend(ks *keyState, cfg *Config, now time.Time, retry bool) bool {
	b, _ := cfg.BudgetPolicy()
	taken := false
	err := pipeline.Update(st.env.Shared, ks.sharedKey, func(cur []byte) ([]byte, error) {
		s, _ := DecodeBudget(cur) // a value that does not decode is a fresh budget
		s = b.Deposit(s, ks.pending, now)
		if retry {
			s, taken = b.Withdraw(s, now)
		}
		st.buf = EncodeBudget(st.buf[:0], s)
		return st.buf, nil
	})
	ks.lastFlush = now
	if err != nil {
		st.env.Log.Debugf("steadfast %s: budget %q: %v", RootID, ks.sharedKey, err)
		return false
	}
	ks.pending = 0
	return taken
}

// breakerHolds reports whether the breaker holds the request's circuit
// open (its shared snapshot; a missing or unreadable one is closed).
func (st *stage) breakerHolds(s *pipeline.Stream, cfg *Config, now time.Time) bool {
	kind, header := cfg.CircuitKey()
	if kind == KeyOff {
		return false
	}
	v, _, err := st.env.Shared.Get(breaker.StateKey(keyOf(s, kind, header)))
	if err != nil {
		return false
	}
	snap, _ := breaker.Decode(v)
	return snap.Holds(now)
}

// handler is the filter's part in one stream.
type handler struct {
	pipeline.BaseHandler
	st       *stage
	cfg      *Config
	ks       *keyState
	wants    pipeline.Wants
	req      Request
	headers  [][2]string // the request's, as the first try sent them
	body     []byte
	start    time.Time
	deadline time.Time

	attempt  int           // the try under way or answered last, 1 for the first
	tryStart time.Time     // when it started
	prev     time.Duration // the last wait
	timeout  time.Duration // the next retry's timeout
	last     *pipeline.Callout
	// held: the first answer is held back for a retry.
	held bool
}

func (h *handler) Wants() pipeline.Wants { return h.wants }

// RequestBody keeps a copy of the body as it passes, up to body_limit.
func (h *handler) RequestBody(_ *pipeline.Stream, chunk []byte, _ bool) pipeline.Verdict {
	if h.req.BodyTooLarge {
		return pipeline.Continue
	}
	if len(h.body)+len(chunk) > h.cfg.BodyLimitBytes() {
		h.req.BodyTooLarge, h.body = true, nil
		return pipeline.Continue
	}
	h.body = append(h.body, chunk...)
	return pipeline.Continue
}

// ResponseHeaders classifies the first try's answer.
func (h *handler) ResponseHeaders(s *pipeline.Stream) pipeline.Verdict {
	return h.decide(s, h.firstAnswer(s), responseHeader(s))
}

// firstAnswer reads the answer to the first try from the response.
func (h *handler) firstAnswer(s *pipeline.Stream) Answer {
	var a Answer
	// One read of every header, which the stages before this one (the
	// breaker) share, and from which readHeaders takes what it needs.
	for _, kv := range s.ResponseHeaders() {
		switch {
		case kv[0] == ":status":
			a.Status, _ = strconv.Atoi(kv[1])
		}
	}
	if a.Status >= 400 || a.Status == 0 {
		if details, _ := s.Property(propertyCodeDetails); len(details) > 0 && string(details) != "via_upstream" {
			flags, _ := s.Property(propertyResponseFlags)
			a.NotReached, a.Reset = breaker.UpstreamFailure(string(details), flags)
		}
	}
	return a
}

func responseHeader(s *pipeline.Stream) func(string) (string, bool) { return s.ResponseHeader }

// decide acts on the answer to the current try, whose headers header
// reads: a retry after a backoff, or the answer goes to the client.
func (h *handler) decide(s *pipeline.Stream, a Answer, header func(string) (string, bool)) pipeline.Verdict {
	now := s.Now()
	retryable := h.cfg.Retryable(a)
	// Earlier stages (the breaker) learn of every try this stage may hold
	// back or made itself, before the breaker's state is read below.
	if retryable || h.held || h.attempt > 1 {
		h.held = true
		s.ReportAttempt(&pipeline.Attempt{
			Number: h.attempt, Status: a.Status, GRPCStatus: a.GRPCStatus, HasGRPCStatus: a.HasGRPCStatus,
			NotReached: a.NotReached, Reset: a.Reset, Elapsed: now.Sub(h.tryStart), Header: header,
		})
	}
	d := Decision{Reason: ReasonNotRetryable}
	if retryable {
		h.readHeaders(&a, header)
		d = h.cfg.Decide(h.req, a, h.attempt, h.prev, now, h.deadline, h.st.env.Rand())
	}
	if d.Retry() && h.st.breakerHolds(s, h.cfg, now) {
		d.Reason = ReasonBreakerOpen
	}
	if d.Retry() {
		if _, on := h.cfg.BudgetPolicy(); on && !h.st.spend(h.ks, h.cfg, now, true) {
			d.Reason = ReasonBudget
		}
	}
	if h.held {
		h.st.env.Log.Debugf("steadfast %s: try %d answered %d (grpc %d): %s, wait %s", RootID, h.attempt, a.Status, a.GRPCStatus, d.Reason, d.Wait)
	}
	if !d.Retry() {
		h.count(d.Reason)
		return h.answer()
	}
	if err := s.After(now.Add(d.Wait)); err != nil {
		h.st.env.Log.Warnf("steadfast %s: no timer for the backoff: %v; the answer goes to the client", RootID, err)
		return h.answer()
	}
	h.ks.backoff.Record(uint64(d.Wait.Milliseconds()))
	h.prev, h.timeout = d.Wait, d.Timeout
	return pipeline.Hold()
}

// readHeaders reads the response headers a retryable answer's decision
// needs.
func (h *handler) readHeaders(a *Answer, header func(string) (string, bool)) {
	if name := h.cfg.NoRetryHeader(); name != "" {
		_, a.NoRetryHeader = header(name)
	}
	if h.cfg.ReadsPushback() {
		a.Pushback.GRPCRetryPushbackMs, _ = header(HeaderGRPCRetryPushbackMs)
		a.Pushback.RetryAfter, _ = header(HeaderRetryAfter)
		a.Pushback.RateLimitReset, _ = header(HeaderRateLimitReset)
		a.Pushback.XRateLimitReset, _ = header(HeaderXRateLimitReset)
	}
}

// count records why the last answer goes to the client.
func (h *handler) count(r Reason) {
	ks := h.ks
	switch r {
	case ReasonNotRetryable:
		if h.attempt > 1 {
			ks.successAfterRetry.Increment(1)
		}
	case ReasonExhausted:
		ks.exhausted.Increment(1)
	case ReasonBudget:
		ks.budgetExhausted.Increment(1)
	case ReasonDeadline:
		ks.deadlineSkipped.Increment(1)
	default:
		if c, ok := ks.skipped[r]; ok {
			c.Increment(1)
		}
	}
}

// answer lets the last answer go to the client: the first try's as it
// came, or a retry's as a local reply that replaces it.
func (h *handler) answer() pipeline.Verdict {
	if h.last == nil {
		h.held = false
		return pipeline.Continue
	}
	return pipeline.Respond(h.reply(h.last))
}

// Timer sends the next try, as a callout to the route's cluster.
func (h *handler) Timer(s *pipeline.Stream) pipeline.Verdict {
	next := h.attempt + 1
	if err := s.Dispatch(s.Cluster(), h.calloutHeaders(next), h.body, h.timeout); err != nil {
		h.st.env.Log.Warnf("steadfast %s: retry not sent: %v; the last answer goes to the client", RootID, err)
		return h.answer()
	}
	h.attempt, h.tryStart = next, s.Now()
	h.ks.attempts.Increment(1)
	h.ks.retries.Increment(1)
	return pipeline.Hold()
}

// Callout classifies a retry's answer as the first try's was.
func (h *handler) Callout(s *pipeline.Stream, c *pipeline.Callout) pipeline.Verdict {
	h.last = c
	var a Answer
	if c.Err != nil {
		a.Reset = true
	} else {
		a.Status = c.Status
		a.NotReached = calloutNotReached(c)
		v, ok := c.Header("grpc-status")
		if !ok {
			v, ok = trailer(c, "grpc-status")
		}
		if ok {
			a.GRPCStatus, a.HasGRPCStatus = breaker.ParseGRPCStatus(v)
		}
	}
	return h.decide(s, a, c.Header)
}

// calloutNotReached reads the proxy's own answer to a callout that never
// reached the upstream: a callout's answer carries no response flags, only
// the body of the 503 that Envoy's router makes up ("upstream connect
// error ... connection failure ...", "no healthy upstream").
func calloutNotReached(c *pipeline.Callout) bool {
	if c.Status != 503 || len(c.Body) > 512 {
		return false
	}
	b := string(c.Body)
	return b == "no healthy upstream" ||
		strings.HasPrefix(b, "upstream connect error") && strings.Contains(b, "connection failure")
}

func trailer(c *pipeline.Callout, name string) (string, bool) {
	for _, t := range c.Trailers {
		if t[0] == name {
			return t[1], true
		}
	}
	return "", false
}

// hopHeaders are not copied from a retry's answer into the reply: the
// proxy sets its own.
var hopHeaders = map[string]bool{
	"content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"grpc-status": true, "grpc-message": true,
}

// reply is the local reply that carries a retry's answer to the client.
func (h *handler) reply(c *pipeline.Callout) *pipeline.Reply {
	r := &pipeline.Reply{Status: 503, Body: []byte("upstream retry failed\n")}
	if c.Err == nil {
		r.Status, r.Body = c.Status, c.Body
		for _, kv := range c.Headers {
			if kv[0] != "" && kv[0][0] != ':' && !hopHeaders[kv[0]] {
				r.Headers = append(r.Headers, kv)
			}
		}
	}
	if name := h.cfg.RetriesHeaderName(); name != "" {
		r.Headers = append(r.Headers, [2]string{name, strconv.Itoa(h.attempt - 1)})
	}
	return r
}

// calloutHeaders are the first try's request headers with the attempt
// number and without the router's timeout header, which a callout's
// timeout replaces.
func (h *handler) calloutHeaders(attempt int) [][2]string {
	name := h.cfg.AttemptHeaderName()
	out := make([][2]string, 0, len(h.headers)+1)
	for _, kv := range h.headers {
		if kv[0] != name && kv[0] != headerTimeout {
			out = append(out, kv)
		}
	}
	if name != "" {
		out = append(out, [2]string{name, strconv.Itoa(attempt)})
	}
	return out
}

// Done drops what the stream kept. The pipeline has cancelled its timer
// and ignores the answer of a callout still out, so a client that left
// during a backoff causes no retry.
func (h *handler) Done(*pipeline.Stream) { h.body, h.headers, h.last = nil, nil, nil }
