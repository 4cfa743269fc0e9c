//go:build !wasm

package breaker

import (
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
)

// testFilter runs the stage; its native half reads the test's clock and
// draws 0.5 (no jitter), the Wasm halves run as Envoy would.
func testFilter(now func() time.Time) plugintest.Filter {
	return plugintest.Filter{
		RootID:  RootID,
		Module:  "breaker.wasm",
		Filters: []pipeline.Filter{Filter},
		Env: func(e *pipeline.Env) {
			e.Now = now
			e.Rand = func() float64 { return 0.5 }
		},
	}
}

var get = [][2]string{{":method", "GET"}, {":path", "/items"}, {":authority", "shop"}}

func cluster(name string) plugintest.Property {
	return plugintest.Property{Path: []string{"xds", "cluster_name"}, Value: name}
}

// exchange sends one request and, when it reaches the upstream, the
// upstream's answer with status; it returns the local reply, if any.
func exchange(h *plugintest.Host, status string) *proxytest.LocalHttpResponse {
	id := h.InitializeHttpContext()
	defer h.CompleteHttpContext(id)
	if h.CallOnRequestHeaders(id, get, true) == types.ActionContinue {
		h.CallOnResponseHeaders(id, [][2]string{{":status", status}}, true)
		return nil
	}
	return h.GetSentLocalResponse(id)
}

func counter(t *testing.T, h *plugintest.Host, name string) uint64 {
	t.Helper()
	v, err := h.GetCounterMetric(name)
	require.NoError(t, err, name)
	return v
}

func TestStageOpensOnConsecutiveFailuresAndFailsFast(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{"trip": {"consecutive_failures": 3}, "open": {"base": "30s", "jitter": 0}}`, cluster("app"))
		for i := range 3 {
			require.Nil(t, exchange(h, "503"), "call %d reaches the upstream", i)
		}
		reply := exchange(h, "200")
		require.NotNil(t, reply, "the circuit is open")
		assert.Equal(t, uint32(503), reply.StatusCode)
		assert.Contains(t, reply.Headers, [2]string{"retry-after", "30"})
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_breaker_requests_total.key.app.verdict.rejected"))
		assert.Equal(t, uint64(3), counter(t, h, "steadfast_breaker_outcomes_total.key.app.outcome.failure"))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_breaker_transitions_total.key.app.from.closed.to.open"))
		state, err := h.GetGaugeMetric("steadfast_breaker_state.key.app")
		require.NoError(t, err)
		assert.Equal(t, uint64(Open), state)
	})
}

// Natively the clock is the test's: the circuit half-opens after its open
// time, lets one probe through, and closes on its success.
func TestStageHalfOpensAndCloses(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	h := plugintest.Start(t, f, plugintest.Native, `{"trip": {"consecutive_failures": 1}, "open": {"base": "10s", "jitter": 0}, "half_open": {"probes": 1}}`, cluster("app"))
	require.Nil(t, exchange(h, "500"))
	require.NotNil(t, exchange(h, "200"), "open")

	clock = clock.Add(10 * time.Second)
	probe := h.InitializeHttpContext()
	require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(probe, get, true), "the probe goes through")
	assert.NotNil(t, exchange(h, "200"), "a second call waits while the one probe is out")
	h.CallOnResponseHeaders(probe, [][2]string{{":status", "200"}}, true)
	h.CompleteHttpContext(probe)
	assert.Nil(t, exchange(h, "200"), "closed again")
	assert.Equal(t, uint64(1), counter(t, h, "steadfast_breaker_transitions_total.key.app.from.half_open.to.closed"))
}

// A probe whose stream ends before its answer frees its slot.
func TestStageAProbeThatVanishesFreesItsSlot(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	h := plugintest.Start(t, f, plugintest.Native, `{"trip": {"consecutive_failures": 1}, "open": {"base": "10s", "jitter": 0}}`, cluster("app"))
	require.Nil(t, exchange(h, "500"))
	clock = clock.Add(10 * time.Second)
	probe := h.InitializeHttpContext()
	require.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(probe, get, true))
	h.CompleteHttpContext(probe)
	assert.Nil(t, exchange(h, "200"), "the next call probes, and closes the circuit")
}

func TestStageDryRunRejectsNothing(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{"mode": "dry_run", "trip": {"consecutive_failures": 1}}`, cluster("app"))
		require.Nil(t, exchange(h, "500"))
		assert.Nil(t, exchange(h, "200"), "dry run lets it through")
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_breaker_requests_total.key.app.verdict.would_reject"))
		assert.Equal(t, uint64(1), counter(t, h, "steadfast_breaker_transitions_total.key.app.from.closed.to.open"))
	})
}

func TestStageKeysByTenantHeader(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	h := plugintest.Start(t, f, plugintest.Native, `{"key": "header:x-tenant", "trip": {"consecutive_failures": 1}}`, cluster("app"))
	send := func(tenant, status string) *proxytest.LocalHttpResponse {
		id := h.InitializeHttpContext()
		defer h.CompleteHttpContext(id)
		headers := append(append([][2]string{}, get...), [2]string{"x-tenant", tenant})
		if h.CallOnRequestHeaders(id, headers, true) == types.ActionContinue {
			h.CallOnResponseHeaders(id, [][2]string{{":status", status}}, true)
			return nil
		}
		return h.GetSentLocalResponse(id)
	}
	require.Nil(t, send("a", "500"))
	assert.NotNil(t, send("a", "200"), "tenant a is open")
	assert.Nil(t, send("b", "200"), "tenant b is served")
}

func TestStageBadConfigFailsPluginStart(t *testing.T) {
	f := testFilter(time.Now)
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		logs := plugintest.StartFails(t, f, mode, `{"trip": {"consecutive_failures": -1}}`)
		require.Len(t, logs, 1)
		assert.Contains(t, logs[0], plugintest.InvalidConfig(mode, RootID, "trip.consecutive_failures"))
	})
}

// BenchmarkRequestPath is one whole request through a closed circuit: the
// shared state read at the request, and the outcome written at the answer.
func BenchmarkRequestPath(b *testing.B) {
	f := testFilter(time.Now)
	for _, mode := range []plugintest.Mode{plugintest.Native, plugintest.Wasm} {
		b.Run(string(mode), func(b *testing.B) {
			h := plugintest.Start(b, f, mode, `{"trip": {"consecutive_failures": 5}}`, cluster("app"))
			b.ReportAllocs()
			for b.Loop() {
				exchange(h, "200")
			}
		})
	}
}

// A success resets the failures in a row: it is skipped only while the
// circuit is quiet (no failure in a row), where it would change nothing.
func TestStageASuccessBetweenFailuresResetsTheCount(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	f := testFilter(func() time.Time { return clock })
	plugintest.Run(t, f, func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, f, mode, `{"trip": {"consecutive_failures": 3}}`, cluster("app"))
		for i, status := range []string{"200", "500", "500", "200", "500", "500", "200"} {
			require.Nil(t, exchange(h, status), "call %d (%s) reaches the upstream", i, status)
		}
		assert.Nil(t, exchange(h, "200"), "never 3 failures in a row: still closed")
	})
}

// countingStore counts the reads of each shared-data key.
type countingStore struct {
	pipeline.SharedStore
	reads map[string]int
}

func (c *countingStore) Get(key string) ([]byte, uint32, error) {
	c.reads[key]++
	return c.SharedStore.Get(key)
}

// A worker keeps a view of each circuit: a closed circuit's successes and
// an open circuit's refusals read shared data once, until a second has
// passed (or a peer announces a change), and a quiet success writes
// nothing. Another worker's change is seen at the latest after a second.
func TestStageDecidesOnItsViewOfTheCircuit(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	store := &countingStore{reads: map[string]int{}}
	f := testFilter(func() time.Time { return clock })
	hook := f.Env
	f.Env = func(e *pipeline.Env) {
		hook(e)
		store.SharedStore = e.Shared
		e.Shared = store
	}
	h := plugintest.Start(t, f, plugintest.Native, `{"trip": {"consecutive_failures": 2}, "open": {"base": "30s", "jitter": 0}}`, cluster("app"))
	const key = "steadfast.breaker.state.app"
	for i := range 100 {
		require.Nil(t, exchange(h, "200"), "call %d", i)
	}
	assert.Equal(t, 1, store.reads[key], "100 successes on a new circuit: one read, no write")
	_, _, err := store.SharedStore.Get(key)
	require.ErrorIs(t, err, pipeline.ErrNotFound, "a healthy circuit is never written")

	// Another worker records a failure; unannounced, it is seen after the
	// view's lifetime, and the next failure trips the circuit.
	require.NoError(t, store.SharedStore.Set(key, Encode(nil, Snapshot{ConsecutiveFailures: 1}), 0))
	clock = clock.Add(viewLifetime)
	h.Tick()
	require.Nil(t, exchange(h, "500"))
	require.NotNil(t, exchange(h, "200"), "open after two failures in a row across workers")

	reads := store.reads[key]
	for range 50 {
		require.NotNil(t, exchange(h, "200"))
	}
	assert.Equal(t, reads, store.reads[key], "an open circuit refuses on its view")
}
