//go:build !wasm

package webhookauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
)

// wasmEpoch is when the Wasm half's clock starts: wazero's default wall
// clock reads midnight UTC 2022-01-01 and moves a millisecond per reading.
// The native half's clock stands there too, so one signed delivery is
// fresh in both halves.
var (
	wasmEpoch   = time.Unix(1640995200, 0)
	wasmEpochTS = "1640995200"
)

// testClock is the native half's time: it moves only when a test says so.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// testFilter runs the Go filter with a controlled clock, environment and
// shared store (nil: the host's) in the native half; the Wasm half runs
// build/webhookauth.wasm as Envoy would. Both drive the SDK's host
// emulator, which builds for the host only: hence !wasm above, so that the
// package still vets under GOOS=wasip1.
func testFilter(c *testClock, env map[string]string, store pipeline.SharedStore) plugintest.Filter {
	return plugintest.Filter{
		RootID:  RootID,
		Module:  "webhookauth.wasm",
		Filters: []pipeline.Filter{Filter},
		Env: func(e *pipeline.Env) {
			e.Now = c.now
			e.LookupEnv = lookupIn(env)
			if store != nil {
				e.Shared = store
			}
		},
	}
}

func newClock() *testClock { return &testClock{t: wasmEpoch} }

func routeName(name string) plugintest.Property {
	return plugintest.Property{Path: []string{"xds", "route_name"}, Value: name}
}

// Configurations of the tests. Secrets are inline: environment variables
// reach a module only through Envoy's vm_config, which the emulator lacks.
const (
	githubSecret = "It's a Secret to Everybody"
	githubConfig = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}]}`
	stripeConfig = `{"scheme": "stripe", "secrets": [{"value": "sk-test"}], "tolerance": "1h"}`
)

// signedGitHub is a GitHub delivery of body: pseudo-headers, the headers
// GitHub sends, and the signature.
func signedGitHub(body string) [][2]string {
	return [][2]string{
		{":method", "POST"}, {":path", "/hooks/github"}, {":authority", "app.example"},
		{"content-type", "application/json"}, {"content-length", strconv.Itoa(len(body))},
		{"x-github-event", "push"},
		{"x-hub-signature-256", "sha256=" + hexOf(mac(sha256.New, githubSecret, body))},
	}
}

// headersOf turns a signed test request into the emulator's header list:
// the pseudo-headers of a POST to /hooks, unless the request has its own,
// then its headers in name order.
func headersOf(r request) [][2]string {
	out := [][2]string{{":method", "POST"}, {":path", "/hooks"}, {":authority", "app.example"}}
	for i, kv := range out {
		if v, ok := r.headers[kv[0]]; ok {
			out[i][1] = v
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.headers)) {
		if !strings.HasPrefix(name, ":") {
			out = append(out, [2]string{name, r.headers[name]})
		}
	}
	return out
}

func with(headers [][2]string, name, value string) [][2]string {
	return append(slices.Clone(headers), [2]string{name, value})
}

func replaced(headers [][2]string, name, value string) [][2]string {
	out := slices.Clone(headers)
	for i := range out {
		if out[i][0] == name {
			out[i][1] = value
		}
	}
	return out
}

// send runs one request through the filter: headers, then the body in
// chunks of chunk bytes (0: one chunk). It returns the stream id and the
// action of the last callback.
func send(h *plugintest.Host, headers [][2]string, body string, chunk int) (uint32, types.Action) {
	id := h.InitializeHttpContext()
	action := h.CallOnRequestHeaders(id, headers, body == "")
	if body == "" || h.GetSentLocalResponse(id) != nil {
		return id, action
	}
	if chunk <= 0 {
		chunk = len(body)
	}
	for start := 0; start < len(body); start += chunk {
		end := min(start+chunk, len(body))
		action = h.CallOnRequestBody(id, []byte(body[start:end]), end == len(body))
		if h.GetSentLocalResponse(id) != nil {
			break
		}
	}
	return id, action
}

var refusedReply = &proxytest.LocalHttpResponse{
	StatusCode: 401,
	Data:       []byte(`{"error":"webhook verification failed"}`),
	Headers:    [][2]string{{"content-type", "application/json"}},
	GRPCStatus: -1,
}

var tooLargeReply = &proxytest.LocalHttpResponse{
	StatusCode: 413,
	Data:       []byte(`{"error":"payload too large"}`),
	Headers:    [][2]string{{"content-type", "application/json"}},
	GRPCStatus: -1,
}

var unavailableReply = &proxytest.LocalHttpResponse{
	StatusCode: 503,
	Data:       []byte(`{"error":"webhook verification unavailable"}`),
	Headers:    [][2]string{{"content-type", "application/json"}},
	GRPCStatus: -1,
}

func counter(t *testing.T, h *plugintest.Host, route, scheme, outcome, reason string) uint64 {
	t.Helper()
	name := fmt.Sprintf("steadfast_webhookauth_requests_total.route.%s.scheme.%s.outcome.%s.reason.%s", route, scheme, outcome, reason)
	v, err := h.GetCounterMetric(name)
	require.NoError(t, err, name)
	return v
}

func TestAcceptedDeliveryPassesUnchanged(t *testing.T) {
	c := newClock()
	body := strings.Repeat(`{"ref":"refs/heads/main","commits":[]}`, 300) // 11 KiB
	headers := signedGitHub(body)
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, githubConfig, routeName("hooks"))
		id := h.InitializeHttpContext()

		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, headers, false), "headers wait for the body")
		chunks := 0
		for start := 0; start+100 < len(body); start += 100 {
			require.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body[start:start+100]), false))
			chunks++
		}
		assert.Equal(t, types.ActionContinue, h.CallOnRequestBody(id, []byte(body[chunks*100:]), true))

		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, body, string(h.GetCurrentRequestBody(id)), "the body goes upstream as it came")
		assert.Equal(t, with(headers, "x-steadfast-webhook-verified", "github"), h.GetCurrentRequestHeaders(id))
		h.CompleteHttpContext(id)
		assert.Equal(t, uint64(1), counter(t, h, "hooks", "github", "accepted", "none"))
	})
}

func TestRefusedDeliveriesGetNoDetail(t *testing.T) {
	c := newClock()
	const body = `{"id":"evt_1","type":"invoice.paid"}`
	stripe := func(secret, ts, body string) [][2]string {
		return headersOf(newRequest(body, "stripe-signature", stripeHeader(secret, ts, body)))
	}
	staleTS := strconv.FormatInt(wasmEpoch.Add(-2*time.Hour).Unix(), 10)
	tests := []struct {
		name    string
		headers [][2]string
		body    string
		reason  string
	}{
		{"tampered body", stripe("sk-test", wasmEpochTS, body), strings.Replace(body, "paid", "void", 1), "mismatch"},
		{"wrong secret", stripe("sk-other", wasmEpochTS, body), body, "mismatch"},
		{"stale timestamp", stripe("sk-test", staleTS, body), body, "stale"},
		{"no signature header", headersOf(newRequest(body, "content-type", "application/json")), body, "missing_header"},
		{"unparsable signature", headersOf(newRequest(body, "stripe-signature", "v1=zz")), body, "malformed"},
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, stripeConfig, routeName("stripe"))
		for _, tt := range tests {
			id, action := send(h, tt.headers, tt.body, 7)
			assert.Equal(t, types.ActionPause, action, tt.name)
			assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), tt.name)
			h.CompleteHttpContext(id)
		}
		got := map[string]uint64{}
		for _, reason := range []string{"mismatch", "stale", "missing_header", "malformed"} {
			got[reason] = counter(t, h, "stripe", "stripe", "rejected", reason)
		}
		assert.Equal(t, map[string]uint64{"mismatch": 2, "stale": 1, "missing_header": 1, "malformed": 1}, got)
	})
}

// TestEverySchemeThroughTheGlue checks that the glue hands each scheme
// what it reads: pseudo-headers, ids, timestamps and the whole body.
func TestEverySchemeThroughTheGlue(t *testing.T) {
	c := newClock()
	const body = `{"event":"created","data":{"n":1}}`
	twilioPath := "/twilio?bodySHA256=" + hexOf(sha256Of(body))
	tests := []struct {
		scheme, config string
		req            request
	}{
		{"stripe", stripeConfig, newRequest(body, "stripe-signature", stripeHeader("sk-test", wasmEpochTS, body))},
		{"slack", `{"scheme": "slack", "secrets": [{"value": "sl"}], "tolerance": "1h"}`, slackRequest("sl", wasmEpochTS, body)},
		{"shopify", `{"scheme": "shopify", "secrets": [{"value": "sh"}]}`,
			newRequest(body, "x-shopify-hmac-sha256", b64(mac(sha256.New, "sh", body)))},
		{"standard", `{"scheme": "standard", "secrets": [{"value": "` + whsec + `"}], "tolerance": "1h"}`,
			standardRequest("msg_1", wasmEpochTS, body)},
		{"standard", `{"scheme": "standard", "public_keys": [{"value": "` + edPub + `"}], "tolerance": "1h"}`,
			standardRequest("msg_2", wasmEpochTS, body).withHeader("webhook-signature", ed25519Signature("msg_2", wasmEpochTS, body))},
		{"twilio", `{"scheme": "twilio", "secrets": [{"value": "tw"}], "twilio": {"url": "https://app.example/twilio"}}`,
			newRequest(body, ":path", twilioPath, "content-type", "application/json",
				"x-twilio-signature", b64(mac(sha1.New, "tw", "https://app.example"+twilioPath)))},
		{"hmac", `{"scheme": "hmac", "secrets": [{"value": "hm"}], "tolerance": "1h", "hmac": {"header": "x-sig", "timestamp_header": "x-ts", "template": "{timestamp}.{method}.{path}.{body}"}}`,
			newRequest(body, "x-ts", wasmEpochTS, "x-sig", hexOf(mac(sha256.New, "hm", wasmEpochTS, ".POST./hooks.", body)))},
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		for i, tt := range tests {
			t.Run(fmt.Sprintf("%d-%s", i, tt.scheme), func(t *testing.T) {
				h := plugintest.Start(t, testFilter(c, nil, nil), mode, tt.config)
				id, action := send(h, headersOf(tt.req), body, 5)
				require.Nil(t, h.GetSentLocalResponse(id))
				assert.Equal(t, types.ActionContinue, action)
				assert.Contains(t, h.GetCurrentRequestHeaders(id), [2]string{"x-steadfast-webhook-verified", tt.scheme})
			})
		}
	})
}

func TestSpoofedMarkerNeverReachesTheApp(t *testing.T) {
	c := newClock()
	// Each request is a new delivery: an accepted one would be a replay
	// on the next route.
	body := func(n int) string { return fmt.Sprintf(`{"zen":"Keep it logically awesome.","n":%d}`, n) }
	const config = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}],
		"routes": [{"name": "open", "disabled": true}, {"name": "custom", "verified_header": "x-hook-ok"},
		{"name": "quiet", "verified_header": ""}]}`
	// Every marker name the configuration mentions, the default one too.
	spoofed := func(headers [][2]string) [][2]string {
		return with(with(headers, "x-steadfast-webhook-verified", "github"), "x-hook-ok", "github")
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config)
		request := func(route string, headers [][2]string, body string) (uint32, [][2]string) {
			require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(route)))
			id, _ := send(h, headers, body, 0)
			return id, h.GetCurrentRequestHeaders(id)
		}

		_, got := request("hooks", spoofed(signedGitHub(body(1))), body(1))
		assert.Equal(t, with(signedGitHub(body(1)), "x-steadfast-webhook-verified", "github"), got, "the filter's own value replaces the client's")

		forged := replaced(signedGitHub(body(2)), "x-hub-signature-256", "sha256="+strings.Repeat("0", 64))
		id, _ := request("hooks", spoofed(forged), body(2))
		assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "a claimed marker does not replace a signature")

		_, got = request("open", spoofed(signedGitHub(body(3))), body(3))
		assert.Equal(t, signedGitHub(body(3)), got, "removed on a disabled route, whichever route's name it is")

		_, got = request("custom", spoofed(signedGitHub(body(4))), body(4))
		assert.Equal(t, with(signedGitHub(body(4)), "x-hook-ok", "github"), got, "the default name is removed where a route has its own")

		_, got = request("quiet", spoofed(signedGitHub(body(5))), body(5))
		assert.Equal(t, signedGitHub(body(5)), got, "removed where no marker is added")
	})
}

// TestDuplicatedSignedHeadersAreRefused: a request carrying a signature
// header, or a signed timestamp, twice is answered at its headers, before
// any body, and nothing of it goes on.
func TestDuplicatedSignedHeadersAreRefused(t *testing.T) {
	c := newClock()
	const body = `{"id":"evt_2","type":"invoice.paid"}`
	genuine := signedGitHub(body)
	slack := headersOf(slackRequest("sl", wasmEpochTS, body))
	tests := []struct {
		name    string
		route   string
		headers [][2]string
	}{
		{"two X-Hub-Signature-256, genuine first", "hooks",
			with(genuine, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, githubSecret, "{}")))},
		{"two X-Hub-Signature-256, genuine last", "hooks",
			append([][2]string{{"x-hub-signature-256", "sha256=" + hexOf(mac(sha256.New, githubSecret, "{}"))}}, genuine...)},
		{"the same signature twice", "hooks", with(genuine, "x-hub-signature-256", genuine[len(genuine)-1][1])},
		{"two signed timestamps", "slack", with(slack, "x-slack-request-timestamp", wasmEpochTS)},
	}
	const config = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}],
		"routes": [{"name": "slack", "scheme": "slack", "secrets": [{"value": "sl"}], "tolerance": "1h"}]}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config)
		for _, tt := range tests {
			require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(tt.route)))
			id := h.InitializeHttpContext()
			assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, tt.headers, false), tt.name)
			assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "%s: answered before the body", tt.name)
			assert.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body), true), tt.name)
			h.CompleteHttpContext(id)
		}
		assert.Equal(t, uint64(3), counter(t, h, "hooks", "github", "rejected", "ambiguous"))
		assert.Equal(t, uint64(1), counter(t, h, "slack", "slack", "rejected", "ambiguous"))
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "no body timeout armed")
	})
}

// TestHeadersDecideBeforeTheBody: what the headers alone condemn is
// answered at once, without waiting for (and holding) the body.
func TestHeadersDecideBeforeTheBody(t *testing.T) {
	c := newClock()
	const body = `{"id":"evt_3"}`
	staleTS := strconv.FormatInt(wasmEpoch.Add(-2*time.Hour).Unix(), 10)
	tests := []struct {
		name    string
		headers [][2]string
		reason  string
	}{
		{"stale", headersOf(stripeRequest("sk-test", staleTS, body)), "stale"},
		{"malformed", headersOf(newRequest(body, "stripe-signature", "t="+wasmEpochTS+",v1=zz")), "malformed"},
		{"no signature", headersOf(newRequest(body, "content-type", "application/json")), "missing_header"},
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, stripeConfig, routeName("stripe"))
		for _, tt := range tests {
			id := h.InitializeHttpContext()
			assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, tt.headers, false), tt.name)
			assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), tt.name)
			h.CompleteHttpContext(id)
			assert.Equal(t, uint64(1), counter(t, h, "stripe", "stripe", "rejected", tt.reason), tt.name)
		}
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "no body timeout armed")
	})
}

func TestStripSignatureHeaders(t *testing.T) {
	c := newClock()
	const body = `{"action":"opened"}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode,
			`{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "strip_signature_headers": true, "verified_header": ""}`)
		id, action := send(h, signedGitHub(body), body, 0)
		assert.Equal(t, types.ActionContinue, action)
		want := slices.DeleteFunc(signedGitHub(body), func(kv [2]string) bool { return kv[0] == "x-hub-signature-256" })
		assert.Equal(t, want, h.GetCurrentRequestHeaders(id))
	})
}

func TestTooLarge(t *testing.T) {
	c := newClock()
	body := strings.Repeat("x", 1000)
	const config = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "max_body_bytes": 999}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config, routeName("hooks"))

		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, signedGitHub(body), false))
		assert.Equal(t, tooLargeReply, h.GetSentLocalResponse(id), "content-length says so before any body")
		h.CompleteHttpContext(id)

		chunked := slices.DeleteFunc(signedGitHub(body), func(kv [2]string) bool { return kv[0] == "content-length" })
		id = h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, chunked, false))
		require.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body[:600]), false))
		require.Nil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body[600:]), false))
		assert.Equal(t, tooLargeReply, h.GetSentLocalResponse(id), "the buffered body passed the limit before its end")
		assert.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte("more"), true), "nothing goes on after the reply")
		h.CompleteHttpContext(id)

		assert.Equal(t, uint64(2), counter(t, h, "hooks", "github", "rejected", "too_large"))
	})
}

func TestReplayIsRefusedAcrossStreams(t *testing.T) {
	c := newClock()
	const body = `{"ref":"refs/heads/main"}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, stripeConfig, routeName("stripe"))
		delivery := headersOf(newRequest(body, "stripe-signature", stripeHeader("sk-test", wasmEpochTS, body)))
		replies := func(headers [][2]string) []uint32 {
			var out []uint32
			for range 3 {
				id, _ := send(h, headers, body, 0)
				status := uint32(200)
				if r := h.GetSentLocalResponse(id); r != nil {
					status = r.StatusCode
				}
				out = append(out, status)
				h.CompleteHttpContext(id)
			}
			return out
		}

		assert.Equal(t, []uint32{200, 401, 401}, replies(delivery), "one acceptance, then replays")
		later := strconv.FormatInt(wasmEpoch.Unix()+60, 10)
		redelivery := headersOf(newRequest(body, "stripe-signature", stripeHeader("sk-test", later, body)))
		assert.Equal(t, []uint32{200, 401, 401}, replies(redelivery), "a redelivery is signed afresh and passes once")

		assert.Equal(t, uint64(2), counter(t, h, "stripe", "stripe", "accepted", "none"))
		assert.Equal(t, uint64(4), counter(t, h, "stripe", "stripe", "rejected", "replay"))
	})
}

// TestReplayWhateverSignatureMatches replays deliveries with another of
// their signatures: the replay cache still knows them.
func TestReplayWhateverSignatureMatches(t *testing.T) {
	c := newClock()
	const body = `{"id":"evt_rot"}`
	both := stripeHeader("sk-old", wasmEpochTS, body) + ",v1=" + hexOf(mac(sha256.New, "sk-new", wasmEpochTS, ".", body))
	sha256Header := "sha256=" + hexOf(mac(sha256.New, githubSecret, body))
	sha1Header := "sha1=" + hexOf(mac(sha1.New, githubSecret, body))
	const config = `{"scheme": "stripe", "secrets": [{"value": "sk-old"}, {"value": "sk-new"}], "tolerance": "1h",
		"routes": [{"name": "github", "scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "github": {"allow_sha1": true}}]}`
	tests := []struct {
		name          string
		route         string
		first, replay [][2]string
	}{
		{"rotation: both signatures, then the new one alone", "stripe",
			headersOf(newRequest(body, "stripe-signature", both)), headersOf(stripeRequest("sk-new", wasmEpochTS, body))},
		{"github: both headers, then X-Hub-Signature alone", "github",
			headersOf(newRequest(body, "x-hub-signature-256", sha256Header, "x-hub-signature", sha1Header)),
			headersOf(newRequest(body, "x-hub-signature", sha1Header))},
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config)
		for _, tt := range tests {
			require.NoError(t, h.SetProperty([]string{"xds", "route_name"}, []byte(tt.route)))
			id, action := send(h, tt.first, body, 0)
			require.Equal(t, types.ActionContinue, action, tt.name)
			h.CompleteHttpContext(id)

			id, _ = send(h, tt.replay, body, 0)
			assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), tt.name)
			h.CompleteHttpContext(id)
		}
		assert.Equal(t, uint64(1), counter(t, h, "stripe", "stripe", "rejected", "replay"))
		assert.Equal(t, uint64(1), counter(t, h, "github", "github", "rejected", "replay"))
	})
}

func TestReplayProtectionOff(t *testing.T) {
	c := newClock()
	const body = `{"ping":true}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode,
			`{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "replay": {"enabled": false}}`)
		for range 3 {
			id, action := send(h, signedGitHub(body), body, 0)
			assert.Equal(t, types.ActionContinue, action)
			assert.Nil(t, h.GetSentLocalResponse(id))
		}
	})
}

// contendedStore is shared data that every other VM keeps changing.
type contendedStore struct{ gets, sets int }

func (s *contendedStore) Get(string) ([]byte, uint32, error) { s.gets++; return nil, 7, nil }
func (s *contendedStore) Set(string, []byte, uint32) error {
	s.sets++
	return types.ErrorStatusCasMismatch
}

// TestReplayCacheUnavailableFailsClosed: a store the filter cannot update
// refuses the delivery with 503 rather than let a possible replay through.
// The store is injected, so this runs natively only.
func TestReplayCacheUnavailableFailsClosed(t *testing.T) {
	c := newClock()
	const body = `{"ping":true}`
	store := &contendedStore{}
	h := plugintest.Start(t, testFilter(c, nil, store), plugintest.Native, githubConfig, routeName("hooks"))
	store.gets, store.sets = 0, 0

	id, action := send(h, signedGitHub(body), body, 0)

	assert.Equal(t, types.ActionPause, action)
	assert.Equal(t, unavailableReply, h.GetSentLocalResponse(id))
	assert.Equal(t, pipeline.DefaultCASAttempts, store.sets, "the compare-and-swap loop is bounded")
	assert.Equal(t, uint64(1), counter(t, h, "hooks", "github", "rejected", "replay_check_unavailable"))
}

func TestTrailersEndTheBody(t *testing.T) {
	c := newClock()
	const body = `{"action":"completed"}`
	headers := slices.DeleteFunc(signedGitHub(body), func(kv [2]string) bool { return kv[0] == "content-length" })
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, githubConfig)
		id := h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, headers, false))
		require.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body[:10]), false))
		require.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body[10:]), false))

		assert.Equal(t, types.ActionContinue, h.CallOnRequestTrailers(id, [][2]string{{"x-checksum", "abc"}}))
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Contains(t, h.GetCurrentRequestHeaders(id), [2]string{"x-steadfast-webhook-verified", "github"})

		id = h.InitializeHttpContext()
		require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, headers, false))
		require.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte("{}"), false))
		assert.Equal(t, types.ActionPause, h.CallOnRequestTrailers(id, nil))
		assert.Equal(t, refusedReply, h.GetSentLocalResponse(id))
	})
}

func TestHeaderOnlyRequestIsVerifiedAtOnce(t *testing.T) {
	c := newClock()
	get := [][2]string{{":method", "GET"}, {":path", "/hooks/github"}, {":authority", "app.example"}}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, githubConfig, routeName("hooks"))

		id, action := send(h, get, "", 0)
		assert.Equal(t, types.ActionPause, action)
		assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "no signature, no entry")

		signed := with(get, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, githubSecret, "")))
		id, action = send(h, signed, "", 0)
		assert.Equal(t, types.ActionContinue, action)
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, uint64(1), counter(t, h, "hooks", "github", "rejected", "missing_header"))
	})
}

func TestDisabledRoutePassesUntouched(t *testing.T) {
	c := newClock()
	const config = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}],
		"routes": [{"name": "health*", "disabled": true}]}`
	req := [][2]string{{":method", "POST"}, {":path", "/healthz"}, {"content-length", "2"}}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config, routeName("healthz"))
		id := h.InitializeHttpContext()
		assert.Equal(t, types.ActionContinue, h.CallOnRequestHeaders(id, req, false))
		assert.Equal(t, types.ActionContinue, h.CallOnRequestBody(id, []byte("ok"), true))
		assert.Nil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, req, h.GetCurrentRequestHeaders(id))
		assert.Equal(t, "ok", string(h.GetCurrentRequestBody(id)))
	})
}

// TestBodyNeverArrivingIsExplained is what an Envoy without
// allow_on_headers_stop_iteration does: streams held back in their headers
// get no body. They end at body_timeout with 408, and the first says why,
// once, naming the other possible cause too: a client that stalled.
func TestBodyNeverArrivingIsExplained(t *testing.T) {
	c := newClock()
	const body = `{"ping":1}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode,
			`{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "body_timeout": "100ms"}`,
			routeName("hooks"))
		for range 2 {
			id := h.InitializeHttpContext()
			require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, signedGitHub(body), false))
			for i := 0; i < 5000 && h.GetSentLocalResponse(id) == nil; i++ {
				c.t = c.t.Add(10 * time.Millisecond)
				h.Tick()
			}
			reply := h.GetSentLocalResponse(id)
			require.NotNil(t, reply, "answered at body_timeout")
			assert.Equal(t, uint32(408), reply.StatusCode)
			h.CompleteHttpContext(id)
		}
		logs := h.GetWarnLogs()
		require.Len(t, logs, 1)
		assert.Contains(t, logs[0], `steadfast webhookauth: route "hooks": no body arrived within body_timeout`)
		assert.Contains(t, logs[0], "either the client stalled, or Envoy holds bodies back")
		assert.Contains(t, logs[0], "allow_on_headers_stop_iteration: true")
		assert.Empty(t, h.GetCriticalLogs())
		assert.Equal(t, uint64(2), counter(t, h, "hooks", "github", "rejected", "body_timeout"))
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "no timer left behind")
	})
}

// TestClientLeavingBeforeItsBodyIsNotExplained: a client that announces a
// body and closes proves nothing about Envoy's settings, even as the first
// request a worker sees.
func TestClientLeavingBeforeItsBodyIsNotExplained(t *testing.T) {
	c := newClock()
	const body = `{"ping":3}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, githubConfig, routeName("hooks"))
		for range 3 {
			id := h.InitializeHttpContext()
			require.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, signedGitHub(body), false))
			h.CompleteHttpContext(id)
		}

		assert.Empty(t, h.GetWarnLogs())
		assert.Empty(t, h.GetCriticalLogs())
		assert.Equal(t, uint32(0), h.GetTickPeriod(), "the body timeouts are dropped")
	})
}

func TestBodyArrivingProvesThePauseWorks(t *testing.T) {
	c := newClock()
	const body = `{"ping":2}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode,
			`{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "body_timeout": "100ms"}`)
		id, _ := send(h, signedGitHub(body), body, 0)
		h.CompleteHttpContext(id)

		id = h.InitializeHttpContext()
		h.CallOnRequestHeaders(id, signedGitHub(body), false) // a client that stalls before its body
		for i := 0; i < 100 && h.GetSentLocalResponse(id) == nil; i++ {
			c.t = c.t.Add(10 * time.Millisecond)
			h.Tick()
		}
		require.NotNil(t, h.GetSentLocalResponse(id))
		assert.Equal(t, uint32(408), h.GetSentLocalResponse(id).StatusCode)

		assert.Empty(t, h.GetWarnLogs(), "a body reached this worker before: the client stalled")
		assert.Empty(t, h.GetCriticalLogs())
	})
}

// TestNoTimerNoPause: when the body timeout cannot be armed, nothing would
// end a request whose body never comes, so it is answered at once. The
// emulator always arms timers: this runs natively only.
func TestNoTimerNoPause(t *testing.T) {
	c := newClock()
	const body = `{"ping":4}`
	f := testFilter(c, nil, nil)
	setup := f.Env
	f.Env = func(e *pipeline.Env) {
		setup(e)
		e.SetTickPeriod = func(uint32) error { return types.ErrorStatusBadArgument }
	}
	h := plugintest.Start(t, f, plugintest.Native, githubConfig, routeName("hooks"))

	id := h.InitializeHttpContext()
	assert.Equal(t, types.ActionPause, h.CallOnRequestHeaders(id, signedGitHub(body), false))

	assert.Equal(t, unavailableReply, h.GetSentLocalResponse(id))
	assert.Equal(t, uint64(1), counter(t, h, "hooks", "github", "rejected", "timer_unavailable"))
	assert.Equal(t, types.ActionPause, h.CallOnRequestBody(id, []byte(body), true), "nothing goes on after the reply")

	get := [][2]string{{":method", "GET"}, {":path", "/hooks"}, {"x-hub-signature-256", "sha256=" + hexOf(mac(sha256.New, githubSecret, ""))}}
	id, action := send(h, get, "", 0)
	assert.Equal(t, types.ActionContinue, action, "a request without a body needs no timer")
	assert.Nil(t, h.GetSentLocalResponse(id))
}

func TestEnvironmentSecrets(t *testing.T) {
	c := newClock()
	const body = `{"hook_id":1}`
	env := map[string]string{"GITHUB_WEBHOOK_SECRET": githubSecret}
	// The Wasm half of this runs in e2e, where Envoy passes the variable.
	h := plugintest.Start(t, testFilter(c, env, nil), plugintest.Native,
		`{"scheme": "github", "secrets": [{"env": "GITHUB_WEBHOOK_SECRET"}]}`)
	id, action := send(h, signedGitHub(body), body, 0)
	assert.Equal(t, types.ActionContinue, action)
	assert.Nil(t, h.GetSentLocalResponse(id))
}

func TestBadConfigFailsPluginStartNamingTheField(t *testing.T) {
	c := newClock()
	tests := []struct {
		config string
		want   string
	}{
		{`{"scheme": "gitlab", "secrets": [{"value": "s"}]}`, `scheme: "gitlab" is not a scheme`},
		{`{"scheme": "github", "secrets": [{"env": "NOT_SET_ANYWHERE"}]}`, `secrets[0].env: environment variable "NOT_SET_ANYWHERE" is not set`},
		{`{"scheme": "github", "secrets": [{"value": "s"}], "routes": [{"name": "b", "secrets": [{"env": "NOT_SET_EITHER"}]}]}`,
			`routes["b"].secrets[0].env`},
		{`{"scheme": "github", "secrets": [{"value": "inline-secret-value"}], "max_body_bytes": -1}`, "max_body_bytes"},
		{`{"scheme": "github", "secrets": [{"value": "inline-secret-value"}], "replay": {"cache_size": 5}}`, "replay.cache_size"},
		{`{"scheme": "github", "secret": "x"}`, "secret: unknown field"},
	}
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		for _, tt := range tests {
			logs := plugintest.StartFails(t, testFilter(c, nil, nil), mode, tt.config)
			require.Len(t, logs, 1, tt.config)
			assert.Contains(t, logs[0], plugintest.InvalidConfig(mode, RootID, tt.want))
			assert.NotContains(t, logs[0], "inline-secret-value")
		}
	})
}

// uniqueDeliveries signs bodies of size bytes that differ in their last 16
// bytes, cheaply: the HMAC state after the common prefix is cloned.
type uniqueDeliveries struct {
	body    []byte
	prefix  hash.Hash
	headers [][2]string
	n       uint64
}

func newUniqueDeliveries(size int) *uniqueDeliveries {
	u := &uniqueDeliveries{body: []byte(strings.Repeat("w", size))}
	u.prefix = hmac.New(sha256.New, []byte(githubSecret))
	u.prefix.Write(u.body[:size-16])
	u.headers = signedGitHub(string(u.body))
	return u
}

// next returns the headers of the next delivery; u.body is its body.
func (u *uniqueDeliveries) next() [][2]string {
	u.n++
	copy(u.body[len(u.body)-16:], fmt.Sprintf("%016x", u.n))
	m, err := u.prefix.(hash.Cloner).Clone()
	if err != nil {
		panic(err)
	}
	m.Write(u.body[len(u.body)-16:])
	u.headers[len(u.headers)-1][1] = "sha256=" + hexOf(m.Sum(nil))
	return u.headers
}

// BenchmarkRequestPath is an accepted GitHub delivery with replay
// protection on, the body in 16 KiB chunks as Envoy hands it over.
func BenchmarkRequestPath(b *testing.B) { benchmarkRequestPath(b, githubConfig) }

// BenchmarkRequestPathWithoutReplay is BenchmarkRequestPath with replay
// protection off: no replay key is hashed and no shard updated.
func BenchmarkRequestPathWithoutReplay(b *testing.B) {
	benchmarkRequestPath(b, `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "replay": {"enabled": false}}`)
}

func benchmarkRequestPath(b *testing.B, config string) {
	c := newClock()
	const chunk = 16 << 10
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		for _, mode := range []plugintest.Mode{plugintest.Native, plugintest.Wasm} {
			b.Run(size.name+"/"+string(mode), func(b *testing.B) {
				h := plugintest.Start(b, testFilter(c, nil, nil), mode, config)
				u := newUniqueDeliveries(size.bytes)
				b.SetBytes(int64(size.bytes))
				b.ReportAllocs()
				for b.Loop() {
					id := h.InitializeHttpContext()
					h.CallOnRequestHeaders(id, u.next(), false)
					var action types.Action
					for start := 0; start < size.bytes; start += chunk {
						end := min(start+chunk, size.bytes)
						action = h.CallOnRequestBody(id, u.body[start:end], end == size.bytes)
					}
					if action != types.ActionContinue {
						b.Fatalf("delivery %d refused: %+v", u.n, h.GetSentLocalResponse(id))
					}
					h.CompleteHttpContext(id)
				}
			})
		}
	}
}
