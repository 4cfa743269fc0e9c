package istio

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// module is build/<name>.wasm of the repository; the test fails when it
// has not been built.
func module(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "build", name+".wasm")
	require.FileExists(t, path, "run `make build` first")
	return path
}

// statsTags is the repository's stats_tags fragment (the harness would
// look for it beside this module's go.mod).
func statsTags(t *testing.T) string {
	t.Helper()
	b, err := readFile(filepath.Join(repoRoot(t), "envoy", "stats_tags.yaml"))
	require.NoError(t, err)
	return b
}

// startECDSEnvoy starts Envoy with one listener whose only filter is
// fetched from cp by name, in front of the echo upstream.
func startECDSEnvoy(t *testing.T, cp *controlPlane, filter string, env map[string]string) *harness.Envoy {
	t.Helper()
	up := harness.NewUpstream(t, nil)
	return harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app"), cp.cluster()},
		Listeners: []harness.Listener{{
			Routes: []harness.Route{
				{Name: "webhooks", Prefix: "/hooks", Cluster: "app"},
				{Name: "unstable", Prefix: "/unstable", Cluster: "app"},
				{Name: "default", Prefix: "/", Cluster: "app"},
			},
			Filters: []harness.HTTPFilter{ecdsFilter(filter)},
		}},
		Env:       env,
		StatsTags: statsTags(t),
	})
}

// A new pluginConfig reaches a running Envoy through ECDS and applies to
// the next requests, with no restart and no request failed while it
// changes; an invalid one is rejected with the field named, and the
// previous one keeps serving.
func TestECDSReconfiguresFaultsLive(t *testing.T) {
	const name = "bookinfo.steadfast-faults"
	faults := wasmExtension{name: name, rootID: "faults", module: module(t, "faults")}
	cp := startControlPlane(t)
	faults.config = `{"abort": {"percentage": 0, "http_status": 418}}`
	v := cp.set(t, faults.typed(t))
	envoy := startECDSEnvoy(t, cp, name, nil)
	cp.waitAck(t, v)
	pid := envoy.PID()
	for range 5 {
		require.Equal(t, http.StatusOK, harness.Get(t, envoy.URL("/")).Status)
	}

	// Requests that each take 300ms upstream, sent without pause while the
	// configuration changes: every one is either served (old config) or
	// aborted (new), none fails.
	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		failures []string
		// spans are the served requests' start and end times.
		spans [][2]time.Time
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for !stop.Load() {
				start := time.Now()
				resp, err := client.Get(envoy.URL("/?sleep=300ms"))
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					statuses[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK {
						spans = append(spans, [2]time.Time{start, time.Now()})
					}
					resp.Body.Close()
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	faults.config = `{"abort": {"percentage": 100, "http_status": 418}}`
	v = cp.set(t, faults.typed(t))
	cp.waitAck(t, v)
	acked := time.Now()
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	assert.Empty(t, failures, "requests failed while the configuration changed")
	assert.Positive(t, statuses[http.StatusOK], "served before the change")
	assert.Positive(t, statuses[http.StatusTeapot], "aborted after the change")
	assert.Len(t, statuses, 2, "statuses seen: %v", statuses)
	t.Logf("statuses while the configuration changed: %v", statuses)
	across := 0
	for _, sp := range spans {
		if sp[0].Before(acked) && sp[1].After(acked) {
			across++
		}
	}
	t.Logf("served requests in flight when the change was accepted: %d", across)
	assert.Positive(t, across, "requests in flight when Envoy accepted the change were served")
	for range 5 {
		assert.Equal(t, http.StatusTeapot, harness.Get(t, envoy.URL("/")).Status, "the new configuration applies")
	}

	// An invalid configuration: rejected, the log and the rejection name
	// the field, the previous configuration keeps serving.
	faults.config = `{"abort": {"percentage": 150, "http_status": 418}}`
	cp.set(t, faults.typed(t))
	detail := cp.waitNack(t, 1)
	t.Logf("rejection sent to the control plane: %s", detail)
	require.Eventually(t, func() bool {
		return strings.Contains(envoy.Log(), "abort.percentage: must be between 0 and 100")
	}, 5*time.Second, 50*time.Millisecond, "Envoy's log names the field")
	for range 5 {
		assert.Equal(t, http.StatusTeapot, harness.Get(t, envoy.URL("/")).Status, "the previous configuration still applies")
	}
	assert.Equal(t, pid, envoy.PID(), "the same Envoy throughout")
}

const (
	ecdsSecretEnv = "ECDS_GITHUB_SECRET"
	ecdsSecret    = "ecds-e2e-secret"
)

// postDelivery POSTs a GitHub delivery signed with ecdsSecret.
func postDelivery(t *testing.T, url, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, []byte(ecdsSecret))
	mac.Write([]byte(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return harness.Do(t, harness.Client(), req).Status
}

// State kept in shared data (webhookauth's replay cache, the breaker's
// circuits) outlives a configuration update of the same vm_id: the suite,
// as istiod would serve it to a gateway, is updated while a delivery is
// remembered and a circuit is open. The update also changes the VM's own
// configuration, so Envoy runs it in new VMs: what survives lives in
// shared data, not in a VM's memory.
func TestECDSUpdateKeepsSharedState(t *testing.T) {
	const name = "istio-system.steadfast-suite"
	suite := wasmExtension{
		name: name, rootID: "suite", module: module(t, "suite"),
		hostEnv: []string{ecdsSecretEnv}, allowStopIteration: true,
	}
	config := func(bodyTimeout string) string {
		return `{"webhookauth": {"scheme": "github", "secrets": [{"env": "` + ecdsSecretEnv + `"}], "body_timeout": "` + bodyTimeout + `",
		           "routes": [{"name": "unstable", "disabled": true}, {"name": "default", "disabled": true}]},
		  "breaker": {"key": "route", "trip": {"consecutive_failures": 3}, "open": {"base": "1m", "jitter": 0},
		           "routes": [{"name": "webhooks", "disabled": true}]}}`
	}
	cp := startControlPlane(t)
	suite.config = config("10s")
	v := cp.set(t, suite.typed(t))
	envoy := startECDSEnvoy(t, cp, name, map[string]string{ecdsSecretEnv: ecdsSecret})
	cp.waitAck(t, v)

	const delivery = `{"ref": "refs/heads/main", "n": 1}`
	require.Equal(t, http.StatusOK, postDelivery(t, envoy.URL("/hooks"), delivery))
	require.Equal(t, http.StatusUnauthorized, postDelivery(t, envoy.URL("/hooks"), delivery), "a replay")
	for range 3 {
		require.Equal(t, http.StatusServiceUnavailable, harness.Get(t, envoy.URL("/unstable?status=503")).Status)
	}
	// The breaker's own answer: the echo upstream would have said 200.
	open := harness.Get(t, envoy.URL("/unstable?status=200"))
	require.Equal(t, http.StatusServiceUnavailable, open.Status, "the circuit is open")
	require.NotEmpty(t, open.Header.Get("retry-after"))

	const vmsCreated = "wasm.envoy.wasm.runtime.v8.created"
	created := envoy.Stat(vmsCreated)
	suite.config = config("5s")
	suite.vmConfig = "generation 2"
	v = cp.set(t, suite.typed(t))
	cp.waitAck(t, v)
	require.Greater(t, envoy.Stat(vmsCreated), created, "the update runs in new VMs")

	for range 4 {
		assert.Equal(t, http.StatusUnauthorized, postDelivery(t, envoy.URL("/hooks"), delivery), "still a replay after the update")
		still := harness.Get(t, envoy.URL("/unstable?status=200"))
		assert.Equal(t, [2]any{open.Status, open.Body}, [2]any{still.Status, still.Body}, "the circuit is still open after the update")
		assert.NotEmpty(t, still.Header.Get("retry-after"))
	}
	assert.Equal(t, http.StatusOK, postDelivery(t, envoy.URL("/hooks"), `{"n": 2}`), "a new delivery passes")
}

// A plugin whose secret is missing does not start: Envoy rejects the
// configuration and, with none accepted before, answers every request 500,
// whatever the failure policy. For webhookauth that is failing closed; for
// faults (FAIL_OPEN, a missing fault-control token) it is the trap the
// README warns of.
func TestECDSMissingSecretRejectsTheConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, rootID, config string
		failOpen             bool
	}{
		{"webhookauth FAIL_CLOSED", "webhookauth", `{"scheme": "github", "secrets": [{"env": "` + ecdsSecretEnv + `"}]}`, false},
		{"faults FAIL_OPEN", "faults", `{"header_control": {"enabled": true, "token_env": "` + ecdsSecretEnv + `"}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "steadfast-" + tc.rootID
			cp := startControlPlane(t)
			v := cp.set(t, wasmExtension{
				name: name, rootID: tc.rootID, module: module(t, tc.rootID), config: tc.config,
				hostEnv: []string{ecdsSecretEnv}, allowStopIteration: true, failOpen: tc.failOpen,
			}.typed(t))
			envoy := startECDSEnvoy(t, cp, name, nil)
			detail := cp.waitNack(t, 1)
			cp.mu.Lock()
			t.Logf("requests from Envoy: %q (served version %s)", cp.events, v)
			cp.mu.Unlock()
			assert.Contains(t, detail, name)
			require.Eventually(t, func() bool { return strings.Contains(envoy.Log(), ecdsSecretEnv) }, 5*time.Second, 50*time.Millisecond,
				"the log names the variable")
			for range 3 {
				assert.Equal(t, http.StatusInternalServerError, postDelivery(t, envoy.URL("/hooks"), `{"n": 1}`))
			}
		})
	}
}
