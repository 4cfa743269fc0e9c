package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

func TestHarnessProxiesToUpstream(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{up.Cluster("app")}})

	resp := harness.Get(t, envoy.URL("/hello?status=201&headers=1"), "x-test", "one")

	assert.Equal(t, http.StatusCreated, resp.Status)
	assert.Equal(t, "one", resp.Header.Get("x-echo-x-test"))
	assert.Equal(t, 1, up.Count())
	got := up.Last()
	assert.Equal(t, "GET", got.Method)
	assert.Equal(t, "/hello?status=201&headers=1", got.Path)
	assert.Equal(t, uint64(1), envoy.Stat("cluster.app.upstream_rq_201"))
}

func TestHarnessMinimalWasmAddsHeader(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters:  []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{Filters: []harness.HTTPFilter{minimalFilter(t)}}},
	})

	resp := harness.Get(t, envoy.URL("/"), "x-request-id", "abc")

	assert.Equal(t, http.StatusOK, resp.Status)
	assert.Equal(t, "abc", up.Last().Header.Get("x-minimal"))
}

func TestHarnessRoutes(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{
			Filters: []harness.HTTPFilter{minimalFilter(t)},
			Routes: []harness.Route{
				{Name: "direct", Prefix: "/direct", DirectResponse: &harness.DirectResponse{Status: 418, Body: "teapot"}},
				{Name: "plain", Prefix: "/plain", Cluster: "app", DisableFilters: []string{"steadfast.minimal"}},
				{Name: "filtered", Prefix: "/", Cluster: "app"},
			},
		}},
	})

	t.Run("direct response never reaches the upstream", func(t *testing.T) {
		resp := harness.Get(t, envoy.URL("/direct"))

		assert.Equal(t, harness.Response{Status: 418, Proto: "HTTP/1.1", Body: "teapot"},
			harness.Response{Status: resp.Status, Proto: resp.Proto, Body: resp.Body})
		assert.Equal(t, 0, up.Count())
	})
	t.Run("disabled filter does not run", func(t *testing.T) {
		harness.Get(t, envoy.URL("/plain"), "x-request-id", "abc")

		assert.Empty(t, up.Last().Header.Values("x-minimal"))
	})
	t.Run("other routes run the filter", func(t *testing.T) {
		harness.Get(t, envoy.URL("/other"), "x-request-id", "abc")

		assert.Equal(t, "abc", up.Last().Header.Get("x-minimal"))
	})
}

func TestHarnessHTTP2Upstream(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	cluster := up.Cluster("grpc")
	cluster.HTTP2 = true
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{cluster}})

	req, err := http.NewRequest(http.MethodPost, envoy.URL("/echo"), strings.NewReader("ping"))
	require.NoError(t, err)
	resp := harness.Do(t, harness.H2CClient(), req)

	assert.Equal(t, harness.Response{Status: 200, Proto: "HTTP/2.0", Body: "ping"},
		harness.Response{Status: resp.Status, Proto: resp.Proto, Body: resp.Body})
	assert.Equal(t, "HTTP/2.0", up.Last().Proto)
	assert.Equal(t, "ping", string(up.Last().Body))
}

func TestHarnessConcurrency(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{up.Cluster("app")}, Concurrency: 2})

	assert.Equal(t, uint64(2), envoy.Stat("server.concurrency"))
}

func TestHarnessProcessMeasures(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{up.Cluster("app")}})
	harness.Get(t, envoy.URL("/"))

	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", envoy.PID()))
	require.NoError(t, err)
	assert.NotContains(t, filepath.Base(exe), "python", "the measured process is Envoy, not its launcher")
	assert.Greater(t, envoy.RSS(), uint64(1<<20), "RSS in bytes")
	assert.Positive(t, envoy.CPUTime(), "Envoy has used CPU time starting")
	assert.Contains(t, envoy.Prometheus(), "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"app\"} 1")
}

func TestHarnessShipsStatsTags(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{up.Cluster("app")}})

	dump := envoy.Admin("/config_dump")

	for _, tag := range []string{"route", "kind", "outcome", "reason", "scheme", "cluster"} {
		assert.Contains(t, dump, `"tag_name": "`+tag+`"`)
	}
}

// TestHarnessStatsTagsLabelWasmMetrics proves envoy/stats_tags.yaml: the
// labels a filter encodes in a metric's name become Prometheus labels.
func TestHarnessStatsTagsLabelWasmMetrics(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{
			Routes: []harness.Route{{Name: "demo", Cluster: "app"}},
			Filters: []harness.HTTPFilter{harness.Wasm{
				RootID:        "faults",
				Module:        harness.Module(t, "faults"),
				Configuration: `{"abort": {"percentage": 100, "http_status": 503}}`,
			}},
		}},
	})

	require.Equal(t, http.StatusServiceUnavailable, harness.Get(t, envoy.URL("/")).Status)

	assert.Equal(t, uint64(1), envoy.Stat("wasmcustom.steadfast_faults_aborts_injected_total.route.demo.kind.request"))
	assert.Contains(t, envoy.Prometheus(), `steadfast_faults_aborts_injected_total{route="demo",kind="request"} 1`)
}

// TestHarnessDiagnostics checks what a failed test would print: the end of
// Envoy's log, its config dump and its non-zero stats.
func TestHarnessDiagnostics(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{Clusters: []harness.Cluster{up.Cluster("app")}})
	harness.Get(t, envoy.URL("/"))

	out := envoy.Diagnostics()

	log, rest, _ := strings.Cut(out, "---- /config_dump ----")
	dump, stats, _ := strings.Cut(rest, "---- /stats (non-zero) ----")
	assert.Contains(t, log, "starting main dispatch loop")
	assert.Contains(t, dump, `"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump"`)
	assert.Contains(t, stats, "\ncluster.app.upstream_rq_200: 1\n")
	assert.NotContains(t, stats, ": 0\n", "zero stats are left out")
}

func TestHarnessReportsRejectedConfig(t *testing.T) {
	envoy, err := harness.TryStart(t, harness.Config{
		Listeners: []harness.Listener{{Routes: []harness.Route{{Name: "r", Cluster: "missing"}}}},
	})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown cluster 'missing'", "the error carries Envoy's reason")
	assert.Contains(t, envoy.Log(), "unknown cluster 'missing'")
}

func minimalFilter(t *testing.T) harness.Wasm {
	return harness.Wasm{Module: harness.Module(t, "minimal")}
}
