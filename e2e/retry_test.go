package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
	"github.com/steadfast-proxy/steadfast/retry"
)

// flaky is an upstream that fails the first tries of each request id:
// query id=<id>, fail=<k> (the first k tries fail), status=<code> (the
// failure's status, 503 by default), retry_after=<value> (sent with each
// failure) and sleep=<duration> (the first try waits that long before
// answering). It records when each try of each id arrived.
type flaky struct {
	mu       sync.Mutex
	arrivals map[string][]time.Time
}

func newFlaky() *flaky { return &flaky{arrivals: map[string][]time.Time{}} }

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("id")
	f.mu.Lock()
	n := len(f.arrivals[id])
	f.arrivals[id] = append(f.arrivals[id], time.Now())
	f.mu.Unlock()
	if d, err := time.ParseDuration(q.Get("sleep")); err == nil && n == 0 {
		select {
		case <-time.After(min(d, harness.MaxEchoSleep)):
		case <-r.Context().Done():
			return
		}
	}
	k, _ := strconv.Atoi(q.Get("fail"))
	if n < k {
		status := http.StatusServiceUnavailable
		if s, err := strconv.Atoi(q.Get("status")); err == nil {
			status = s
		}
		if v := q.Get("retry_after"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "try %d failed\n", n+1)
		return
	}
	w.Header().Set("x-attempt", r.Header.Get("x-steadfast-attempt"))
	fmt.Fprintf(w, "try %d ok\n", n+1)
}

// gaps returns the times between the tries of id.
func (f *flaky) gaps(id string) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.arrivals[id]
	var out []time.Duration
	for i := 1; i < len(a); i++ {
		out = append(out, a[i].Sub(a[i-1]))
	}
	return out
}

func (f *flaky) tries(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.arrivals[id])
}

// retryEnvoy is an Envoy with the retry filter in front of one upstream,
// cluster "app", on routes of the given names (prefix "/<name>"; one
// route "api" for every path when none).
type retryEnvoy struct {
	Config   string
	Routes   []harness.Route
	Clusters []harness.Cluster
	Upstream http.Handler
	// Module and RootID default to the retry filter's own, in the form
	// under test.
	Module, RootID string
}

func (r retryEnvoy) start(t *testing.T) (*harness.Envoy, *harness.Upstream) {
	t.Helper()
	up := harness.NewUpstream(t, r.Upstream)
	routes := r.Routes
	if routes == nil {
		routes = []harness.Route{{Name: "api", Cluster: "app"}}
	}
	w := inForm(t, harness.Wasm{RootID: "retry", Module: harness.Module(t, "retry"), Configuration: r.Config})
	if r.RootID != "" {
		w = harness.Wasm{RootID: r.RootID, Module: harness.Module(t, r.Module), Configuration: r.Config}
	}
	envoy := harness.Start(t, harness.Config{
		Clusters:  append([]harness.Cluster{up.Cluster("app")}, r.Clusters...),
		Listeners: []harness.Listener{{Routes: routes, Filters: []harness.HTTPFilter{w}}},
	})
	t.Cleanup(func() {
		assert.Zero(t, envoy.Stat("wasmcustom.steadfast_retry_stage_failures_total"), "the stage failed on a request")
	})
	return envoy, up
}

// retryStats reads the retry filter's metrics named in want, without the
// "wasmcustom.steadfast_retry_" prefix.
func retryStats(envoy *harness.Envoy, names ...string) map[string]uint64 {
	stats := envoy.Stats()
	out := make(map[string]uint64, len(names))
	for _, n := range names {
		out[n] = stats["wasmcustom.steadfast_retry_"+n]
	}
	return out
}

// timerSlack is how late a backoff may end on this machine: the tick,
// the callout and a busy shared host.
const timerSlack = 150 * time.Millisecond

// An upstream that fails the first two tries: the client sees the third
// try's success, and the gaps between tries lie within each jitter's
// bounds.
func TestRetryRecoversWithinEachJittersBounds(t *testing.T) {
	jitters := []string{retry.JitterNone, retry.JitterFull, retry.JitterEqual, retry.JitterDecorrelated, retry.JitterProportional}
	var routes []harness.Route
	var entries []string
	for _, j := range jitters {
		routes = append(routes, harness.Route{Name: j, Prefix: "/" + j, Cluster: "app"})
		entries = append(entries, `{"name": "`+j+`", "backoff": {"base": "40ms", "max": "200ms", "multiplier": 2, "jitter": "`+j+`"}}`)
	}
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"routes": [` + strings.Join(entries, ",") + `]}`, Routes: routes, Upstream: up}.start(t)
	for _, j := range jitters {
		b := parsedBackoff(t, j)
		for i := range 3 {
			id := fmt.Sprintf("%s-%d", j, i)
			resp := harness.Get(t, envoy.URL("/"+j+"?fail=2&id="+id))
			require.Equal(t, http.StatusOK, resp.Status, "%s: %s", id, resp.Body)
			assert.Equal(t, "try 3 ok\n", resp.Body, id)
			assert.Equal(t, "3", resp.Header.Get("x-attempt"), id)
			gaps := up.gaps(id)
			require.Len(t, gaps, 2, id)
			lo1, hi1 := b.Bounds(1, 0)
			lo2, _ := b.Bounds(2, lo1)
			_, hi2 := b.Bounds(2, hi1)
			assert.GreaterOrEqual(t, gaps[0], lo1, "%s: first gap", id)
			assert.LessOrEqual(t, gaps[0], hi1+timerSlack, "%s: first gap", id)
			assert.GreaterOrEqual(t, gaps[1], lo2, "%s: second gap", id)
			assert.LessOrEqual(t, gaps[1], hi2+timerSlack, "%s: second gap", id)
		}
	}
	assert.Equal(t, map[string]uint64{
		"retries_total.key.app":             2 * 3 * uint64(len(jitters)),
		"success_after_retry_total.key.app": 3 * uint64(len(jitters)),
		"attempts_total.key.app":            3 * 3 * uint64(len(jitters)),
	}, retryStats(envoy, "retries_total.key.app", "success_after_retry_total.key.app", "attempts_total.key.app"))
}

func parsedBackoff(t *testing.T, jitter string) retry.Backoff {
	t.Helper()
	r, err := retry.Parse([]byte(`{"backoff": {"base": "40ms", "max": "200ms", "multiplier": 2, "jitter": "` + jitter + `"}}`))
	require.NoError(t, err)
	return r.Default.BackoffPolicy()
}

// A POST is retried only with an idempotency key, or when it never
// reached the upstream.
func TestRetryPostNeedsAKeyUnlessNeverSent(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := closed.Addr().String()
	require.NoError(t, closed.Close())
	up := newFlaky()
	envoy, _ := retryEnvoy{
		Config:   `{"backoff": {"base": "10ms", "max": "20ms"}, "budget": {"key": "route"}}`,
		Routes:   []harness.Route{{Name: "dead", Prefix: "/dead", Cluster: "dead"}, {Name: "api", Cluster: "app"}},
		Clusters: []harness.Cluster{{Name: "dead", Address: deadAddr}},
		Upstream: up,
	}.start(t)

	o := send(context.Background(), nil, envoy.URL("/orders?fail=1&id=nokey"), "order")
	require.NoError(t, o.Err)
	assert.Equal(t, http.StatusServiceUnavailable, o.Status, "a POST without a key is not retried")
	assert.Equal(t, 1, up.tries("nokey"))

	o = send(context.Background(), nil, envoy.URL("/orders?fail=1&id=key"), "order", "Idempotency-Key", "k-1")
	require.NoError(t, o.Err)
	assert.Equal(t, http.StatusOK, o.Status, "with a key it is: %s", o.Body)
	assert.Equal(t, 2, up.tries("key"))

	o = send(context.Background(), nil, envoy.URL("/dead"), "order")
	require.NoError(t, o.Err)
	assert.Equal(t, http.StatusServiceUnavailable, o.Status)
	assert.Equal(t, map[string]uint64{
		"skipped_total.key.api.reason.method": 1,
		"retries_total.key.api":               1,
		"retries_total.key.dead":              2, // never reached: retried whatever the method, up to max_attempts
		"exhausted_total.key.dead":            1,
	}, retryStats(envoy, "skipped_total.key.api.reason.method", "retries_total.key.api", "retries_total.key.dead", "exhausted_total.key.dead"))
}

// The server's Retry-After sets the wait: at least its value, at most
// pushback.max.
func TestRetryFollowsRetryAfter(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"backoff": {"base": "10ms"}, "pushback": {"max": "1500ms"}}`, Upstream: up}.start(t)
	resp := harness.Get(t, envoy.URL("/items?fail=1&retry_after=1&id=ra"))
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	gaps := up.gaps("ra")
	require.Len(t, gaps, 1)
	assert.GreaterOrEqual(t, gaps[0], time.Second)
	assert.LessOrEqual(t, gaps[0], time.Second+timerSlack)

	resp = harness.Get(t, envoy.URL("/items?fail=1&retry_after=30&id=capped"))
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	gaps = up.gaps("capped")
	require.Len(t, gaps, 1)
	assert.GreaterOrEqual(t, gaps[0], 1500*time.Millisecond)
	assert.LessOrEqual(t, gaps[0], 1500*time.Millisecond+timerSlack, "capped at pushback.max")
}

// Under 100% failure, the retries of both workers together stay within
// the shared budget: no more than its floor, 1/s over 10s, when the
// percentage is 0.
func TestRetryBudgetHoldsAcrossWorkers(t *testing.T) {
	const requests = 40
	envoy, up := retryEnvoy{Config: `{"backoff": {"base": "1ms", "max": "2ms"}, "max_attempts": 2,
		"budget": {"percent": 0, "min_per_second": 1, "window": "10s"}}`}.start(t)
	outs := sendTogether(requests, func(int) outcome { return send(context.Background(), nil, envoy.URL("/items?status=503"), "") })
	requireNoErrors(t, outs)
	for _, o := range outs {
		require.Equal(t, http.StatusServiceUnavailable, o.Status)
	}
	for w, n := range workerConnections(t, envoy.Stats()) {
		assert.Positive(t, n, "worker %s accepted no connection", w)
	}
	stats := retryStats(envoy, "retries_total.key.app", "budget_exhausted_total.key.app")
	assert.LessOrEqual(t, stats["retries_total.key.app"], uint64(10), "the floor: 1/s over 10s")
	assert.Positive(t, stats["retries_total.key.app"])
	assert.Equal(t, uint64(requests), stats["retries_total.key.app"]+stats["budget_exhausted_total.key.app"])
	assert.Equal(t, requests+int(stats["retries_total.key.app"]), up.Count())
}

// A slow first try is cut by per_try_timeout and retried.
func TestRetryPerTryTimeout(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"backoff": {"base": "10ms", "max": "20ms"}, "per_try_timeout": "300ms"}`, Upstream: up}.start(t)
	start := time.Now()
	resp := harness.Get(t, envoy.URL("/items?sleep=3s&id=slow"))
	took := time.Since(start)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	assert.Equal(t, "try 2 ok\n", resp.Body)
	assert.Less(t, took, 300*time.Millisecond+20*time.Millisecond+timerSlack+200*time.Millisecond)
}

// No retry is sent that cannot finish before the deadline: the request's
// own here (grpc-timeout, which any request may carry).
func TestRetryDeadlineAdmission(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"backoff": {"base": "150ms", "jitter": "none"}, "per_try_timeout": "200ms"}`, Upstream: up}.start(t)
	resp := harness.Get(t, envoy.URL("/items?fail=1&id=late"), "grpc-timeout", "300m")
	assert.Equal(t, http.StatusServiceUnavailable, resp.Status, "150ms + 200ms do not fit in 300ms")
	assert.Equal(t, 1, up.tries("late"))
	resp = harness.Get(t, envoy.URL("/items?fail=1&id=fits"), "grpc-timeout", "400m")
	assert.Equal(t, http.StatusOK, resp.Status, resp.Body)
	assert.Equal(t, map[string]uint64{"deadline_skipped_total.key.app": 1},
		retryStats(envoy, "deadline_skipped_total.key.app"))
}

// A body larger than body_limit is not kept, and its request not retried.
func TestRetryLargeBodyIsNotRetried(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"backoff": {"base": "10ms"}, "body_limit": 1024}`, Upstream: up}.start(t)
	o := send(context.Background(), nil, envoy.URL("/items?fail=1&id=big"), strings.Repeat("x", 4096), "Idempotency-Key", "k")
	require.NoError(t, o.Err)
	assert.Equal(t, http.StatusServiceUnavailable, o.Status)
	assert.Equal(t, 1, up.tries("big"))
	o = send(context.Background(), nil, envoy.URL("/items?fail=1&id=small"), strings.Repeat("y", 1000), "Idempotency-Key", "k")
	require.NoError(t, o.Err)
	assert.Equal(t, http.StatusOK, o.Status, o.Body)
	assert.Equal(t, map[string]uint64{"skipped_total.key.app.reason.body_size": 1},
		retryStats(envoy, "skipped_total.key.app.reason.body_size"))
}

// A client that leaves during the backoff causes no retry.
func TestRetryClientGoneDuringBackoff(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{Config: `{"backoff": {"base": "400ms", "jitter": "none"}}`, Upstream: up}.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	o := send(ctx, nil, envoy.URL("/items?fail=1&id=gone"), "")
	require.Error(t, o.Err, "the client gave up")
	time.Sleep(600 * time.Millisecond)
	assert.Equal(t, 1, up.tries("gone"), "no retry reached the upstream")
	assert.Zero(t, envoy.Stat("wasmcustom.steadfast_retry_retries_total.key.app"))
}

// In the suite, no retry goes into a circuit the breaker holds open, and
// the breaker counts the tries it never saw pass.
func TestRetryNotIntoAnOpenCircuit(t *testing.T) {
	up := newFlaky()
	envoy, _ := retryEnvoy{
		RootID: "suite", Module: "suite", Upstream: up,
		Config: `{"breaker": {"trip": {"consecutive_failures": 2}, "open": {"base": "30s", "jitter": 0}},
			"retry": {"backoff": {"base": "10ms"}, "max_attempts": 5}}`,
	}.start(t)
	resp := harness.Get(t, envoy.URL("/items?fail=5&id=open"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.Status)
	assert.Equal(t, 2, up.tries("open"), "the second failure opened the circuit")
	stats := envoy.Stats()
	assert.Equal(t, uint64(2), stats["wasmcustom.steadfast_breaker_outcomes_total.key.app.outcome.failure"])
	assert.Equal(t, uint64(1), stats["wasmcustom.steadfast_retry_skipped_total.key.app.reason.breaker_open"])
}

// flakyHealth answers UNAVAILABLE after its response headers, so that the
// status travels in the trailers, until fails calls have failed; then
// FAILED_PRECONDITION, which is not retried.
// trailersOnlyFirst answers a gRPC call's first try UNAVAILABLE in its
// headers (trailers-only, as Envoy's own answers and many servers' errors
// come), and the following tries through the gRPC server.
type trailersOnlyFirst struct {
	server *grpc.Server
	calls  atomic.Int32
}

func (h *trailersOnlyFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.calls.Add(1) == 1 {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("content-type", "application/grpc")
		w.Header().Set("grpc-status", "14")
		w.Header().Set("grpc-message", "upstream unavailable")
		w.WriteHeader(http.StatusOK)
		return
	}
	h.server.ServeHTTP(w, r)
}

// grpcEnvoy is an Envoy with filter in front of a gRPC upstream over h2c,
// cluster "app", one route "api".
func grpcEnvoy(t *testing.T, upstream http.Handler, filter harness.HTTPFilter) *harness.Envoy {
	up := harness.NewUpstream(t, upstream)
	app := up.Cluster("app")
	app.HTTP2 = true
	return harness.Start(t, harness.Config{
		Clusters:  []harness.Cluster{app},
		Listeners: []harness.Listener{{Routes: []harness.Route{{Name: "api", Cluster: "app"}}, Filters: []harness.HTTPFilter{filter}}},
	})
}

type healthy struct {
	grpc_health_v1.UnimplementedHealthServer
}

func (healthy) Check(context.Context, *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

// A gRPC call answered UNAVAILABLE is retried, and the client gets the
// retry's response message: the stage hands gRPC retries to Envoy's
// router, since a filter's local reply reaches a gRPC client trailers-only
// (TestRetryLocalReplyLosesTheGRPCMessage shows why). The router reads the
// status in the response headers (trailers-only answers) only.
func TestRetryGRPCUnavailable(t *testing.T) {
	server := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(server, healthy{})
	flaky := &trailersOnlyFirst{server: server}
	envoy := grpcEnvoy(t, flaky, inForm(t, harness.Wasm{RootID: "retry", Module: harness.Module(t, "retry"),
		Configuration: `{"max_attempts": 3, "per_try_timeout": "2s"}`}))
	conn, err := grpc.NewClient(strings.TrimPrefix(envoy.URL(""), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), harness.ClientTimeout)
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, grpc_health_v1.HealthCheckResponse_SERVING, resp.GetStatus(), "the retry's message reaches the client")
	assert.Equal(t, int32(2), flaky.calls.Load())
	assert.Equal(t, uint64(1), envoy.Stat("wasmcustom.steadfast_retry_grpc_delegated_total.key.app"))
	assert.Equal(t, uint64(1), envoy.Stat("cluster.app.upstream_rq_retry"))
}

// Why gRPC retries are the router's: a Wasm filter's local reply to a gRPC
// request (here the breaker's, forced open) reaches the client as a
// trailers-only answer, status and grpc-message but never a message.
func TestRetryLocalReplyLosesTheGRPCMessage(t *testing.T) {
	server := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(server, healthy{})
	envoy := grpcEnvoy(t, server, harness.Wasm{RootID: "breaker", Module: harness.Module(t, "breaker"),
		Configuration: `{"mode": "forced_open", "reply": {"body": "a message in the body"}}`})
	conn, err := grpc.NewClient(strings.TrimPrefix(envoy.URL(""), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), harness.ClientTimeout)
	defer cancel()
	_, err = grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	require.Error(t, err, "no message arrives")
	assert.Equal(t, "a message in the body", status.Convert(err).Message(), "the body became grpc-message")
}
