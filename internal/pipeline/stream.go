package pipeline

import (
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

// direction is the request or the response path of a stream.
type direction uint8

const (
	request direction = iota
	response
)

func (d direction) String() string {
	if d == request {
		return "request"
	}
	return "response"
}

// holdState says which path a stage holds, if any.
type holdState uint8

const (
	notHolding holdState = iota
	holdingRequest
	holdingResponse
)

func holdFor(d direction) holdState { return holdState(d) + 1 }

// pathState is where one path of a stream is.
type pathState struct {
	// next is the stage whose headers turn is not over: on the request path
	// it counts up to len(stages), on the response path down to -1.
	next int
	// started: the path's headers arrived.
	started bool
	// ended: the path's end of stream was seen.
	ended bool
	// paused: the filter told Envoy to stop this path and has not resumed it.
	paused bool
	// inCallback: an Envoy callback of this path is running, so releasing
	// the path means returning Continue rather than calling Resume.
	inCallback bool
}

// Stream is one HTTP stream through the chain: the request view the stages
// share, read from the proxy lazily and at most once, and the stages'
// handlers with where each stands. Stages reach the proxy only through it.
type Stream struct {
	p  *Plugin
	id uint32

	handlers [MaxStages]Handler
	wants    [MaxStages]Wants
	hold     [MaxStages]holdState
	failed   [MaxStages]bool // failed open: left out of the rest of the stream
	reqTurn  [MaxStages]bool // the stage's request headers turn ran
	respTurn [MaxStages]bool // the stage's response headers turn ran
	callouts [MaxStages]uint8
	timers   uint16 // stages with a pending deadline, one bit each
	began    int    // stages [0, began) were offered the stream (Start ran)
	cur      int    // the stage whose code is running

	req, resp pathState
	bodyRead  int // request body bytes already read from Envoy's buffer
	replied   bool
	done      bool

	view view
}

// httpContext is a Stream as the proxy-wasm SDK sees it; the SDK's
// callbacks stay out of the API stages see.
type httpContext Stream

var _ types.HttpContext = (*httpContext)(nil)

func newStream(p *Plugin, id uint32) *Stream {
	return &Stream{p: p, id: id, resp: pathState{next: -1}}
}

// ID is the stream's context id.
func (s *Stream) ID() uint32 { return s.id }

// Now is the plugin's clock.
func (s *Stream) Now() time.Time { return s.p.now() }

// After sets the running stage's deadline: its handler's Timer runs at the
// first tick at or after at. Setting it again moves it. An error is the
// proxy's refusal to arm its timer: Timer will not run, so the stage must
// not Hold for it.
func (s *Stream) After(at time.Time) error {
	i := s.cur
	if err := s.p.timers.At(s.id, uint32(i), at, func() { s.onTimer(i) }); err != nil {
		return err
	}
	s.timers |= 1 << i
	return nil
}

// CancelTimer drops the running stage's deadline, if any.
func (s *Stream) CancelTimer() { s.cancelTimer(s.cur) }

func (s *Stream) cancelTimer(i int) {
	if s.timers&(1<<i) != 0 {
		s.timers &^= 1 << i
		s.p.timers.Cancel(s.id, uint32(i))
	}
}

// RequestEnded reports whether the whole request has arrived: its end of
// stream was seen (at the headers for a request without a body).
func (s *Stream) RequestEnded() bool { return s.req.ended }

// Dispatch sends an HTTP callout to an upstream cluster for the running
// stage; its handler's Callout runs with the answer, in the stream's
// context, unless the stream ended or was answered first. headers must
// include :method, :path and :authority. An error means nothing was sent
// and Callout will not run.
func (s *Stream) Dispatch(cluster string, headers [][2]string, body []byte, timeout time.Duration) error {
	i := s.cur
	err := s.p.host.DispatchHTTPCall(cluster, headers, body, timeout, func(numHeaders, bodySize, _ int) {
		s.onCallout(i, numHeaders, bodySize)
	})
	if err == nil {
		s.callouts[i]++
	}
	return err
}

// stageName is the name of stage i, for logs.
func (s *Stream) stageName(i int) string { return s.p.stages[i].Name() }

func (s *Stream) n() int { return len(s.p.stages) }

// live reports whether stage i takes part in the stream.
func (s *Stream) live(i int) bool { return i < s.began && s.handlers[i] != nil && !s.failed[i] }

// invoke runs one event of stage i's handler; a panic becomes a failure.
func (s *Stream) invoke(i int, event func(h Handler) Verdict) (v Verdict) {
	prev := s.cur
	s.cur = i
	defer func() {
		s.cur = prev
		if r := recover(); r != nil {
			v = Fail(strfmt.Errorf("panic: %v", r))
		}
	}()
	return event(s.handlers[i])
}

// begin offers the stream to stage i.
func (s *Stream) begin(i int) {
	prev := s.cur
	s.cur = i
	s.began = i + 1
	defer func() {
		s.cur = prev
		if r := recover(); r != nil {
			s.handlers[i] = nil
			s.fail(i, strfmt.Errorf("panic: %v", r))
		}
	}()
	h := s.p.stages[i].Start(s)
	s.handlers[i] = h
	if h != nil {
		s.wants[i] = h.Wants()
	}
}

// apply carries out stage i's verdict on path d. It reports whether the
// stream may go on past the stage.
func (s *Stream) apply(i int, d direction, v Verdict) bool {
	switch v.kind {
	case kindContinue:
		s.hold[i] = notHolding
		return true
	case kindHold:
		if s.canWait(i, d) {
			s.hold[i] = holdFor(d)
			return false
		}
		v = Fail(ErrStuck)
	case kindReply:
		s.hold[i] = notHolding
		if s.respond(i, v.reply) {
			return false
		}
		v = Fail(errReplyRefused)
	}
	return s.fail(i, v.err)
}

var errReplyRefused = strfmt.Errorf("the proxy refused the local reply")

// canWait reports whether something pending will call stage i again.
func (s *Stream) canWait(i int, d direction) bool {
	switch {
	case s.timers&(1<<i) != 0, s.callouts[i] > 0:
		return true
	case d == request:
		return !s.req.ended && s.wants[i]&WantRequestBody != 0
	default:
		return !s.resp.ended && s.wants[i]&(WantResponseBody|WantResponseTrailers) != 0
	}
}

// fail applies stage i's failure policy; it reports whether the stream
// may go on (the stage fails open).
func (s *Stream) fail(i int, err error) bool {
	s.hold[i] = notHolding
	s.cancelTimer(i)
	s.p.countFailure(i)
	stage := s.p.stages[i]
	reply := stage.OnFailure()
	if reply == nil {
		s.failed[i] = true
		s.p.log.Warnf("steadfast %s: %v; the stream goes on without it", stage.Name(), err)
		return true
	}
	s.p.log.Warnf("steadfast %s: %v; answering %d", stage.Name(), err, reply.Status)
	if !s.replied && !s.respond(i, reply) {
		s.p.log.Errorf("steadfast %s: the stream cannot be answered and stays held until the proxy's own timeout", stage.Name())
	}
	return false
}

// respond answers the stream locally; false means the proxy refused.
func (s *Stream) respond(i int, r *Reply) bool {
	if s.replied {
		return true
	}
	grpc := int32(-1)
	if s.IsGRPC() {
		grpc = r.grpcStatus()
	}
	if err := s.p.host.SendResponse(r.Status, r.Headers, r.Body, grpc); err != nil {
		s.p.log.Warnf("steadfast %s: local reply %d refused: %v", s.stageName(i), r.Status, err)
		return false
	}
	s.replied = true
	s.hold = [MaxStages]holdState{}
	for j := range s.n() {
		s.cancelTimer(j)
	}
	return true
}

// runRequest gives the stages their request headers turns, in order, from
// the first whose turn is not over, until one holds the request or answers.
func (s *Stream) runRequest() {
	for s.req.next < s.n() && !s.replied {
		i := s.req.next
		if s.hold[i] == holdingRequest {
			return
		}
		if i >= s.began {
			s.begin(i)
		}
		if s.live(i) && !s.reqTurn[i] {
			s.reqTurn[i] = true
			if !s.apply(i, request, s.invoke(i, func(h Handler) Verdict { return h.RequestHeaders(s) })) {
				return
			}
		}
		s.req.next++
	}
}

// runResponse is runRequest for the response path, in reverse order.
func (s *Stream) runResponse() {
	for s.resp.next >= 0 && !s.replied {
		i := s.resp.next
		if s.hold[i] == holdingResponse {
			return
		}
		if s.live(i) && !s.respTurn[i] {
			s.respTurn[i] = true
			if !s.apply(i, response, s.invoke(i, func(h Handler) Verdict { return h.ResponseHeaders(s) })) {
				return
			}
		}
		s.resp.next--
	}
}

// released reports whether nothing holds path d any more.
func (s *Stream) released(d direction) bool {
	if s.replied {
		return false
	}
	if d == request && s.req.next < s.n() || d == response && s.resp.next >= 0 {
		return false
	}
	held := holdFor(d)
	for i := range s.n() {
		if s.hold[i] == held {
			return false
		}
	}
	return true
}

// action is what an Envoy callback of path d returns.
func (s *Stream) action(d direction) types.Action {
	p := s.path(d)
	if s.released(d) {
		p.paused = false
		return types.ActionContinue
	}
	p.paused = true
	return types.ActionPause
}

func (s *Stream) path(d direction) *pathState {
	if d == request {
		return &s.req
	}
	return &s.resp
}

// proceed goes on along path d after an event that came outside the path's
// callbacks (a timer, a callout), and resumes the path once released.
func (s *Stream) proceed(d direction) {
	if d == request {
		s.runRequest()
	} else {
		s.runResponse()
	}
	p := s.path(d)
	if !p.paused || !s.released(d) {
		return
	}
	p.paused = false
	var err error
	if d == request {
		err = s.p.host.ResumeRequest()
	} else {
		err = s.p.host.ResumeResponse()
	}
	if err != nil {
		s.p.log.Warnf("steadfast: resume %s: %v", d, err)
	}
}

// pathOf is the path an event outside the callbacks belongs to for stage
// i: the one it holds, else the one the stream is on.
func (s *Stream) pathOf(i int) direction {
	switch {
	case s.hold[i] == holdingRequest:
		return request
	case s.hold[i] == holdingResponse, s.resp.started:
		return response
	}
	return request
}

func (s *Stream) onTimer(i int) {
	s.timers &^= 1 << i
	if s.done || s.replied || !s.live(i) {
		return
	}
	d := s.pathOf(i)
	s.apply(i, d, s.invoke(i, func(h Handler) Verdict { return h.Timer(s) }))
	s.proceed(d)
}

func (s *Stream) onCallout(i, numHeaders, bodySize int) {
	s.callouts[i]--
	if s.done {
		return
	}
	// The answer is read in the plugin's context, where the proxy keeps it,
	// before the stream's context is entered again.
	c := &Callout{Err: ErrCalloutFailed}
	if numHeaders > 0 {
		c.Err = nil
		c.Headers = s.p.host.CalloutResponseHeaders()
		c.Body = s.p.host.CalloutResponseBody(bodySize)
		c.Trailers = s.p.host.CalloutResponseTrailers()
		if v, ok := c.Header(":status"); ok {
			c.Status, _ = strconv.Atoi(v)
		}
	}
	if err := s.p.host.SetEffectiveContext(s.id); err != nil {
		return // the stream is gone
	}
	if s.replied || !s.live(i) {
		return
	}
	d := s.pathOf(i)
	s.apply(i, d, s.invoke(i, func(h Handler) Verdict { return h.Callout(s, c) }))
	s.proceed(d)
}

// The proxy-wasm callbacks.

func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	s := (*Stream)(h)
	s.req.started, s.req.ended, s.req.inCallback = true, endOfStream, true
	s.runRequest()
	s.req.inCallback = false
	if s.replied {
		return types.ActionPause
	}
	return s.action(request)
}

func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	s := (*Stream)(h)
	if s.replied {
		return types.ActionPause
	}
	s.req.inCallback = true
	s.deliverRequestBody(bodySize, endOfStream)
	s.req.ended = s.req.ended || endOfStream
	s.runRequest()
	s.req.inCallback = false
	if s.replied {
		return types.ActionPause
	}
	a := s.action(request)
	if a == types.ActionPause {
		s.bodyRead = bodySize // Envoy buffers: the next call's size counts these bytes too
	} else {
		s.bodyRead = 0
	}
	return a
}

func (h *httpContext) OnHttpRequestTrailers(int) types.Action {
	s := (*Stream)(h)
	if s.replied {
		return types.ActionPause
	}
	s.req.inCallback = true
	if !s.req.ended {
		s.req.ended = true
		s.deliverBodyChunk(nil, true)
	}
	s.runRequest()
	s.req.inCallback = false
	if s.replied {
		return types.ActionPause
	}
	return s.action(request)
}

// maxBodyPiece bounds each piece of the request body copied into the VM.
// Envoy's callbacks bring whatever arrived since the last one, megabytes
// under load; read in pieces, the body never needs more than this of the
// VM's memory at once, which never shrinks once grown.
const maxBodyPiece = 64 << 10

// deliverRequestBody reads the bytes of the request body not yet read,
// maxBodyPiece at a time, and hands each piece to every stage that wants
// the body.
func (s *Stream) deliverRequestBody(bodySize int, end bool) {
	wanted := false
	for i := range s.began {
		wanted = wanted || s.live(i) && s.wants[i]&WantRequestBody != 0
	}
	if !wanted {
		return
	}
	if bodySize < s.bodyRead {
		s.failBodyReaders(strfmt.Errorf("the buffered request body shrank from %d to %d bytes", s.bodyRead, bodySize))
		return
	}
	for at := s.bodyRead; ; {
		n := min(maxBodyPiece, bodySize-at)
		var piece []byte
		if n > 0 {
			b, err := s.p.host.RequestBody(at, n)
			if err != nil || len(b) != n {
				s.failBodyReaders(strfmt.Errorf("read request body bytes %d to %d: got %d, %v", at, at+n, len(b), err))
				return
			}
			piece = b
		}
		at += n
		last := at == bodySize
		if end && last {
			s.req.ended = true // a stage holding on the last piece waits for no more body
		}
		s.deliverBodyChunk(piece, end && last)
		if last || s.replied {
			return
		}
	}
}

// failBodyReaders fails every stage that wants the request body.
func (s *Stream) failBodyReaders(err error) {
	for i := range s.began {
		if s.live(i) && s.wants[i]&WantRequestBody != 0 {
			s.fail(i, err)
		}
	}
}

func (s *Stream) deliverBodyChunk(chunk []byte, end bool) {
	for i := 0; i < s.began && !s.replied; i++ {
		if s.live(i) && s.wants[i]&WantRequestBody != 0 {
			s.apply(i, request, s.invoke(i, func(h Handler) Verdict { return h.RequestBody(s, chunk, end) }))
		}
	}
}

func (h *httpContext) OnHttpResponseHeaders(_ int, endOfStream bool) types.Action {
	s := (*Stream)(h)
	if s.replied {
		return types.ActionContinue // the chain's own local reply passes untouched
	}
	s.resp.started, s.resp.ended, s.resp.inCallback = true, endOfStream, true
	s.resp.next = s.began - 1
	s.runResponse()
	s.resp.inCallback = false
	if s.replied {
		return types.ActionPause // the upstream's headers make way for the reply
	}
	return s.action(response)
}

func (h *httpContext) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	s := (*Stream)(h)
	if s.replied {
		return types.ActionContinue
	}
	s.resp.ended = s.resp.ended || endOfStream
	s.resp.inCallback = true
	for i := s.began - 1; i >= 0 && !s.replied; i-- {
		if s.live(i) && s.wants[i]&WantResponseBody != 0 {
			s.apply(i, response, s.invoke(i, func(h Handler) Verdict { return h.ResponseBody(s, bodySize, endOfStream) }))
		}
	}
	s.runResponse()
	s.resp.inCallback = false
	if s.replied {
		return types.ActionContinue
	}
	return s.action(response)
}

func (h *httpContext) OnHttpResponseTrailers(int) types.Action {
	s := (*Stream)(h)
	if s.replied {
		return types.ActionContinue
	}
	s.resp.ended = true
	s.resp.inCallback = true
	for i := s.began - 1; i >= 0 && !s.replied; i-- {
		if s.live(i) && s.wants[i]&WantResponseTrailers != 0 {
			s.apply(i, response, s.invoke(i, func(h Handler) Verdict { return h.ResponseTrailers(s) }))
		}
	}
	s.runResponse()
	s.resp.inCallback = false
	if s.replied {
		return types.ActionContinue
	}
	return s.action(response)
}

func (h *httpContext) OnHttpStreamDone() {
	s := (*Stream)(h)
	s.done = true
	for i := s.began - 1; i >= 0; i-- {
		s.cancelTimer(i)
		if s.handlers[i] != nil {
			s.invoke(i, func(h Handler) Verdict { h.Done(s); return Continue })
		}
	}
}

// The request view.

// view caches what the stages read of the request: each property and
// header is asked of the proxy at most once per stream.
type view struct {
	have      uint8
	route     string
	cluster   string
	headers   [maxCachedHeaders]cachedHeader
	nHeaders  int
	all       [][2]string // every request header, once asked for
	haveAll   bool
	contentGR int8 // 0 unknown, 1 gRPC, -1 not
	// resp is every response header, once a stage asked for them all.
	resp     [][2]string
	haveResp bool
}

const (
	haveRoute uint8 = 1 << iota
	haveCluster
)

const maxCachedHeaders = 8

type cachedHeader struct {
	name, value string
	ok          bool
}

var (
	propertyRouteName   = []string{"xds", "route_name"}
	propertyClusterName = []string{"xds", "cluster_name"}
)

// Route is the Envoy route name (property xds.route_name), "" when none.
func (s *Stream) Route() string {
	if s.view.have&haveRoute == 0 {
		b, _ := s.p.host.Property(propertyRouteName)
		s.view.route, s.view.have = string(b), s.view.have|haveRoute
	}
	return s.view.route
}

// Cluster is the upstream cluster of the route (xds.cluster_name).
func (s *Stream) Cluster() string {
	if s.view.have&haveCluster == 0 {
		b, _ := s.p.host.Property(propertyClusterName)
		s.view.cluster, s.view.have = string(b), s.view.have|haveCluster
	}
	return s.view.cluster
}

// Method, Path and Authority are the request's pseudo-headers.
func (s *Stream) Method() string    { v, _ := s.Header(":method"); return v }
func (s *Stream) Path() string      { v, _ := s.Header(":path"); return v }
func (s *Stream) Authority() string { v, _ := s.Header(":authority"); return v }

// IsGRPC reports whether the request is gRPC (content-type
// application/grpc...). Envoy hands out no request headers on the
// response path: asked there first, it reads the response's content-type,
// which says the same (a gRPC upstream answers in gRPC, and Envoy's own
// answers to a gRPC request are gRPC too).
func (s *Stream) IsGRPC() bool {
	if s.view.contentGR == 0 {
		ct, ok := s.Header("content-type")
		if !ok && s.resp.started {
			ct, ok = s.ResponseHeader("content-type")
		}
		s.view.contentGR = -1
		if ok && strings.HasPrefix(ct, "application/grpc") {
			s.view.contentGR = 1
		}
	}
	return s.view.contentGR == 1
}

// Header returns a request header (its first value) by lower-case name.
func (s *Stream) Header(name string) (string, bool) {
	if s.view.haveAll {
		for _, h := range s.view.all {
			if h[0] == name {
				return h[1], true
			}
		}
		return "", false
	}
	for _, h := range s.view.headers[:s.view.nHeaders] {
		if h.name == name {
			return h.value, h.ok
		}
	}
	v, ok := s.p.host.RequestHeader(name)
	if s.view.nHeaders < maxCachedHeaders {
		s.view.headers[s.view.nHeaders] = cachedHeader{name, v, ok}
		s.view.nHeaders++
	}
	return v, ok
}

// Headers returns every request header, repeated names included, in order.
// The slice belongs to the view: do not change it.
func (s *Stream) Headers() [][2]string {
	if !s.view.haveAll {
		s.view.all, s.view.haveAll = s.p.host.RequestHeaders(), true
	}
	return s.view.all
}

// SetHeader replaces a request header (all its values) with one value.
func (s *Stream) SetHeader(name, value string) error {
	s.forget(name)
	return s.p.host.SetRequestHeader(name, value)
}

// RemoveHeader removes a request header, every value of it.
func (s *Stream) RemoveHeader(name string) error {
	s.forget(name)
	return s.p.host.RemoveRequestHeader(name)
}

// forget drops a header from the view after the stage changed it.
func (s *Stream) forget(name string) {
	for i := 0; i < s.view.nHeaders; i++ {
		if s.view.headers[i].name == name {
			s.view.nHeaders--
			s.view.headers[i] = s.view.headers[s.view.nHeaders]
			i--
		}
	}
	if name == "content-type" {
		s.view.contentGR = 0
	}
	s.view.all, s.view.haveAll = nil, false
}

// ResponseHeader returns a response header (its first value) by
// lower-case name: from the stream's copy once a stage asked for every
// response header, else from the proxy.
func (s *Stream) ResponseHeader(name string) (string, bool) {
	if s.view.haveResp {
		for _, h := range s.view.resp {
			if h[0] == name {
				return h[1], true
			}
		}
		return "", false
	}
	return s.p.host.ResponseHeader(name)
}

// ResponseHeaders returns every response header, asked of the proxy once
// per stream in one call: cheaper than three reads by name, and shared by
// every stage on the response path. The slice belongs to the stream: do
// not change it.
func (s *Stream) ResponseHeaders() [][2]string {
	if !s.view.haveResp {
		s.view.resp, s.view.haveResp = s.p.host.ResponseHeaders(), true
	}
	return s.view.resp
}

// SetResponseHeader replaces a response header with one value.
func (s *Stream) SetResponseHeader(name, value string) error {
	s.view.resp, s.view.haveResp = nil, false
	return s.p.host.SetResponseHeader(name, value)
}

// RemoveResponseHeader removes a response header.
func (s *Stream) RemoveResponseHeader(name string) error {
	s.view.resp, s.view.haveResp = nil, false
	return s.p.host.RemoveResponseHeader(name)
}

// ResponseTrailer returns a response trailer by lower-case name.
func (s *Stream) ResponseTrailer(name string) (string, bool) { return s.p.host.ResponseTrailer(name) }

// Property reads a property of the stream, such as {"response", "code_details"}.
func (s *Stream) Property(path []string) ([]byte, bool) { return s.p.host.Property(path) }

// SetFilterState records value under key in the stream's filter state,
// where access logs read it as %FILTER_STATE(wasm.<key>:PLAIN)%.
func (s *Stream) SetFilterState(key string, value []byte) error {
	return s.p.host.SetProperty([]string{key}, value)
}
