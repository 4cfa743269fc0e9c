package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// The replay tests verify GitHub deliveries signed with this secret, which
// Envoy hands to the VM as an environment variable.
const (
	replaySecretEnv = "REPLAY_GITHUB_SECRET"
	replaySecret    = "replay-e2e-secret"
	// replayEvictions is the evictions counter as Envoy's /stats names it.
	replayEvictions = "wasmcustom.steadfast_webhookauth_replay_evictions_total"
)

// startReplayEnvoy runs webhookauth with config in front of a recording
// upstream, on Envoy's two workers.
func startReplayEnvoy(t *testing.T, config string) (*harness.Envoy, *harness.Upstream) {
	t.Helper()
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{Filters: []harness.HTTPFilter{inForm(t, harness.Wasm{
			RootID:                      "webhookauth",
			Module:                      harness.Module(t, "webhookauth"),
			Configuration:               config,
			Env:                         map[string]string{replaySecretEnv: replaySecret},
			AllowOnHeadersStopIteration: true,
		})}}},
	})
	require.Equal(t, 2, envoy.Concurrency)
	return envoy, up
}

// replayDelivery is GitHub delivery number n: its body is all that makes
// it distinct, so nothing here depends on what the filter keys replays on.
func replayDelivery(n int) string {
	return `{"action":"opened","number":` + strconv.Itoa(n) + `}`
}

// postDelivery POSTs a GitHub delivery of body on a new connection and
// returns the status. It never fails the test, so goroutines may call it.
func postDelivery(url, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, []byte(replaySecret))
	mac.Write([]byte(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := harness.Client().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postDeliveries sends deliveries from to to-1, four at a time, each on a
// connection of its own so that both workers take some, and requires every
// one to be accepted.
func postDeliveries(t *testing.T, envoy *harness.Envoy, from, to int) {
	t.Helper()
	statuses := make([]int, to-from)
	errs := make([]error, to-from)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < to-from; i += 4 {
				statuses[i], errs[i] = postDelivery(envoy.URL("/hooks"), replayDelivery(from+i))
			}
		})
	}
	wg.Wait()
	for i := range statuses {
		require.NoError(t, errs[i], "delivery %d", from+i)
		require.Equal(t, http.StatusOK, statuses[i], "delivery %d", from+i)
	}
}

// replayStatuses sends delivery n again times times, each on a new
// connection, so that both workers see it.
func replayStatuses(t *testing.T, envoy *harness.Envoy, n, times int) []int {
	t.Helper()
	var out []int
	for range times {
		status, err := postDelivery(envoy.URL("/hooks"), replayDelivery(n))
		require.NoError(t, err)
		out = append(out, status)
	}
	return out
}

// TestReplayRememberedForCacheSizeDeliveries: with cache_size 100 a
// delivery is refused as a replay, by either worker, after 99 others, and
// forgotten (an eviction counted) once enough newer ones were accepted.
func TestReplayRememberedForCacheSizeDeliveries(t *testing.T) {
	envoy, up := startReplayEnvoy(t, `{"scheme": "github", "secrets": [{"env": "`+replaySecretEnv+`"}], "replay": {"cache_size": 100}}`)

	postDeliveries(t, envoy, 0, 1)
	postDeliveries(t, envoy, 1, 100)
	assert.Equal(t, []int{401, 401, 401, 401, 401, 401}, replayStatuses(t, envoy, 0, 6), "remembered after 99 newer deliveries")
	assert.Zero(t, envoy.Stat(replayEvictions))

	postDeliveries(t, envoy, 100, 200)
	assert.Equal(t, []int{200}, replayStatuses(t, envoy, 0, 1), "forgotten after 199 newer deliveries")
	assert.Positive(t, envoy.Stat(replayEvictions))
	assert.Equal(t, []int{401, 401}, replayStatuses(t, envoy, 0, 2), "and remembered again")

	assert.Equal(t, 201, up.Count(), "only accepted deliveries reach the app")
	workers := workerConnections(t, envoy.Stats())
	assert.Positive(t, workers["worker_0"], "worker 0 took deliveries: %v", workers)
	assert.Positive(t, workers["worker_1"], "worker 1 took deliveries: %v", workers)
}
