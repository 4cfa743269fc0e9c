//go:build !wasm

package retry

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

// testClock is the native half's clock: each reading moves it a
// millisecond, so a backoff of a few milliseconds is over after a few
// ticks in every half (the Wasm halves run on the real clock).
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

func testFilter() plugintest.Filter {
	c := &testClock{t: time.Unix(1700000000, 0)}
	return plugintest.Filter{
		RootID:  RootID,
		Module:  "retry.wasm",
		Filters: []pipeline.Filter{Filter},
		Env: func(e *pipeline.Env) {
			e.Now = c.now
			e.Rand = func() float64 { return 0.5 }
		},
	}
}

// fast retries at once: a 1ms backoff without jitter.
const fast = `"backoff": {"base": "1ms", "max": "1ms", "jitter": "none"}`

var (
	get  = [][2]string{{":method", "GET"}, {":path", "/items"}, {":authority", "shop"}}
	post = [][2]string{{":method", "POST"}, {":path", "/orders"}, {":authority", "shop"}}
)

func cluster(name string) plugintest.Property {
	return plugintest.Property{Path: []string{"xds", "cluster_name"}, Value: name}
}

func counter(t *testing.T, h *plugintest.Host, name string) uint64 {
	t.Helper()
	v, err := h.GetCounterMetric(name)
	require.NoError(t, err, name)
	return v
}

// tickForCallout ticks until stream id has n callouts out; the Wasm
// halves' clock is the real one, so it waits a little between ticks.
func tickForCallout(t *testing.T, h *plugintest.Host, id uint32, n int) proxytest.HttpCalloutAttribute {
	t.Helper()
	for range 500 {
		if c := h.GetCalloutAttributesFromContext(id); len(c) >= n {
			return c[n-1]
		}
		h.Tick()
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("no callout %d", n)
	return proxytest.HttpCalloutAttribute{}
}

func status(s int) [][2]string { return [][2]string{{":status", strconv.Itoa(s)}} }

func TestStageRetriesAFailureAndAnswersWithTheRetry(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "retries_header": "x-retries"}`, cluster("app"))
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, slices.Clone(get), true))
		assert.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, status(503), true), "the 503 is held")

		c := tickForCallout(t, h, id, 1)
		assert.Equal(t, "app", c.Upstream)
		assert.Contains(t, c.Headers, [2]string{"x-steadfast-attempt", "2"})
		assert.Contains(t, c.Headers, [2]string{":path", "/items"})
		h.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "200"}, {"x-from", "retry"}}, nil, []byte("ok"))

		reply := h.GetSentLocalResponse(id)
		require.NotNil(t, reply, "the retry's answer replaces the held one")
		assert.Equal(t, uint32(200), reply.StatusCode)
		assert.Equal(t, "ok", string(reply.Data))
		assert.Contains(t, reply.Headers, [2]string{"x-from", "retry"})
		assert.Contains(t, reply.Headers, [2]string{"x-retries", "1"})
		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(2), counter(t, h, "steadfast_retry_attempts_total.key.app"))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_retries_total.key.app"))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_success_after_retry_total.key.app"))
	})
}

func TestStageLetsASuccessThrough(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{}`, cluster("app"))
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, slices.Clone(get), true))
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, status(200), true))
		h.CompleteHttpContext(id)
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Empty(t, h.GetCalloutAttributesFromContext(id))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_attempts_total.key.app"))
		assert.Equal(t, uint64(0), counter(t, h, "steadfast_retry_retries_total.key.app"))
	})
}

func TestStageReplaysThePostBodyOfARequestWithAKey(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`}`, cluster("app"))
		noKey := h.InitializeHttpContext()
		h.CallOnRequestHeaders(noKey, slices.Clone(post), false)
		h.CallOnRequestBody(noKey, []byte("order"), true)
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(noKey, status(503), true), "a POST without a key is not retried")
		h.CompleteHttpContext(noKey)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_skipped_total.key.app.reason.method"))

		keyed := h.InitializeHttpContext()
		h.CallOnRequestHeaders(keyed, append(slices.Clone(post), [2]string{"idempotency-key", "k1"}), false)
		h.CallOnRequestBody(keyed, []byte("or"), false)
		h.CallOnRequestBody(keyed, []byte("der"), true)
		assert.Equal(t, types.ActionPause, h.CallOnResponseHeaders(keyed, status(503), true))
		c := tickForCallout(t, h, keyed, 1)
		assert.Equal(t, "order", string(c.Body), "the body as it passed, in pieces")
		h.CallOnHttpCallResponse(c.CalloutID, status(201), nil, nil)
		require.NotNil(t, h.GetSentLocalResponse(keyed))
		assert.Equal(t, uint32(201), h.GetSentLocalResponse(keyed).StatusCode)
		h.CompleteHttpContext(keyed)
	})
}

func TestStageDoesNotRetryALargeBody(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "body_limit": 4}`, cluster("app"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, slices.Clone(get), false)
		h.CallOnRequestBody(id, []byte("too large"), true)
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, status(503), true))
		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_skipped_total.key.app.reason.body_size"))
	})
}

func TestStageGivesUpAfterMaxAttempts(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "max_attempts": 3}`, cluster("app"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, slices.Clone(get), true)
		require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, status(502), true))
		for n := 1; n <= 2; n++ {
			c := tickForCallout(t, h, id, n)
			assert.Contains(t, c.Headers, [2]string{"x-steadfast-attempt", strconv.Itoa(n + 1)})
			h.CallOnHttpCallResponse(c.CalloutID, status(503), nil, []byte("down"))
		}
		reply := h.GetSentLocalResponse(id)
		require.NotNil(t, reply)
		assert.Equal(t, uint32(503), reply.StatusCode, "the last answer goes to the client")
		assert.Equal(t, "down", string(reply.Data))
		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_exhausted_total.key.app"))
		assert.Equal(t, uint64(2), counter(t, h, "steadfast_retry_retries_total.key.app"))
	})
}

func TestStageAClientGoneDuringTheBackoffCausesNoCallout(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{"backoff": {"base": "20ms", "jitter": "none"}}`, cluster("app"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, slices.Clone(get), true)
		require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, status(503), true))
		require.NotZero(t, h.GetTickPeriod(), "the backoff waits on the timer")
		h.CompleteHttpContext(id)
		assert.Zero(t, h.GetTickPeriod(), "no timer is left")
		time.Sleep(25 * time.Millisecond)
		h.Tick()
		assert.Empty(t, h.GetCalloutAttributesFromContext(id))
	})
}

// A gRPC request's retries go to Envoy's router, which keeps the response
// message that a local reply would lose: the stage asks for them in the
// router's request headers and holds nothing.
func TestStageHandsGRPCRetriesToTheRouter(t *testing.T) {
	f := testFilter()
	grpc := append(slices.Clone(post), [2]string{"content-type", "application/grpc"})
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "max_attempts": 4, "per_try_timeout": "250ms",
			"retry_on": {"grpc_statuses": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]}}`, cluster("app"))
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, slices.Clone(grpc), false))
		sent := h.GetCurrentRequestHeaders(id)
		assert.Contains(t, sent, [2]string{"x-envoy-retry-grpc-on", "resource-exhausted,unavailable"})
		assert.Contains(t, sent, [2]string{"x-envoy-max-retries", "3"})
		assert.Contains(t, sent, [2]string{"x-envoy-upstream-rq-per-try-timeout-ms", "250"})
		require.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, [][2]string{{":status", "200"}, {"grpc-status", "14"}}, true))
		h.CompleteHttpContext(id)
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Empty(t, h.GetCalloutAttributesFromContext(id))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_grpc_delegated_total.key.app"))
	})
}

func TestStageFollowsRetryAfter(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "retry_on": {"statuses": [429]}}`, cluster("app"))
		stop := h.InitializeHttpContext()
		h.CallOnRequestHeaders(stop, slices.Clone(get), true)
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(stop, append(status(429), [2]string{"retry-after", "-1"}), true),
			"a malformed pushback stops the retry")
		h.CompleteHttpContext(stop)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_skipped_total.key.app.reason.pushback"))
	})
}

// In the suite, the breaker counts each try the retry filter holds back
// or makes, and no retry goes into the circuit it opens.
func TestSuiteTheBreakerCountsAttemptsAndStopsRetries(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	f := plugintest.Filter{
		RootID:  pipeline.SuiteRootID,
		Module:  "suite.wasm",
		Filters: []pipeline.Filter{webhookauth.Filter, faults.Filter, breaker.Filter, Filter},
		Env:     func(e *pipeline.Env) { e.Now = c.now; e.Rand = func() float64 { return 0.5 } },
	}
	config := `{"breaker": {"trip": {"consecutive_failures": 2}, "open": {"base": "1h", "jitter": 0}},
		"retry": {` + fast + `, "max_attempts": 5}}`
	for _, mode := range []plugintest.Mode{plugintest.Native, plugintest.Wasm} {
		t.Run(string(mode), func(t *testing.T) {
			h := plugintest.Start(t, f, mode, config, cluster("app"))
			id := h.InitializeHttpContext()
			h.CallOnRequestHeaders(id, slices.Clone(get), true)
			require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, status(503), true))
			callout := tickForCallout(t, h, id, 1)
			h.CallOnHttpCallResponse(callout.CalloutID, status(503), nil, nil)
			reply := h.GetSentLocalResponse(id)
			require.NotNil(t, reply, "the second failure opened the circuit: no third try")
			assert.Equal(t, uint32(503), reply.StatusCode)
			h.CompleteHttpContext(id)
			assert.Len(t, h.GetCalloutAttributesFromContext(id), 1)
			assert.Equal(t, uint64(2), counter(t, h, "steadfast_breaker_outcomes_total.key.app.outcome.failure"))
			assert.Equal(t, uint64(1), counter(t, h, "steadfast_retry_skipped_total.key.app.reason.breaker_open"))
		})
	}
}

func TestStageRetriesWithinTheBudget(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "max_attempts": 2, "budget": {"percent": 0, "min_per_second": 1, "window": "10s"}}`, cluster("app"))
		for i := range 12 {
			id := h.InitializeHttpContext()
			h.CallOnRequestHeaders(id, slices.Clone(get), true)
			if h.CallOnResponseHeaders(id, status(503), true) == types.ActionPause {
				c := tickForCallout(t, h, id, 1)
				h.CallOnHttpCallResponse(c.CalloutID, status(503), nil, nil)
			} else {
				assert.GreaterOrEqual(t, i, 10, "the first ten retries are within the floor of 1/s over 10s")
			}
			h.CompleteHttpContext(id)
		}
		assert.Equal(t, uint64(10), counter(t, h, "steadfast_retry_retries_total.key.app"))
		assert.Equal(t, uint64(2), counter(t, h, "steadfast_retry_budget_exhausted_total.key.app"))
	})
}

func TestCalloutNotReached(t *testing.T) {
	refused := "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"
	assert.True(t, calloutNotReached(&pipeline.Callout{Status: 503, Body: []byte(refused)}))
	assert.True(t, calloutNotReached(&pipeline.Callout{Status: 503, Body: []byte("no healthy upstream")}))
	assert.False(t, calloutNotReached(&pipeline.Callout{Status: 503, Body: []byte("upstream connect error or disconnect/reset before headers. reset reason: connection termination")}))
	assert.False(t, calloutNotReached(&pipeline.Callout{Status: 502, Body: []byte(refused)}))
}

// The first try's timeout goes to the router as its timeout header, cut
// to the request's deadline; retries do not carry it.
func TestStageSetsTheFirstTrysTimeout(t *testing.T) {
	f := testFilter()
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{`+fast+`, "per_try_timeout": "300ms"}`, cluster("app"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, slices.Clone(get), true)
		assert.Contains(t, h.GetCurrentRequestHeaders(id), [2]string{"x-envoy-upstream-rq-timeout-ms", "300"})
		require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, status(504), true))
		c := tickForCallout(t, h, id, 1)
		for _, kv := range c.Headers {
			assert.NotEqual(t, "x-envoy-upstream-rq-timeout-ms", kv[0])
		}
		h.CompleteHttpContext(id)

		short := h.InitializeHttpContext()
		h.CallOnRequestHeaders(short, append(slices.Clone(get), [2]string{"grpc-timeout", "100m"}), true)
		assert.Contains(t, h.GetCurrentRequestHeaders(short), [2]string{"x-envoy-upstream-rq-timeout-ms", "100"})
		h.CompleteHttpContext(short)
	})
}
