package e2e

// TestCostPaired measures what each filter adds to Envoy's CPU time per
// request inside one Envoy, so that the ±10–15 µs between separate Envoy
// processes on a busy machine cancels out.
//
// One Envoy with 2 workers holds every filter under test in its HTTP filter
// chain, each as its own entry. Every row of costRows has a route of its own
// (prefix /<row>/) on which FilterConfig{disabled: true} switches off every
// entry but the row's; the row "none" switches off all of them. Each round
// sends one closed-loop batch of GETs to every route, in a shuffled order,
// over the same keep-alive connections (see costClients), and reads Envoy's
// CPU time (all threads, /proc/<pid>/task/*/schedstat) around each batch.
// A row's cost is the mean over the rounds of its difference to "none" (and
// to "minimal-go") in the same round, with the standard error of that mean.
//
// `make bench` runs it after the per-process load benchmark, which it does
// not replace: RSS and throughput need an Envoy per variant. Alone:
//
//	STEADFAST_BENCH=1 go test -count=1 -run '^TestCostPaired$' -v ./e2e/
//
// Parameters, from the environment:
//
//	STEADFAST_COST_ROUNDS    rounds, at least 2 (default 12; 8–16 give a standard error of 1–2 µs on a quiet machine)
//	STEADFAST_COST_REQUESTS  requests per batch, one batch per route and round (default 4000)
//	STEADFAST_COST_ROWS      comma-separated rows to measure (default all); none and minimal-go always are
//	STEADFAST_COST_BASELINE  a suite.wasm built from another commit: adds the row suite-baseline, the
//	                         suite-faults-0-webhookauth-off row's entry with that module on a VM of its own
//	                         (compare the two rows to see what a change costs per request)
//
// The result is printed in the test log and written to build/bench.md as a
// section of its own (appended, or replacing the section of an earlier run).

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	fortiolog "fortio.org/log"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

const (
	// costBaseline and costMinimal are the rows every other row is compared with.
	costBaseline = "none"
	costMinimal  = "minimal-go"
	// costSettle is the pause after a batch before Envoy's CPU time is read:
	// Envoy finishes a stream (the filters' last callbacks) after its answer
	// has left.
	costSettle = 50 * time.Millisecond
	// costServed and costOpened prove that Envoy answered each batch in
	// full over the same connections.
	costServed = "http.ingress_main.downstream_rq_%dxx"
	costOpened = "http.ingress_main.downstream_cx_total"
	// costMarker is webhookauth's verified header: the filter removes a
	// client's copy even on routes its routes list disables it on, which
	// shows that it ran.
	costMarker = "x-steadfast-webhook-verified"
	// costSuiteMarker is the suite entry's own verified header, and
	// costGOGCMarker that of the suite entry at GOGC=100.
	costSuiteMarker = "x-cost-suite-verified"
	costGOGCMarker  = "x-cost-suite-gogc100-verified"
	// costBaselineMarker is that of the suite entry of STEADFAST_COST_BASELINE.
	costBaselineMarker = "x-cost-suite-baseline-verified"
	// costFaultsZero injects nothing: the request passes through faults.
	costFaultsZero = `"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"100ms"}`
	// costSuiteVM is the vm_id of every entry from build/suite.wasm.
	costSuiteVM = "steadfast"
)

// costRow is one line of the result: a route that runs filters (none for
// the baseline) and nothing else.
type costRow struct {
	// name is the route's name and path prefix, /<name>/.
	name  string
	about string
	// filters run on the row's route, in chain order. Rows may share an
	// entry: the chain holds each once.
	filters []*costFilter
	// status is what every request of the row is answered; 0 means 200.
	status int
	// query is sent on the row's requests ("?status=503" makes the
	// upstream fail them).
	query string
	// route adjusts the row's route (Envoy's own retry policy).
	route func(r *harness.Route)
}

// want is the status every request of the row is answered with.
func (r costRow) want() int { return cmp.Or(r.status, 200) }

// costFilter is one entry of the filter chain.
type costFilter struct {
	// name is the HTTP filter's name, by which routes disable it.
	name string
	// entry is the chain entry; routes are the routes it runs on.
	entry func(t testing.TB, routes []string) harness.HTTPFilter
	// ran tells from a probe whether the filter acted on the request; nil
	// when nothing is visible from outside.
	ran func(p costProbe) bool
}

// costRows is the benchmark's table: a new row is one entry here.
var costRows = []costRow{
	{name: costBaseline, about: "no filter (every entry disabled by FilterConfig)"},
	{name: "none-again", about: "no filter, a second route: its Δ vs none is the method's noise"},
	{name: costMinimal, about: "minimal Go filter: reads a header, adds one", filters: []*costFilter{costMinimalGo}},
	{name: "native-fault-0", about: "Envoy's fault filter, 0%", filters: []*costFilter{costNativeFault}},
	{name: "faults-0", about: "faults 0%, route labels (default)", filters: []*costFilter{costFaults}},
	{name: "faults-0-nolabel", about: "faults 0%, `route_metrics: false`", filters: []*costFilter{costFaultsNoLabel}},
	{name: "webhookauth-off", about: "webhookauth, off for the route by its `routes` list", filters: []*costFilter{costWebhookOff}},
	{
		name:    "faults-0-with-webhookauth-off",
		about:   "faults 0% and webhookauth (off by its `routes` list): two plugin instances",
		filters: []*costFilter{costFaults, costWebhookOff},
	},
	{
		name:    "suite-faults-0-webhookauth-off",
		about:   "the same two filters as stages of one `suite` instance, one pass",
		filters: []*costFilter{costSuite},
	},
	{
		name:    "suite-gogc100",
		about:   "the same suite on a VM of its own with GOGC=100, the Go runtime's default (modules set 50)",
		filters: []*costFilter{costSuiteGOGC100},
	},
	{name: "breaker-closed", about: "breaker, circuit closed: every request passes and is counted", filters: []*costFilter{costBreaker}},
	{name: "suite-breaker-closed", about: "the breaker as the `breaker` section of a `suite` instance, circuit closed", filters: []*costFilter{costSuiteBreaker}},
	{name: "breaker-open", about: "breaker, circuit open: every request is answered 503 without the upstream", filters: []*costFilter{costBreakerOpen}, status: 503},
	{name: "retry-pass", about: "retry, first attempt succeeds: nothing retried", filters: []*costFilter{costRetry}},
	{name: "suite-retry-pass", about: "the same as the retry stage of a `suite` instance", filters: []*costFilter{costSuiteRetry}},
	{name: "none-503", about: "no filter, the upstream answers 503: one attempt", status: 503, query: "?status=503"},
	{
		name: "retry-once-503", about: "retry, max_attempts 2, the upstream answers 503: one retry by callout",
		filters: []*costFilter{costRetry}, status: 503, query: "?status=503",
	},
	{
		name: "envoy-retry-once-503", about: "Envoy's router retry (5xx, num_retries 1) of the same failure, no filter",
		status: 503, query: "?status=503",
		route: func(r *harness.Route) { r.RetryOn, r.NumRetries, r.RetryBackOff = "5xx", 1, time.Millisecond },
	},
}

var (
	costMinimalGo = &costFilter{
		name: "cost.minimal",
		entry: func(t testing.TB, _ []string) harness.HTTPFilter {
			return harness.Wasm{Name: "cost.minimal", Module: harness.Module(t, "minimal"), VMID: "minimal"}
		},
		ran: func(p costProbe) bool { return p.upstream.Header.Get("x-minimal") != "" },
	}
	costNativeFault = &costFilter{
		name:  "envoy.filters.http.fault",
		entry: func(testing.TB, []string) harness.HTTPFilter { return nativeFaultZero },
	}
	// Counted on the route, where neither suite entry (whose faults stages
	// count under the same names) ran.
	costFaults = suiteFilter(harness.Wasm{Name: "cost.faults-0", RootID: "faults"},
		func([]string) string { return "{" + costFaultsZero + "}" },
		func(p costProbe) bool {
			return faultsCounted("")(p) && p.upstream.Header.Get(costSuiteMarker) != "" && p.upstream.Header.Get(costGOGCMarker) != "" &&
				p.upstream.Header.Get(costBaselineMarker) != ""
		})
	costFaultsNoLabel = suiteFilter(harness.Wasm{Name: "cost.faults-0-nolabel", RootID: "faults"},
		func([]string) string { return "{" + costFaultsZero + `,"route_metrics":false}` },
		faultsCounted("all"))
	costWebhookOff = suiteFilter(harness.Wasm{Name: "cost.webhookauth-off", RootID: "webhookauth", AllowOnHeadersStopIteration: true},
		func(routes []string) string {
			return `{"scheme":"github","secrets":[{"env":"GITHUB_WEBHOOK_SECRET"}],"routes":` + disabledOn(routes) + `}`
		},
		func(p costProbe) bool {
			return p.upstream.Header.Get(costMarker) == "" && p.upstream.Header.Get(costSuiteMarker) != "" &&
				p.upstream.Header.Get(costGOGCMarker) != ""
		})
	// The breaker rows key their circuits apart: by route, and by cluster.
	costBreaker = suiteFilter(harness.Wasm{Name: "cost.breaker", RootID: "breaker"},
		func([]string) string { return `{"key":"route","trip":{"consecutive_failures":5}}` },
		func(p costProbe) bool {
			return counted(p, "wasmcustom.steadfast_breaker_requests_total.key."+p.route+".verdict.allowed")
		})
	costBreakerOpen = suiteFilter(harness.Wasm{Name: "cost.breaker-open", RootID: "breaker"},
		func([]string) string { return `{"mode":"forced_open"}` },
		func(p costProbe) bool {
			return counted(p, "wasmcustom.steadfast_breaker_requests_total.key.upstream.verdict.rejected")
		})
	// The suite's breaker keys by cluster, so its counters are its own.
	costSuiteBreaker = suiteFilter(harness.Wasm{Name: "cost.suite-breaker", RootID: "suite"},
		func([]string) string { return `{"breaker":{"key":"cluster","trip":{"consecutive_failures":5}}}` },
		func(p costProbe) bool {
			return counted(p, "wasmcustom.steadfast_breaker_requests_total.key.upstream.verdict.allowed")
		})
	// The retry entry keys its metrics by route, the suite's by cluster,
	// so that each shows where it ran. Retries wait 1ms (Envoy's retry row
	// too), no budget limits them.
	costRetry = suiteFilter(harness.Wasm{Name: "cost.retry", RootID: "retry"},
		func([]string) string { return fmt.Sprintf(costRetryConfig, "route") },
		func(p costProbe) bool { return counted(p, "wasmcustom.steadfast_retry_attempts_total.key."+p.route) })
	costSuiteRetry = suiteFilter(harness.Wasm{Name: "cost.suite-retry", RootID: "suite"},
		func([]string) string { return `{"retry":` + fmt.Sprintf(costRetryConfig, "cluster") + `}` },
		func(p costProbe) bool { return counted(p, "wasmcustom.steadfast_retry_attempts_total.key.upstream") })
	// The suite's webhookauth names a verified header of its own, which it
	// removes from every request it sees: that shows it ran, where the
	// faults counters of a route are shared with the faults entry.
	costSuite = suiteFilter(harness.Wasm{Name: "cost.suite", RootID: "suite", AllowOnHeadersStopIteration: true},
		func(routes []string) string {
			return `{"faults":{` + costFaultsZero + `},` +
				`"webhookauth":{"scheme":"github","secrets":[{"env":"GITHUB_WEBHOOK_SECRET"}],"verified_header":"` + costSuiteMarker + `",` +
				`"routes":` + disabledOn(routes) + `}}`
		},
		func(p costProbe) bool { return faultsCounted("")(p) && p.upstream.Header.Get(costSuiteMarker) == "" })
)

// costRetryConfig is the retry rows' configuration, given the budget key.
const costRetryConfig = `{"max_attempts":2,"backoff":{"base":"1ms","max":"1ms","jitter":"none"},"budget":{"enabled":false,"key":%q}}`

// costSuiteGOGC100 is costSuite on a VM of its own whose environment sets
// the Go runtime's default GC target, against which costSuite's row shows
// what the modules' own target (pipeline.DefaultGCPercent) costs. Its
// webhookauth removes a verified header of its own.
var costSuiteGOGC100 = &costFilter{
	name: "cost.suite-gogc100",
	entry: func(t testing.TB, routes []string) harness.HTTPFilter {
		w := costSuite.entry(t, routes).(harness.Wasm)
		w.Name = "cost.suite-gogc100"
		w.VMID = costSuiteVM + "-gogc100"
		w.Env = maps.Clone(w.Env)
		w.Env["GOGC"] = "100"
		w.Configuration = strings.Replace(w.Configuration, costSuiteMarker, costGOGCMarker, 1)
		return w
	},
	ran: func(p costProbe) bool { return faultsCounted("")(p) && p.upstream.Header.Get(costGOGCMarker) == "" },
}

// costSuiteBaseline is costSuite with the module STEADFAST_COST_BASELINE
// names, on a VM of its own: the row shows what the module built from this
// tree costs per request against one built from another commit.
var costSuiteBaseline = &costFilter{
	name: "cost.suite-baseline",
	entry: func(t testing.TB, routes []string) harness.HTTPFilter {
		w := costSuite.entry(t, routes).(harness.Wasm)
		w.Name = "cost.suite-baseline"
		w.Module = os.Getenv("STEADFAST_COST_BASELINE")
		w.VMID = costSuiteVM + "-baseline"
		w.Configuration = strings.Replace(w.Configuration, costSuiteMarker, costBaselineMarker, 1)
		return w
	},
	ran: func(p costProbe) bool { return faultsCounted("")(p) && p.upstream.Header.Get(costBaselineMarker) == "" },
}

// costSpoofed are the verified markers every probe carries, which an entry
// that ran removes.
var costSpoofed = []string{costMarker, costSuiteMarker, costGOGCMarker, costBaselineMarker}

// suiteFilter is w, an entry of build/suite.wasm with its configuration
// for the routes it runs on. Every such entry has the same vm_id and
// environment, so one VM per worker serves them all, as a user would
// configure them.
func suiteFilter(w harness.Wasm, config func(routes []string) string, ran func(costProbe) bool) *costFilter {
	return &costFilter{
		name: w.Name,
		entry: func(t testing.TB, routes []string) harness.HTTPFilter {
			w.Module = harness.Module(t, "suite")
			w.VMID = costSuiteVM
			w.Env = map[string]string{"GITHUB_WEBHOOK_SECRET": benchWebhookSecret}
			w.Configuration = config(routes)
			return w
		},
		ran: ran,
	}
}

// disabledOn is a filter's "routes" list that disables it on routes.
func disabledOn(routes []string) string {
	entries := make([]string, len(routes))
	for i, r := range routes {
		entries[i] = fmt.Sprintf(`{"name":%q,"disabled":true}`, r)
	}
	return "[" + strings.Join(entries, ",") + "]"
}

// faultsCounted is ran for faults: it counted the probe under route label
// label, or under the probe's route when label is "".
func faultsCounted(label string) func(costProbe) bool {
	return func(p costProbe) bool {
		name := "wasmcustom.steadfast_faults_requests_total.route." + cmp.Or(label, p.route)
		return p.after[name] > p.before[name]
	}
}

// counted reports whether the probe added to the counter name.
func counted(p costProbe, name string) bool { return p.after[name] > p.before[name] }

// costProbe is one GET sent to a route, carrying a spoofed verified marker,
// as the upstream received it, with Envoy's stats around it.
type costProbe struct {
	route         string
	upstream      harness.Request
	before, after map[string]uint64
}

type costParams struct {
	rounds, requests int
	rows             []costRow
}

func costParameters(t *testing.T) costParams {
	p := costParams{
		rounds:   envInt(t, "STEADFAST_COST_ROUNDS", 12),
		requests: envInt(t, "STEADFAST_COST_REQUESTS", 4000),
		rows:     costRows,
	}
	if base := os.Getenv("STEADFAST_COST_BASELINE"); base != "" {
		_, err := os.Stat(base)
		require.NoError(t, err, "STEADFAST_COST_BASELINE")
		p.rows = append(slices.Clone(p.rows), costRow{
			name:    "suite-baseline",
			about:   "suite-faults-0-webhookauth-off with the module in STEADFAST_COST_BASELINE",
			filters: []*costFilter{costSuiteBaseline},
		})
	}
	require.GreaterOrEqual(t, p.rounds, 2, "STEADFAST_COST_ROUNDS: a standard error needs two rounds")
	names := os.Getenv("STEADFAST_COST_ROWS")
	if names == "" {
		return p
	}
	want := []string{costBaseline, costMinimal, "suite-baseline"}
	for name := range strings.SplitSeq(names, ",") {
		name = strings.TrimSpace(name)
		if !slices.ContainsFunc(p.rows, func(r costRow) bool { return r.name == name }) {
			t.Fatalf("STEADFAST_COST_ROWS: no row %q", name)
		}
		want = append(want, name)
	}
	p.rows = slices.DeleteFunc(slices.Clone(p.rows), func(r costRow) bool { return !slices.Contains(want, r.name) })
	return p
}

// costListener is the benchmark's listener: the chain holds every filter
// of the rows once, in the order the rows first name them, and each row's
// route disables every entry the row does not run.
func costListener(t *testing.T, rows []costRow, cluster string) (harness.Listener, []*costFilter) {
	var chain []*costFilter
	routesOf := map[*costFilter][]string{}
	for _, row := range rows {
		for _, f := range row.filters {
			if _, seen := routesOf[f]; !seen {
				if i := slices.IndexFunc(chain, func(c *costFilter) bool { return c.name == f.name }); i >= 0 {
					t.Fatalf("row %s: two different filter entries are named %q", row.name, f.name)
				}
				chain = append(chain, f)
			}
			routesOf[f] = append(routesOf[f], row.name)
		}
	}
	var l harness.Listener
	for _, f := range chain {
		l.Filters = append(l.Filters, f.entry(t, routesOf[f]))
	}
	for _, row := range rows {
		var off []string
		for _, f := range chain {
			if !slices.Contains(row.filters, f) {
				off = append(off, f.name)
			}
		}
		r := harness.Route{Name: row.name, Prefix: "/" + row.name + "/", Cluster: cluster, DisableFilters: off}
		if row.route != nil {
			row.route(&r)
		}
		l.Routes = append(l.Routes, r)
	}
	return l, chain
}

// TestCostPaired is the paired benchmark described at the top of this file.
func TestCostPaired(t *testing.T) {
	if os.Getenv("STEADFAST_BENCH") != "1" {
		t.Skip("paired cost benchmark: set STEADFAST_BENCH=1 (make bench does)")
	}
	p := costParameters(t)
	fortiolog.SetLogLevelQuiet(fortiolog.Warning)
	up := harness.NewUpstream(t, harness.Echo())
	listener, chain := costListener(t, p.rows, "upstream")
	envoy := harness.Start(t, harness.Config{
		Concurrency: benchWorkers,
		Clusters:    []harness.Cluster{up.Cluster("upstream")},
		Listeners:   []harness.Listener{listener},
	})
	url := func(row costRow) string { return envoy.URL("/" + row.name + "/" + row.query) }

	for _, row := range p.rows {
		checkCostRoute(t, envoy, up, row, chain, url(row))
	}
	clients := openCostClients(t, envoy, url(p.rows[0]), benchConnections)
	for _, row := range p.rows {
		clients.batch(t, url(row), p.requests, row.want()) // warm-up, not measured
	}
	split := workerSplit(envoy.Stats())
	t.Logf("%d connections, per worker %s", len(clients), split)

	start := time.Now()
	// cpu[row][round] is Envoy's CPU µs per request of the row's batch.
	cpu := make([][]float64, len(p.rows))
	for i := range cpu {
		cpu[i] = make([]float64, p.rounds)
	}
	for round := range p.rounds {
		order := rand.Perm(len(p.rows))
		var line []string
		for _, i := range order {
			cpu[i][round] = costBatch(t, envoy, clients, url(p.rows[i]), p.requests, p.rows[i].want())
			line = append(line, fmt.Sprintf("%s %.1f", p.rows[i].name, cpu[i][round]))
		}
		t.Logf("round %d (µs/req, in the order sent): %s", round+1, strings.Join(line, ", "))
	}

	report := costReport(p, cpu, split, serverVersion(t, envoy), time.Since(start))
	t.Log("\n" + report)
	writeBenchSection(t, report)
}

// checkCostRoute sends one probe to the row's route and fails the test
// unless exactly the row's filters acted on it, among those whose action
// shows.
func checkCostRoute(t *testing.T, envoy *harness.Envoy, up *harness.Upstream, row costRow, chain []*costFilter, url string) {
	t.Helper()
	probe := costProbe{route: row.name, before: envoy.Stats()}
	before := up.Count()
	var spoof []string
	header := http.Header{}
	for _, m := range costSpoofed {
		spoof = append(spoof, m, "spoofed")
		header.Set(m, "spoofed")
	}
	resp := harness.Get(t, url, spoof...)
	require.Equal(t, row.want(), resp.Status, "%s: the probe's answer", url)
	if up.Count() > before {
		probe.upstream = up.Last()
	} else {
		probe.upstream = harness.Request{Header: header}
	}
	probe.after = envoy.Stats()
	for _, f := range chain {
		if f.ran == nil {
			continue
		}
		want := slices.Contains(row.filters, f)
		require.Equal(t, want, f.ran(probe), "route %s: did filter %s run on it?", row.name, f.name)
	}
}

// costBatch sends one closed-loop batch to url and returns Envoy's CPU
// time per request, µs. Every answer is want, Envoy counted exactly the
// batch, and no connection was opened: the batch ran over the clients'.
func costBatch(t *testing.T, envoy *harness.Envoy, clients costClients, url string, requests, want int) float64 {
	t.Helper()
	served := fmt.Sprintf(costServed, want/100)
	stats := envoy.Stats()
	before, err := threadsCPU(envoy.PID())
	require.NoError(t, err)
	n := clients.batch(t, url, requests, want)
	time.Sleep(costSettle)
	after, err := threadsCPU(envoy.PID())
	require.NoError(t, err)
	require.Equal(t, requests, n, "%s: %d answers in the batch", url, want)
	now := envoy.Stats()
	require.Equal(t, uint64(requests), now[served]-stats[served], "%s: %dxx answers Envoy counted for the batch", url, want/100)
	require.Equal(t, stats[costOpened], now[costOpened], "%s: connections opened during the batch", url)
	return float64((after - before).Nanoseconds()) / 1e3 / float64(n)
}

// costHeading starts the benchmark's section of build/bench.md.
const costHeading = "## Per-request cost, paired in one Envoy"

// costReport is the section of build/bench.md; cpu is as in TestCostPaired.
func costReport(p costParams, cpu [][]float64, split, envoyVersion string, took time.Duration) string {
	idx := func(name string) int { return slices.IndexFunc(p.rows, func(r costRow) bool { return r.name == name }) }
	none, minimal := cpu[idx(costBaseline)], cpu[idx(costMinimal)]
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", costHeading)
	fmt.Fprintf(&b, "Envoy %s, %d workers, one process whose filter chain holds every filter; each row is a route on which "+
		"FilterConfig{disabled: true} switches off all the others. %d rounds; per round one closed-loop batch of %d GETs "+
		"per route over the same %d keep-alive connections (fortio; per worker %s), routes in a shuffled order. CPU is Envoy's, all threads "+
		"(/proc/<pid>/task/*/schedstat), per request of the batch. Δ is the mean over the rounds of the row's difference "+
		"to the other row in the same round, ± its standard error (sd/√n). %d CPUs shared by Envoy, upstream and load "+
		"generator; %s, %v.\n\n",
		envoyVersion, benchWorkers, p.rounds, p.requests, benchConnections, split, runtime.NumCPU(),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second))
	b.WriteString("| row | what | Envoy CPU µs/req ± SE | Δ vs none µs ± SE | Δ vs minimal-go µs ± SE | rounds | requests/batch |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
	for i, row := range p.rows {
		raw := estimateOf(cpu[i])
		vsNone, vsMinimal := "—", "—"
		if row.name != costBaseline {
			vsNone = pairedDifference(cpu[i], none).String()
		}
		if row.name != costMinimal {
			vsMinimal = pairedDifference(cpu[i], minimal).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f ± %.1f | %s | %s | %d | %d |\n",
			row.name, row.about, raw.mean, raw.se, vsNone, vsMinimal, p.rounds, p.requests)
	}
	b.WriteString("\nEvery batch, Envoy CPU µs/req:\n\n| row |")
	for round := range p.rounds {
		fmt.Fprintf(&b, " %d |", round+1)
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", p.rounds) + "\n")
	for i, row := range p.rows {
		fmt.Fprintf(&b, "| %s |", row.name)
		for _, x := range cpu[i] {
			fmt.Fprintf(&b, " %.1f |", x)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// withSection returns doc with section in place of the section of the same
// heading (up to the next heading of its level or above), or appended.
func withSection(doc, section string) string {
	heading, _, _ := strings.Cut(section, "\n")
	start := strings.Index(doc, heading+"\n")
	if start < 0 {
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc = strings.TrimRight(doc, "\n") + "\n\n"
		}
		return doc + section
	}
	after := start + len(heading)
	end := len(doc)
	for _, next := range []string{"\n## ", "\n# "} {
		if i := strings.Index(doc[after:], next); i >= 0 {
			end = min(end, after+i+1)
		}
	}
	if end == len(doc) {
		return doc[:start] + section
	}
	return doc[:start] + section + "\n" + doc[end:]
}
