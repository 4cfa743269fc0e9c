package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// oneSuite is the one-pass chain of every filter (root_id "suite"),
// configured by sections.
func oneSuite(t *testing.T, config string, env map[string]string) harness.Wasm {
	return harness.Wasm{
		Name:                        "steadfast.suite",
		RootID:                      "suite",
		Module:                      harness.Module(t, "suite"),
		Configuration:               config,
		Env:                         env,
		AllowOnHeadersStopIteration: true,
	}
}

const suiteSecret = "suite-e2e-github-secret"

// suitePost sends a POST of body to url, signed as a GitHub delivery with
// secret when secret is not "".
func suitePost(t *testing.T, url string, body []byte, secret string, headers ...string) harness.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return harness.Do(t, nil, req)
}

// One plugin runs both filters in one pass, each on the routes its own
// section gives it: deliveries are verified and never faulted, the API is
// faulted and never asked for a signature.
func TestSuiteRunsEachFilterOnItsRoutes(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{
			Routes: []harness.Route{
				{Name: "hooks", Prefix: "/hooks", Cluster: "app"},
				{Name: "api", Cluster: "app"},
			},
			Filters: []harness.HTTPFilter{oneSuite(t, `{
				"webhookauth": {"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}],
					"routes": [{"name": "api", "disabled": true}]},
				"faults": {"abort": {"percentage": 100, "http_status": 418},
					"routes": [{"name": "hooks", "disabled": true}]}
			}`, map[string]string{"GITHUB_WEBHOOK_SECRET": suiteSecret})},
		}},
	})

	assert.Equal(t, 418, harness.Get(t, envoy.URL("/items")).Status, "faulted")
	assert.Equal(t, 418, suitePost(t, envoy.URL("/items"), []byte("x"), "").Status, "no signature asked for on the API")
	assert.Zero(t, up.Count())

	resp := suitePost(t, envoy.URL("/hooks"), []byte(`{"zen":"one pass"}`), suiteSecret)
	assert.Equal(t, http.StatusOK, resp.Status, "verified, never faulted")
	assert.Equal(t, "github", up.Last().Header.Get("x-steadfast-webhook-verified"))
	assert.Equal(t, 401, suitePost(t, envoy.URL("/hooks"), []byte(`{"zen":"forged"}`), "wrong secret").Status)
	assert.Equal(t, 1, up.Count())

	assert.Equal(t, map[string]uint64{"faulted": 2, "verified": 1, "faults on hooks": 0}, map[string]uint64{
		"faulted":         envoy.Stat("wasmcustom.steadfast_faults_aborts_injected_total.route.api.kind.request"),
		"verified":        envoy.Stat("wasmcustom.steadfast_webhookauth_requests_total.route.hooks.scheme.github.outcome.accepted.reason.none"),
		"faults on hooks": envoy.Stat("wasmcustom.steadfast_faults_requests_total.route.hooks"),
	})
}

// In an Istio sidecar's inbound listener every route is named "default":
// rules tell requests apart by host and path instead.
func TestRulesMatchByHostAndPathOnARouteNamedDefault(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{
			Routes: []harness.Route{{Name: "default", Cluster: "app"}},
			Filters: []harness.HTTPFilter{oneSuite(t, `{"faults": {
				"routes": [
					{"match": {"paths": ["/healthz"]}, "disabled": true},
					{"name": "default", "match": {"hosts": ["payments.*"], "methods": ["POST"]},
					 "abort": {"percentage": 100, "http_status": 503}}
				]}}`, nil)},
		}},
	})

	send := func(method, host, path string) int {
		req, err := http.NewRequest(method, envoy.URL(path), nil)
		require.NoError(t, err)
		req.Host = host
		return harness.Do(t, nil, req).Status
	}
	assert.Equal(t, 503, send(http.MethodPost, "payments.internal:8080", "/pay"))
	assert.Equal(t, 200, send(http.MethodGet, "payments.internal", "/pay"), "GET is not matched")
	assert.Equal(t, 200, send(http.MethodPost, "orders.internal", "/pay"), "another host")
	assert.Equal(t, 200, send(http.MethodPost, "payments.internal", "/healthz"), "the first entry disables it on health checks")
	assert.Equal(t, 3, up.Count())
}

// A request held by a delay stays held through its body callbacks, with
// Envoy's allow_on_headers_stop_iteration on (as webhookauth needs) and off,
// and reaches the upstream whole.
func TestADelayHoldsAPostWithABodyForItsFullDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	for _, allow := range []bool{true, false} {
		t.Run(map[bool]string{true: "allow_on_headers_stop_iteration", false: "default"}[allow], func(t *testing.T) {
			up := harness.NewUpstream(t, nil)
			filter := oneSuite(t, `{"faults": {"delay": {"percentage": 100, "fixed": "300ms"}}}`, nil)
			filter.AllowOnHeadersStopIteration = allow
			envoy := harness.Start(t, harness.Config{
				Clusters:  []harness.Cluster{up.Cluster("app")},
				Listeners: []harness.Listener{{Routes: []harness.Route{{Name: "api", Cluster: "app"}}, Filters: []harness.HTTPFilter{filter}}},
			})
			for range 3 {
				start := time.Now()
				resp := suitePost(t, envoy.URL("/upload"), body, "")
				took := time.Since(start)
				require.Equal(t, http.StatusOK, resp.Status)
				assert.GreaterOrEqual(t, took, delay, "held for the whole delay")
				assert.Equal(t, body, up.Last().Body, "the body arrives whole")
			}
		})
	}
}
