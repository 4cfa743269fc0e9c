//go:build !wasm

package faults

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
)

// testClock is the native half's time: it moves only when a test says so.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// testFilter runs the Go filter with a controlled clock and environment in
// the native half; the Wasm half runs build/faults.wasm as Envoy would.
func testFilter(c *testClock, env map[string]string) plugintest.Filter {
	return plugintest.Filter{
		RootID:  RootID,
		Module:  "faults.wasm",
		Filters: []pipeline.Filter{Filter},
		Env: func(e *pipeline.Env) {
			e.Now = c.now
			e.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		},
	}
}

var getReq = [][2]string{{":method", "GET"}, {":path", "/items"}, {":authority", "shop"}}

// getReqWith is getReq followed by more headers.
func getReqWith(headers ...[2]string) [][2]string { return append(slices.Clone(getReq), headers...) }

func route(name string) plugintest.Property {
	return plugintest.Property{Path: []string{"xds", "route_name"}, Value: name}
}

// tickUntilResumed ticks until the stream goes on; the Wasm half's clock
// advances a millisecond per reading, the native one by step per tick.
func tickUntilResumed(t *testing.T, h *plugintest.Host, c *testClock, id uint32, step time.Duration) int {
	t.Helper()
	for i := 1; i <= 5000; i++ {
		c.t = c.t.Add(step)
		h.Tick()
		if h.GetCurrentHttpStreamAction(id) == types.ActionContinue {
			return i
		}
	}
	t.Fatal("the stream was never resumed")
	return 0
}

// statusOn sends getReq on the named route and ends the stream: the status
// of the filter's local reply, or 0 when the request went on.
func statusOn(t *testing.T, h *plugintest.Host, route string) uint32 {
	t.Helper()
	require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(route)))
	id := h.InitializeHttpContext()
	h.CallOnRequestHeaders(id, getReq, true)
	defer h.CompleteHttpContext(id)
	if r := h.GetSentLocalResponse(id); r != nil {
		return r.StatusCode
	}
	return 0
}

// gauge is steadfast_faults_active.
func gauge(t *testing.T, h *plugintest.Host) uint64 {
	t.Helper()
	v, err := h.GetGaugeMetric("steadfast_faults_active")
	require.NoError(t, err)
	return v
}

func counter(t *testing.T, h *plugintest.Host, name string) uint64 {
	t.Helper()
	v, err := h.GetCounterMetric(name)
	require.NoError(t, err, name)
	return v
}

func TestAbortAll(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"abort":{"percentage":100,"http_status":418,"body":"teapot\n","headers":{"x-chaos":"yes"}}}`, route("api"))
		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
		assert.Equal(t, &proxytest.LocalHttpResponse{
			StatusCode: 418,
			Data:       []byte("teapot\n"),
			Headers:    [][2]string{{"x-chaos", "yes"}, {"x-steadfast-fault", "abort=418"}},
			GRPCStatus: -1,
		}, h.GetSentLocalResponse(id))

		// Envoy passes the local reply through the filter: it stays as is.
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, [][2]string{{":status", "418"}}, false))
		h.CompleteHttpContext(id)

		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_requests_total.route.api"))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_aborts_injected_total.route.api.kind.request"))
	})
}

func TestNoFaultAtZeroPercent(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"1s"}}`, route("api"))
		for range 20 {
			id := h.InitializeHttpContext()
			require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, getReq, true))
			require.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true))
			require.Nil(t, h.GetSentLocalResponse(id))
			require.Equal(t, [][2]string{{":status", "200"}}, h.GetCurrentResponseHeaders(id), "no marker, nothing else added")
			h.CompleteHttpContext(id)
		}
		assert.Equal(t, uint64(20), counter(t, h, "steadfast_faults_requests_total.route.api"))
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "nothing scheduled, no timer")
	})
}

func TestGRPCAbortAnswersWithAStatus(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"abort":{"percentage":100,"http_status":503,"grpc_status":8},"fault_header":""}`)
		id := h.InitializeHttpContext()
		req := [][2]string{{":method", "POST"}, {":path", "/pkg.Svc/Call"}, {"content-type", "application/grpc+proto"}}
		assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, req, false))
		got := h.GetSentLocalResponse(id)
		require.NotNil(t, got)
		assert.Equal(t, int32(8), got.GRPCStatus)
		assert.Empty(t, got.Headers, "fault_header \"\" turns the marker off")
	})
}

func TestFixedDelayPausesUntilTheDeadline(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{"delay":{"percentage":100,"fixed":"20ms"}}`, route("slow"))
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
		assert.NotZero(t, h.GetTickPeriod(), "the timer is armed")

		ticks := tickUntilResumed(t, h, c, id, 5*time.Millisecond)
		if mode == plugintest.Native {
			assert.Equal(t, 4, ticks, "resumed on the first tick at or after 20ms")
		}
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, types.ActionContinue, h.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false))
		assert.Contains(t, h.GetCurrentResponseHeaders(id), [2]string{"x-steadfast-fault", "delay=20ms"})
		h.CompleteHttpContext(id)
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "the timer stops when nothing waits")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_delays_injected_total.route.slow.kind.request"))
	})
}

func TestDelayThenAbort(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"delay":{"percentage":100,"fixed":"3ms"},"abort":{"percentage":100,"http_status":504}}`)
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
		assert.Nil(t, h.GetSentLocalResponse(id), "the abort waits for the delay")
		for i := 0; i < 5000 && h.GetSentLocalResponse(id) == nil; i++ {
			c.t = c.t.Add(time.Millisecond)
			h.Tick()
		}
		require.NotNil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, uint32(504), h.GetSentLocalResponse(id).StatusCode)
	})
}

func TestClientGoneDuringDelayDropsTheTimer(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{"delay":{"percentage":100,"fixed":"10s"}}`)
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
		h.CompleteHttpContext(id) // the client disconnected
		assert.Equal(t, uint32(0), h.GetTickPeriod())
		c.t = c.t.Add(time.Minute)
		h.Tick() // nothing to resume, nothing to panic about
	})
}

func TestResponseAbortReplacesTheUpstreamAnswer(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"response":{"abort":{"percentage":100,"http_status":502,"body":"bad gateway\n"}}}`, route("api"))
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, getReq, true))
		assert.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false))
		got := h.GetSentLocalResponse(id)
		require.NotNil(t, got)
		assert.Equal(t, uint32(502), got.StatusCode)
		assert.Equal(t, "bad gateway\n", string(got.Data))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_aborts_injected_total.route.api.kind.response"))
	})
}

func TestRoutesDisableAndOverride(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{
			"abort": {"percentage": 100, "http_status": 503},
			"routes": [
				{"name": "health", "disabled": true},
				{"name": "api-*", "abort": {"http_status": 429}}
			]}`)
		assert.Equal(t, uint32(0), statusOn(t, h, "health"))
		assert.Equal(t, uint32(429), statusOn(t, h, "api-v1"))
		assert.Equal(t, uint32(503), statusOn(t, h, "other"))
	})
}

func TestSelectorsLimitTheFault(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{
			"abort": {"percentage": 100, "http_status": 503},
			"match": {"methods": ["POST"], "path": {"prefix": "/orders"}, "headers": [{"name": "x-canary", "present": true}]}}`)
		tests := []struct {
			name    string
			headers [][2]string
			want    bool
		}{
			{"all match", [][2]string{{":method", "POST"}, {":path", "/orders/1"}, {"x-canary", "1"}}, true},
			{"other method", [][2]string{{":method", "GET"}, {":path", "/orders/1"}, {"x-canary", "1"}}, false},
			{"other path", [][2]string{{":method", "POST"}, {":path", "/items"}, {"x-canary", "1"}}, false},
			{"header absent", [][2]string{{":method", "POST"}, {":path", "/orders/1"}}, false},
		}
		for _, tt := range tests {
			id := h.InitializeHttpContext()
			h.CallOnRequestHeaders(id, tt.headers, true)
			assert.Equal(t, tt.want, h.GetSentLocalResponse(id) != nil, tt.name)
			h.CompleteHttpContext(id)
		}
	})
}

func TestHeaderControlNeedsTheTokenAndNeverLeaksUpstream(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	env := map[string]string{"CHAOS_TOKEN": testToken}
	// Environment variables reach a module only through Envoy's vm_config,
	// which the emulator lacks: the Wasm half of this rule runs in e2e.
	f := testFilter(c, env)
	h := plugintest.Start(t, f, plugintest.Native, `{"header_control":{"enabled":true,"token_env":"CHAOS_TOKEN"}}`, route("api"))
	send := func(tokens ...string) (*proxytest.LocalHttpResponse, [][2]string) {
		id := h.InitializeHttpContext()
		req := append([][2]string{{HeaderAbort, "429"}, {HeaderDelay, "oops"}}, getReq...)
		for _, token := range tokens {
			req = append(req, [2]string{DefaultTokenHeader, token})
		}
		h.CallOnRequestHeaders(id, req, true)
		defer h.CompleteHttpContext(id)
		return h.GetSentLocalResponse(id), h.GetCurrentRequestHeaders(id)
	}
	tests := []struct {
		name     string
		tokens   []string
		status   uint32 // 0: not honoured
		rejected uint64 // token_rejected_total after the request
	}{
		{name: "no token", tokens: nil, status: 0, rejected: 0},
		{name: "a wrong token", tokens: []string{"a-wrong-token-of-some-length"}, status: 0, rejected: 1},
		{name: "the token, malformed delay ignored, abort honoured", tokens: []string{testToken}, status: 429, rejected: 1},
		{name: "the token given twice", tokens: []string{testToken, testToken}, status: 0, rejected: 2},
		{name: "the token, then a wrong one", tokens: []string{testToken, "guess"}, status: 0, rejected: 3},
	}
	for _, tt := range tests {
		reply, upstream := send(tt.tokens...)
		if tt.status == 0 {
			assert.Nil(t, reply, tt.name)
		} else if assert.NotNil(t, reply, tt.name) {
			assert.Equal(t, tt.status, reply.StatusCode, tt.name)
		}
		assert.Equal(t, tt.rejected, counter(t, h, "steadfast_faults_token_rejected_total.route.api"), tt.name)
		if len(tt.tokens) > 1 {
			continue // the emulator removes only the first of repeated headers; Envoy removes all (e2e)
		}
		for _, kv := range upstream {
			assert.False(t, strings.HasPrefix(kv[0], "x-steadfast-fault"), "%s reached upstream (%s)", kv[0], tt.name)
		}
	}
}

func TestControlHeadersAreStrippedOnEveryRoute(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	env := map[string]string{"CHAOS_TOKEN": testToken}
	// Native only, as above: the Wasm half (in Envoy) is in e2e.
	h := plugintest.Start(t, testFilter(c, env), plugintest.Native, `{
		"header_control": {"enabled": false, "token_env": "CHAOS_TOKEN"},
		"routes": [
			{"name": "off", "disabled": true},
			{"name": "chaos", "header_control": {"enabled": true, "token_header": "x-chaos-token"}},
			{"name": "calm", "abort": {"percentage": 0}}
		]}`)
	sent := [][2]string{
		{HeaderAbort, "503"}, {HeaderAbortGRPC, "14"}, {HeaderAbortPercentage, "100"},
		{HeaderDelay, "1s"}, {HeaderDelayPercentage, "100"},
		{DefaultTokenHeader, testToken}, {"x-chaos-token", testToken}, {"x-other", "kept"},
	}
	for _, name := range []string{"off", "calm", "unlisted", "chaos"} {
		require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(name)))
		id := h.InitializeHttpContext()
		action := h.CallOnRequestHeaders(id, getReqWith(sent...), true)
		if name == "chaos" {
			require.Equal(t, types.ActionPause, action, "the route with header control honours the token: a delay, then the abort")
		} else {
			require.Equal(t, types.ActionContinue, action, "route %s", name)
		}
		assert.Equal(t, getReqWith([2]string{"x-other", "kept"}), h.GetCurrentRequestHeaders(id), "route %s", name)
		h.CompleteHttpContext(id)
	}
}

func TestNothingIsStrippedWithoutHeaderControl(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"abort":{"percentage":0},"routes":[{"name":"off","disabled":true}]}`, route("off"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, getReqWith([2]string{HeaderAbort, "503"}, [2]string{DefaultTokenHeader, "t"}), true)
		assert.Equal(t, getReqWith([2]string{HeaderAbort, "503"}, [2]string{DefaultTokenHeader, "t"}), h.GetCurrentRequestHeaders(id),
			"without header control the names mean nothing to the filter")
		h.CompleteHttpContext(id)
	})
}

func TestBadConfigFailsPluginStartNamingTheField(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	tests := []struct {
		config string
		want   string
	}{
		{`{"abort":{"percentage":150,"http_status":503}}`, "abort.percentage: must be between 0 and 100"},
		{`{"abort":{"percentage":1,"http_status":99}}`, "abort.http_status"},
		{`{"abortt":{}}`, "abortt: unknown field"},
		{`{"delay":{"percentage":1,"fixed":"soon"}}`, "delay.fixed"},
		{`{"delay":{"percentage":1,"pareto":{}}}`, "delay.pareto: unknown field"},
		{`{"header_control":{"enabled":true,"token_env":"NOT_SET_ANYWHERE"}}`, "header_control.token_env"},
		{`{"routes":[{"name":"api","abort":{"percentage":1,"percentage":100}}]}`, `routes[0].abort: duplicate key "percentage"`},
		{`{"delay":{"percentage":1,"fixed":"1000000h"}}`, "delay.fixed: must be at most 1h"},
		{`{"max_active_faults":1001}`, "max_active_faults: must be between 0 (no cap) and 1000"},
	}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		for _, tt := range tests {
			logs := plugintest.StartFails(t, testFilter(c, nil), mode, tt.config)
			require.Len(t, logs, 1, tt.config)
			assert.Contains(t, logs[0], plugintest.InvalidConfig(mode, RootID, tt.want))
		}
	})
}

func TestMaxActiveFaultsOverflowPassesUntouched(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"delay":{"percentage":100,"fixed":"1h"},"max_active_faults":2}`, route("api"))
		var ids []uint32
		for range 3 {
			id := h.InitializeHttpContext()
			ids = append(ids, id)
			h.CallOnRequestHeaders(id, getReq, true)
		}
		got := make([]types.Action, 3)
		for i, id := range ids {
			got[i] = h.GetCurrentHttpStreamAction(id)
		}
		assert.Equal(t, []types.Action{types.ActionPause, types.ActionPause, types.ActionContinue}, got)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_overflow_total.route.api"))
		assert.Equal(t, uint64(2), gauge(t, h))

		h.CompleteHttpContext(ids[0]) // the client left: its slot is free
		assert.Equal(t, uint64(1), gauge(t, h))
		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
		assert.Equal(t, uint64(2), gauge(t, h))
		for _, id := range append(ids[1:], id) {
			h.CompleteHttpContext(id)
		}
		assert.Equal(t, uint64(0), gauge(t, h))
	})
}

// TestSlotsAreFreedWhenTheLastPlannedFaultHasRun holds one slot
// (max_active_faults 1) and checks when the next request can have it.
func TestSlotsAreFreedWhenTheLastPlannedFaultHasRun(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	ok := [][2]string{{":status", "200"}}
	tests := []struct {
		name   string
		config string
		// run takes the first request through its planned faults, checking
		// on the way that the slot is held, and leaves the stream open.
		run func(t *testing.T, h *plugintest.Host, id uint32, held func() bool)
	}{
		{name: "request abort: after the local reply",
			config: `{"abort":{"percentage":100},"max_active_faults":1}`,
			run: func(t *testing.T, h *plugintest.Host, id uint32, held func() bool) {
				require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
				require.NotNil(t, h.GetSentLocalResponse(id))
			}},
		{name: "request delay: when the delay ends, before the upstream answers",
			config: `{"delay":{"percentage":100,"fixed":"20ms"},"max_active_faults":1}`,
			run: func(t *testing.T, h *plugintest.Host, id uint32, held func() bool) {
				require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
				require.True(t, held(), "held during the delay")
				tickUntilResumed(t, h, c, id, 5*time.Millisecond)
			}},
		{name: "request delay then abort: after the local reply",
			config: `{"delay":{"percentage":100,"fixed":"20ms"},"abort":{"percentage":100},"max_active_faults":1}`,
			run: func(t *testing.T, h *plugintest.Host, id uint32, held func() bool) {
				require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
				for i := 0; i < 5000 && h.GetSentLocalResponse(id) == nil; i++ {
					require.True(t, held(), "held during the delay")
					c.t = c.t.Add(time.Millisecond)
					h.Tick()
				}
				require.NotNil(t, h.GetSentLocalResponse(id))
			}},
		{name: "request delay and response delay: when the response delay ends",
			config: `{"delay":{"percentage":100,"fixed":"20ms"},"response":{"delay":{"percentage":100,"fixed":"20ms"}},"max_active_faults":1}`,
			run: func(t *testing.T, h *plugintest.Host, id uint32, held func() bool) {
				require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true))
				tickUntilResumed(t, h, c, id, 5*time.Millisecond)
				require.True(t, held(), "held while the upstream answers: a response fault is still planned")
				require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, ok, false))
				require.True(t, held(), "held during the response delay")
				tickUntilResumed(t, h, c, id, 5*time.Millisecond)
			}},
		{name: "response abort: after the local reply",
			config: `{"response":{"abort":{"percentage":100,"http_status":502}},"max_active_faults":1}`,
			run: func(t *testing.T, h *plugintest.Host, id uint32, held func() bool) {
				require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, getReq, true))
				require.True(t, held(), "held while the upstream answers")
				require.Equal(t, types.ActionPause, h.CallOnResponseHeaders(id, ok, false))
				require.NotNil(t, h.GetSentLocalResponse(id))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
				h := plugintest.Start(t, testFilter(c, nil), mode, tt.config, route("api"))
				held := func() bool {
					// Another request, left alone: overflow while the slot is held.
					before := counter(t, h, "steadfast_faults_overflow_total.route.api")
					id := h.InitializeHttpContext()
					h.CallOnRequestHeaders(id, getReq, true)
					h.CompleteHttpContext(id)
					return counter(t, h, "steadfast_faults_overflow_total.route.api") > before
				}
				first := h.InitializeHttpContext()
				tt.run(t, h, first, held)
				assert.Equal(t, uint64(0), gauge(t, h), "the first request's stream is still open, its slot free")
				assert.False(t, held())
				h.CompleteHttpContext(first)
			})
		})
	}
}

// leases is the shared list of active faults' leases, as another worker's
// VM sees it.
func leases() pipeline.Leases { return pipeline.Leases{Store: pipeline.HostShared, Key: activeKey} }

func TestUncappedRoutesCountTowardTheCap(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{
			"delay": {"percentage": 100, "fixed": "1h"},
			"routes": [{"name": "capped", "max_active_faults": 2}]}`)
		send := func(name string) types.Action {
			require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(name)))
			return h.CallOnRequestHeaders(h.InitializeHttpContext(), getReq, true)
		}
		assert.Equal(t, types.ActionPause, send("free"))
		assert.Equal(t, types.ActionPause, send("free"))
		assert.Equal(t, uint64(2), gauge(t, h))
		assert.Equal(t, types.ActionContinue, send("capped"), "two faults are active already, on the route without a cap")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_overflow_total.route.capped"))
		assert.Equal(t, types.ActionPause, send("free"), "a route without a cap has none")
	})
}

func TestLeasesOfOtherVMsCountUntilTheyExpire(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{"delay":{"percentage":100,"fixed":"1h"},"max_active_faults":2}`, route("api"))
		// Another worker's VM took a slot and trapped before it gave it back;
		// a third took one whose lease has expired since.
		far := time.Unix(1<<32, 0)
		require.NoError(t, leases().Acquire(1, far, 2, time.Unix(0, 0)))
		require.NoError(t, leases().Acquire(2, time.Unix(1, 0), 2, time.Unix(0, 0)))

		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, getReq, true), "the expired lease does not count")
		assert.Equal(t, uint64(2), gauge(t, h), "the gauge counts the other VM's lease")
		assert.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(h.InitializeHttpContext(), getReq, true), "the live lease counts")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_overflow_total.route.api"))

		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(1), gauge(t, h))
		assert.Equal(t, 0, leases().Live(far), "the trapped VM's slot frees itself")
	})
}

func TestLeaseExpiresLeaseSlackAfterThePlannedDelays(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	// Native only: the module under wazero reads its own clock.
	h := plugintest.Start(t, testFilter(c, nil), plugintest.Native,
		`{"delay":{"percentage":100,"fixed":"20ms"},"response":{"delay":{"percentage":100,"fixed":"30ms"}}}`)
	start := c.t
	require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(h.InitializeHttpContext(), getReq, true))
	expiry := start.Add(50*time.Millisecond + LeaseSlack)
	assert.Equal(t, 1, leases().Live(expiry.Add(-time.Nanosecond)))
	assert.Equal(t, 0, leases().Live(expiry))
}

func TestUncappedFaultsBeyondTheListRunUnrecorded(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{
			"abort": {"percentage": 100},
			"routes": [{"name": "capped", "max_active_faults": 1000}]}`)
		far := time.Unix(1<<32, 0)
		for id := range uint64(pipeline.MaxLeases) {
			require.NoError(t, leases().Acquire(id+1, far, pipeline.MaxLeases, time.Unix(0, 0)))
		}
		assert.Equal(t, uint32(503), statusOn(t, h, "free"), "no cap: injected all the same")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_unrecorded_total.route.free"))
		assert.Equal(t, uint32(0), statusOn(t, h, "capped"), "at its cap")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_overflow_total.route.capped"))
		assert.Equal(t, pipeline.MaxLeases, leases().Live(time.Unix(0, 0)))
	})
}

// failingStore refuses every read and write, as a host whose shared data
// is unavailable.
type failingStore struct{}

func (failingStore) Get(string) ([]byte, uint32, error) {
	return nil, 0, types.ErrorStatusBadArgument
}
func (failingStore) Set(string, []byte, uint32) error { return types.ErrorStatusBadArgument }

func TestFaultsFailOpenWhenTheListIsUnavailable(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	f := testFilter(c, nil)
	clock := f.Env
	f.Env = func(e *pipeline.Env) {
		clock(e)
		e.Shared = failingStore{}
	}
	h := plugintest.Start(t, f, plugintest.Native, `{"abort":{"percentage":100}}`, route("api"))
	id := h.InitializeHttpContext()
	assert.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, getReq, true))
	assert.Nil(t, h.GetSentLocalResponse(id), "no fault when it cannot be counted")
	assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_overflow_total.route.api"))
}

func BenchmarkRequestPath(b *testing.B) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	for _, bc := range []struct{ name, config string }{
		{"zero-percent", `{"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"100ms"}}`},
		{"no-match", `{"abort":{"percentage":100,"http_status":503},"match":{"headers":[{"name":"x-never","present":true}]}}`},
	} {
		for _, mode := range []plugintest.Mode{plugintest.Native, plugintest.Wasm} {
			b.Run(fmt.Sprintf("%s/%s", bc.name, mode), func(b *testing.B) {
				h := plugintest.Start(b, testFilter(c, nil), mode, bc.config)
				b.ReportAllocs()
				for b.Loop() {
					id := h.InitializeHttpContext()
					h.CallOnRequestHeaders(id, getReq, true)
					h.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true)
					h.CompleteHttpContext(id)
				}
			})
		}
	}
}

func TestRouteMetricsOffSkipsTheRouteName(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode,
			`{"abort":{"percentage":100,"http_status":503},"route_metrics":false}`, route("api"))
		id := h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, getReq, true)
		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_faults_aborts_injected_total.route.all.kind.request"))
		_, err := h.GetCounterMetric("steadfast_faults_aborts_injected_total.route.api.kind.request")
		assert.Error(t, err, "no per-route series without the route name")
	})
}

func TestRouteMetricsOffStillResolvesRoutes(t *testing.T) {
	c := &testClock{t: time.Unix(1700000000, 0)}
	plugintest.Run(t, testFilter(c, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil), mode, `{
			"abort": {"percentage": 100, "http_status": 503}, "route_metrics": false,
			"routes": [{"name": "api", "disabled": true}]}`, route("api"))
		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, getReq, true), "a routes list needs the name: api is disabled")
		h.CompleteHttpContext(id)
	})
}
