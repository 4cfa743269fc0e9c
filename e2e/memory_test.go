package e2e

// TestMemory measures what each module costs an Envoy in resident memory:
// every row of memoryRows runs alone in a fresh Envoy with 2 workers, one
// after the other in the same run, under the same closed-loop GETs. RSS is
// read after a warm-up and again after the last request; "added" is the
// row's RSS minus the RSS of the row without a filter, "growth" the
// difference between the two readings. `make bench` runs it; alone:
//
//	STEADFAST_BENCH=1 go test -count=1 -run '^TestMemory$' -v ./e2e/
//
// Parameters, from the environment:
//
//	STEADFAST_MEMORY_REQUESTS  requests per row in all, warm-up included (default 300000)
//	STEADFAST_MEMORY_WARMUP    requests before the first reading (default 50000)
//	STEADFAST_MEMORY_ROWS      comma-separated rows to measure (default all); without "none" nothing shows RSS added
//
// The minimal Rust row is built with cargo (build/rust/) when the
// wasm32-wasip1 target is installed; otherwise the row says why it is
// missing. The "recommended" row adds the memory_allocator_manager of
// envoy/demo.yaml to the bootstrap: the benchmark measures what the project
// ships. The result is printed in the test log and written to
// build/bench.md as a section of its own.

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fortiolog "fortio.org/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

const (
	// memorySettle is the pause before each reading: Envoy's allocator
	// releases free memory on an interval of a second (when told to).
	memorySettle = 3 * time.Second
	// memoryVM is the vm_id of every steadfast entry.
	memoryVM    = "steadfast"
	memoryRoute = "bench"
	// memoryHeading starts the benchmark's section of build/bench.md.
	memoryHeading = "## Memory: Envoy RSS per module"
)

// The goals for RSS added over no filter, MiB (2 workers).
const (
	goalSingleMiB      = 90
	goalSuiteMiB       = 100
	goalRecommendedMiB = 75
)

// memoryRow is one Envoy the benchmark measures.
type memoryRow struct {
	name, about string
	// filters are the row's HTTP filters; missing says why the row cannot
	// run on this machine ("" when it can).
	filters func(t testing.TB) (filters []harness.HTTPFilter, missing string)
	// bootstrap is appended to Envoy's bootstrap.
	bootstrap func(t testing.TB) string
	// goal is the most RSS the row may add, MiB; 0 for none.
	goal float64
	// model: the row is one of the Go modules at Envoy's and the module's
	// defaults that the report fits RSS added against .wasm size over.
	model bool
}

// memoryFaults, memoryWebhookauth and memoryBreaker configure each filter
// so that every GET of the benchmark passes through it and is answered 200:
// faults at 0%, webhookauth switched off for the benchmark's route by its
// own routes list (its code is loaded; it reads no body of a GET), the
// breaker closed. A new filter adds its section here and to memorySuite.
const (
	memoryFaults      = `{"abort":{"percentage":0,"http_status":503},"delay":{"percentage":0,"fixed":"100ms"}}`
	memoryWebhookauth = `{"scheme":"github","secrets":[{"env":"GITHUB_WEBHOOK_SECRET"}],"routes":[{"name":"` + memoryRoute + `","disabled":true}]}`
	memoryBreaker     = `{"key":"route","trip":{"consecutive_failures":5}}`
	memoryRetry       = `{"budget":{"key":"route"}}`
	memorySuite       = `{"faults":` + memoryFaults + `,"webhookauth":` + memoryWebhookauth + `,"breaker":` + memoryBreaker + `,"retry":` + memoryRetry + `}`
)

var memoryRows = []memoryRow{
	{name: "none", about: "no filter"},
	{name: "minimal-rust", about: "one header read, one added (proxy-wasm Rust SDK)", filters: minimalRust},
	{name: "minimal-go", about: "the same in Go (proxy-wasm Go SDK)", filters: memoryEntry("minimal", "", ""), goal: goalSingleMiB, model: true},
	{name: "faults", about: "faults at 0%", filters: memoryEntry("faults", "faults", memoryFaults), goal: goalSingleMiB, model: true},
	{name: "webhookauth", about: "webhookauth, off for the route", filters: memoryEntry("webhookauth", "webhookauth", memoryWebhookauth), goal: goalSingleMiB, model: true},
	{name: "breaker", about: "breaker, closed", filters: memoryEntry("breaker", "breaker", memoryBreaker), goal: goalSingleMiB, model: true},
	{name: "retry", about: "retry, nothing to retry", filters: memoryEntry("retry", "retry", memoryRetry), goal: goalSingleMiB, model: true},
	{name: "suite", about: "every filter as a stage of root_id suite, one vm_id", filters: memoryEntry("suite", "suite", memorySuite), goal: goalSuiteMiB, model: true},
	{
		name: "suite-gogc100", about: "the suite with the Go runtime's default GC target (GOGC=100 in the VM)",
		filters: memoryEntry("suite", "suite", memorySuite, "GOGC", "100"), goal: goalSuiteMiB,
	},
	{
		name: "suite-gogc25", about: "the suite with a lower GC target (GOGC=25 in the VM)",
		filters: memoryEntry("suite", "suite", memorySuite, "GOGC", "25"), goal: goalSuiteMiB,
	},
	{
		name: "suite-recommended", about: "the suite with envoy/demo.yaml's memory_allocator_manager",
		filters: memoryEntry("suite", "suite", memorySuite), bootstrap: demoAllocatorManager, goal: goalRecommendedMiB,
	},
}

// memoryEntry is one Wasm entry of build/<module>.wasm on memoryVM; env
// are extra name, value pairs for the VM's environment.
func memoryEntry(module, rootID, configuration string, env ...string) func(testing.TB) ([]harness.HTTPFilter, string) {
	return func(t testing.TB) ([]harness.HTTPFilter, string) {
		vars := map[string]string{"GITHUB_WEBHOOK_SECRET": benchWebhookSecret}
		for i := 0; i+1 < len(env); i += 2 {
			vars[env[i]] = env[i+1]
		}
		return []harness.HTTPFilter{harness.Wasm{
			RootID:                      rootID,
			Module:                      harness.Module(t, module),
			Configuration:               configuration,
			VMID:                        memoryVM,
			Env:                         vars,
			AllowOnHeadersStopIteration: true,
		}}, ""
	}
}

// minimalRust builds e2e/minimal-rust into build/rust once, when cargo
// and its wasm32-wasip1 target are there.
var minimalRust = func() func(testing.TB) ([]harness.HTTPFilter, string) {
	var (
		once    sync.Once
		module  string
		missing string
	)
	build := func() {
		root, err := harness.RepoRoot()
		if err != nil {
			missing = err.Error()
			return
		}
		if _, err := exec.LookPath("cargo"); err != nil {
			missing = "cargo is not installed"
			return
		}
		out, err := exec.Command("rustup", "target", "list", "--installed").Output()
		if err != nil || !slices.Contains(strings.Fields(string(out)), "wasm32-wasip1") {
			missing = "Rust's wasm32-wasip1 target is not installed (`rustup target add wasm32-wasip1`)"
			return
		}
		cmd := exec.Command("cargo", "build", "--release", "--quiet", "--target", "wasm32-wasip1",
			"--manifest-path", filepath.Join(root, "e2e", "minimal-rust", "Cargo.toml"),
			"--target-dir", filepath.Join(root, "build", "rust"))
		if out, err := cmd.CombinedOutput(); err != nil {
			missing = fmt.Sprintf("cargo build failed: %v: %s", err, out)
			return
		}
		module = filepath.Join(root, "build", "rust", "wasm32-wasip1", "release", "steadfast_minimal.wasm")
	}
	return func(testing.TB) ([]harness.HTTPFilter, string) {
		once.Do(build)
		if missing != "" {
			return nil, missing
		}
		return []harness.HTTPFilter{harness.Wasm{Name: "minimal-rust", Module: module, VMID: "minimal-rust"}}, ""
	}
}()

// demoAllocatorManager is the bootstrap's stats tags (as every harness
// Envoy has them) followed by the memory_allocator_manager of
// envoy/demo.yaml.
func demoAllocatorManager(t testing.TB) string {
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "envoy", "demo.yaml"))
	require.NoError(t, err)
	var demo struct {
		Manager map[string]any `yaml:"memory_allocator_manager"`
	}
	require.NoError(t, yaml.Unmarshal(b, &demo))
	require.NotEmpty(t, demo.Manager, "envoy/demo.yaml sets memory_allocator_manager")
	manager, err := yaml.Marshal(map[string]any{"memory_allocator_manager": demo.Manager})
	require.NoError(t, err)
	path, err := harness.StatsTagsPath()
	require.NoError(t, err)
	tags, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimRight(string(tags), "\n") + "\n" + string(manager)
}

// memoryRun is what one row measured.
type memoryRun struct {
	row     memoryRow
	missing string
	// size is the module's .wasm size in bytes.
	size int64
	// rss are Envoy's RSS in bytes after at[0] and at[1] requests.
	rss [2]uint64
	at  [2]int
	// linear is the size of each Wasm linear memory at the end, bytes.
	linear []uint64
}

type memoryParams struct {
	requests, warmup int
	rows             []memoryRow
}

func memoryParameters(t *testing.T) memoryParams {
	p := memoryParams{
		requests: envInt(t, "STEADFAST_MEMORY_REQUESTS", 300_000),
		warmup:   envInt(t, "STEADFAST_MEMORY_WARMUP", 50_000),
	}
	require.Less(t, p.warmup, p.requests, "STEADFAST_MEMORY_WARMUP is part of STEADFAST_MEMORY_REQUESTS")
	p.rows = pickByName(t, "STEADFAST_MEMORY_ROWS", memoryRows, func(r memoryRow) string { return r.name })
	return p
}

// pickByName returns the entries of all that the comma-separated names in
// the environment variable env select, in that order, or all when env is
// unset; a name that selects nothing fails the test.
func pickByName[T any](t *testing.T, env string, all []T, name func(T) string) []T {
	names := os.Getenv(env)
	if names == "" {
		return all
	}
	var out []T
	for n := range strings.SplitSeq(names, ",") {
		i := slices.IndexFunc(all, func(x T) bool { return name(x) == strings.TrimSpace(n) })
		if i < 0 {
			t.Fatalf("%s: no entry %q", env, n)
		}
		out = append(out, all[i])
	}
	return out
}

func TestMemory(t *testing.T) {
	if os.Getenv("STEADFAST_BENCH") != "1" {
		t.Skip("memory benchmark: set STEADFAST_BENCH=1 (make bench does)")
	}
	p := memoryParameters(t)
	fortiolog.SetLogLevelQuiet(fortiolog.Warning)
	up := harness.NewUpstream(t, harness.Echo())
	start := time.Now()
	var runs []memoryRun
	var envoyVersion string
	for _, row := range p.rows {
		run := memoryRun{row: row}
		var filters []harness.HTTPFilter
		if row.filters != nil {
			filters, run.missing = row.filters(t) // a missing Go module fails here
		}
		for _, f := range filters {
			if w, ok := f.(harness.Wasm); ok {
				info, err := os.Stat(w.Module)
				require.NoError(t, err)
				run.size = info.Size()
			}
		}
		if run.missing != "" {
			t.Logf("%s: not measured: %s", row.name, run.missing)
			runs = append(runs, run)
			continue
		}
		ok := t.Run(row.name, func(t *testing.T) {
			cfg := harness.Config{
				Concurrency: benchWorkers,
				Clusters:    []harness.Cluster{up.Cluster("upstream")},
				Listeners: []harness.Listener{{
					Routes:  []harness.Route{{Name: memoryRoute, Cluster: "upstream"}},
					Filters: filters,
				}},
			}
			if row.bootstrap != nil {
				cfg.StatsTags = row.bootstrap(t)
			}
			envoy := harness.Start(t, cfg)
			if envoyVersion == "" {
				envoyVersion = serverVersion(t, envoy)
			}
			measureMemory(t, envoy, p, &run)
			t.Logf("%s: RSS %.1f MiB after %d requests, %.1f MiB after %d; Wasm memories %s",
				row.name, mib(run.rss[0]), run.at[0], mib(run.rss[1]), run.at[1], mibList(run.linear))
		})
		if !ok {
			t.FailNow()
		}
		runs = append(runs, run)
	}
	report := memoryReport(p, runs, envoyVersion, time.Since(start))
	t.Log("\n" + report)
	writeBenchSection(t, report)
}

// measureMemory sends the row's requests and takes the two readings.
func measureMemory(t *testing.T, envoy *harness.Envoy, p memoryParams, run *memoryRun) {
	url := envoy.URL("/" + memoryRoute)
	served := 0
	for i, at := range []int{p.warmup, p.requests} {
		served += load(t, url, -1, at-served, 0).count()
		time.Sleep(memorySettle)
		run.rss[i], run.at[i] = envoy.RSS(), served
	}
	run.linear = envoy.WasmMemory()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func mibList(bs []uint64) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%.1f", mib(b))
	}
	return strings.Join(parts, " ")
}

func memoryReport(p memoryParams, runs []memoryRun, envoyVersion string, took time.Duration) string {
	var none, minimal uint64
	for _, r := range runs {
		switch {
		case r.missing != "":
		case r.row.name == "none":
			none = r.rss[1]
		case r.row.name == "minimal-go":
			minimal = r.rss[1]
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", memoryHeading)
	fmt.Fprintf(&b, "Envoy %s, %d workers; each row in a fresh Envoy, one after the other in one run (%s, %v). "+
		"Closed-loop GETs over %d connections; RSS (VmRSS) read %v after the %s-request warm-up and after %s requests. "+
		"Added is RSS minus the row without a filter, at the end, and over minimal Go RSS minus the minimal Go filter's; growth is the second reading minus the first. "+
		"Wasm memories are the linear memories of the row's VMs at the end, MiB (base, main thread and one per worker, in no order).\n\n",
		envoyVersion, benchWorkers, time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second),
		benchConnections, memorySettle, kilo(p.warmup), kilo(p.requests))
	fmt.Fprintf(&b, "| row | what | .wasm MB | RSS MiB @%s | RSS MiB @%s | added MiB | over minimal Go MiB | goal MiB | growth MiB | Wasm memories MiB |\n",
		kilo(p.warmup), kilo(p.requests))
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	var sizes, added []float64
	for _, r := range runs {
		size := "—"
		if r.size > 0 {
			size = fmt.Sprintf("%.2f", float64(r.size)/1e6)
		}
		if r.missing != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | not measured: %s | | | | | | |\n", r.row.name, r.row.about, size, r.missing)
			continue
		}
		add, overMinimal, goal := "—", "—", "—"
		if r.row.name != "none" && none > 0 {
			add = fmt.Sprintf("%+.1f", mib(r.rss[1])-mib(none))
			if r.row.model && r.size > 0 {
				sizes, added = append(sizes, float64(r.size)/1e6), append(added, mib(r.rss[1])-mib(none))
			}
		}
		if r.row.name != "none" && r.row.name != "minimal-go" && minimal > 0 {
			overMinimal = fmt.Sprintf("%+.1f", mib(r.rss[1])-mib(minimal))
		}
		if r.row.goal > 0 {
			verdict := "met"
			if mib(r.rss[1])-mib(none) > r.row.goal {
				verdict = "**missed**"
			}
			goal = fmt.Sprintf("≤ %.0f %s", r.row.goal, verdict)
			if none == 0 {
				goal = fmt.Sprintf("≤ %.0f", r.row.goal)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %s | %s | %s | %+.1f | %s |\n",
			r.row.name, r.row.about, size, mib(r.rss[0]), mib(r.rss[1]), add, overMinimal, goal,
			mib(r.rss[1])-mib(r.rss[0]), mibList(r.linear))
	}
	if a, slope, worst, ok := fitLine(sizes, added); ok && len(sizes) >= 3 {
		fmt.Fprintf(&b, "\nModel, least squares over the %d Go modules at their defaults: RSS added ≈ %.1f MiB + %.1f MiB per MB of .wasm "+
			"(largest residual %.1f MiB); a goal of G MiB is a module of at most (G − %.1f) / %.1f MB.\n",
			len(sizes), a, slope, worst, a, slope)
	}
	return b.String()
}

// fitLine fits y ≈ a + slope·x by least squares and returns the largest
// absolute residual too; ok is false unless xs holds two different values.
func fitLine(xs, ys []float64) (a, slope, worst float64, ok bool) {
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ys[i]
	}
	mx, my = mx/float64(len(xs)), my/float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0, 0, 0, false
	}
	slope = sxy / sxx
	a = my - slope*mx
	for i := range xs {
		worst = max(worst, math.Abs(ys[i]-(a+slope*xs[i])))
	}
	return a, slope, worst, true
}

// writeBenchSection puts section into build/bench.md, replacing the section
// of an earlier run with the same heading.
func writeBenchSection(t *testing.T, section string) {
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	out := filepath.Join(root, "build", "bench.md")
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	old, err := os.ReadFile(out)
	if !errors.Is(err, fs.ErrNotExist) {
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(out, []byte(withSection(string(old), section)), 0o644))
	t.Logf("wrote %s", out)
}

// TestDemoReleasesAllocatorMemory checks, without Envoy, that the shipped
// envoy/demo.yaml carries the allocator setting the memory benchmark's
// "recommended" row measures, and that the bootstrap the row renders has
// it once, after the stats tags every harness Envoy gets.
func TestDemoReleasesAllocatorMemory(t *testing.T) {
	fragment := demoAllocatorManager(t)
	var got struct {
		StatsConfig map[string]any `yaml:"stats_config"`
		Manager     struct {
			BytesToRelease        uint64 `yaml:"bytes_to_release"`
			MemoryReleaseInterval string `yaml:"memory_release_interval"`
		} `yaml:"memory_allocator_manager"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(fragment), &got))
	require.NotEmpty(t, got.StatsConfig, "the stats tags stay")
	require.Equal(t, uint64(1<<30), got.Manager.BytesToRelease)
	require.Equal(t, "1s", got.Manager.MemoryReleaseInterval)
	bootstrap, err := harness.Render(harness.Config{
		StatsTags: fragment,
		Clusters:  []harness.Cluster{{Name: "upstream", Address: "127.0.0.1:1"}},
	})
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(bootstrap), "\nmemory_allocator_manager:"))
}

// The memory report must say what each row adds over no filter and over
// the minimal Go filter, and fit its model over the Go modules at their
// defaults only. No Envoy is needed: the readings are made up, on a line.
func TestMemoryReportColumnsAndModel(t *testing.T) {
	row := func(name string) memoryRow {
		i := slices.IndexFunc(memoryRows, func(r memoryRow) bool { return r.name == name })
		require.GreaterOrEqual(t, i, 0, name)
		return memoryRows[i]
	}
	const none = 60
	run := func(name string, mb, rssMiB float64) memoryRun {
		r := memoryRun{row: row(name), size: int64(mb * 1e6), at: [2]int{50_000, 300_000}}
		r.rss = [2]uint64{uint64(rssMiB * (1 << 20)), uint64(rssMiB * (1 << 20))}
		return r
	}
	line := func(mb float64) float64 { return none + 50 + 15*mb } // RSS on the model's line
	runs := []memoryRun{
		{row: row("none"), rss: [2]uint64{none << 20, none << 20}},
		{row: row("minimal-rust"), missing: "no cargo"},
		run("minimal-go", 2, line(2)),
		run("faults", 3, line(3)),
		run("retry", 2.5, line(2.5)),
		run("suite", 4, line(4)),
		run("suite-recommended", 4, line(4)-20), // off the line, and not in the fit
	}
	report := memoryReport(memoryParams{requests: 300_000, warmup: 50_000}, runs, "test", time.Minute)
	assert.Contains(t, report, "| minimal-rust | "+row("minimal-rust").about+" | — | not measured: no cargo | | | | | | |\n")
	assert.Contains(t, report, "| minimal-go | "+row("minimal-go").about+" | 2.00 | 140.0 | 140.0 | +80.0 | — | ≤ 90 met | +0.0 |")
	assert.Contains(t, report, "| faults | "+row("faults").about+" | 3.00 | 155.0 | 155.0 | +95.0 | +15.0 | ≤ 90 **missed** | +0.0 |")
	assert.Contains(t, report, "| suite-recommended | "+row("suite-recommended").about+" | 4.00 | 150.0 | 150.0 | +90.0 | +10.0 | ≤ 75 **missed** | +0.0 |")
	assert.Contains(t, report, "least squares over the 4 Go modules at their defaults: RSS added ≈ 50.0 MiB + 15.0 MiB per MB of .wasm (largest residual 0.0 MiB)")
	var model []string
	for _, r := range memoryRows {
		if r.model {
			model = append(model, r.name)
		}
	}
	assert.Equal(t, []string{"minimal-go", "faults", "webhookauth", "breaker", "retry", "suite"}, model)
}
