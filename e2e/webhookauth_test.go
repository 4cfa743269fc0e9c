package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// The webhook secrets of the tests. They are in Envoy's own environment,
// and the filter names them in host_env_keys, as a production
// configuration does: only the names are in Envoy's configuration.
var (
	webhookEdKey   = ed25519.NewKeyFromSeed([]byte("steadfast-e2e-ed25519-seed-32byt"))
	webhookStdKey  = []byte("steadfast e2e standard webhooks!")
	webhookSecrets = map[string]string{
		"GITHUB_WEBHOOK_SECRET":       "gh-e2e-secret",
		"STRIPE_WEBHOOK_SECRET":       "whsec_stripe-e2e-secret",
		"STRIPE_WEBHOOK_SECRET_NEXT":  "whsec_stripe-e2e-secret-next",
		"SLACK_SIGNING_SECRET":        "slack-e2e-signing-secret",
		"SHOPIFY_WEBHOOK_SECRET":      "shopify-e2e-secret",
		"STANDARD_WEBHOOK_SECRET":     "whsec_" + base64.StdEncoding.EncodeToString(webhookStdKey),
		"STANDARD_WEBHOOK_PUBLIC_KEY": "whpk_" + base64.StdEncoding.EncodeToString(webhookEdKey.Public().(ed25519.PublicKey)),
		"TWILIO_AUTH_TOKEN":           "twilio-e2e-token",
		"PARTNER_SECRET":              "partner-e2e-secret",
	}
)

// webhookConfig verifies GitHub deliveries by default, another scheme on
// each named route, and nothing on "open".
const webhookConfig = `{
  "scheme": "github",
  "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}],
  "routes": [
    {"name": "stripe-rotation", "scheme": "stripe", "secrets": [{"env": "STRIPE_WEBHOOK_SECRET"}, {"env": "STRIPE_WEBHOOK_SECRET_NEXT"}]},
    {"name": "github-sha1", "github": {"allow_sha1": true}},
    {"name": "custom-marker", "verified_header": "x-hook-ok"},
    {"name": "stripe", "scheme": "stripe", "secrets": [{"env": "STRIPE_WEBHOOK_SECRET"}]},
    {"name": "slack", "scheme": "slack", "secrets": [{"env": "SLACK_SIGNING_SECRET"}]},
    {"name": "shopify", "scheme": "shopify", "secrets": [{"env": "SHOPIFY_WEBHOOK_SECRET"}]},
    {"name": "standard", "scheme": "standard", "secrets": [{"env": "STANDARD_WEBHOOK_SECRET"}]},
    {"name": "standard-ed25519", "scheme": "standard", "secrets": [], "public_keys": [{"env": "STANDARD_WEBHOOK_PUBLIC_KEY"}]},
    {"name": "twilio", "scheme": "twilio", "secrets": [{"env": "TWILIO_AUTH_TOKEN"}], "twilio": {"url": "https://hooks.example.com/twilio"}},
    {"name": "hmac", "scheme": "hmac", "secrets": [{"env": "PARTNER_SECRET"}],
     "hmac": {"header": "X-Partner-Signature", "prefix": "sha256=", "timestamp_header": "X-Partner-Timestamp", "template": "{timestamp}.{method}.{body}"}},
    {"name": "small", "max_body_bytes": 4096},
    {"name": "open", "disabled": true}
  ]
}`

const (
	webhookFilterName = "steadfast.webhookauth"
	webhookMarker     = "x-steadfast-webhook-verified"
	webhookRefused    = `{"error":"webhook verification failed"}`
)

// webhookWasm is the filter entry as a standalone Envoy needs it: the
// filter holds the request headers back until it has read the body, which
// Envoy allows only with allow_on_headers_stop_iteration (Envoy 1.35 and
// later).
func webhookWasm(t testing.TB, config string) harness.Wasm {
	t.Helper()
	return inForm(t, harness.Wasm{
		Name:                        webhookFilterName,
		RootID:                      "webhookauth",
		Module:                      harness.Module(t, "webhookauth"),
		Configuration:               config,
		AllowOnHeadersStopIteration: true,
	})
}

// webhookFilter is webhookWasm with env written into the configuration
// (key_values), where /config_dump shows it; webhookFilterWithHostSecrets
// is the way secrets should come.
func webhookFilter(t testing.TB, config string, env map[string]string) harness.HTTPFilter {
	t.Helper()
	w := webhookWasm(t, config)
	w.Env = env
	return w
}

// webhookFilterWithHostSecrets is webhookWasm reading every variable of
// webhookSecrets from Envoy's own environment (host_env_keys), which the
// Envoy must then have (Config.Env).
func webhookFilterWithHostSecrets(t testing.TB, config string) harness.HTTPFilter {
	t.Helper()
	w := webhookWasm(t, config)
	w.HostEnvKeys = slices.Sorted(maps.Keys(webhookSecrets))
	return w
}

// startWebhookEnvoy runs the filter in front of a recording upstream, with
// a route per scheme (the route name is the path's first segment).
func startWebhookEnvoy(t *testing.T) (*harness.Envoy, *harness.Upstream) {
	t.Helper()
	up := harness.NewUpstream(t, nil)
	var routes []harness.Route
	// Longer prefixes first: Envoy takes the first match.
	for _, name := range []string{"standard-ed25519", "stripe-rotation", "github-sha1", "custom-marker",
		"stripe", "slack", "shopify", "standard", "twilio", "hmac", "small", "open"} {
		routes = append(routes, harness.Route{Name: name, Prefix: "/" + name, Cluster: "app"})
	}
	routes = append(routes,
		harness.Route{Name: "envoy-disabled", Prefix: "/envoy-disabled", Cluster: "app", DisableFilters: []string{webhookFilterName}},
		harness.Route{Name: "github", Prefix: "/", Cluster: "app"})
	envoy := harness.Start(t, harness.Config{
		Clusters:  []harness.Cluster{up.Cluster("app")},
		WasmDebug: true,
		Env:       webhookSecrets,
		Listeners: []harness.Listener{{
			Routes:  routes,
			Filters: []harness.HTTPFilter{webhookFilterWithHostSecrets(t, webhookConfig)},
		}},
	})
	require.Equal(t, 2, envoy.Concurrency, "two workers, two VMs")
	return envoy, up
}

// webhookDelivery is a request as a provider sends it.
type webhookDelivery struct {
	path   string
	header http.Header
	body   []byte
}

var webhookTag atomic.Int64

// deliver POSTs d with a fresh connection, tagged so that its copy at the
// upstream can be found; it returns the answer and the tag.
func deliver(t *testing.T, c *http.Client, envoy *harness.Envoy, d webhookDelivery) (harness.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, envoy.URL(d.path), bytes.NewReader(d.body))
	require.NoError(t, err)
	req.Header = d.header.Clone()
	tag := strconv.FormatInt(webhookTag.Add(1), 10)
	req.Header.Set("x-e2e-tag", tag)
	return harness.Do(t, c, req), tag
}

// received returns what the upstream got of the tagged request, or nil.
func received(up *harness.Upstream, tag string) *harness.Request {
	for _, r := range up.Requests() {
		if r.Header.Get("x-e2e-tag") == tag {
			return &r
		}
	}
	return nil
}

func hmacOf(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func secret(name string) []byte { return []byte(webhookSecrets[name]) }

func unixString(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }

// webhookSigners sign a body for each route the way its provider does.
var webhookSigners = map[string]func(body []byte, at time.Time) webhookDelivery{
	"github": func(body []byte, _ time.Time) webhookDelivery {
		return webhookDelivery{path: "/hooks/github", body: body, header: http.Header{
			"X-Github-Event":      {"push"},
			"X-Github-Delivery":   {"72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(hmacOf(sha256.New, secret("GITHUB_WEBHOOK_SECRET"), body))},
		}}
	},
	"stripe": func(body []byte, at time.Time) webhookDelivery {
		ts := unixString(at)
		mac := hmacOf(sha256.New, secret("STRIPE_WEBHOOK_SECRET"), []byte(ts+"."), body)
		return webhookDelivery{path: "/stripe/events", body: body, header: http.Header{
			"Stripe-Signature": {"t=" + ts + ",v1=" + hex.EncodeToString(mac)},
		}}
	},
	"slack": func(body []byte, at time.Time) webhookDelivery {
		ts := unixString(at)
		mac := hmacOf(sha256.New, secret("SLACK_SIGNING_SECRET"), []byte("v0:"+ts+":"), body)
		return webhookDelivery{path: "/slack/commands", body: body, header: http.Header{
			"X-Slack-Request-Timestamp": {ts},
			"X-Slack-Signature":         {"v0=" + hex.EncodeToString(mac)},
		}}
	},
	"shopify": func(body []byte, _ time.Time) webhookDelivery {
		mac := hmacOf(sha256.New, secret("SHOPIFY_WEBHOOK_SECRET"), body)
		return webhookDelivery{path: "/shopify/orders", body: body, header: http.Header{
			"X-Shopify-Topic":       {"orders/create"},
			"X-Shopify-Hmac-Sha256": {base64.StdEncoding.EncodeToString(mac)},
		}}
	},
	"standard": func(body []byte, at time.Time) webhookDelivery {
		id, ts := "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", unixString(at)
		mac := hmacOf(sha256.New, webhookStdKey, []byte(id+"."+ts+"."), body)
		return webhookDelivery{path: "/standard/events", body: body, header: http.Header{
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {ts},
			"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(mac)},
		}}
	},
	"standard-ed25519": func(body []byte, at time.Time) webhookDelivery {
		id, ts := "msg_ed25519", unixString(at)
		sig := ed25519.Sign(webhookEdKey, append([]byte(id+"."+ts+"."), body...))
		return webhookDelivery{path: "/standard-ed25519/events", body: body, header: http.Header{
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {ts},
			"Webhook-Signature": {"v1a," + base64.StdEncoding.EncodeToString(sig)},
		}}
	},
	"twilio": func(body []byte, _ time.Time) webhookDelivery {
		sum := sha256.Sum256(body)
		query := "bodySHA256=" + hex.EncodeToString(sum[:])
		mac := hmacOf(sha1.New, secret("TWILIO_AUTH_TOKEN"), []byte("https://hooks.example.com/twilio?"+query))
		return webhookDelivery{path: "/twilio?" + query, body: body, header: http.Header{
			"Content-Type":       {"application/json"},
			"X-Twilio-Signature": {base64.StdEncoding.EncodeToString(mac)},
		}}
	},
	"hmac": func(body []byte, at time.Time) webhookDelivery {
		ts := unixString(at)
		mac := hmacOf(sha256.New, secret("PARTNER_SECRET"), []byte(ts+".POST."), body)
		return webhookDelivery{path: "/hmac/notify", body: body, header: http.Header{
			"X-Partner-Timestamp": {ts},
			"X-Partner-Signature": {"sha256=" + hex.EncodeToString(mac)},
		}}
	},
}

// webhookBody is a delivery body of about size bytes that holds every byte
// value, CR and LF included, so any rewriting on the way would show.
func webhookBody(size int, seed string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"seed":"` + seed + `","data":"`)
	for i := 0; b.Len() < size; i++ {
		b.WriteByte(byte(i * 31))
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

func webhookStat(route, scheme, outcome, reason string) string {
	return fmt.Sprintf("wasmcustom.steadfast_webhookauth_requests_total.route.%s.scheme.%s.outcome.%s.reason.%s", route, scheme, outcome, reason)
}

// prometheusSample returns the value of the sample of metric that has all
// the labels, in whatever order Envoy prints them, or "".
func prometheusSample(text, metric string, labels ...string) string {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, metric+"{")
		if !ok {
			continue
		}
		set, value, _ := strings.Cut(rest, "} ")
		if len(strings.Split(set, ",")) != len(labels) {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && slices.Contains(strings.Split(set, ","), l)
		}
		if all {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

func TestWebhookAuthEveryScheme(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)
	scheme := map[string]string{"standard-ed25519": "standard"}
	for _, route := range []string{"github", "stripe", "slack", "shopify", "standard", "standard-ed25519", "twilio", "hmac"} {
		sign := webhookSigners[route]
		want := scheme[route]
		if want == "" {
			want = route
		}
		t.Run(route, func(t *testing.T) {
			// 200 KiB: Envoy hands the body over in many chunks.
			body := webhookBody(200<<10, route)
			resp, tag := deliver(t, nil, envoy, sign(body, time.Now()))

			require.Equal(t, http.StatusOK, resp.Status, resp.Body)
			got := received(up, tag)
			require.NotNil(t, got, "the delivery reached the upstream")
			assert.True(t, bytes.Equal(body, got.Body), "the upstream got the body byte for byte (%d bytes, sent %d)", len(got.Body), len(body))
			assert.Equal(t, []string{want}, got.Header.Values(webhookMarker))

			tampered := bytes.Clone(body)
			tampered[len(tampered)/2] ^= 1
			d := sign(body, time.Now())
			d.body = tampered
			resp, tag = deliver(t, nil, envoy, d)

			assert.Equal(t, http.StatusUnauthorized, resp.Status)
			assert.Equal(t, webhookRefused, resp.Body)
			assert.Equal(t, "application/json", resp.Header.Get("content-type"))
			assert.Nil(t, received(up, tag), "a tampered delivery never reaches the upstream")

			stats := envoy.Stats()
			assert.Equal(t, uint64(1), stats[webhookStat(route, want, "accepted", "none")])
			assert.Equal(t, uint64(1), stats[webhookStat(route, want, "rejected", "mismatch")])
		})
	}
	assert.Equal(t, "1", prometheusSample(envoy.Prometheus(), "steadfast_webhookauth_requests_total",
		`route="stripe"`, `scheme="stripe"`, `outcome="rejected"`, `reason="mismatch"`))
	for name, value := range webhookSecrets {
		assert.NotContains(t, envoy.Log(), value, "%s shows in Envoy's log", name)
	}
}

// TestWebhookAuthReplayAcrossWorkers sends one signed delivery many times,
// at once, over new connections that both workers accept: the replay cache
// in shared data lets exactly one through.
func TestWebhookAuthReplayAcrossWorkers(t *testing.T) {
	const copies = 40
	envoy, up := startWebhookEnvoy(t)
	at := time.Now()
	body := webhookBody(2<<10, "replay")
	d := webhookSigners["stripe"](body, at)
	before := up.Count()

	outs := sendTogether(copies, func(int) outcome {
		return send(context.Background(), nil, envoy.URL(d.path), string(d.body), "stripe-signature", d.header.Get("stripe-signature"))
	})
	requireNoErrors(t, outs)

	statuses := map[int]int{}
	for _, o := range outs {
		statuses[o.Status]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusUnauthorized: copies - 1}, statuses)
	assert.Equal(t, before+1, up.Count())
	stats := envoy.Stats()
	assert.Equal(t, uint64(copies-1), stats[webhookStat("stripe", "stripe", "rejected", "replay")])
	for _, w := range workerConnections(t, stats) {
		assert.Positive(t, w, "every worker accepted connections: %v", workerConnections(t, stats))
	}

	// The provider's retry is signed afresh, with a new timestamp.
	redelivery := webhookSigners["stripe"](body, at.Add(time.Second))
	resp, tag := deliver(t, nil, envoy, redelivery)
	assert.Equal(t, http.StatusOK, resp.Status, resp.Body)
	require.NotNil(t, received(up, tag))
	assert.Equal(t, body, received(up, tag).Body)
}

func TestWebhookAuthTooLarge(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)
	body := webhookBody(5000, "large")
	d := webhookSigners["github"](body, time.Now())
	d.path = "/small/hook"

	t.Run("announced by content-length", func(t *testing.T) {
		resp, tag := deliver(t, nil, envoy, d)

		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.Status)
		assert.Equal(t, `{"error":"payload too large"}`, resp.Body)
		assert.Nil(t, received(up, tag))
	})
	t.Run("streamed without a length", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, envoy.URL(d.path), io.MultiReader(bytes.NewReader(body)))
		require.NoError(t, err)
		req.Header = d.header.Clone()
		req.Header.Set("x-e2e-tag", "streamed-large")
		require.Equal(t, int64(0), req.ContentLength, "sent chunked")

		resp := harness.Do(t, nil, req)

		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.Status)
		assert.Equal(t, `{"error":"payload too large"}`, resp.Body)
		assert.Nil(t, received(up, "streamed-large"))
	})
	assert.Equal(t, uint64(2), envoy.Stat(webhookStat("small", "github", "rejected", "too_large")))
}

func TestWebhookAuthMarkerCannotBeSpoofed(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)

	t.Run("verified: the filter's value only", func(t *testing.T) {
		d := webhookSigners["github"](webhookBody(100, "spoof-1"), time.Now())
		d.header["X-Steadfast-Webhook-Verified"] = []string{"stripe", "slack"}
		resp, tag := deliver(t, nil, envoy, d)

		require.Equal(t, http.StatusOK, resp.Status, resp.Body)
		assert.Equal(t, []string{"github"}, received(up, tag).Header.Values(webhookMarker))
	})
	t.Run("refused: the marker is no signature", func(t *testing.T) {
		resp, tag := deliver(t, nil, envoy, webhookDelivery{path: "/hooks/github", body: []byte(`{}`),
			header: http.Header{"X-Steadfast-Webhook-Verified": {"github"}}})

		assert.Equal(t, http.StatusUnauthorized, resp.Status)
		assert.Nil(t, received(up, tag))
	})
	t.Run("disabled by the routes list: every marker name removed, nothing verified", func(t *testing.T) {
		resp, tag := deliver(t, nil, envoy, webhookDelivery{path: "/open/health", body: []byte(`ok`),
			header: http.Header{"X-Steadfast-Webhook-Verified": {"github", "stripe"}, "X-Hook-Ok": {"github"}}})

		require.Equal(t, http.StatusOK, resp.Status)
		got := received(up, tag)
		require.NotNil(t, got)
		assert.Equal(t, "ok", string(got.Body))
		assert.Empty(t, got.Header.Values(webhookMarker))
		assert.Empty(t, got.Header.Values("x-hook-ok"), "the name another route uses")
	})
	t.Run("a route with its own marker: the default name removed too", func(t *testing.T) {
		d := webhookSigners["github"](webhookBody(100, "spoof-2"), time.Now())
		d.path = "/custom-marker/hook"
		d.header["X-Steadfast-Webhook-Verified"] = []string{"github"}
		d.header["X-Hook-Ok"] = []string{"stripe"}
		resp, tag := deliver(t, nil, envoy, d)

		require.Equal(t, http.StatusOK, resp.Status, resp.Body)
		got := received(up, tag)
		require.NotNil(t, got)
		assert.Equal(t, []string{"github"}, got.Header.Values("x-hook-ok"))
		assert.Empty(t, got.Header.Values(webhookMarker))
	})
	t.Run("disabled by Envoy: the filter does not run at all", func(t *testing.T) {
		resp, tag := deliver(t, nil, envoy, webhookDelivery{path: "/envoy-disabled/health", body: []byte(`ok`),
			header: http.Header{"X-Steadfast-Webhook-Verified": {"github"}}})

		require.Equal(t, http.StatusOK, resp.Status)
		got := received(up, tag)
		assert.Equal(t, "ok", string(got.Body))
		// FilterConfig{disabled: true} skips the filter, marker removal
		// included: applications that trust the marker on such a route
		// must not be reachable through it, or use the routes list.
		assert.Equal(t, []string{"github"}, got.Header.Values(webhookMarker))
	})
}

// TestWebhookAuthTrailers sends the body over HTTP/2 followed by trailers:
// the body callbacks never see its end, the trailers callback decides.
func TestWebhookAuthTrailers(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)
	body := webhookBody(64<<10, "trailers")
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"genuine", body, http.StatusOK},
		{"tampered", append(bytes.Clone(body), ' '), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := webhookSigners["github"](body, time.Now())
			d.header.Set("x-e2e-tag", "trailers-"+tc.name)
			req, err := http.NewRequest(http.MethodPost, envoy.URL(d.path), io.MultiReader(bytes.NewReader(tc.body)))
			require.NoError(t, err)
			req.Header = d.header
			req.ContentLength = -1
			req.Trailer = http.Header{"X-Delivery-Checksum": {"abc"}}

			resp := harness.Do(t, harness.H2CClient(), req)

			require.Equal(t, tc.status, resp.Status, resp.Body)
			assert.Equal(t, "HTTP/2.0", resp.Proto)
			got := received(up, "trailers-"+tc.name)
			if tc.status != http.StatusOK {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, body, got.Body)
			assert.Equal(t, []string{"github"}, got.Header.Values(webhookMarker))
		})
	}
}

func TestWebhookAuthMissingSecretIsRefusedByEnvoy(t *testing.T) {
	const unrelated = "unrelated-value-that-never-shows"
	up := harness.NewUpstream(t, nil)
	envoy, err := harness.TryStart(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{Filters: []harness.HTTPFilter{inForm(t, harness.Wasm{
			RootID:        "webhookauth",
			Module:        harness.Module(t, "webhookauth"),
			Configuration: `{"scheme": "stripe", "secrets": [{"env": "OTHER_SECRET"}, {"env": "STRIPE_WEBHOOK_SECRET"}]}`,
			Env:           map[string]string{"OTHER_SECRET": unrelated},
		})}}},
	})

	require.Error(t, err, "Envoy must refuse a configuration whose secret is missing")
	want := invalidConfig("webhookauth", `secrets[1].env: environment variable "STRIPE_WEBHOOK_SECRET" is not set or is empty`)
	assert.Contains(t, err.Error(), want)
	require.NotNil(t, envoy)
	assert.Contains(t, envoy.Log(), want)
	assert.NotContains(t, envoy.Log(), unrelated, "no secret value in Envoy's log")
	assert.NotContains(t, strings.ToLower(envoy.Log()), "panic")
}

// TestWebhookAuthSaysWhenEnvoyHoldsTheBodyBack runs the filter without
// allow_on_headers_stop_iteration: Envoy then never hands the body over.
// The request is not left hanging: body_timeout answers 408, and the log
// says which setting is missing.
func TestWebhookAuthSaysWhenEnvoyHoldsTheBodyBack(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Listeners: []harness.Listener{{Filters: []harness.HTTPFilter{inForm(t, harness.Wasm{
			RootID:        "webhookauth",
			Module:        harness.Module(t, "webhookauth"),
			Configuration: strings.Replace(webhookConfig, "{", `{"body_timeout": "1s",`, 1),
			Env:           webhookSecrets,
		})}}},
	})
	d := webhookSigners["github"]([]byte(`{"zen":"Half measures are as bad as nothing at all."}`), time.Now())
	req, err := http.NewRequest(http.MethodPost, envoy.URL(d.path), bytes.NewReader(d.body))
	require.NoError(t, err)
	req.Header = d.header

	start := time.Now()
	resp := harness.Do(t, harness.Client(), req)

	assert.Equal(t, http.StatusRequestTimeout, resp.Status)
	assert.Less(t, time.Since(start), 4*time.Second, "answered at body_timeout, not at Envoy's stream timeout")
	assert.Contains(t, envoy.Log(), "Envoy holds bodies back because the Wasm filter's plugin config lacks allow_on_headers_stop_iteration: true")
	assert.Zero(t, up.Count())
}

// TestWebhookAuthReplayWithAnotherSignature replays accepted deliveries
// with only one of the signatures they carried: the replay key is what the
// provider signed, so they are still replays.
func TestWebhookAuthReplayWithAnotherSignature(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)
	body := webhookBody(4<<10, "another-signature")
	ts := unixString(time.Now())
	stripeV1 := func(name string) string {
		return "v1=" + hex.EncodeToString(hmacOf(sha256.New, secret(name), []byte(ts+"."), body))
	}
	sha256Header := "sha256=" + hex.EncodeToString(hmacOf(sha256.New, secret("GITHUB_WEBHOOK_SECRET"), body))
	sha1Header := "sha1=" + hex.EncodeToString(hmacOf(sha1.New, secret("GITHUB_WEBHOOK_SECRET"), body))
	stripe := func(v1 ...string) http.Header {
		return http.Header{"Stripe-Signature": {"t=" + ts + "," + strings.Join(v1, ",")}}
	}
	current, next := stripeV1("STRIPE_WEBHOOK_SECRET"), stripeV1("STRIPE_WEBHOOK_SECRET_NEXT")
	steps := []struct {
		name, route string
		header      http.Header
		status      int
	}{
		{"rotation: signed with both secrets", "stripe-rotation", stripe(current, next), http.StatusOK},
		{"rotation: replayed with v1=B alone", "stripe-rotation", stripe(next), http.StatusUnauthorized},
		{"rotation: replayed with v1=A alone", "stripe-rotation", stripe(current), http.StatusUnauthorized},
		{"rotation: replayed with v1=B,v1=A", "stripe-rotation", stripe(next, current), http.StatusUnauthorized},
		{"allow_sha1: both GitHub headers", "github-sha1", http.Header{"X-Hub-Signature-256": {sha256Header}, "X-Hub-Signature": {sha1Header}}, http.StatusOK},
		{"allow_sha1: replayed without X-Hub-Signature-256", "github-sha1", http.Header{"X-Hub-Signature": {sha1Header}}, http.StatusUnauthorized},
	}
	for _, step := range steps {
		resp, tag := deliver(t, nil, envoy, webhookDelivery{path: "/" + step.route + "/events", header: step.header, body: body})

		require.Equal(t, step.status, resp.Status, "%s: %s", step.name, resp.Body)
		assert.Equal(t, step.status == http.StatusOK, received(up, tag) != nil, "%s: reached the upstream", step.name)
	}
	stats := envoy.Stats()
	assert.Equal(t, uint64(3), stats[webhookStat("stripe-rotation", "stripe", "rejected", "replay")])
	assert.Equal(t, uint64(1), stats[webhookStat("github-sha1", "github", "rejected", "replay")])
}

// TestWebhookAuthRefusesReplayKeysOnUnsignedHeaders: GitHub does not sign
// X-GitHub-Delivery, so a replay could change it; Envoy refuses the
// configuration and the log says why.
func TestWebhookAuthRefusesReplayKeysOnUnsignedHeaders(t *testing.T) {
	up := harness.NewUpstream(t, nil)
	envoy, err := harness.TryStart(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Env:      webhookSecrets,
		Listeners: []harness.Listener{{Filters: []harness.HTTPFilter{webhookFilterWithHostSecrets(t,
			`{"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}], "replay": {"key": "header:x-github-delivery"}}`)}}},
	})

	require.Error(t, err, "Envoy must refuse a replay key nobody signs")
	want := invalidConfig("webhookauth", `replay.key: "header:x-github-delivery": scheme "github" does not sign x-github-delivery`)
	assert.Contains(t, err.Error(), want)
	require.NotNil(t, envoy)
	assert.Contains(t, envoy.Log(), want)
}

// TestWebhookAuthRefusesDuplicatedSignedHeaders sends a signature header,
// or a signed timestamp, twice: the genuine copy first, which Envoy's own
// lookup of one header would return. The request is refused at its
// headers and nothing of it reaches the upstream.
func TestWebhookAuthRefusesDuplicatedSignedHeaders(t *testing.T) {
	envoy, up := startWebhookEnvoy(t)
	forged := func(d webhookDelivery) string {
		return "sha256=" + hex.EncodeToString(hmacOf(sha256.New, []byte("not the secret"), d.body))
	}
	genuine := func(d webhookDelivery) string { return d.header.Get("X-Hub-Signature-256") }
	tests := []struct {
		name, route, header string
		second              func(webhookDelivery) string
	}{
		{"two X-Hub-Signature-256, genuine first", "github", "X-Hub-Signature-256", forged},
		{"two X-Hub-Signature-256, both genuine", "github", "X-Hub-Signature-256", genuine},
		{"two X-Slack-Request-Timestamp", "slack", "X-Slack-Request-Timestamp", func(webhookDelivery) string { return unixString(time.Now()) }},
		{"two Webhook-Id", "standard", "Webhook-Id", func(webhookDelivery) string { return "msg_other" }},
	}
	before := up.Count()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := webhookSigners[tt.route](webhookBody(64<<10, tt.name), time.Now())
			d.header.Add(tt.header, tt.second(d))
			require.Len(t, d.header.Values(tt.header), 2)

			resp, tag := deliver(t, nil, envoy, d)

			assert.Equal(t, http.StatusUnauthorized, resp.Status)
			assert.Equal(t, webhookRefused, resp.Body)
			assert.Nil(t, received(up, tag))
		})
	}
	assert.Equal(t, before, up.Count(), "nothing reached the upstream")
	stats := envoy.Stats()
	assert.Equal(t, uint64(2), stats[webhookStat("github", "github", "rejected", "ambiguous")])
	assert.Equal(t, uint64(1), stats[webhookStat("slack", "slack", "rejected", "ambiguous")])
	assert.Equal(t, uint64(1), stats[webhookStat("standard", "standard", "rejected", "ambiguous")])

	// A genuine delivery refused so is not remembered: alone, it passes.
	d := webhookSigners["github"](webhookBody(64<<10, tests[0].name), time.Now())
	resp, tag := deliver(t, nil, envoy, d)
	assert.Equal(t, http.StatusOK, resp.Status, resp.Body)
	assert.NotNil(t, received(up, tag))
}

// TestWebhookAuthSecretsFromEnvoysEnvironment: a secret named in
// host_env_keys comes from Envoy's own environment (in Kubernetes, a
// Secret) and shows nowhere in Envoy's configuration, while one given in
// key_values is printed by /config_dump to anyone with the admin API.
func TestWebhookAuthSecretsFromEnvoysEnvironment(t *testing.T) {
	const (
		hostSecret   = "gh-host-env-secret-4f1d"
		inlineSecret = "gh-key-values-secret-9c2e"
		config       = `{"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}]}`
	)
	fromHost := webhookWasm(t, config)
	fromHost.HostEnvKeys = []string{"GITHUB_WEBHOOK_SECRET"}
	inline := webhookWasm(t, config)
	inline.Env = map[string]string{"GITHUB_WEBHOOK_SECRET": inlineSecret}
	inline.VMID = "steadfast-inline" // a VM of its own, with its own environment
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Env:      map[string]string{"GITHUB_WEBHOOK_SECRET": hostSecret},
		Listeners: []harness.Listener{
			{Name: "host", Filters: []harness.HTTPFilter{fromHost}},
			{Name: "inline", Filters: []harness.HTTPFilter{inline}},
		},
	})
	signed := func(secret, seed string) webhookDelivery {
		body := webhookBody(1<<10, seed)
		return webhookDelivery{path: "/hooks", body: body, header: http.Header{
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(hmacOf(sha256.New, []byte(secret), body))},
		}}
	}
	post := func(listener string, d webhookDelivery) int {
		req, err := http.NewRequest(http.MethodPost, envoy.ListenerURL(listener, d.path), bytes.NewReader(d.body))
		require.NoError(t, err)
		req.Header = d.header
		return harness.Do(t, nil, req).Status
	}

	assert.Equal(t, http.StatusOK, post("host", signed(hostSecret, "host-1")), "the secret from Envoy's environment verifies")
	assert.Equal(t, http.StatusUnauthorized, post("host", signed(inlineSecret, "host-2")))
	assert.Equal(t, http.StatusOK, post("inline", signed(inlineSecret, "inline-1")))

	dump := envoy.Admin("/config_dump")
	assert.Contains(t, dump, `"host_env_keys"`)
	assert.NotContains(t, dump, hostSecret, "a host_env_keys secret is not in the config dump")
	assert.Contains(t, dump, inlineSecret, "a key_values secret is, which is why the README says host_env_keys")
	assert.NotContains(t, envoy.Log(), hostSecret)
}

// TestWebhookAuthMemoryAfterLargeDeliveries sends bursts of 1 MiB and of
// 16 MiB deliveries and reads how large each Wasm VM's linear memory grew.
// The body is hashed as it passes, at most maxRead bytes of it in the VM
// at once, so a worker's memory does not follow the body size: copying
// whole bodies in, it reached 20 MiB after the 16 MiB burst, and it never
// shrinks.
func TestWebhookAuthMemoryAfterLargeDeliveries(t *testing.T) {
	const bound = 12 << 20
	up := harness.NewUpstream(t, nil)
	envoy := harness.Start(t, harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app")},
		Env:      webhookSecrets,
		Listeners: []harness.Listener{{
			BufferLimitBytes: 64 << 20,
			Filters: []harness.HTTPFilter{webhookFilterWithHostSecrets(t,
				`{"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}], "max_body_bytes": 67108864}`)},
		}},
	})
	largest := func() uint64 { return slices.Max(envoy.WasmMemory()) }
	require.Len(t, envoy.WasmMemory(), 2+envoy.Concurrency, "a VM per worker, plus the base and main thread's")
	t.Logf("Wasm linear memory before: largest %.2f MiB of %v", float64(largest())/(1<<20), envoy.WasmMemory())
	for _, burst := range []struct{ mib, together, rounds int }{{1, 16, 4}, {16, 4, 2}} {
		for round := range burst.rounds {
			outs := sendTogether(burst.together, func(i int) outcome {
				d := webhookSigners["github"](webhookBody(burst.mib<<20-2, fmt.Sprint("memory-", burst.mib, "-", round, "-", i)), time.Now())
				return send(context.Background(), nil, envoy.URL(d.path), string(d.body), "x-hub-signature-256", d.header.Get("x-hub-signature-256"))
			})
			requireNoErrors(t, outs)
			for _, o := range outs {
				require.Equal(t, http.StatusOK, o.Status, o.Body)
			}
		}
		t.Logf("after %d × %d MiB deliveries: largest %.2f MiB of %v; Envoy RSS %d MiB",
			burst.together*burst.rounds, burst.mib, float64(largest())/(1<<20), envoy.WasmMemory(), envoy.RSS()>>20)
		assert.LessOrEqual(t, largest(), uint64(bound), "after %d MiB deliveries", burst.mib)
	}
}
