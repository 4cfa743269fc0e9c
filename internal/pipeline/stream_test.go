package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stage is a Stage whose handlers are scripted by the test.
type stage struct {
	name    string
	failure *Reply
	start   func(s *Stream) Handler
	starts  int
}

func (st *stage) Name() string      { return st.name }
func (st *stage) OnFailure() *Reply { return st.failure }
func (st *stage) Start(s *Stream) Handler {
	st.starts++
	if st.start == nil {
		return nil
	}
	return st.start(s)
}

// script is a Handler whose events run the test's functions; events
// without one continue. It records what it saw.
type script struct {
	BaseHandler
	wants     Wants
	onHeaders func(s *Stream) Verdict
	onBody    func(s *Stream, chunk []byte, end bool) Verdict
	onResp    func(s *Stream) Verdict
	onTimer   func(s *Stream) Verdict
	onCallout func(s *Stream, c *Callout) Verdict
	body      []byte
	events    []string
}

func (h *script) Wants() Wants { return h.wants }

func (h *script) RequestHeaders(s *Stream) Verdict {
	h.events = append(h.events, "request headers")
	if h.onHeaders == nil {
		return Continue
	}
	return h.onHeaders(s)
}

func (h *script) RequestBody(s *Stream, chunk []byte, end bool) Verdict {
	h.events = append(h.events, "request body")
	h.body = append(h.body, chunk...)
	if h.onBody == nil {
		return Continue
	}
	return h.onBody(s, chunk, end)
}

func (h *script) ResponseHeaders(s *Stream) Verdict {
	h.events = append(h.events, "response headers")
	if h.onResp == nil {
		return Continue
	}
	return h.onResp(s)
}

func (h *script) Timer(s *Stream) Verdict {
	h.events = append(h.events, "timer")
	if h.onTimer == nil {
		return Continue
	}
	return h.onTimer(s)
}

func (h *script) Callout(s *Stream, c *Callout) Verdict {
	h.events = append(h.events, "callout")
	if h.onCallout == nil {
		return Continue
	}
	return h.onCallout(s, c)
}

func (h *script) Done(*Stream) { h.events = append(h.events, "done") }

func with(h *script) func(*Stream) Handler { return func(*Stream) Handler { return h } }

// delay holds the request headers for d, then continues.
func delay(d time.Duration) *script {
	return &script{onHeaders: func(s *Stream) Verdict {
		if err := s.After(s.Now().Add(d)); err != nil {
			return Fail(err)
		}
		return Hold()
	}}
}

var (
	teapot        = &Reply{Status: 418, Body: []byte("no")}
	internalError = &Reply{Status: 500}
)

func TestNoStageActingCostsNoHostCall(t *testing.T) {
	a, b := &stage{name: "a"}, &stage{name: "b"}
	c := newChain(t, a, b)
	s := c.open(1)

	assert.Equal(t, types.ActionContinue, s.OnHttpRequestHeaders(3, false))
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestBody(10, true))
	assert.Equal(t, types.ActionContinue, s.OnHttpResponseHeaders(3, true))
	s.OnHttpStreamDone()

	assert.Equal(t, [2]int{1, 1}, [2]int{a.starts, b.starts})
	assert.Empty(t, c.host.resumes)
	assert.Empty(t, c.host.replies)
	assert.Zero(t, c.host.tick)
}

func TestAHeldRequestIsResumedExactlyOnceAndLaterStagesStartAfterIt(t *testing.T) {
	held := delay(200 * time.Millisecond)
	next := &script{}
	a := &stage{name: "a", start: with(held)}
	b := &stage{name: "b", start: with(next)}
	c := newChain(t, a, b)
	s := c.open(1)

	require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	assert.Zero(t, b.starts, "b starts only once a lets the request go")
	assert.Equal(t, uint32(200), c.host.tick)

	c.advance(199 * time.Millisecond)
	assert.Zero(t, c.resumes(1, "request"), "never early")
	c.advance(time.Millisecond)
	assert.Equal(t, 1, c.resumes(1, "request"))
	assert.Equal(t, []string{"request headers"}, next.events)
	assert.Zero(t, c.host.tick, "the tick timer is off when nothing waits")

	s.OnHttpStreamDone()
	assert.Equal(t, []string{"request headers", "timer", "done"}, held.events)
}

func TestAReplyFromATimerIsTheOnlyEffect(t *testing.T) {
	held := delay(time.Second)
	held.onTimer = func(*Stream) Verdict { return Respond(teapot) }
	c := newChain(t, &stage{name: "a", start: with(held)}, &stage{name: "b", start: with(&script{})})
	s := c.open(1)

	require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	c.advance(time.Second)

	assert.Equal(t, []int{418}, c.host.replies[1])
	assert.Zero(t, c.resumes(1, "request"))
	assert.Equal(t, types.ActionContinue, s.OnHttpResponseHeaders(2, true), "the local reply passes untouched")
}

func TestAReplyAtRequestHeadersStopsTheChain(t *testing.T) {
	later := &stage{name: "b", start: with(&script{})}
	c := newChain(t, &stage{name: "a", start: with(&script{onHeaders: func(*Stream) Verdict { return Respond(teapot) }})}, later)
	s := c.open(1)

	assert.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	assert.Equal(t, []int{418}, c.host.replies[1])
	assert.Zero(t, later.starts)
}

// A stage that fails (panics, holds with nothing pending, cannot arm its
// timer, returns Fail) leaves the stream answered or passing, as its
// OnFailure says; never held.
func TestFailuresFollowTheStagePolicy(t *testing.T) {
	failures := map[string]*script{
		"panic":        {onHeaders: func(*Stream) Verdict { panic("boom") }},
		"stuck hold":   {onHeaders: func(*Stream) Verdict { return Hold() }},
		"fail verdict": {onHeaders: func(*Stream) Verdict { return Fail(errors.New("store down")) }},
	}
	for name, h := range failures {
		t.Run(name+", fail open", func(t *testing.T) {
			next := &script{}
			c := newChain(t, &stage{name: "a", start: with(h)}, &stage{name: "b", start: with(next)})
			var counted []int
			c.p.countFailure = func(i int) { counted = append(counted, i) }
			s := c.open(1)
			defer func() { assert.Equal(t, []int{0}, counted, "the failure is counted for stage a") }()
			assert.Equal(t, types.ActionContinue, s.OnHttpRequestHeaders(3, true))
			assert.Empty(t, c.host.replies)
			assert.Equal(t, []string{"request headers"}, next.events, "the rest of the chain runs")
			assert.Contains(t, c.log.lines[0], "steadfast a: ")
		})
		t.Run(name+", fail closed", func(t *testing.T) {
			c := newChain(t, &stage{name: "a", failure: internalError, start: with(h)})
			s := c.open(1)
			assert.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
			assert.Equal(t, []int{500}, c.host.replies[1])
		})
	}
}

func TestAPanicInStartFollowsThePolicy(t *testing.T) {
	c := newChain(t, &stage{name: "a", failure: internalError, start: func(*Stream) Handler { panic("boom") }})
	s := c.open(1)
	assert.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	assert.Equal(t, []int{500}, c.host.replies[1])
	s.OnHttpStreamDone()
}

func TestATimerTheHostRefusesIsAFailureNotAHang(t *testing.T) {
	c := newChain(t, &stage{name: "a", failure: internalError, start: with(delay(time.Second))})
	c.host.tickErr = errors.New("refused")
	s := c.open(1)
	assert.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	assert.Equal(t, []int{500}, c.host.replies[1])
	assert.Zero(t, c.p.timers.Pending())
}

func TestARefusedReplyOfAFailOpenStageLetsTheRequestGo(t *testing.T) {
	c := newChain(t, &stage{name: "a", start: with(&script{onHeaders: func(*Stream) Verdict { return Respond(teapot) }})})
	c.host.sendErr = errors.New("refused")
	s := c.open(1)
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestHeaders(3, true))
}

func TestBodyChunksReachTheStageOnceEachWhileItHoldsTheRequest(t *testing.T) {
	verifier := &script{wants: WantRequestBody,
		onHeaders: func(*Stream) Verdict { return Hold() },
		onBody: func(_ *Stream, _ []byte, end bool) Verdict {
			if end {
				return Continue
			}
			return Hold()
		},
	}
	after := &script{}
	c := newChain(t, &stage{name: "verify", start: with(verifier)}, &stage{name: "b", start: with(after)})
	s := c.open(1)

	require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, false))
	// Envoy buffers what a paused filter returns from its body callbacks, and
	// each callback's size then counts the whole body so far.
	c.host.body[1] = []byte("hello ")
	assert.Equal(t, types.ActionPause, s.OnHttpRequestBody(6, false))
	c.host.body[1] = []byte("hello world")
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestBody(11, true))

	assert.Equal(t, "hello world", string(verifier.body))
	assert.Equal(t, []string{"request headers"}, after.events, "later stages start once the body is verified")
	assert.Zero(t, c.resumes(1, "request"), "released inside the callback: Continue, no Resume")
}

// Envoy may hand over megabytes in one callback under load: the body
// reaches the stage in pieces of at most maxBodyPiece, so the VM's memory,
// which never shrinks, need not grow by the whole of it.
func TestALargeBodyReachesTheStageInBoundedPieces(t *testing.T) {
	var pieces []int
	var ends []bool
	reader := &script{wants: WantRequestBody,
		onHeaders: func(*Stream) Verdict { return Hold() },
		onBody: func(_ *Stream, chunk []byte, end bool) Verdict {
			pieces, ends = append(pieces, len(chunk)), append(ends, end)
			if end {
				return Continue
			}
			return Hold()
		},
	}
	c := newChain(t, &stage{name: "a", start: with(reader)})
	s := c.open(1)
	s.OnHttpRequestHeaders(3, false)
	body := make([]byte, 2*maxBodyPiece+10)
	for i := range body {
		body[i] = byte(i)
	}
	c.host.body[1] = body
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestBody(len(body), true))
	assert.Equal(t, []int{maxBodyPiece, maxBodyPiece, 10}, pieces)
	assert.Equal(t, []bool{false, false, true}, ends, "only the last piece ends the body")
	assert.Equal(t, body, reader.body)
}

// A stage that keeps a copy of the body (to replay it later) sees every
// byte once while the body streams on: with Continue, Envoy's buffer holds
// only the chunk of the current callback.
func TestABodyStreamsOnWhileAStageCopiesIt(t *testing.T) {
	copier := &script{wants: WantRequestBody}
	c := newChain(t, &stage{name: "retry", start: with(copier)})
	s := c.open(1)
	require.Equal(t, types.ActionContinue, s.OnHttpRequestHeaders(3, false))
	c.host.body[1] = []byte("first ")
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestBody(6, false))
	c.host.body[1] = []byte("second")
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestBody(6, true))
	assert.Equal(t, "first second", string(copier.body))
	assert.Empty(t, c.host.resumes)
}

func TestABodyThatCannotBeReadFailsTheStage(t *testing.T) {
	reader := &script{wants: WantRequestBody, onHeaders: func(*Stream) Verdict { return Hold() },
		onBody: func(*Stream, []byte, bool) Verdict { return Hold() }}
	c := newChain(t, &stage{name: "a", failure: &Reply{Status: 503}, start: with(reader)})
	s := c.open(1)
	s.OnHttpRequestHeaders(3, false)
	c.host.body[1] = []byte("short")
	assert.Equal(t, types.ActionPause, s.OnHttpRequestBody(50, false), "the proxy says 50 bytes, hands over 5")
	assert.Equal(t, []int{503}, c.host.replies[1])
}

func TestTrailersEndTheBody(t *testing.T) {
	var ended bool
	verifier := &script{wants: WantRequestBody,
		onHeaders: func(*Stream) Verdict { return Hold() },
		onBody: func(_ *Stream, _ []byte, end bool) Verdict {
			ended = end
			if end {
				return Continue
			}
			return Hold()
		},
	}
	c := newChain(t, &stage{name: "verify", start: with(verifier)})
	s := c.open(1)
	s.OnHttpRequestHeaders(3, false)
	c.host.body[1] = []byte("abc")
	require.Equal(t, types.ActionPause, s.OnHttpRequestBody(3, false))
	assert.Equal(t, types.ActionContinue, s.OnHttpRequestTrailers(1))
	assert.True(t, ended)
	assert.Equal(t, "abc", string(verifier.body))
}

// With allow_on_headers_stop_iteration, Envoy calls the body callbacks of
// a request held at its headers: a delay must hold through them.
func TestADelayHoldsThroughTheBodyCallbacks(t *testing.T) {
	c := newChain(t, &stage{name: "faults", start: with(delay(100 * time.Millisecond))})
	s := c.open(1)

	require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, false))
	c.host.body[1] = []byte("x")
	assert.Equal(t, types.ActionPause, s.OnHttpRequestBody(1, false))
	assert.Equal(t, types.ActionPause, s.OnHttpRequestBody(1, true))
	c.advance(100 * time.Millisecond)
	assert.Equal(t, 1, c.resumes(1, "request"))
}

func TestSeveralTimersOnOneStream(t *testing.T) {
	first, second := delay(300*time.Millisecond), delay(100*time.Millisecond)
	c := newChain(t, &stage{name: "a", start: with(first)}, &stage{name: "b", start: with(second)})
	s := c.open(1)

	require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
	c.advance(300 * time.Millisecond)
	assert.Zero(t, c.resumes(1, "request"), "b's delay starts when a lets the request go")
	c.advance(100 * time.Millisecond)
	assert.Equal(t, 1, c.resumes(1, "request"))
}

func TestAStreamThatEndsWhileHeldDropsItsTimer(t *testing.T) {
	held := delay(time.Second)
	c := newChain(t, &stage{name: "a", start: with(held)})
	s := c.open(1)
	s.OnHttpRequestHeaders(3, true)
	s.OnHttpStreamDone()

	assert.Zero(t, c.p.timers.Pending())
	assert.Zero(t, c.host.tick)
	c.advance(time.Second)
	assert.Equal(t, []string{"request headers", "done"}, held.events)
}

func TestCallouts(t *testing.T) {
	var got *Callout
	caller := &script{
		onHeaders: func(s *Stream) Verdict {
			if err := s.Dispatch("auth", nil, nil, time.Second); err != nil {
				return Fail(err)
			}
			return Hold()
		},
		onCallout: func(_ *Stream, c *Callout) Verdict {
			got = c
			if c.Status != 200 {
				return Respond(&Reply{Status: 403})
			}
			return Continue
		},
	}
	t.Run("answered", func(t *testing.T) {
		c := newChain(t, &stage{name: "a", start: with(caller)})
		s := c.open(1)
		require.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
		c.host.answerCallout(0, 200)
		assert.Equal(t, 200, got.Status)
		assert.Equal(t, 1, c.resumes(1, "request"))
	})
	t.Run("failed", func(t *testing.T) {
		c := newChain(t, &stage{name: "a", start: with(caller)})
		s := c.open(1)
		s.OnHttpRequestHeaders(3, true)
		c.host.answerCallout(0, 0)
		assert.ErrorIs(t, got.Err, ErrCalloutFailed)
		assert.Equal(t, []int{403}, c.host.replies[1])
	})
	t.Run("the stream is gone", func(t *testing.T) {
		got = nil
		c := newChain(t, &stage{name: "a", start: with(caller)})
		s := c.open(1)
		s.OnHttpRequestHeaders(3, true)
		s.OnHttpStreamDone()
		c.host.gone[1] = true
		c.host.answerCallout(0, 200)
		assert.Nil(t, got)
		assert.Empty(t, c.host.resumes)
	})
	t.Run("not sent", func(t *testing.T) {
		c := newChain(t, &stage{name: "a", failure: internalError, start: with(&script{onHeaders: func(s *Stream) Verdict {
			if err := s.Dispatch("", nil, nil, time.Second); err != nil {
				return Fail(err)
			}
			return Hold()
		}})})
		s := c.open(1)
		assert.Equal(t, types.ActionPause, s.OnHttpRequestHeaders(3, true))
		assert.Equal(t, []int{500}, c.host.replies[1])
	})
}

func TestTheResponsePathRunsInReverseOrder(t *testing.T) {
	var order []string
	mk := func(name string) *stage {
		return &stage{name: name, start: with(&script{onResp: func(*Stream) Verdict {
			order = append(order, name)
			return Continue
		}})}
	}
	c := newChain(t, mk("webhookauth"), mk("faults"), mk("breaker"), mk("retry"))
	s := c.open(1)
	s.OnHttpRequestHeaders(3, true)
	assert.Equal(t, types.ActionContinue, s.OnHttpResponseHeaders(3, true))
	assert.Equal(t, []string{"retry", "breaker", "faults", "webhookauth"}, order)
}

func TestAReplyAtResponseHeadersStopsTheUpstreamAnswer(t *testing.T) {
	c := newChain(t, &stage{name: "a", start: with(&script{onResp: func(*Stream) Verdict { return Respond(teapot) }})})
	s := c.open(1)
	s.OnHttpRequestHeaders(3, true)
	assert.Equal(t, types.ActionPause, s.OnHttpResponseHeaders(3, false))
	assert.Equal(t, []int{418}, c.host.replies[1])
	assert.Equal(t, types.ActionContinue, s.OnHttpResponseHeaders(2, true), "the reply passes untouched")
}

func TestAHeldResponseIsResumedOrReplaced(t *testing.T) {
	hold := func(then Verdict) *script {
		return &script{
			onResp: func(s *Stream) Verdict {
				if err := s.After(s.Now().Add(50 * time.Millisecond)); err != nil {
					return Fail(err)
				}
				return Hold()
			},
			onTimer: func(*Stream) Verdict { return then },
		}
	}
	t.Run("resumed", func(t *testing.T) {
		c := newChain(t, &stage{name: "a", start: with(hold(Continue))})
		s := c.open(1)
		s.OnHttpRequestHeaders(3, true)
		require.Equal(t, types.ActionPause, s.OnHttpResponseHeaders(3, false))
		c.advance(50 * time.Millisecond)
		assert.Equal(t, 1, c.resumes(1, "response"))
		assert.Empty(t, c.host.replies)
	})
	t.Run("replaced", func(t *testing.T) {
		c := newChain(t, &stage{name: "a", start: with(hold(Respond(&Reply{Status: 502})))})
		s := c.open(1)
		s.OnHttpRequestHeaders(3, true)
		s.OnHttpResponseHeaders(3, false)
		c.advance(50 * time.Millisecond)
		assert.Equal(t, []int{502}, c.host.replies[1])
		assert.Zero(t, c.resumes(1, "response"))
		assert.Equal(t, types.ActionContinue, s.OnHttpResponseHeaders(2, true), "the replacement passes untouched")
	})
}

func TestGRPCRequestsGetAGRPCStatus(t *testing.T) {
	deadlineExceeded, ok := 4, 0
	tests := []struct {
		reply *Reply
		want  int
	}{
		{&Reply{Status: 503}, 1014},
		{&Reply{Status: 401}, 1016},
		{&Reply{Status: 418}, 1002},
		{&Reply{Status: 503, GRPCStatus: &deadlineExceeded}, 1004},
		{&Reply{Status: 200, GRPCStatus: &ok}, 1000},
	}
	for _, tt := range tests {
		c := newChain(t, &stage{name: "a", start: with(&script{onHeaders: func(*Stream) Verdict { return Respond(tt.reply) }})})
		s := c.open(1, [2]string{"content-type", "application/grpc+proto"})
		s.OnHttpRequestHeaders(1, true)
		assert.Equal(t, []int{tt.want}, c.host.replies[1], "HTTP %d", tt.reply.Status)
	}
}

// Envoy hands out request headers on the request path only: asked on the
// response path, IsGRPC reads the response's content-type, so a reply
// there is a gRPC answer to a gRPC request; known from the request path,
// it is not read again.
func TestGRPCIsKnownOnTheResponsePath(t *testing.T) {
	for _, tt := range []struct {
		name          string
		readOnRequest bool
		response      [][2]string
		want          bool
		status        int
	}{
		{"read on the response path", false, [][2]string{{":status", "200"}, {"content-type", "application/grpc"}}, true, 1014},
		{"read on the request path", true, [][2]string{{":status", "503"}, {"content-type", "text/plain"}}, true, 1014},
		{"plain HTTP", false, [][2]string{{":status", "200"}, {"content-type", "text/html"}}, false, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var grpc bool
			c := newChain(t, &stage{name: "a", start: func(s *Stream) Handler {
				if tt.readOnRequest {
					s.IsGRPC()
				}
				return &script{onResp: func(s *Stream) Verdict {
					grpc = s.IsGRPC()
					return Respond(&Reply{Status: 503})
				}}
			}})
			ct := "application/grpc"
			if !tt.want {
				ct = "text/html"
			}
			s := c.open(1, [2]string{"content-type", ct})
			s.OnHttpRequestHeaders(1, true)
			c.host.headers[1] = nil // the response path: no request headers any more
			c.host.response = map[uint32][][2]string{1: tt.response}
			s.OnHttpResponseHeaders(1, false)
			assert.Equal(t, tt.want, grpc)
			assert.Equal(t, []int{tt.status}, c.host.replies[1])
		})
	}
}

func TestTheViewAsksTheHostOnce(t *testing.T) {
	reads := 0
	c := newChain(t,
		&stage{name: "a", start: func(s *Stream) Handler { s.Header("x-a"); s.Route(); reads++; return nil }},
		&stage{name: "b", start: func(s *Stream) Handler { s.Header("x-a"); s.Route(); reads++; return nil }},
	)
	c.host.props["[xds route_name]"] = "api"
	s := c.open(1, [2]string{"x-a", "1"})
	st := (*Stream)(s)
	s.OnHttpRequestHeaders(1, true)
	assert.Equal(t, 2, reads)
	assert.Equal(t, "api", st.Route())
	v, ok := st.Header("x-a")
	assert.Equal(t, [2]any{"1", true}, [2]any{v, ok})
	assert.Equal(t, map[string]int{"x-a": 1, "[xds route_name]": 1}, c.host.reads, "each asked of the proxy once, for both stages")

	require.NoError(t, st.SetHeader("x-a", "2"))
	v, _ = st.Header("x-a")
	assert.Equal(t, "2", v, "an edit is seen by later reads")
	require.NoError(t, st.RemoveHeader("x-a"))
	_, ok = st.Header("x-a")
	assert.False(t, ok)
}

// Every stage on the response path shares one read of the response
// headers; a stage that changes one makes the next read again.
func TestResponseHeadersAreReadOnce(t *testing.T) {
	var seen []string
	read := func(s *Stream) Verdict {
		s.ResponseHeaders()
		v, _ := s.ResponseHeader("x-b")
		seen = append(seen, v)
		return Continue
	}
	c := newChain(t,
		&stage{name: "a", start: with(&script{onResp: read})},
		&stage{name: "b", start: with(&script{onResp: func(s *Stream) Verdict {
			read(s)
			require.NoError(t, s.SetResponseHeader("x-b", "set by b"))
			return Continue
		}})})
	s := c.open(1)
	s.OnHttpRequestHeaders(1, true)
	c.host.response = map[uint32][][2]string{1: {{":status", "200"}}}
	s.OnHttpResponseHeaders(1, true)
	assert.Equal(t, []string{"", "set by b"}, seen, "b runs first on the response path")
	assert.Equal(t, 2, c.host.reads["response headers"], "once, and once more after b's change")
}
