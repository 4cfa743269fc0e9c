package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// faultMarker is the response header that lists the injected faults.
const faultMarker = "x-steadfast-fault"

// faultsEnvoy is an Envoy with the faults filter in front of one Echo
// upstream, cluster "app".
type faultsEnvoy struct {
	// Config is the filter's configuration, JSON.
	Config string
	// Routes default to one route "api" for every path.
	Routes []harness.Route
	// Env is passed to the VM.
	Env map[string]string
	// AccessLog is the listener's access log format, if any.
	AccessLog string
	// HTTP2 makes Envoy speak HTTP/2 to the upstream, as gRPC needs.
	HTTP2 bool
}

func (f faultsEnvoy) filter(t *testing.T) harness.Wasm {
	return inForm(t, harness.Wasm{RootID: "faults", Module: harness.Module(t, "faults"), Configuration: f.Config, Env: f.Env})
}

func (f faultsEnvoy) config(t *testing.T, up *harness.Upstream) harness.Config {
	cluster := up.Cluster("app")
	cluster.HTTP2 = f.HTTP2
	routes := f.Routes
	if routes == nil {
		routes = []harness.Route{{Name: "api", Cluster: "app"}}
	}
	return harness.Config{
		Clusters: []harness.Cluster{cluster},
		Listeners: []harness.Listener{{
			Routes:    routes,
			Filters:   []harness.HTTPFilter{f.filter(t)},
			AccessLog: f.AccessLog,
		}},
	}
}

// start starts the upstream and Envoy.
func (f faultsEnvoy) start(t *testing.T) (*harness.Envoy, *harness.Upstream) {
	t.Helper()
	up := harness.NewUpstream(t, nil)
	return harness.Start(t, f.config(t, up)), up
}

func TestFaultsAbortAll(t *testing.T) {
	envoy, up := faultsEnvoy{
		Config: `{"abort":{"percentage":100,"http_status":418,"body":"no tea today\n","headers":{"x-chaos":"game-day"}}}`,
	}.start(t)

	for i := range 50 {
		resp := harness.Get(t, envoy.URL(fmt.Sprintf("/items/%d", i)))
		require.Equal(t, 418, resp.Status, "request %d", i)
		require.Equal(t, "no tea today\n", resp.Body, "request %d", i)
		require.Equal(t, "abort=418", resp.Header.Get(faultMarker), "request %d", i)
		require.Equal(t, "game-day", resp.Header.Get("x-chaos"), "request %d", i)
	}

	assert.Zero(t, up.Count(), "aborted requests never reach the upstream")
	prom := envoy.Prometheus()
	assert.Contains(t, prom, `steadfast_faults_requests_total{route="api"} 50`)
	assert.Contains(t, prom, `steadfast_faults_aborts_injected_total{route="api",kind="request"} 50`)
	assert.Contains(t, prom, `steadfast_faults_aborts_injected_total{route="api",kind="response"} 0`)
}

func TestFaultsZeroPercentInjectsNothing(t *testing.T) {
	envoy, up := faultsEnvoy{
		Config: `{"abort":{"percentage":0},"delay":{"percentage":0,"fixed":"1s"},"response":{"abort":{"percentage":0}}}`,
	}.start(t)

	for i := range 50 {
		resp := harness.Get(t, envoy.URL("/items"))
		require.Equal(t, http.StatusOK, resp.Status, "request %d", i)
		require.Empty(t, resp.Header.Values(faultMarker), "request %d", i)
	}

	assert.Equal(t, 50, up.Count())
	assert.Equal(t, map[string]uint64{"requests": 50, "aborts": 0, "delays": 0},
		map[string]uint64{
			"requests": envoy.Stat("wasmcustom.steadfast_faults_requests_total.route.api"),
			"aborts":   envoy.Stat("wasmcustom.steadfast_faults_aborts_injected_total.route.api.kind.request"),
			"delays":   envoy.Stat("wasmcustom.steadfast_faults_delays_injected_total.route.api.kind.request"),
		})
}

// TestFaultsPercentageIsBinomial sends enough requests at 10% for the
// count of aborts to be a statistical statement: it lands within 4.5
// standard deviations of the mean unless the sampling is biased (a false
// alarm about once in 150,000 runs).
func TestFaultsPercentageIsBinomial(t *testing.T) {
	const (
		requests = 2400
		workers  = 8
		percent  = 10.0
	)
	envoy, up := faultsEnvoy{Config: `{"abort":{"percentage":10,"http_status":503}}`}.start(t)

	var (
		aborted, passed atomic.Int64
		wg              sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			c := keepAliveClient()
			defer c.CloseIdleConnections()
			for range requests / workers {
				o := send(context.Background(), c, envoy.URL("/items"), "")
				switch {
				case o.Err != nil:
					t.Error(o.Err)
					return
				case o.Status == http.StatusServiceUnavailable && o.Header.Get(faultMarker) == "abort=503":
					aborted.Add(1)
				case o.Status == http.StatusOK && o.Header.Get(faultMarker) == "":
					passed.Add(1)
				default:
					t.Errorf("unexpected answer %d %v", o.Status, o.Header)
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	p := percent / 100
	mean, sigma := requests*p, math.Sqrt(requests*p*(1-p))
	got := float64(aborted.Load())
	t.Logf("%v of %d requests aborted at %v%% (expected %.0f ± %.1f)", got, requests, percent, mean, 4.5*sigma)
	assert.InDelta(t, mean, got, 4.5*sigma, "aborts out of binomial bounds")
	assert.Equal(t, int64(requests), aborted.Load()+passed.Load())
	assert.Equal(t, int(passed.Load()), up.Count(), "every request that was not aborted reached the upstream")
	assert.Equal(t, uint64(aborted.Load()), envoy.Stat("wasmcustom.steadfast_faults_aborts_injected_total.route.api.kind.request"))
}

func TestFaultsFixedDelay(t *testing.T) {
	const (
		delay     = 200 * time.Millisecond
		tick      = time.Millisecond // the scheduler's shortest tick period
		allowance = 100 * time.Millisecond
	)
	envoy, _ := faultsEnvoy{
		Config: `{"delay":{"percentage":100,"fixed":"200ms"},"routes":[{"name":"baseline","delay":{"percentage":0}}]}`,
		Routes: []harness.Route{
			{Name: "baseline", Prefix: "/baseline", Cluster: "app"},
			{Name: "slow", Prefix: "/", Cluster: "app"},
		},
	}.start(t)

	// The same requests without the delay, through the filter, sequentially
	// and concurrently as below.
	baseline := slices.Concat(
		sequentially(10, func(int) outcome { return send(context.Background(), nil, envoy.URL("/baseline"), "") }),
		sendTogether(10, func(int) outcome { return send(context.Background(), nil, envoy.URL("/baseline"), "") }),
	)
	requireNoErrors(t, baseline)
	worst := slices.MaxFunc(baseline, func(a, b outcome) int { return int(a.Latency - b.Latency) }).Latency
	for _, o := range baseline {
		require.Empty(t, o.Header.Values(faultMarker))
	}

	// Half of them POST a body, which Envoy holds with the headers.
	body := func(i int) string {
		if i%2 == 0 {
			return ""
		}
		return fmt.Sprintf("ping-%d", i)
	}
	delayed := slices.Concat(
		sequentially(10, func(i int) outcome { return send(context.Background(), nil, envoy.URL("/slow"), body(i)) }),
		sendTogether(10, func(i int) outcome { return send(context.Background(), nil, envoy.URL("/slow"), body(i)) }),
	)
	requireNoErrors(t, delayed)

	most := delay + tick + worst + allowance
	t.Logf("baseline worst %v; delayed latencies must be within [%v, %v]", worst, delay, most)
	for i, o := range delayed {
		assert.Equal(t, harness.Response{Status: http.StatusOK, Body: body(i % 10)}, harness.Response{Status: o.Status, Body: o.Body}, "request %d", i)
		assert.Equal(t, "delay=200ms", o.Header.Get(faultMarker), "request %d", i)
		assert.GreaterOrEqual(t, o.Latency, delay, "request %d came back before the delay", i)
		assert.LessOrEqual(t, o.Latency, most, "request %d was held too long", i)
	}
	assert.Equal(t, uint64(20), envoy.Stat("wasmcustom.steadfast_faults_delays_injected_total.route.slow.kind.request"))
}

// TestFaultsMaxActiveAcrossWorkers fires requests together at a fresh
// Envoy on separate connections, so both workers' VMs see them, while each
// fault holds its slot for its delay: exactly max_active_faults of them are
// delayed, and the others pass at once, unmarked, counted as overflow. The
// upstream is slow, and a slot is free again as soon as its delay ends,
// while its request is still at the upstream: then as many new requests as
// slots are all delayed.
func TestFaultsMaxActiveAcrossWorkers(t *testing.T) {
	const (
		requests  = 30
		maxActive = 3
		delay     = 2 * time.Second
		upstream  = time.Second // the upstream's own time on /slow
	)
	envoy, up := faultsEnvoy{Config: `{"delay":{"percentage":100,"fixed":"2s"},"max_active_faults":3}`}.start(t)
	active := func() uint64 { return envoy.Stat("wasmcustom.steadfast_faults_active") }
	slow := envoy.URL("/slow?sleep=1s")

	start := time.Now()
	burst := make(chan []outcome, 1)
	go func() {
		burst <- sendTogether(requests, func(int) outcome { return send(context.Background(), nil, slow, "") })
	}()
	// Every request reaches the upstream: the overflow at once, the delayed
	// ones when their delay ends, which frees their slots.
	eventually(t, delay+2*time.Second, func() bool { return up.Count() == requests },
		"%d of %d requests reached the upstream", up.Count(), requests)
	freed := time.Now()
	assert.Zero(t, active(), "the delays are over: no slot is held while the upstream works")
	again := sendTogether(maxActive, func(int) outcome { return send(context.Background(), nil, envoy.URL("/fast"), "") })
	outs := <-burst
	requireNoErrors(t, append(outs, again...))

	var delayed, passed int
	for i, o := range outs {
		require.Equal(t, http.StatusOK, o.Status, "request %d", i)
		switch o.Header.Get(faultMarker) {
		case "delay=2s":
			delayed++
			assert.GreaterOrEqual(t, o.Latency, delay+upstream, "request %d is marked delayed", i)
			assert.True(t, freed.Before(start.Add(o.Latency)), "request %d was still at the upstream when its slot was taken again", i)
		case "":
			passed++
			assert.Less(t, o.Latency, delay+upstream, "request %d is unmarked but was held", i)
		default:
			t.Errorf("request %d: marker %q", i, o.Header.Get(faultMarker))
		}
	}
	t.Logf("%d delayed, %d passed", delayed, passed)
	assert.Equal(t, maxActive, delayed, "faults at once under max_active_faults")
	for i, o := range again {
		assert.Equal(t, "delay=2s", o.Header.Get(faultMarker), "request %d sent once the delays had ended", i)
	}

	stats := envoy.Stats()
	assert.Equal(t, uint64(passed), stats["wasmcustom.steadfast_faults_overflow_total.route.api"])
	assert.Equal(t, uint64(delayed+maxActive), stats["wasmcustom.steadfast_faults_delays_injected_total.route.api.kind.request"])
	for _, w := range workerConnections(t, stats) {
		assert.Positive(t, w, "every worker accepted connections: %v", workerConnections(t, stats))
	}
	eventually(t, 2*time.Second, func() bool { return active() == 0 }, "steadfast_faults_active is %d, not back to 0", active())
}

// workerConnections is the number of connections each Envoy worker
// accepted on the test listener.
func workerConnections(t *testing.T, stats map[string]uint64) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for name, v := range stats {
		if !strings.HasPrefix(name, "listener.127.0.0.1_") || !strings.HasSuffix(name, ".downstream_cx_total") {
			continue
		}
		parts := strings.Split(name, ".")
		if w := parts[len(parts)-2]; strings.HasPrefix(w, "worker_") {
			out[w] = v
		}
	}
	require.Len(t, out, harness.DefaultConcurrency, "per-worker listener stats")
	return out
}

func TestFaultsHeaderControlNeedsTheToken(t *testing.T) {
	const token = "s3cret-chaos-token"
	envoy, up := faultsEnvoy{
		Config: `{"header_control":{"enabled":true,"token_env":"CHAOS_TOKEN"}}`,
		Env:    map[string]string{"CHAOS_TOKEN": token},
	}.start(t)

	leaked := func() []string {
		var out []string
		for name := range up.Last().Header {
			if n := strings.ToLower(name); strings.HasPrefix(n, "x-steadfast-fault") {
				out = append(out, n)
			}
		}
		return out
	}

	t.Run("the right token aborts on request", func(t *testing.T) {
		before := up.Count()
		resp := harness.Get(t, envoy.URL("/items"), "x-steadfast-fault-abort", "429", "x-steadfast-fault-token", token)

		assert.Equal(t, http.StatusTooManyRequests, resp.Status)
		assert.Equal(t, "abort=429", resp.Header.Get(faultMarker))
		assert.Equal(t, before, up.Count())
	})
	t.Run("the right token with a delay goes upstream without the control headers", func(t *testing.T) {
		resp := harness.Get(t, envoy.URL("/items"), "x-steadfast-fault-delay", "20ms", "x-steadfast-fault-token", token)

		assert.Equal(t, http.StatusOK, resp.Status)
		assert.Equal(t, "delay=20ms", resp.Header.Get(faultMarker))
		assert.Equal(t, "/items", up.Last().Path)
		assert.Empty(t, leaked())
	})
	for name, headers := range map[string][]string{
		"a wrong token":         {"x-steadfast-fault-abort", "429", "x-steadfast-fault-token", "guess"},
		"no token":              {"x-steadfast-fault-abort", "429", "x-steadfast-fault-delay", "1s"},
		"the token given twice": {"x-steadfast-fault-abort", "429", "x-steadfast-fault-token", token, "x-steadfast-fault-token", token},
	} {
		t.Run(name+" is ignored and stripped", func(t *testing.T) {
			before := up.Count()
			resp := harness.Get(t, envoy.URL("/items"), headers...)

			assert.Equal(t, http.StatusOK, resp.Status)
			assert.Empty(t, resp.Header.Values(faultMarker))
			assert.Equal(t, before+1, up.Count())
			assert.Empty(t, leaked())
		})
	}
	assert.NotContains(t, envoy.Log(), token, "the token never reaches the log")
	assert.Equal(t, uint64(2), envoy.Stat("wasmcustom.steadfast_faults_token_rejected_total.route.api"),
		"the wrong token and the repeated one")
}

// TestFaultsControlHeadersNeverReachTheUpstream sends the control headers
// and the token headers, with the right token, to routes where the filter
// honours them and to routes where it does not (off by the routes list,
// header control off): the upstream never sees them.
func TestFaultsControlHeadersNeverReachTheUpstream(t *testing.T) {
	const token = "s3cret-chaos-token"
	envoy, up := faultsEnvoy{
		Config: `{"header_control":{"enabled":true,"token_env":"CHAOS_TOKEN"},"routes":[
			{"name":"off","disabled":true},
			{"name":"plain","header_control":{"enabled":false}},
			{"name":"team","header_control":{"token_header":"x-team-token"}}]}`,
		Env: map[string]string{"CHAOS_TOKEN": token},
		Routes: []harness.Route{
			{Name: "off", Prefix: "/off", Cluster: "app"},
			{Name: "plain", Prefix: "/plain", Cluster: "app"},
			{Name: "team", Prefix: "/team", Cluster: "app"},
			{Name: "api", Prefix: "/", Cluster: "app"},
		},
	}.start(t)
	sent := []string{
		"x-steadfast-fault-delay", "20ms", "x-steadfast-fault-delay-percentage", "100",
		"x-steadfast-fault-abort-percentage", "0", "x-steadfast-fault-abort", "503", "x-steadfast-fault-abort-grpc", "14",
		"x-steadfast-fault-token", token, "x-team-token", token, "x-kept", "yes",
	}
	tests := []struct {
		path   string
		marker string // the honoured delay, or none
	}{
		{path: "/off", marker: ""},
		{path: "/plain", marker: ""},
		{path: "/team", marker: "delay=20ms"},
		{path: "/api", marker: "delay=20ms"},
	}
	for _, tt := range tests {
		o := send(context.Background(), nil, envoy.URL(tt.path), "", sent...)
		require.NoError(t, o.Err, tt.path)
		require.Equal(t, http.StatusOK, o.Status, tt.path)
		assert.Equal(t, tt.marker, o.Header.Get(faultMarker), tt.path)

		got := up.Last()
		require.Equal(t, tt.path, got.Path)
		var leaked []string
		for name := range got.Header {
			if n := strings.ToLower(name); strings.HasPrefix(n, "x-steadfast-fault") || n == "x-team-token" {
				leaked = append(leaked, n)
			}
		}
		assert.Empty(t, leaked, "%s: reached the upstream", tt.path)
		assert.Equal(t, "yes", got.Header.Get("x-kept"), tt.path)
	}
	assert.Equal(t, len(tests), up.Count())
}

func TestFaultsRoutesDisabledByNameAndByEnvoy(t *testing.T) {
	envoy, up := faultsEnvoy{
		Config: `{"abort":{"percentage":100,"http_status":503},"routes":[{"name":"by-name","disabled":true}]}`,
		Routes: []harness.Route{
			{Name: "by-name", Prefix: "/by-name", Cluster: "app"},
			{Name: "by-envoy", Prefix: "/by-envoy", Cluster: "app", DisableFilters: []string{"steadfast.faults"}},
			{Name: "chaos", Prefix: "/", Cluster: "app"},
		},
	}.start(t)

	for _, path := range []string{"/by-name", "/by-envoy"} {
		resp := harness.Get(t, envoy.URL(path))
		assert.Equal(t, http.StatusOK, resp.Status, path)
		assert.Empty(t, resp.Header.Values(faultMarker), path)
		assert.Equal(t, path, up.Last().Path)
	}
	resp := harness.Get(t, envoy.URL("/chaos"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.Status)
	assert.Equal(t, "abort=503", resp.Header.Get(faultMarker))
	assert.Equal(t, 2, up.Count())
}

// TestFaultsGRPCAbort aborts gRPC calls: a grpc-go client gets the
// configured code, and on the wire the answer is the trailers-only response
// gRPC clients expect.
func TestFaultsGRPCAbort(t *testing.T) {
	envoy, up := faultsEnvoy{
		Config: `{"abort":{"percentage":100,"http_status":503,"grpc_status":14}}`,
		HTTP2:  true,
	}.start(t)

	t.Run("a gRPC client gets UNAVAILABLE", func(t *testing.T) {
		conn, err := grpc.NewClient(strings.TrimPrefix(envoy.URL(""), "http://"),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), harness.ClientTimeout)
		defer cancel()
		var header, trailer metadata.MD

		_, err = grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{},
			grpc.Header(&header), grpc.Trailer(&trailer))

		assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		assert.Equal(t, "fault injected\n", status.Convert(err).Message())
		assert.Equal(t, []string{"abort=503"}, slices.Concat(header.Get(faultMarker), trailer.Get(faultMarker)))
	})
	t.Run("on the wire, a trailers-only response", func(t *testing.T) {
		// An empty HealthCheckRequest message: flags 0, length 0.
		req, err := http.NewRequest(http.MethodPost, envoy.URL("/grpc.health.v1.Health/Check"), strings.NewReader("\x00\x00\x00\x00\x00"))
		require.NoError(t, err)
		req.Header.Set("content-type", "application/grpc")
		req.Header.Set("te", "trailers")
		resp := harness.Do(t, harness.H2CClient(), req)

		assert.Equal(t, "HTTP/2.0", resp.Proto)
		assert.Equal(t, http.StatusOK, resp.Status, "gRPC errors travel with HTTP 200")
		assert.Equal(t, "14", resp.Header.Get("grpc-status"), "UNAVAILABLE")
		assert.Equal(t, "application/grpc", resp.Header.Get("content-type"))
		assert.Equal(t, "abort=503", resp.Header.Get(faultMarker))
		assert.Empty(t, resp.Body)
	})
	assert.Zero(t, up.Count())
}

func TestFaultsBadConfigIsRejectedNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string
		want   string
	}{
		{"percentage out of range", `{"abort":{"percentage":150}}`, "abort.percentage: must be between 0 and 100"},
		{"token variable missing", `{"header_control":{"enabled":true,"token_env":"NO_SUCH_TOKEN"}}`,
			"header_control.token_env: environment variable NO_SUCH_TOKEN is not set or empty"},
		{"token too short", `{"header_control":{"enabled":true,"token_env":"SHORT_TOKEN"}}`,
			"header_control.token_env: the token in environment variable SHORT_TOKEN is shorter than 16 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const short = "fifteen-chars-x"
			up := harness.NewUpstream(t, nil)
			_, err := harness.TryStart(t, faultsEnvoy{Config: tc.config, Env: map[string]string{"SHORT_TOKEN": short}}.config(t, up))

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), short, "the token's value is never shown")
		})
	}
}

// TestFaultsClientGoneDuringDelay leaves while requests are held: the
// stream's timer and its max_active_faults slot go with it, and Envoy
// serves on.
func TestFaultsClientGoneDuringDelay(t *testing.T) {
	const delay = 2 * time.Second
	envoy, up := faultsEnvoy{
		Config: `{"delay":{"percentage":100,"fixed":"2s"},"max_active_faults":1,"match":{"path":{"prefix":"/slow"}}}`,
	}.start(t)
	active := func() uint64 { return envoy.Stat("wasmcustom.steadfast_faults_active") }
	leave := func() time.Time {
		t.Helper()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, send(ctx, nil, envoy.URL("/slow"), "").Err, context.DeadlineExceeded)
		eventually(t, time.Second, func() bool { return active() == 0 }, "steadfast_faults_active is %d, not back to 0", active())
		require.Less(t, time.Since(start), delay, "the fault ended when the client left, not when the delay did")
		return start
	}

	leave()
	// The only slot is free again: the next request is delayed, not overflow.
	last := leave()
	assert.Equal(t, uint64(2), envoy.Stat("wasmcustom.steadfast_faults_delays_injected_total.route.api.kind.request"))
	assert.Zero(t, envoy.Stat("wasmcustom.steadfast_faults_overflow_total.route.api"))

	resp := harness.Get(t, envoy.URL("/fast"))
	assert.Equal(t, http.StatusOK, resp.Status)
	assert.Empty(t, resp.Header.Values(faultMarker))

	// Past the delays, the requests that were dropped never went upstream.
	// An absence has no condition to poll: wait out the delays.
	time.Sleep(time.Until(last.Add(delay + 300*time.Millisecond)))
	assert.Equal(t, []string{"/fast"}, upstreamPaths(up))
	assert.Equal(t, http.StatusOK, harness.Get(t, envoy.URL("/fast")).Status)
	for line := range strings.Lines(envoy.Log()) {
		if strings.Contains(strings.ToLower(line), "panic") || strings.Contains(line, "][critical][") ||
			strings.Contains(line, "][error][") || strings.Contains(line, "][warning][wasm]") {
			t.Errorf("Envoy log: %s", line)
		}
	}
}

func upstreamPaths(up *harness.Upstream) []string {
	var out []string
	for _, r := range up.Requests() {
		out = append(out, r.Path)
	}
	return out
}

func TestFaultsResponseFaults(t *testing.T) {
	envoy, up := faultsEnvoy{
		Config: `{"routes":[
			{"name":"resp-abort","response":{"abort":{"percentage":100,"http_status":502,"body":"replaced\n"}}},
			{"name":"resp-delay","response":{"delay":{"percentage":100,"fixed":"200ms"}}}]}`,
		Routes: []harness.Route{
			{Name: "resp-abort", Prefix: "/resp-abort", Cluster: "app"},
			{Name: "resp-delay", Prefix: "/resp-delay", Cluster: "app"},
		},
	}.start(t)

	t.Run("abort replaces the upstream's answer", func(t *testing.T) {
		resp := harness.Get(t, envoy.URL("/resp-abort"))

		assert.Equal(t, harness.Response{Status: 502, Body: "replaced\n"}, harness.Response{Status: resp.Status, Body: resp.Body})
		assert.Equal(t, "response_abort=502", resp.Header.Get(faultMarker))
		assert.Equal(t, "/resp-abort", up.Last().Path, "the upstream did receive the request")
	})
	t.Run("delay holds the upstream's answer", func(t *testing.T) {
		o := send(context.Background(), nil, envoy.URL("/resp-delay"), "hello")
		require.NoError(t, o.Err)

		assert.Equal(t, harness.Response{Status: 200, Body: "hello"}, harness.Response{Status: o.Status, Body: o.Body})
		assert.Equal(t, "response_delay=200ms", o.Header.Get(faultMarker))
		assert.GreaterOrEqual(t, o.Latency, 200*time.Millisecond)
		assert.Equal(t, "hello", string(up.Last().Body))
	})
	stats := envoy.Stats()
	assert.Equal(t, uint64(1), stats["wasmcustom.steadfast_faults_aborts_injected_total.route.resp-abort.kind.response"])
	assert.Equal(t, uint64(1), stats["wasmcustom.steadfast_faults_delays_injected_total.route.resp-delay.kind.response"])
}

func TestFaultsRequestIDSampling(t *testing.T) {
	const (
		ids     = 16
		repeats = 20
	)
	envoy, up := faultsEnvoy{Config: `{"sampling":"request_id","abort":{"percentage":50,"http_status":503}}`}.start(t)

	c := keepAliveClient()
	defer c.CloseIdleConnections()
	aborted := map[bool][]string{}
	for i := range ids {
		id := fmt.Sprintf("e2e-request-%02d", i)
		var statuses []int
		for range repeats {
			o := send(context.Background(), c, envoy.URL("/items"), "", "x-request-id", id)
			require.NoError(t, o.Err)
			statuses = append(statuses, o.Status)
			if o.Status == http.StatusOK {
				require.Equal(t, id, up.Last().Header.Get("x-request-id"), "Envoy keeps the client's request id")
			}
		}
		require.Len(t, slices.Compact(slices.Clone(statuses)), 1, "id %s met different outcomes: %v", id, statuses)
		hit := statuses[0] == http.StatusServiceUnavailable
		aborted[hit] = append(aborted[hit], id)
	}
	t.Logf("aborted: %v; passed: %v", aborted[true], aborted[false])
	assert.NotEmpty(t, aborted[true], "some ids are aborted")
	assert.NotEmpty(t, aborted[false], "some ids pass")
}

func TestFaultsAccessLogShowsTheFault(t *testing.T) {
	envoy, _ := faultsEnvoy{
		Config:    `{"abort":{"percentage":100,"http_status":418},"routes":[{"name":"calm","abort":{"percentage":0}}]}`,
		Routes:    []harness.Route{{Name: "calm", Prefix: "/calm", Cluster: "app"}, {Name: "chaos", Prefix: "/", Cluster: "app"}},
		AccessLog: "%REQ(:PATH)% %RESPONSE_CODE% %FILTER_STATE(wasm.steadfast_faults:PLAIN)% %FILTER_STATE(wasm.steadfast_faults:TYPED)%",
	}.start(t)

	require.Equal(t, 418, harness.Get(t, envoy.URL("/chaos")).Status)
	require.Equal(t, http.StatusOK, harness.Get(t, envoy.URL("/calm")).Status)

	// PLAIN is the marker's text; TYPED (and no format) is the JSON of a
	// BytesValue, the text in base64 ("YWJvcnQ9NDE4" is "abort=418").
	want := []string{
		`/chaos 418 abort=418 {"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"YWJvcnQ9NDE4"}`,
		"/calm 200 - -",
	}
	eventually(t, 3*time.Second, func() bool { return len(envoy.AccessLog("")) >= len(want) },
		"access log: %q", envoy.AccessLog(""))
	assert.Equal(t, want, envoy.AccessLog(""))
}

// TestFaultsActiveWindows computes the windows from today's date (UTC):
// one covers today and tomorrow, so the test holds across midnight; the
// other only a day three days ahead.
func TestFaultsActiveWindows(t *testing.T) {
	today := time.Now().UTC().Weekday()
	day := func(offset int) string {
		return [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[(int(today)+offset)%7]
	}
	// Two windows make whole days: 00:00 to 12:00, and 12:00 to midnight.
	wholeDays := func(days ...string) string {
		list := `"` + strings.Join(days, `","`) + `"`
		return fmt.Sprintf(`[{"days":[%s],"start":"00:00","end":"12:00"},{"days":[%s],"start":"12:00","end":"00:00"}]`, list, list)
	}
	envoy, up := faultsEnvoy{
		Config: fmt.Sprintf(`{"abort":{"percentage":100,"http_status":503},"routes":[
			{"name":"open","active_windows":%s},
			{"name":"closed","active_windows":%s}]}`, wholeDays(day(0), day(1)), wholeDays(day(3))),
		Routes: []harness.Route{{Name: "open", Prefix: "/open", Cluster: "app"}, {Name: "closed", Prefix: "/closed", Cluster: "app"}},
	}.start(t)

	closed := harness.Get(t, envoy.URL("/closed"))
	assert.Equal(t, http.StatusOK, closed.Status, "outside the window (%s only)", day(3))
	assert.Empty(t, closed.Header.Values(faultMarker))
	open := harness.Get(t, envoy.URL("/open"))
	assert.Equal(t, http.StatusServiceUnavailable, open.Status, "inside the window (%s, %s)", day(0), day(1))
	assert.Equal(t, "abort=503", open.Header.Get(faultMarker))
	assert.Equal(t, []string{"/closed"}, upstreamPaths(up))
}
