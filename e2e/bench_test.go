package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	fortiolog "fortio.org/log"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// The load benchmark's fixed parameters. Envoy, the upstream and fortio share
// the machine's cores, so absolute numbers vary from host to host; the
// variants are compared with each other within one run.
const (
	benchWorkers     = 2
	benchConnections = 8
	benchWarmup      = 5_000
	benchLatencyQPS  = 500
	benchLatencyRun  = 5 * time.Second
	// The memory check reads RSS after benchRSSFirst requests (warm-up done)
	// and after STEADFAST_BENCH_RSS_REQUESTS; growth between the two is
	// a leak, not warm-up.
	benchRSSFirst = 50_000
	benchRoute    = "bench"
)

// benchVariant is one configuration of Envoy the benchmark measures.
type benchVariant struct {
	name string
	// goWasm variants run a Go Wasm module and get the memory check.
	goWasm  bool
	filters func(t testing.TB) []harness.HTTPFilter
	// check proves, after the variant's load, that its filter was in the
	// path; nil when nothing is visible from outside.
	check func(t testing.TB, envoy *harness.Envoy, up *harness.Upstream)
	// body > 0 makes a variant of webhook deliveries instead of GETs: POSTs
	// of body bytes, each a GitHub delivery signed afresh, sent by postLoad
	// to an upstream that discards them (see measureBody). baseline names
	// the variant without a filter that sends the same requests.
	body     int
	baseline string
	// bodyCheck is check for body variants: served is how many requests
	// the variant's Envoy answered.
	bodyCheck func(t testing.TB, envoy *harness.Envoy, served int)
}

// benchVariants is the benchmark's table, measured in this order in every
// round. A new filter adds its rows here.
var benchVariants = []benchVariant{
	{name: "none"},
	{
		name:    "native-fault",
		filters: rawFilters(nativeFaultZero),
	},
	{
		name:    "minimal-go",
		goWasm:  true,
		filters: wasmFilters("minimal", "", ""),
		check: func(t testing.TB, _ *harness.Envoy, up *harness.Upstream) {
			require.NotEmpty(t, up.Last().Header.Get("x-minimal"), "minimal.wasm adds x-minimal to every request")
		},
	},
	{
		name:    "faults-0",
		goWasm:  true,
		filters: wasmFilters("faults", "faults", `{"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"100ms"}}`),
		check:   countsRequests("faults"),
	},
	{
		name:    "faults-0-nolabel",
		goWasm:  true,
		filters: wasmFilters("faults", "faults", `{"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"100ms"},"route_metrics":false}`),
		check:   countsRequests("faults"),
	},
	{
		name:    "faults-nomatch",
		goWasm:  true,
		filters: wasmFilters("faults", "faults", `{"abort":{"percentage":100,"http_status":503},"match":{"headers":[{"name":"x-never","present":true}]}}`),
		check:   countsRequests("faults"),
	},
	{name: "none-post-1KiB", body: 1 << 10},
	{name: "none-post-64KiB", body: 64 << 10},
	{name: "none-post-1MiB", body: 1 << 20},
	webhookauthVariant("1KiB", 1<<10),
	webhookauthVariant("64KiB", 64<<10),
	webhookauthVariant("1MiB", 1<<20),
}

// nativeFaultZero is Envoy's own fault filter injecting nothing, the
// yardstick for faults at 0%.
const nativeFaultZero = harness.RawFilter(`{"name": "envoy.filters.http.fault", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", "abort": {"http_status": 503, "percentage": {"numerator": 0, "denominator": "HUNDRED"}}, "delay": {"fixed_delay": "0.1s", "percentage": {"numerator": 0, "denominator": "HUNDRED"}}}}`)

// benchWebhookSecret signs the benchmark's GitHub deliveries.
const benchWebhookSecret = "bench-github-webhook-secret"

// webhookauthVariant verifies GitHub deliveries of size bytes with replay
// protection on (the default), every one new: a signature check over the
// whole body and a replay-cache update in shared data per request.
func webhookauthVariant(name string, size int) benchVariant {
	return benchVariant{
		name:     "webhookauth-github-" + name,
		body:     size,
		baseline: "none-post-" + name,
		filters: func(t testing.TB) []harness.HTTPFilter {
			return []harness.HTTPFilter{webhookFilter(t, `{"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}]}`,
				map[string]string{"GITHUB_WEBHOOK_SECRET": benchWebhookSecret})}
		},
		bodyCheck: func(t testing.TB, envoy *harness.Envoy, served int) {
			accepted := envoy.Stat("wasmcustom.steadfast_webhookauth_requests_total.route." + benchRoute + ".scheme.github.outcome.accepted.reason.none")
			require.Equal(t, uint64(served), accepted, "every delivery was verified and accepted")
		},
	}
}

func rawFilters(entries ...harness.RawFilter) func(testing.TB) []harness.HTTPFilter {
	return func(testing.TB) []harness.HTTPFilter {
		out := make([]harness.HTTPFilter, len(entries))
		for i, e := range entries {
			out[i] = e
		}
		return out
	}
}

func wasmFilters(module, rootID, configuration string) func(testing.TB) []harness.HTTPFilter {
	return func(t testing.TB) []harness.HTTPFilter {
		return []harness.HTTPFilter{harness.Wasm{
			RootID:        rootID,
			Module:        harness.Module(t, module),
			Configuration: configuration,
		}}
	}
}

// countsRequests checks that a steadfast filter counted requests: some
// wasmcustom.steadfast_<filter>_ counter is non-zero.
func countsRequests(filter string) func(testing.TB, *harness.Envoy, *harness.Upstream) {
	return func(t testing.TB, envoy *harness.Envoy, _ *harness.Upstream) {
		prefix := "wasmcustom.steadfast_" + filter + "_"
		for name, v := range envoy.Stats() {
			if strings.HasPrefix(name, prefix) && v > 0 {
				return
			}
		}
		t.Fatalf("no %s* stat counted anything: is the filter in the path?", prefix)
	}
}

// benchRun is one variant's measurements in one round.
type benchRun struct {
	variant string
	round   int
	// cpuPerRequest is Envoy's CPU time per request at full load, µs.
	cpuPerRequest float64
	// maxQPS is the closed-loop throughput of the same requests.
	maxQPS float64
	// p50 and p99 are latencies at benchLatencyQPS, µs.
	p50, p99 float64
	// rss are Envoy's RSS per worker in MiB after rssAt requests; empty
	// for variants without the memory check.
	rss   []float64
	rssAt []int
	// body is the body size of a body variant, and bodyRequests how many
	// requests its CPU time was measured over.
	body, bodyRequests int
}

type benchParams struct {
	requests    int
	rssRequests int
	rounds      int
	variants    []benchVariant
	// bodyBytes bounds the body bytes of one body variant's measured run:
	// it gets min(requests, bodyBytes/body) requests.
	bodyBytes int
}

// TestLoadBenchmark measures what each filter costs inside a real Envoy:
// CPU time per request, throughput, latency at a fixed rate, and memory
// after warm-up. Variants run interleaved, each in a fresh Envoy, so drift
// of the machine spreads over all of them. `make bench` runs it and the
// result lands in build/bench.md.
func TestLoadBenchmark(t *testing.T) {
	if os.Getenv("STEADFAST_BENCH") != "1" {
		t.Skip("load benchmark: set STEADFAST_BENCH=1 (make bench does)")
	}
	p := benchParameters(t)
	fortiolog.SetLogLevelQuiet(fortiolog.Warning)
	filters := make(map[string][]harness.HTTPFilter, len(p.variants))
	for _, v := range p.variants {
		if v.filters != nil {
			filters[v.name] = v.filters(t) // a missing module fails here, before any load
		}
	}
	up := harness.NewUpstream(t, harness.Echo())
	sinkAddr := newBenchSink(t)
	var runs []benchRun
	var envoyVersion string
	start := time.Now()
	for round := 1; round <= p.rounds; round++ {
		for _, v := range p.variants {
			ok := t.Run(fmt.Sprintf("%s/round-%d", v.name, round), func(t *testing.T) {
				cluster := up.Cluster("upstream")
				listener := harness.Listener{
					Routes:  []harness.Route{{Name: benchRoute, Cluster: "upstream"}},
					Filters: filters[v.name],
				}
				if v.body > 0 {
					cluster = harness.Cluster{Name: "upstream", Address: sinkAddr}
				}
				envoy := harness.Start(t, harness.Config{
					Concurrency: benchWorkers,
					Clusters:    []harness.Cluster{cluster},
					Listeners:   []harness.Listener{listener},
				})
				if envoyVersion == "" {
					envoyVersion = serverVersion(t, envoy)
				}
				var run benchRun
				if v.body > 0 {
					run = measureBody(t, envoy, v, p)
				} else {
					run = measure(t, envoy, up, v, p)
				}
				run.round = round
				t.Logf("%s round %d: %.1f µs CPU/request, %.0f qps, p50 %.0f µs, p99 %.0f µs, RSS/worker %v MiB at %v requests",
					v.name, round, run.cpuPerRequest, run.maxQPS, run.p50, run.p99, run.rss, run.rssAt)
				runs = append(runs, run)
			})
			if !ok {
				t.FailNow()
			}
		}
	}
	report := benchReport(p, runs, envoyVersion, time.Since(start))
	t.Log("\n" + report)
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	out := filepath.Join(root, "build", "bench.md")
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	require.NoError(t, os.WriteFile(out, []byte(report), 0o644))
	t.Logf("wrote %s", out)
}

func benchParameters(t *testing.T) benchParams {
	p := benchParams{
		requests:    envInt(t, "STEADFAST_BENCH_REQUESTS", 20_000),
		rssRequests: envInt(t, "STEADFAST_BENCH_RSS_REQUESTS", 200_000),
		rounds:      envInt(t, "STEADFAST_BENCH_ROUNDS", 2),
		bodyBytes:   envInt(t, "STEADFAST_BENCH_BODY_MIB", 1024) << 20,
	}
	require.GreaterOrEqual(t, p.requests, 1000, "STEADFAST_BENCH_REQUESTS: CPU time has 10ms resolution")
	require.GreaterOrEqual(t, p.rounds, 2, "STEADFAST_BENCH_ROUNDS: every variant is measured at least twice")
	p.variants = pickByName(t, "STEADFAST_BENCH_VARIANTS", benchVariants, func(v benchVariant) string { return v.name })
	return p
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// measure runs the load against one Envoy: a warm-up, the CPU and
// throughput run, the fixed-rate latency run and, for Go Wasm variants, the
// memory checkpoints.
func measure(t *testing.T, envoy *harness.Envoy, up *harness.Upstream, v benchVariant, p benchParams) benchRun {
	url := envoy.URL("/" + benchRoute)
	require.Equal(t, http.StatusOK, harness.Get(t, url).Status, "the route works before any load")
	served := 1
	served += load(t, url, -1, benchWarmup, 0).count()

	cpuBefore := envoy.CPUTime()
	full := load(t, url, -1, p.requests, 0)
	cpu := envoy.CPUTime() - cpuBefore
	served += full.count()

	fixed := load(t, url, benchLatencyQPS, 0, benchLatencyRun)
	served += fixed.count()
	if v.check != nil {
		v.check(t, envoy, up)
	}
	run := benchRun{
		variant:       v.name,
		cpuPerRequest: float64(cpu.Microseconds()) / float64(full.count()),
		maxQPS:        full.ActualQPS,
		p50:           fixed.percentile(50),
		p99:           fixed.percentile(99),
	}
	if !v.goWasm {
		return run
	}
	for _, at := range []int{min(benchRSSFirst, p.rssRequests/4), p.rssRequests} {
		if at > served {
			served += load(t, url, -1, at-served, 0).count()
		}
		run.rss = append(run.rss, float64(envoy.RSS())/float64(envoy.Concurrency)/(1<<20))
		run.rssAt = append(run.rssAt, served)
	}
	return run
}

type loadResult struct{ *fhttp.HTTPRunnerResults }

func (r loadResult) count() int { return int(r.DurationHistogram.Count) }

// percentile is the latency at p percent, µs.
func (r loadResult) percentile(p float64) float64 {
	for _, q := range r.DurationHistogram.Percentiles {
		if q.Percentile == p {
			return q.Value * 1e6
		}
	}
	panic(fmt.Sprintf("percentile %v was not computed", p))
}

// load sends requests over benchConnections connections with fortio:
// qps -1 is a closed loop as fast as Envoy answers; requests 0 runs for d
// instead. Every answer must be a 200.
func load(t *testing.T, url string, qps float64, requests int, d time.Duration) loadResult {
	t.Helper()
	o := fhttp.HTTPRunnerOptions{}
	o.URL = url
	o.QPS = qps
	o.NumThreads = benchConnections
	o.Exactly = int64(requests)
	o.Duration = d
	o.Percentiles = []float64{50, 99}
	o.RunnerOptions.Resolution = 1e-5 // 10µs: fine buckets from 0.1ms to 5ms
	o.Out = io.Discard
	o.HTTPReqTimeOut = harness.ClientTimeout
	res, err := fhttp.RunHTTPTest(&o)
	require.NoError(t, err)
	if ok := res.RetCodes[http.StatusOK]; ok != res.DurationHistogram.Count {
		t.Fatalf("%s: %d of %d answers were 200; status counts: %v", url, ok, res.DurationHistogram.Count, res.RetCodes)
	}
	return loadResult{res}
}

func serverVersion(t *testing.T, envoy *harness.Envoy) string {
	var info struct{ Version string }
	require.NoError(t, json.Unmarshal([]byte(envoy.Admin("/server_info")), &info))
	return info.Version
}

// benchReport renders the medians across rounds, their ratios to the
// baselines, and every run.
// medianOf is the median of f over the runs of one variant.
func medianOf(runs []benchRun, variant string, f func(benchRun) float64) float64 {
	var xs []float64
	for _, r := range runs {
		if r.variant == variant {
			xs = append(xs, f(r))
		}
	}
	return median(xs)
}

func benchReport(p benchParams, runs []benchRun, envoyVersion string, took time.Duration) string {
	type summary struct {
		cpu, qps, p50, p99 float64
		rss                []float64
	}
	medians := map[string]summary{}
	var rssAt []int
	for _, v := range p.variants {
		var s summary
		pick := func(f func(benchRun) float64) float64 { return medianOf(runs, v.name, f) }
		s.cpu = pick(func(r benchRun) float64 { return r.cpuPerRequest })
		s.qps = pick(func(r benchRun) float64 { return r.maxQPS })
		s.p50 = pick(func(r benchRun) float64 { return r.p50 })
		s.p99 = pick(func(r benchRun) float64 { return r.p99 })
		if v.goWasm {
			for i := range 2 {
				s.rss = append(s.rss, pick(func(r benchRun) float64 { return r.rss[i] }))
			}
			if rssAt == nil {
				rssAt = runs[slices.IndexFunc(runs, func(r benchRun) bool { return r.variant == v.name })].rssAt
			}
		}
		medians[v.name] = s
	}
	ratio := func(x float64, base string, f func(summary) float64) string {
		b, ok := medians[base]
		if !ok || f(b) == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", x/f(b))
	}
	cpuOf := func(s summary) float64 { return s.cpu }
	qpsOf := func(s summary) float64 { return s.qps }
	rssOf := func(s summary) float64 {
		if len(s.rss) == 0 {
			return 0
		}
		return s.rss[1]
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Load benchmark: steadfast filters in Envoy\n\n")
	fmt.Fprintf(&b, "Envoy %s, %d workers; loopback Go upstream; fortio with %d connections; "+
		"%d CPUs shared by Envoy, upstream and load generator (GOMAXPROCS %d); %s, %v.\n\n",
		envoyVersion, benchWorkers, benchConnections, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second))
	fmt.Fprintf(&b, "Medians of %d rounds; variants interleaved, each run in a fresh Envoy. "+
		"CPU is Envoy's user+system time (/proc) over %d closed-loop requests after a %d-request warm-up, "+
		"and max qps is the rate of those requests; latency is at a fixed %d qps for %v; "+
		"RSS (Go Wasm variants only) is Envoy's resident memory divided by the worker count.\n\n",
		p.rounds, p.requests, benchWarmup, benchLatencyQPS, benchLatencyRun)
	rssHead := []string{"RSS/worker MiB", "RSS/worker MiB"}
	for i, at := range rssAt {
		rssHead[i] = fmt.Sprintf("RSS/worker MiB @%s req", kilo(at))
	}
	fmt.Fprintf(&b, "| variant | CPU µs/req | +µs vs none | CPU × none | CPU × minimal-go | max qps | qps × none | qps × minimal-go | p50 µs | p99 µs | %s | %s | RSS × minimal-go |\n",
		rssHead[0], rssHead[1])
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, v := range p.variants {
		if v.body > 0 {
			continue
		}
		s := medians[v.name]
		delta := "—"
		if none, ok := medians["none"]; ok {
			delta = fmt.Sprintf("%+.1f", s.cpu-none.cpu)
		}
		rss := []string{"—", "—"}
		rssRatio := "—"
		if len(s.rss) == 2 {
			rss = []string{fmt.Sprintf("%.1f", s.rss[0]), fmt.Sprintf("%.1f", s.rss[1])}
			rssRatio = ratio(s.rss[1], "minimal-go", rssOf)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %.0f | %s | %s | %.0f | %.0f | %s | %s | %s |\n",
			v.name, s.cpu, delta, ratio(s.cpu, "none", cpuOf), ratio(s.cpu, "minimal-go", cpuOf),
			s.qps, ratio(s.qps, "none", qpsOf), ratio(s.qps, "minimal-go", qpsOf),
			s.p50, s.p99, rss[0], rss[1], rssRatio)
	}
	writeBodyReport(&b, p, runs, func(name string) float64 { return medians[name].cpu })
	b.WriteString("\n## Every run\n\n")
	b.WriteString("| variant | round | CPU µs/req | max qps | p50 µs | p99 µs | RSS/worker MiB (at requests) |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
	for _, r := range runs {
		rss := "—"
		if len(r.rss) > 0 {
			var parts []string
			for i := range r.rss {
				parts = append(parts, fmt.Sprintf("%.1f (%s)", r.rss[i], kilo(r.rssAt[i])))
			}
			rss = strings.Join(parts, ", ")
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.0f | %.0f | %.0f | %s |\n", r.variant, r.round, r.cpuPerRequest, r.maxQPS, r.p50, r.p99, rss)
	}
	return b.String()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// kilo writes a request count as 50k or 12.5k.
func kilo(n int) string {
	if n < 1000 {
		return strconv.Itoa(n)
	}
	return strings.TrimSuffix(strconv.FormatFloat(float64(n)/1000, 'f', 1, 64), ".0") + "k"
}

// newBenchSink starts the upstream of body variants and returns its
// address: it reads and discards each body and answers "ok", so that
// Envoy's work is the request's bytes only (an echo would send them back
// through Envoy), and nothing is recorded.
func newBenchSink(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// benchDeliveries makes GitHub deliveries of one size that are all
// different, so that replay protection accepts each: the last 16 bytes of
// the body count up, and the HMAC state after the common prefix is cloned
// rather than the whole body hashed again. One per connection.
type benchDeliveries struct {
	body   []byte
	prefix hash.Hash
	id     int
	n      uint64
}

func newBenchDeliveries(size, id int) *benchDeliveries {
	const unit = `{"ref":"refs/heads/main","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"},`
	filler := strings.Repeat(unit, size/len(unit)+1)
	d := &benchDeliveries{body: []byte(filler[:size]), id: id}
	d.prefix = hmac.New(sha256.New, []byte(benchWebhookSecret))
	d.prefix.Write(d.body[:size-16])
	return d
}

// next returns the next delivery's request to url.
func (d *benchDeliveries) next(url string) (*http.Request, error) {
	d.n++
	copy(d.body[len(d.body)-16:], fmt.Sprintf("%02x%014x", d.id&0xff, d.n))
	m, err := d.prefix.(hash.Cloner).Clone()
	if err != nil {
		return nil, err
	}
	m.Write(d.body[len(d.body)-16:])
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-github-event", "push")
	req.Header.Set("x-hub-signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	return req, nil
}

// postResult is one closed-loop run of deliveries.
type postResult struct {
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (r postResult) count() int { return len(r.latencies) }

// percentile is the latency at p percent, µs.
func (r postResult) percentile(p float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, int(float64(len(r.latencies))*p/100))
	return float64(r.latencies[i].Nanoseconds()) / 1e3
}

// postLoad sends requests deliveries as fast as Envoy answers, over one
// keep-alive connection per generator. Every answer must be a 200.
func postLoad(t *testing.T, url string, gens []*benchDeliveries, requests int) postResult {
	t.Helper()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		all     = make([]time.Duration, 0, requests)
		failure error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if failure == nil {
			failure = err
		}
	}
	start := time.Now()
	for _, gen := range gens {
		wg.Go(func() {
			client := &http.Client{Timeout: harness.ClientTimeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			var mine []time.Duration
			for next.Add(1) <= int64(requests) {
				req, err := gen.next(url)
				if err != nil {
					fail(err)
					return
				}
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("delivery %d of connection %d: status %d", gen.n, gen.id, resp.StatusCode))
					return
				}
				mine = append(mine, time.Since(sent))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res := postResult{elapsed: time.Since(start), latencies: all}
	require.NoError(t, failure, "%s: after %d answers", url, res.count())
	slices.Sort(res.latencies)
	return res
}

// measureBody runs a body variant: a warm-up, then the closed-loop run
// whose Envoy CPU time is measured, then Envoy's memory.
func measureBody(t *testing.T, envoy *harness.Envoy, v benchVariant, p benchParams) benchRun {
	url := envoy.URL("/" + benchRoute)
	requests := max(benchConnections, min(p.requests, p.bodyBytes/v.body))
	warmup := max(benchConnections, min(benchWarmup, p.bodyBytes/8/v.body))
	gens := make([]*benchDeliveries, benchConnections)
	for i := range gens {
		gens[i] = newBenchDeliveries(v.body, i)
	}
	served := postLoad(t, url, gens, warmup).count()

	cpuBefore := envoy.CPUTime()
	full := postLoad(t, url, gens, requests)
	cpu := envoy.CPUTime() - cpuBefore
	served += full.count()
	if v.bodyCheck != nil {
		v.bodyCheck(t, envoy, served)
	}
	run := benchRun{
		variant:       v.name,
		cpuPerRequest: float64(cpu.Microseconds()) / float64(full.count()),
		maxQPS:        float64(full.count()) / full.elapsed.Seconds(),
		p50:           full.percentile(50),
		p99:           full.percentile(99),
		rss:           []float64{float64(envoy.RSS()) / float64(envoy.Concurrency) / (1 << 20)},
		rssAt:         []int{served},
		body:          v.body,
		bodyRequests:  full.count(),
	}
	t.Logf("%s: %.0f MB/s per Envoy core (%d × %d bytes in %v of Envoy CPU), %.0f MB/s",
		v.name, float64(v.body)/run.cpuPerRequest, full.count(), v.body, cpu, float64(v.body)*run.maxQPS/1e6)
	return run
}

// writeBodyReport adds the table of the body variants, if any ran: what
// verifying webhook deliveries costs per request and per byte. cpu is a
// variant's median CPU µs per request.
func writeBodyReport(b *strings.Builder, p benchParams, runs []benchRun, cpu func(name string) float64) {
	var body []benchVariant
	for _, v := range p.variants {
		if v.body > 0 {
			body = append(body, v)
		}
	}
	if len(body) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Webhook deliveries: POST bodies\n\n")
	fmt.Fprintf(b, "Each request is a GitHub delivery signed afresh (HMAC-SHA256 over the whole body), POSTed over %d keep-alive "+
		"connections by a Go client to an upstream that discards the body. "+
		"webhookauth runs with replay protection on, so every request also updates the replay cache in shared data; "+
		"the none-post rows send the same requests through Envoy without a filter. "+
		"Medians of %d rounds; each run measures at most %d requests or %d MiB of bodies after a warm-up. "+
		"MB/s per Envoy core is body bytes per second of Envoy CPU time; filter MB/s per core counts only the CPU the filter "+
		"adds to the none-post row of the same size. Latency is the closed loop's, under full load.\n\n",
		benchConnections, p.rounds, p.requests, p.bodyBytes>>20)
	b.WriteString("| variant | body | requests | CPU µs/req | +µs vs none-post | MB/s per Envoy core | filter MB/s per core | req/s | MB/s | p50 µs | p99 µs | RSS/worker MiB |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, v := range body {
		pick := func(f func(benchRun) float64) float64 { return medianOf(runs, v.name, f) }
		c := cpu(v.name)
		delta, filterMB := "—", "—"
		if base := cpu(v.baseline); v.baseline != "" && base > 0 {
			delta = fmt.Sprintf("%+.1f", c-base)
			if c > base {
				filterMB = fmt.Sprintf("%.0f", float64(v.body)/(c-base))
			}
		}
		qps := pick(func(r benchRun) float64 { return r.maxQPS })
		fmt.Fprintf(b, "| %s | %s | %.0f | %.1f | %s | %.0f | %s | %.0f | %.1f | %.0f | %.0f | %.1f |\n",
			v.name, byteSize(v.body), pick(func(r benchRun) float64 { return float64(r.bodyRequests) }), c, delta,
			float64(v.body)/c, filterMB, qps, qps*float64(v.body)/1e6,
			pick(func(r benchRun) float64 { return r.p50 }), pick(func(r benchRun) float64 { return r.p99 }),
			pick(func(r benchRun) float64 { return r.rss[0] }))
	}
}

// byteSize writes 1024 as 1 KiB and 1048576 as 1 MiB.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
