package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// circuitOpen is the body of the breaker's own answer (its default reply).
const circuitOpen = "upstream circuit open\n"

// breakerEnvoy is an Envoy with the breaker filter in front of one
// upstream, cluster "app", which answers as Echo does plus a Retry-After
// header taken from the retry_after query parameter.
type breakerEnvoy struct {
	// Config is the filter's configuration, JSON.
	Config string
	// Routes default to one route "api" for every path to "app".
	Routes []harness.Route
	// Clusters are added to "app".
	Clusters []harness.Cluster
	// Upstream serves "app"; nil means pushbackEcho.
	Upstream http.Handler
	// HTTP2 makes Envoy speak HTTP/2 to "app", as gRPC needs.
	HTTP2 bool
}

// start starts the upstream and Envoy. When the test ends, the filter
// must not have failed on any request.
func (b breakerEnvoy) start(t *testing.T) (*harness.Envoy, *harness.Upstream) {
	t.Helper()
	handler := b.Upstream
	if handler == nil {
		handler = pushbackEcho()
	}
	up := harness.NewUpstream(t, handler)
	app := up.Cluster("app")
	app.HTTP2 = b.HTTP2
	routes := b.Routes
	if routes == nil {
		routes = []harness.Route{{Name: "api", Cluster: "app"}}
	}
	envoy := harness.Start(t, harness.Config{
		Clusters: append([]harness.Cluster{app}, b.Clusters...),
		Listeners: []harness.Listener{{
			Routes: routes,
			Filters: []harness.HTTPFilter{inForm(t, harness.Wasm{
				RootID: "breaker", Module: harness.Module(t, "breaker"), Configuration: b.Config,
			})},
		}},
	})
	t.Cleanup(func() {
		assert.Zero(t, envoy.Stat("wasmcustom.steadfast_breaker_stage_failures_total"), "the stage failed on a request")
	})
	return envoy, up
}

// pushbackEcho is Echo that also answers with a Retry-After header when
// the request asks for one (retry_after=<value>).
func pushbackEcho() http.Handler {
	echo := harness.Echo()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("retry_after"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		echo.ServeHTTP(w, r)
	})
}

// assertStats compares the breaker's metrics named in want, without
// Envoy's "wasmcustom.steadfast_breaker_" prefix, with Envoy's stats.
func assertStats(t *testing.T, envoy *harness.Envoy, want map[string]uint64) {
	t.Helper()
	stats := envoy.Stats()
	got := make(map[string]uint64, len(want))
	for name := range want {
		got[name] = stats["wasmcustom.steadfast_breaker_"+name]
	}
	assert.Equal(t, want, got)
}

// requireOpen checks that resp is the breaker's own answer: 503, its body,
// and a retry-after among want (whole seconds; none when want is empty).
func requireOpen(t *testing.T, resp harness.Response, want ...string) {
	t.Helper()
	require.Equal(t, harness.Response{Status: http.StatusServiceUnavailable, Body: circuitOpen},
		harness.Response{Status: resp.Status, Body: resp.Body}, "the circuit's own answer")
	if len(want) == 0 {
		require.Empty(t, resp.Header.Values("retry-after"))
		return
	}
	require.Contains(t, want, resp.Header.Get("retry-after"))
}

// requireUpstream checks that resp is the upstream's answer with status.
func requireUpstream(t *testing.T, resp harness.Response, status int, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, status, resp.Status, msgAndArgs...)
	require.NotEqual(t, circuitOpen, resp.Body, msgAndArgs...)
}

// The circuit opens on exactly the configured consecutive failure, and
// while it is open no request of any worker reaches the upstream.
func TestBreakerOpensOnTheConfiguredConsecutiveFailure(t *testing.T) {
	const whileOpen = 20
	envoy, up := breakerEnvoy{Config: `{"trip":{"consecutive_failures":3},"open":{"base":"2s","jitter":0}}`}.start(t)

	for i := range 3 {
		requireUpstream(t, harness.Get(t, envoy.URL("/items?status=503")), http.StatusServiceUnavailable, "failure %d", i+1)
	}
	require.Equal(t, 3, up.Count())
	requireOpen(t, harness.Get(t, envoy.URL("/items?status=200")), "1", "2")
	assert.Equal(t, 3, up.Count(), "the 4th request is answered by the breaker")

	// Each on its own connection, so that both workers see some.
	outs := sendTogether(whileOpen, func(int) outcome { return send(context.Background(), nil, envoy.URL("/items"), "") })
	requireNoErrors(t, outs)
	for _, o := range outs {
		requireOpen(t, o.Response, "1", "2")
	}
	assert.Equal(t, 3, up.Count(), "no request reached the upstream while the circuit was open")

	for w, n := range workerConnections(t, envoy.Stats()) {
		assert.Positive(t, n, "worker %s accepted no connection", w)
	}
	assertStats(t, envoy, map[string]uint64{
		"requests_total.key.app.verdict.allowed":        3,
		"requests_total.key.app.verdict.rejected":       1 + whileOpen,
		"outcomes_total.key.app.outcome.failure":        3,
		"transitions_total.key.app.from.closed.to.open": 1,
		"state.key.app":            1,
		"contention_total.key.app": 0,
	})
}

// After its open time the circuit lets one probe through, however many
// requests arrive at that moment, and closes when the probe succeeds.
func TestBreakerHalfOpensWithOneProbeAndCloses(t *testing.T) {
	const (
		openFor  = time.Second
		together = 6
	)
	envoy, up := breakerEnvoy{Config: `{"trip":{"consecutive_failures":2},"open":{"base":"1s","jitter":0},"half_open":{"probes":1}}`}.start(t)

	for range 2 {
		requireUpstream(t, harness.Get(t, envoy.URL("/items?status=500")), http.StatusInternalServerError)
	}
	opened := time.Now()
	requireOpen(t, harness.Get(t, envoy.URL("/items")), "1")
	time.Sleep(time.Until(opened.Add(openFor + 100*time.Millisecond)))

	// The probe is slow, so the other requests arrive while it is out.
	outs := sendTogether(together, func(int) outcome {
		return send(context.Background(), nil, envoy.URL("/items?sleep=300ms"), "")
	})
	requireNoErrors(t, outs)
	var probes int
	for _, o := range outs {
		if o.Status == http.StatusOK {
			probes++
			continue
		}
		requireOpen(t, o.Response) // half-open: no time to wait for is known
	}
	assert.Equal(t, 1, probes, "one probe at a time")
	assert.Equal(t, 3, up.Count(), "two failures and the probe")

	for i := range 10 {
		requireUpstream(t, harness.Get(t, envoy.URL("/items")), http.StatusOK, "request %d after the probe", i)
	}
	assert.Equal(t, 13, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"transitions_total.key.app.from.closed.to.open":      1,
		"transitions_total.key.app.from.open.to.half_open":   1,
		"transitions_total.key.app.from.half_open.to.closed": 1,
		"requests_total.key.app.verdict.probe":               1,
		"requests_total.key.app.verdict.rejected":            together - 1 + 1,
		"state.key.app":            0,
		"contention_total.key.app": 0,
	})
}

// A failure rate counts once the window holds minimum_calls, and opens
// the circuit on the call that brings the rate to the threshold. Each
// route is its own circuit (key: route).
func TestBreakerFailureRateOverACountWindow(t *testing.T) {
	envoy, up := breakerEnvoy{
		Config: `{"key":"route","trip":{"consecutive_failures":0,"failure_rate":50,"minimum_calls":4,
			"window":{"type":"count","size":8}},"open":{"base":"30s","jitter":0}}`,
		Routes: []harness.Route{
			{Name: "minimum", Prefix: "/minimum", Cluster: "app"},
			{Name: "rate", Prefix: "/rate", Cluster: "app"},
		},
	}.start(t)

	t.Run("not before minimum_calls", func(t *testing.T) {
		for i := range 4 {
			requireUpstream(t, harness.Get(t, envoy.URL("/minimum?status=503")), http.StatusServiceUnavailable,
				"failure %d of 4: a 100%% rate under minimum_calls does not count", i+1)
		}
		requireOpen(t, harness.Get(t, envoy.URL("/minimum")), "30")
	})
	t.Run("on the call that reaches the threshold", func(t *testing.T) {
		// 4 successes, then failures: 1/5, 2/6, 3/7 = 43% stay closed; 4/8 opens.
		for i := range 4 {
			requireUpstream(t, harness.Get(t, envoy.URL("/rate")), http.StatusOK, "success %d", i+1)
		}
		for i := range 4 {
			requireUpstream(t, harness.Get(t, envoy.URL("/rate?status=503")), http.StatusServiceUnavailable, "failure %d", i+1)
		}
		requireOpen(t, harness.Get(t, envoy.URL("/rate")), "30")
	})
	assert.Equal(t, 4+8, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"transitions_total.key.minimum.from.closed.to.open": 1,
		"transitions_total.key.rate.from.closed.to.open":    1,
	})
}

// Calls slower than slow_call.threshold count as slow; the slow-call rate
// opens the circuit. The upstream sleeps 200ms against a 100ms threshold.
func TestBreakerSlowCallRate(t *testing.T) {
	envoy, up := breakerEnvoy{
		Config: `{"slow_call":{"threshold":"100ms"},"trip":{"consecutive_failures":0,"slow_call_rate":100,
			"minimum_calls":2,"window":{"type":"count","size":2}},"open":{"base":"30s","jitter":0}}`,
	}.start(t)

	// Over the last two calls: slow alone, slow+fast, fast+slow, slow+slow.
	for i, path := range []string{"/items?sleep=200ms", "/items", "/items?sleep=200ms", "/items?sleep=200ms"} {
		requireUpstream(t, harness.Get(t, envoy.URL(path)), http.StatusOK, "call %d: %s", i+1, path)
	}
	requireOpen(t, harness.Get(t, envoy.URL("/items")), "30")
	assert.Equal(t, 4, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"outcomes_total.key.app.outcome.slow":           3,
		"outcomes_total.key.app.outcome.success":        1,
		"transitions_total.key.app.from.closed.to.open": 1,
	})
}

// With server_guided, a 503 or 429 carrying Retry-After opens the circuit
// for as long as it asks, in delta-seconds or as an HTTP-date.
func TestBreakerServerGuidedOpen(t *testing.T) {
	envoy, up := breakerEnvoy{
		Config: `{"key":"route","server_guided":{"enabled":true},"trip":{"consecutive_failures":0},"open":{"jitter":0}}`,
		Routes: []harness.Route{
			{Name: "seconds", Prefix: "/seconds", Cluster: "app"},
			{Name: "date", Prefix: "/date", Cluster: "app"},
		},
	}.start(t)

	t.Run("Retry-After: 2", func(t *testing.T) {
		requireUpstream(t, harness.Get(t, envoy.URL("/seconds?status=503&retry_after=2")), http.StatusServiceUnavailable)
		asked := time.Now()
		requireOpen(t, harness.Get(t, envoy.URL("/seconds")), "1", "2")
		time.Sleep(time.Until(asked.Add(2*time.Second + 100*time.Millisecond)))
		requireUpstream(t, harness.Get(t, envoy.URL("/seconds")), http.StatusOK, "the time asked for is over: a probe")
		requireUpstream(t, harness.Get(t, envoy.URL("/seconds")), http.StatusOK, "and closed")
	})
	t.Run("Retry-After as an HTTP-date", func(t *testing.T) {
		date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
		requireUpstream(t, harness.Get(t, envoy.URL("/date?status=429&retry_after="+url.QueryEscape(date))), http.StatusTooManyRequests)
		requireOpen(t, harness.Get(t, envoy.URL("/date")), "2", "3")
	})
	assert.Equal(t, 4, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"transitions_total.key.seconds.from.closed.to.open":      1,
		"transitions_total.key.seconds.from.half_open.to.closed": 1,
		"transitions_total.key.date.from.closed.to.open":         1,
	})
}

// In dry_run the circuit opens and its metrics say so, but every request
// reaches the upstream.
func TestBreakerDryRunRejectsNothing(t *testing.T) {
	envoy, up := breakerEnvoy{Config: `{"mode":"dry_run","trip":{"consecutive_failures":2},"open":{"base":"30s","jitter":0}}`}.start(t)

	for range 2 {
		requireUpstream(t, harness.Get(t, envoy.URL("/items?status=503")), http.StatusServiceUnavailable)
	}
	for i := range 5 {
		requireUpstream(t, harness.Get(t, envoy.URL("/items")), http.StatusOK, "request %d while it would be open", i+1)
	}
	assert.Equal(t, 7, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"requests_total.key.app.verdict.allowed":        2,
		"requests_total.key.app.verdict.would_reject":   5,
		"requests_total.key.app.verdict.rejected":       0,
		"transitions_total.key.app.from.closed.to.open": 1,
		"state.key.app": 1,
	})
}

// Keyed by a request header, each tenant has its own circuit, up to
// max_keys; tenants beyond it share the overflow circuit.
func TestBreakerTenantKeysAndMaxKeys(t *testing.T) {
	envoy, up := breakerEnvoy{
		Config: `{"key":"header:x-tenant","max_keys":2,"trip":{"consecutive_failures":2},"open":{"base":"30s","jitter":0}}`,
	}.start(t)
	as := func(tenant, path string) harness.Response {
		return harness.Get(t, envoy.URL(path), "x-tenant", tenant)
	}

	for range 2 {
		requireUpstream(t, as("a", "/items?status=503"), http.StatusServiceUnavailable)
	}
	requireOpen(t, as("a", "/items"), "30")
	requireUpstream(t, as("b", "/items"), http.StatusOK, "tenant b has its own circuit")

	// a and b are the two keys: c and d share the overflow circuit.
	for range 2 {
		requireUpstream(t, as("c", "/items?status=503"), http.StatusServiceUnavailable)
	}
	requireOpen(t, as("d", "/items"), "30")
	requireUpstream(t, as("b", "/items"), http.StatusOK, "tenant b is still served")
	requireOpen(t, as("a", "/items"), "30")

	assert.Equal(t, 6, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"transitions_total.key.a.from.closed.to.open":         1,
		"requests_total.key.a.verdict.rejected":               2,
		"requests_total.key.b.verdict.allowed":                2,
		"transitions_total.key._overflow.from.closed.to.open": 1,
		"requests_total.key._overflow.verdict.rejected":       1,
		"requests_total.key.c.verdict.allowed":                0, // c and d have no circuit of their own
		"requests_total.key.d.verdict.rejected":               0,
	})
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// An upstream that refuses connections is a failure: Envoy's own 503s
// (response flag UF) open the circuit, and then Envoy stops connecting.
func TestBreakerCountsConnectionRefused(t *testing.T) {
	envoy, _ := breakerEnvoy{
		Config:   `{"trip":{"consecutive_failures":2},"open":{"base":"30s","jitter":0}}`,
		Routes:   []harness.Route{{Name: "api", Cluster: "down"}},
		Clusters: []harness.Cluster{{Name: "down", Address: closedPort(t)}},
	}.start(t)

	for i := range 2 {
		resp := harness.Get(t, envoy.URL("/items"))
		requireUpstream(t, resp, http.StatusServiceUnavailable, "attempt %d", i+1)
		require.Contains(t, resp.Body, "upstream connect error", "attempt %d: Envoy's own answer", i+1)
	}
	requireOpen(t, harness.Get(t, envoy.URL("/items")), "30")
	assert.Equal(t, uint64(2), envoy.Stat("cluster.down.upstream_cx_connect_fail"), "Envoy tried to connect twice")
	assertStats(t, envoy, map[string]uint64{
		"outcomes_total.key.down.outcome.failure":        2,
		"transitions_total.key.down.from.closed.to.open": 1,
	})
}

// onEachWorker returns one keep-alive client per Envoy worker: each holds
// one connection, opened until every worker has accepted one.
func onEachWorker(t *testing.T, envoy *harness.Envoy, url string) map[string]*http.Client {
	t.Helper()
	out := map[string]*http.Client{}
	for range 40 {
		if len(out) == harness.DefaultConcurrency {
			return out
		}
		before := workerConnections(t, envoy.Stats())
		c := &http.Client{Timeout: harness.ClientTimeout, Transport: &http.Transport{Proxy: nil, MaxConnsPerHost: 1}}
		requireUpstream(t, send(context.Background(), c, url, "").Response, http.StatusOK)
		for w, n := range workerConnections(t, envoy.Stats()) {
			if n > before[w] && out[w] == nil {
				out[w] = c
			}
		}
	}
	t.Fatalf("connections reached only workers %v", out)
	return nil
}

// Each worker decides a closed circuit on its view of it, without reading
// shared data; the worker that trips the circuit tells the others at once
// through shared queues, so the other worker, whose view was fresh a
// moment before, refuses the very next request.
func TestBreakerTripIsAnnouncedToTheOtherWorker(t *testing.T) {
	envoy, up := breakerEnvoy{Config: `{"trip":{"consecutive_failures":3},"open":{"base":"30s","jitter":0}}`}.start(t)
	clients := onEachWorker(t, envoy, envoy.URL("/items"))
	tripper, other := clients["worker_0"], clients["worker_1"]

	// Fresh views on both workers, then a trip on one of them.
	requireUpstream(t, send(context.Background(), other, envoy.URL("/items"), "").Response, http.StatusOK)
	requireUpstream(t, send(context.Background(), tripper, envoy.URL("/items"), "").Response, http.StatusOK)
	heard := envoy.Stat("wasmcustom.steadfast_breaker_changes_heard_total")
	for range 3 {
		requireUpstream(t, send(context.Background(), tripper, envoy.URL("/items?status=500"), "").Response, http.StatusInternalServerError)
	}
	reached := up.Count()
	next := send(context.Background(), other, envoy.URL("/items"), "")
	require.NoError(t, next.Err)
	requireOpen(t, next.Response, "30")
	assert.Equal(t, reached, up.Count(), "the other worker refused without the upstream")
	assert.Greater(t, envoy.Stat("wasmcustom.steadfast_breaker_changes_heard_total"), heard,
		"the failures and the trip were announced to the other workers")
}
