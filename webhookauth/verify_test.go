package webhookauth

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Slack's documented example request (a slash command).
const slackDocBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

// TestVerifyKnownAnswers checks the examples the providers publish.
func TestVerifyKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		config string
		env    map[string]string
		given  request
		now    time.Time
		want   Verdict
	}{
		{
			name:   "github documentation example",
			config: `{"scheme": "github", "secrets": [{"env": "GH"}]}`,
			env:    map[string]string{"GH": "It's a Secret to Everybody"},
			given: newRequest("Hello, World!",
				"x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
			now:  unix(1_700_000_000),
			want: Verdict{Expires: unix(1_700_000_000).Add(DefaultReplayWindow)},
		},
		{
			name:   "slack documentation example",
			config: `{"scheme": "slack", "secrets": [{"env": "SLACK"}]}`,
			env:    map[string]string{"SLACK": "8f742231b10e8888abcd99yyyzzz85a5"},
			given: newRequest(slackDocBody,
				"x-slack-request-timestamp", "1531420618",
				"x-slack-signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
			now:  unix(1531420618 + 30),
			want: Verdict{Expires: unix(1531420618).Add(DefaultTolerance)},
		},
		{
			name:   "standard webhooks specification test vector",
			config: `{"scheme": "standard", "secrets": [{"env": "WH"}]}`,
			env:    map[string]string{"WH": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			given: newRequest(`{"test": 2432232314}`,
				"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"webhook-timestamp", "1614265330",
				"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
			now:  unix(1614265330),
			want: Verdict{Expires: unix(1614265330).Add(DefaultTolerance)},
		},
		{
			name:   "twilio documentation example, form parameters",
			config: `{"scheme": "twilio", "secrets": [{"env": "TW"}]}`,
			env:    map[string]string{"TW": "12345"},
			given: newRequest("To=%2B18005551212&Digits=1234&From=%2B12349013030&CallSid=CA1234567890ABCDE&Caller=%2B12349013030",
				":method", "POST", ":scheme", "https", ":authority", "mycompany.com", ":path", "/myapp.php?foo=1&bar=2",
				"content-type", "application/x-www-form-urlencoded",
				"x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
			now:  unix(1_700_000_000),
			want: Verdict{Expires: unix(1_700_000_000).Add(DefaultReplayWindow)},
		},
		{
			name:   "twilio library test vector, form parameters, signed without the port Envoy sees",
			config: `{"scheme": "twilio", "secrets": [{"env": "TW"}]}`,
			env:    map[string]string{"TW": "12345"},
			given: newRequest("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212",
				":method", "POST", ":scheme", "https", ":authority", "mycompany.com:443", ":path", "/myapp.php?foo=1&bar=2",
				"content-type", "application/x-www-form-urlencoded; charset=utf-8",
				"x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
			now:  unix(1_700_000_000),
			want: Verdict{Expires: unix(1_700_000_000).Add(DefaultReplayWindow)},
		},
		{
			name:   "twilio library test vector, JSON body with bodySHA256",
			config: `{"scheme": "twilio", "secrets": [{"env": "TW"}], "twilio": {"url": "https://mycompany.com/myapp.php"}}`,
			env:    map[string]string{"TW": "12345"},
			given: newRequest(`{"property": "value", "boolean": true}`,
				":method", "POST", ":scheme", "http", ":authority", "10.0.0.7:8080",
				":path", "/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
				"content-type", "application/json",
				"x-twilio-signature", "a9nBmqA0ju/hNViExpshrM61xv4="),
			now:  unix(1_700_000_000),
			want: Verdict{Expires: unix(1_700_000_000).Add(DefaultReplayWindow)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConfig(t, tt.config, tt.env)
			got := c.Verify(tt.given.delivery(), tt.now)
			assert.Equal(t, tt.want, withoutKey(got))
			assert.NotZero(t, got.ReplayKey)
		})
	}
}

// Fixtures of the behaviour tests: a fixed clock and deliveries signed by
// the test's own signer.
var (
	now   = unix(1_700_000_000)
	nowTS = "1700000000"

	edSeed = []byte("0123456789abcdef0123456789abcdef")
	edKey  = ed25519.NewKeyFromSeed(edSeed)
	edPub  = "whpk_" + b64(edKey.Public().(ed25519.PublicKey))

	// The Standard Webhooks test secret and its decoded key.
	whsec    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	whsecKey = mustB64("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
)

func mustB64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func stripeHeader(secret, ts, body string) string {
	return "t=" + ts + ",v1=" + hexOf(mac(sha256.New, secret, ts, ".", body))
}

func stripeRequest(secret, ts, body string) request {
	return newRequest(body, "stripe-signature", stripeHeader(secret, ts, body))
}

func slackRequest(secret, ts, body string) request {
	return newRequest(body,
		"x-slack-request-timestamp", ts,
		"x-slack-signature", "v0="+hexOf(mac(sha256.New, secret, "v0:", ts, ":", body)))
}

func standardRequest(id, ts, body string) request {
	return newRequest(body, "webhook-id", id, "webhook-timestamp", ts,
		"webhook-signature", "v1,"+b64(mac(sha256.New, whsecKey, id, ".", ts, ".", body)))
}

func ed25519Signature(id, ts, body string) string {
	return "v1a," + b64(ed25519.Sign(edKey, []byte(id+"."+ts+"."+body)))
}

func TestVerify(t *testing.T) {
	const (
		stripeConfig   = `{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B"}]}`
		githubConfig   = `{"scheme": "github", "secrets": [{"env": "A"}]}`
		githubSHA1     = `{"scheme": "github", "secrets": [{"env": "A"}], "github": {"allow_sha1": true}}`
		slackConfig    = `{"scheme": "slack", "secrets": [{"env": "A"}], "tolerance": "1m"}`
		shopifyConfig  = `{"scheme": "shopify", "secrets": [{"env": "A"}], "replay": {"window": "1h"}}`
		standardConfig = `{"scheme": "standard", "secrets": [{"env": "W"}], "public_keys": [{"env": "P"}]}`
		twilioConfig   = `{"scheme": "twilio", "secrets": [{"env": "A"}]}`
		hmacConfig     = `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {
			"header": "X-Signature", "prefix": "sha512=", "algorithm": "sha512", "encoding": "base64",
			"timestamp_header": "x-timestamp", "id_header": "x-id",
			"template": "{id}:{timestamp}:{method}:{path}:{body}"}}`
		hmacBodyOnly = `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig"}}`
		body         = `{"id":"evt_1","type":"ping"}`
	)
	env := map[string]string{"A": "secret-a", "B": "secret-b", "W": whsec, "P": edPub}
	later := now.Add(DefaultReplayWindow)
	stripeOK := Verdict{Expires: now.Add(DefaultTolerance)}
	stripe := stripeRequest("secret-a", nowTS, body)
	github := newRequest(body, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "secret-a", body)))
	githubSHA1Only := newRequest(body, "x-hub-signature", "sha1="+hexOf(mac(sha1.New, "secret-a", body)))
	slack := slackRequest("secret-a", nowTS, body)
	shopify := newRequest(body, "x-shopify-hmac-sha256", b64(mac(sha256.New, "secret-a", body)))
	standard := standardRequest("msg_1", nowTS, body)
	twilioJSONPath := "/hooks/twilio?bodySHA256=" + hexOf(sha256Of(body))
	twilioJSON := newRequest(body, ":scheme", "http", ":authority", "hooks.example.com", ":path", twilioJSONPath,
		"x-forwarded-proto", "https", "content-type", "application/json",
		"x-twilio-signature", b64(mac(sha1.New, "secret-a", "https://hooks.example.com"+twilioJSONPath)))
	hmacReq := newRequest(body, ":method", "POST", ":path", "/in?x=1", "x-id", "42", "x-timestamp", nowTS,
		"x-signature", "sha512="+b64(mac(sha512.New, "secret-a", "42:", nowTS, ":POST:/in?x=1:", body)))

	tests := []struct {
		name   string
		config string
		given  request
		at     time.Time
		want   Verdict
	}{
		{"stripe: valid", stripeConfig, stripe, now, stripeOK},
		{"stripe: second configured secret (rotation)", stripeConfig, stripeRequest("secret-b", nowTS, body), now, stripeOK},
		{"stripe: several v1, one matches", stripeConfig, stripe.withHeader("stripe-signature",
			"t="+nowTS+",v1="+strings.Repeat("ab", 32)+",v0=ignored,"+strings.TrimPrefix(stripe.headers["stripe-signature"], "t="+nowTS+",")), now, stripeOK},
		{"stripe: upper-case hex, which Stripe's Node, Python and Ruby libraries refuse", stripeConfig,
			stripe.withHeader("stripe-signature", "t="+nowTS+",v1="+strings.ToUpper(hexOf(mac(sha256.New, "secret-a", nowTS, ".", body)))), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: spaces around entries, which Stripe's libraries do not trim", stripeConfig,
			stripe.withHeader("stripe-signature", strings.ReplaceAll(stripe.headers["stripe-signature"], ",", " , ")), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: header sent twice, genuine first", stripeConfig, stripe.withCopy("stripe-signature", stripeHeader("secret-c", nowTS, body)), now, Verdict{Reason: ReasonAmbiguous}},
		{"stripe: header sent twice, the same both times", stripeConfig, stripe.withCopy("stripe-signature", stripe.headers["stripe-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"stripe: a second, empty header", stripeConfig, stripe.withCopy("stripe-signature", ""), now, Verdict{Reason: ReasonAmbiguous}},
		{"stripe: unknown secret", stripeConfig, stripeRequest("secret-c", nowTS, body), now, Verdict{Reason: ReasonMismatch}},
		{"stripe: tampered body", stripeConfig, stripe.withBody([]byte(body + " ")), now, Verdict{Reason: ReasonMismatch}},
		{"stripe: exactly tolerance old", stripeConfig, stripe, now.Add(DefaultTolerance), stripeOK},
		{"stripe: older than tolerance", stripeConfig, stripe, now.Add(DefaultTolerance + time.Second), Verdict{Reason: ReasonStale}},
		{"stripe: further in the future than tolerance", stripeConfig, stripe, now.Add(-DefaultTolerance - time.Second), Verdict{Reason: ReasonStale}},
		{"stripe: no header", stripeConfig, stripe.without("stripe-signature"), now, Verdict{Reason: ReasonMissingHeader}},
		{"stripe: empty header", stripeConfig, stripe.withHeader("stripe-signature", ""), now, Verdict{Reason: ReasonMissingHeader}},
		{"stripe: no t", stripeConfig, stripe.withHeader("stripe-signature", "v1="+strings.Repeat("ab", 32)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: two t", stripeConfig, stripe.withHeader("stripe-signature", "t=1,"+stripe.headers["stripe-signature"]), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: non-numeric t", stripeConfig, stripe.withHeader("stripe-signature", "t=-1,v1="+strings.Repeat("ab", 32)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: no v1", stripeConfig, stripe.withHeader("stripe-signature", "t="+nowTS+",v0="+strings.Repeat("ab", 32)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: bad hex", stripeConfig, stripe.withHeader("stripe-signature", "t="+nowTS+",v1="+strings.Repeat("zz", 32)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: short signature", stripeConfig, stripe.withHeader("stripe-signature", "t="+nowTS+",v1=abcd"), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: 17 signatures", stripeConfig, stripe.withHeader("stripe-signature", stripe.headers["stripe-signature"]+strings.Repeat(",v1="+strings.Repeat("ab", 32), 16)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: entry without =", stripeConfig, stripe.withHeader("stripe-signature", stripe.headers["stripe-signature"]+",junk"), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: header over 8 KiB", stripeConfig, stripe.withHeader("stripe-signature", stripe.headers["stripe-signature"]+",x="+strings.Repeat("a", MaxHeaderBytes)), now, Verdict{Reason: ReasonMalformed}},
		{"stripe: body over max_body_bytes", stripeConfig, stripe.withBody(make([]byte, DefaultMaxBodyBytes+1)), now, Verdict{Reason: ReasonTooLarge}},

		{"github: valid", githubConfig, github, now, Verdict{Expires: later}},
		{"github: tampered body", githubConfig, github.withBody([]byte("{}")), now, Verdict{Reason: ReasonMismatch}},
		{"github: sha1 refused unless allowed", githubConfig, githubSHA1Only, now, Verdict{Reason: ReasonMissingHeader}},
		{"github: sha1 when allowed", githubSHA1, githubSHA1Only, now, Verdict{Expires: later}},
		{"github: a bad sha256 is not rescued by a good sha1", githubSHA1,
			githubSHA1Only.withHeader("x-hub-signature-256", "sha256="+strings.Repeat("00", 32)), now, Verdict{Reason: ReasonMismatch}},
		{"github: sha1 value in the sha256 header", githubSHA1, github.withHeader("x-hub-signature-256", githubSHA1Only.headers["x-hub-signature"]), now, Verdict{Reason: ReasonMalformed}},
		{"github: no prefix", githubConfig, github.withHeader("x-hub-signature-256", strings.TrimPrefix(github.headers["x-hub-signature-256"], "sha256=")), now, Verdict{Reason: ReasonMalformed}},
		{"github: upper-case hex, which GitHub's documented check refuses", githubConfig,
			github.withHeader("x-hub-signature-256", "sha256="+strings.ToUpper(hexOf(mac(sha256.New, "secret-a", body)))), now, Verdict{Reason: ReasonMalformed}},
		{"github: upper-case prefix", githubConfig, github.withHeader("x-hub-signature-256", strings.Replace(github.headers["x-hub-signature-256"], "sha256", "SHA256", 1)), now, Verdict{Reason: ReasonMalformed}},
		{"github: two signature headers, genuine first", githubConfig,
			github.withCopy("x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "secret-a", "{}"))), now, Verdict{Reason: ReasonAmbiguous}},
		{"github: two sha1 headers, with allow_sha1", githubSHA1, githubSHA1Only.withCopy("x-hub-signature", githubSHA1Only.headers["x-hub-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"github: two sha1 headers beside a sha256 one, with allow_sha1", githubSHA1,
			github.withHeader("x-hub-signature", githubSHA1Only.headers["x-hub-signature"]).withCopy("x-hub-signature", "sha1=00"), now, Verdict{Reason: ReasonAmbiguous}},

		{"slack: valid", slackConfig, slack, now, Verdict{Expires: now.Add(time.Minute)}},
		{"slack: stale under a 1m tolerance", slackConfig, slack, now.Add(61 * time.Second), Verdict{Reason: ReasonStale}},
		{"slack: no timestamp", slackConfig, slack.without("x-slack-request-timestamp"), now, Verdict{Reason: ReasonMissingHeader}},
		{"slack: signed timestamp with a plus sign", slackConfig, slackRequest("secret-a", "+"+nowTS, body), now, Verdict{Reason: ReasonMalformed}},
		{"slack: timestamp in milliseconds", slackConfig, slackRequest("secret-a", nowTS+"000", body), now, Verdict{Reason: ReasonStale}},
		{"slack: upper-case hex, which Slack's libraries refuse", slackConfig,
			slack.withHeader("x-slack-signature", strings.ToUpper(slack.headers["x-slack-signature"][:3])+strings.ToUpper(slack.headers["x-slack-signature"][3:])), now, Verdict{Reason: ReasonMalformed}},
		{"slack: upper-case hex after v0=", slackConfig,
			slack.withHeader("x-slack-signature", "v0="+strings.ToUpper(strings.TrimPrefix(slack.headers["x-slack-signature"], "v0="))), now, Verdict{Reason: ReasonMalformed}},
		{"slack: two timestamps", slackConfig, slack.withCopy("x-slack-request-timestamp", nowTS), now, Verdict{Reason: ReasonAmbiguous}},
		{"slack: two signatures", slackConfig, slack.withCopy("x-slack-signature", slack.headers["x-slack-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"slack: wrong version", slackConfig, slack.withHeader("x-slack-signature", "v1="+strings.TrimPrefix(slack.headers["x-slack-signature"], "v0=")), now, Verdict{Reason: ReasonMalformed}},

		{"shopify: valid, remembered for replay.window", shopifyConfig, shopify, now, Verdict{Expires: now.Add(time.Hour)}},
		{"shopify: hex instead of base64", shopifyConfig, shopify.withHeader("x-shopify-hmac-sha256", hexOf(mac(sha256.New, "secret-a", body))), now, Verdict{Reason: ReasonMalformed}},
		{"shopify: two signatures", shopifyConfig, shopify.withCopy("x-shopify-hmac-sha256", shopify.headers["x-shopify-hmac-sha256"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"shopify: non-canonical base64", shopifyConfig, shopify.withHeader("x-shopify-hmac-sha256", nonCanonical(shopify.headers["x-shopify-hmac-sha256"])), now, Verdict{Reason: ReasonMalformed}},

		{"standard: valid", standardConfig, standard, now, stripeOK},
		{"standard: one of several signatures", standardConfig, standard.withHeader("webhook-signature",
			"v2,abc v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=  "+standard.headers["webhook-signature"]), now, stripeOK},
		{"standard: svix headers", standardConfig, newRequest(body, "svix-id", "msg_1", "svix-timestamp", nowTS,
			"svix-signature", standard.headers["webhook-signature"]), now, stripeOK},
		{"standard: ed25519 v1a", standardConfig, standard.withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, body)), now, stripeOK},
		{"standard: ed25519 over another id", standardConfig, standard.withHeader("webhook-signature", ed25519Signature("msg_2", nowTS, body)), now, Verdict{Reason: ReasonMismatch}},
		{"standard: other id", standardConfig, standard.withHeader("webhook-id", "msg_2"), now, Verdict{Reason: ReasonMismatch}},
		{"standard: no id", standardConfig, standard.without("webhook-id"), now, Verdict{Reason: ReasonMissingHeader}},
		{"standard: no signature header of either family", standardConfig, standard.without("webhook-signature"), now, Verdict{Reason: ReasonMissingHeader}},
		{"standard: only unknown versions", standardConfig, standard.withHeader("webhook-signature", "v2,abc"), now, Verdict{Reason: ReasonMalformed}},
		{"standard: entry without comma", standardConfig, standard.withHeader("webhook-signature", standard.headers["webhook-signature"]+" v1"), now, Verdict{Reason: ReasonMalformed}},
		{"standard: 17 signatures", standardConfig, standard.withHeader("webhook-signature", strings.Repeat("v9,x ", 16)+standard.headers["webhook-signature"]), now, Verdict{Reason: ReasonMalformed}},
		{"standard: stale", standardConfig, standard, now.Add(-time.Hour), Verdict{Reason: ReasonStale}},
		{"standard: two ids", standardConfig, standard.withCopy("webhook-id", "msg_2"), now, Verdict{Reason: ReasonAmbiguous}},
		{"standard: two timestamps", standardConfig, standard.withCopy("webhook-timestamp", nowTS), now, Verdict{Reason: ReasonAmbiguous}},
		{"standard: two signature headers", standardConfig, standard.withCopy("webhook-signature", standard.headers["webhook-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"standard: two svix signature headers beside a standard one", standardConfig,
			standard.withHeader("svix-signature", "v1,x").withCopy("svix-signature", "v1,y"), now, Verdict{Reason: ReasonAmbiguous}},
		{"standard: v1a only, without public keys", `{"scheme": "standard", "secrets": [{"env": "W"}]}`,
			standard.withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, body)), now, Verdict{Reason: ReasonMismatch}},

		{"twilio: JSON body, URL rebuilt from x-forwarded-proto", twilioConfig, twilioJSON, now, Verdict{Expires: later}},
		{"twilio: a configured URL replaces the scheme, authority and path seen", `{"scheme": "twilio", "secrets": [{"env": "A"}],
			"twilio": {"url": "https://hooks.example.com/hooks/twilio"}}`,
			twilioJSON.withHeader(":authority", "internal:8080").withHeader(":path", "/rewritten"+strings.TrimPrefix(twilioJSONPath, "/hooks/twilio")), now, Verdict{Expires: later}},
		{"twilio: JSON body not matching bodySHA256", twilioConfig, twilioJSON.withBody([]byte(body + "\n")), now, Verdict{Reason: ReasonMismatch}},
		{"twilio: URL rebuilt with the scheme Envoy saw", twilioConfig, twilioJSON.without("x-forwarded-proto"), now, Verdict{Reason: ReasonMismatch}},
		{"twilio: body the signature cannot cover", twilioConfig, twilioJSON.withHeader(":path", "/hooks/twilio"), now, Verdict{Reason: ReasonMalformed}},
		{"twilio: bad bodySHA256", twilioConfig, twilioJSON.withHeader(":path", "/hooks/twilio?bodySHA256=xyz"), now, Verdict{Reason: ReasonMalformed}},
		{"twilio: bodySHA256 twice", twilioConfig, twilioJSON.withHeader(":path", twilioJSONPath+"&bodySHA256=00"), now, Verdict{Reason: ReasonMalformed}},
		{"twilio: no :authority", twilioConfig, twilioJSON.without(":authority"), now, Verdict{Reason: ReasonMissingHeader}},
		{"twilio: two signatures", twilioConfig, twilioJSON.withCopy("x-twilio-signature", twilioJSON.headers["x-twilio-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"twilio: two content types", twilioConfig, twilioJSON.withCopy("content-type", "application/x-www-form-urlencoded"), now, Verdict{Reason: ReasonAmbiguous}},
		{"twilio: two x-forwarded-proto", twilioConfig, twilioJSON.withCopy("x-forwarded-proto", "http"), now, Verdict{Reason: ReasonAmbiguous}},
		{"twilio: bad form escape", twilioConfig, twilioJSON.withHeader(":path", "/t").withHeader("content-type", "application/x-www-form-urlencoded").withBody([]byte("a=%zz")), now, Verdict{Reason: ReasonMalformed}},

		{"hmac: every placeholder", hmacConfig, hmacReq, now, stripeOK},
		{"hmac: other method", hmacConfig, hmacReq.withHeader(":method", "PUT"), now, Verdict{Reason: ReasonMismatch}},
		{"hmac: other path", hmacConfig, hmacReq.withHeader(":path", "/in?x=2"), now, Verdict{Reason: ReasonMismatch}},
		{"hmac: no id", hmacConfig, hmacReq.without("x-id"), now, Verdict{Reason: ReasonMissingHeader}},
		{"hmac: stale", hmacConfig, hmacReq, now.Add(10 * time.Minute), Verdict{Reason: ReasonStale}},
		{"hmac: bad timestamp", hmacConfig, hmacReq.withHeader("x-timestamp", "soon"), now, Verdict{Reason: ReasonMalformed}},
		{"hmac: wrong prefix", hmacConfig, hmacReq.withHeader("x-signature", strings.Replace(hmacReq.headers["x-signature"], "sha512=", "sha256=", 1)), now, Verdict{Reason: ReasonMalformed}},
		{"hmac: two ids", hmacConfig, hmacReq.withCopy("x-id", "43"), now, Verdict{Reason: ReasonAmbiguous}},
		{"hmac: two timestamps", hmacConfig, hmacReq.withCopy("x-timestamp", nowTS), now, Verdict{Reason: ReasonAmbiguous}},
		{"hmac: two signatures", hmacConfig, hmacReq.withCopy("x-signature", hmacReq.headers["x-signature"]), now, Verdict{Reason: ReasonAmbiguous}},
		{"hmac: upper-case hex is hex", hmacBodyOnly, newRequest(body, "x-sig", strings.ToUpper(hexOf(mac(sha256.New, "secret-a", body)))), now, Verdict{Expires: later}},
		{"hmac: defaults, hex sha256 of the body", hmacBodyOnly, newRequest(body, "x-sig", hexOf(mac(sha256.New, "secret-a", body))), now, Verdict{Expires: later}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConfig(t, tt.config, env)
			got := c.Verify(tt.given.delivery(), tt.at)
			assert.Equal(t, tt.want, withoutKey(got))
			assert.Equal(t, got.OK(), got.ReplayKey != [16]byte{}, "a replay key exactly when accepted")
			assert.Equal(t, got, verifyInChunks(c, tt.given.delivery(), slices.Repeat([]int{1}, len(tt.given.body)), tt.at), "one byte at a time")
		})
	}
}

// TestVerifyInChunksAgrees cuts large deliveries of every scheme into
// random pieces, and one byte at a time: the verdict is always the one of
// the whole body, for genuine and tampered deliveries alike.
func TestVerifyInChunksAgrees(t *testing.T) {
	env := map[string]string{"A": "a", "B": "b", "W": whsec, "P": edPub}
	rnd := rand.New(rand.NewPCG(7, 11))
	for _, bd := range benchmarkDeliveries() {
		c := parseConfig(t, bd.config, env)
		for _, size := range []int{1 << 10, 64 << 10} {
			genuine := bd.sign(strings.Repeat("0123456789abcdef", size/16))
			tampered := genuine.withBody(slices.Clone(genuine.body))
			tampered.body[size/3] ^= 1
			t.Run(bd.scheme+"/"+itoa(size), func(t *testing.T) {
				for _, r := range []request{genuine, tampered} {
					d := r.delivery()
					whole := c.Verify(d, now)
					for range 8 {
						sizes := make([]int, rnd.IntN(64))
						for i := range sizes {
							sizes[i] = rnd.IntN(size / 4)
						}
						assert.Equal(t, whole, verifyInChunks(c, d, sizes, now), "pieces %v", sizes)
					}
					if size <= 1<<10 {
						assert.Equal(t, whole, verifyInChunks(c, d, slices.Repeat([]int{1}, size), now), "one byte at a time")
					}
				}
				assert.True(t, c.Verify(genuine.delivery(), now).OK())
				assert.Equal(t, ReasonMismatch, c.Verify(tampered.delivery(), now).Reason)
			})
		}
	}
}

// TestOnlyFormsAndEd25519NeedTheWholeBody: every other check hashes the
// body as it passes, so the filter never copies it whole into the VM.
func TestOnlyFormsAndEd25519NeedTheWholeBody(t *testing.T) {
	env := map[string]string{"A": "a", "W": whsec, "P": edPub}
	const body = `{"n":1}`
	const standardConfig = `{"scheme": "standard", "secrets": [{"env": "W"}], "public_keys": [{"env": "P"}]}`
	twilioPath := "/t?bodySHA256=" + hexOf(sha256Of(body))
	type delivery struct {
		name   string
		config string
		given  request
	}
	streamed := []delivery{
		{"stripe", `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, stripeRequest("a", nowTS, body)},
		{"github", `{"scheme": "github", "secrets": [{"env": "A"}]}`,
			newRequest(body, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "a", body)))},
		{"slack", `{"scheme": "slack", "secrets": [{"env": "A"}]}`, slackRequest("a", nowTS, body)},
		{"standard v1", standardConfig, standardRequest("msg_1", nowTS, body)},
		{"twilio JSON", `{"scheme": "twilio", "secrets": [{"env": "A"}]}`,
			newRequest(body, ":authority", "h", ":path", twilioPath, "content-type", "application/json",
				"x-twilio-signature", b64(mac(sha1.New, "a", "https://h"+twilioPath)))},
		{"hmac, body in the middle", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "<{body}>"}}`,
			newRequest(body, "x-sig", hexOf(mac(sha256.New, "a", "<", body, ">")))},
	}
	whole := []delivery{
		{"standard v1a", standardConfig,
			standardRequest("msg_1", nowTS, body).withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, body))},
		{"twilio form", `{"scheme": "twilio", "secrets": [{"env": "A"}]}`,
			newRequest("n=1", ":authority", "h", ":path", "/f", "content-type", "application/x-www-form-urlencoded",
				"x-twilio-signature", b64(mac(sha1.New, "a", "https://h/f", "n", "1")))},
	}
	begin := func(t *testing.T, d delivery) *Verifier {
		v, r := parseConfig(t, d.config, env).Begin(d.given.headerList(), now)
		require.Equal(t, ReasonNone, r)
		return v
	}
	for _, d := range streamed {
		t.Run("streamed: "+d.name, func(t *testing.T) {
			v := begin(t, d)
			assert.False(t, v.NeedsBody())
			v.Write(d.given.body)
			assert.True(t, v.Finish(nil, now).OK())
		})
	}
	for _, d := range whole {
		t.Run("whole: "+d.name, func(t *testing.T) {
			v := begin(t, d)
			assert.True(t, v.NeedsBody())
			v.Write(d.given.body)
			assert.True(t, v.Finish(d.given.body, now).OK())
		})
	}
}

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// nonCanonical respells a base64 value ending in one '=' with a non-zero
// padding bit, which lenient decoders read as the same bytes.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := len(s) - 2
	v := strings.IndexByte(alphabet, s[i])
	return s[:i] + string(alphabet[v^1]) + s[i+1:]
}

func TestVerifyBeforeSecretsAreResolved(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"env": "A"}]}`))
	require.NoError(t, err)
	given := newRequest("x", "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "", "x")))

	assert.Equal(t, Verdict{Reason: ReasonMismatch}, routes.Default.Verify(given.delivery(), now))
}

func TestVerifyWithoutHeaders(t *testing.T) {
	c := parseConfig(t, `{"scheme": "github", "secrets": [{"env": "A"}]}`, map[string]string{"A": "a"})

	assert.Equal(t, Verdict{Reason: ReasonMissingHeader}, c.Verify(Delivery{Body: []byte("x")}, now))
}

// Second keys of the replay key tests: a Standard Webhooks secret and an
// Ed25519 key besides whsec and edKey.
var (
	whsec2    = "whsec_" + b64([]byte("another standard webhooks secret"))
	whsec2Key = "another standard webhooks secret"
	edKey2    = ed25519.NewKeyFromSeed([]byte("fedcba9876543210fedcba9876543210"))
	edPub2    = "whpk_" + b64(edKey2.Public().(ed25519.PublicKey))
)

// TestReplayKey: a delivery's replay key is what its provider signed, so
// no change to what it was not signed with, nor to how its signature is
// spelt or which one matched, makes a replay look new; any change to what
// was signed does. The key digests the content with the first configured
// secret's HMAC, so replacing or reordering that secret starts afresh,
// while appending one (a rotation) does not.
func TestReplayKey(t *testing.T) {
	env := map[string]string{"A": "a", "B": "b", "C": "c", "W": whsec, "W2": whsec2, "P": edPub, "P2": edPub2}
	config := func(js string) *Config { return parseConfig(t, js, env) }
	stripeA := config(`{"scheme": "stripe", "secrets": [{"env": "A"}]}`)
	stripeAB := config(`{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B"}]}`)
	stripeBA := config(`{"scheme": "stripe", "secrets": [{"env": "B"}, {"env": "A"}]}`)
	stripeCA := config(`{"scheme": "stripe", "secrets": [{"env": "C"}, {"env": "A"}]}`)
	githubA := config(`{"scheme": "github", "secrets": [{"env": "A"}], "github": {"allow_sha1": true}}`)
	githubAB := config(`{"scheme": "github", "secrets": [{"env": "A"}, {"env": "B"}], "github": {"allow_sha1": true}}`)
	githubCA := config(`{"scheme": "github", "secrets": [{"env": "C"}, {"env": "A"}], "github": {"allow_sha1": true}}`)
	slackAB := config(`{"scheme": "slack", "secrets": [{"env": "A"}, {"env": "B"}]}`)
	slackBA := config(`{"scheme": "slack", "secrets": [{"env": "B"}, {"env": "A"}]}`)
	shopifyAB := config(`{"scheme": "shopify", "secrets": [{"env": "A"}, {"env": "B"}]}`)
	shopifyBA := config(`{"scheme": "shopify", "secrets": [{"env": "B"}, {"env": "A"}]}`)
	standardW := config(`{"scheme": "standard", "secrets": [{"env": "W"}], "public_keys": [{"env": "P"}]}`)
	standardWW2 := config(`{"scheme": "standard", "secrets": [{"env": "W"}, {"env": "W2"}], "public_keys": [{"env": "P"}]}`)
	standardW2W := config(`{"scheme": "standard", "secrets": [{"env": "W2"}, {"env": "W"}], "public_keys": [{"env": "P"}]}`)
	standardKeys := config(`{"scheme": "standard", "public_keys": [{"env": "P"}, {"env": "P2"}]}`)
	standardByID := config(`{"scheme": "standard", "secrets": [{"env": "W"}], "replay": {"key": "header:webhook-id"}}`)
	twilioAB := config(`{"scheme": "twilio", "secrets": [{"env": "A"}, {"env": "B"}]}`)
	twilioBA := config(`{"scheme": "twilio", "secrets": [{"env": "B"}, {"env": "A"}]}`)
	const hmacSpec = `"hmac": {"header": "x-sig", "algorithm": "sha512", "timestamp_header": "x-ts", "id_header": "x-id",
		"template": "{id}.{timestamp}.{method}.{path}.{body}"}`
	hmacAB := config(`{"scheme": "hmac", "secrets": [{"env": "A"}, {"env": "B"}], ` + hmacSpec + `}`)
	hmacBA := config(`{"scheme": "hmac", "secrets": [{"env": "B"}, {"env": "A"}], ` + hmacSpec + `}`)
	hmacByID := config(`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "id_header": "x-id", "template": "{id}.{body}"},
		"replay": {"key": "header:x-id"}}`)
	key := func(c *Config, r request) [16]byte {
		t.Helper()
		v := c.Verify(r.delivery(), now)
		require.True(t, v.OK(), v.Reason)
		return v.ReplayKey
	}

	stripeBoth := func(body string) request {
		return newRequest(body, "stripe-signature", stripeHeader("a", nowTS, body)+",v1="+hexOf(mac(sha256.New, "b", nowTS, ".", body)))
	}
	githubSHA256 := func(secret, body string) request {
		return newRequest(body, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, secret, body)))
	}
	githubSHA1 := func(secret, body string) request {
		return newRequest(body, "x-hub-signature", "sha1="+hexOf(mac(sha1.New, secret, body)))
	}
	shopify := func(secret, body string) request {
		return newRequest(body, "x-shopify-hmac-sha256", b64(mac(sha256.New, secret, body)))
	}
	standardV1 := func(secret, id, ts, body string) request {
		return newRequest(body, "webhook-id", id, "webhook-timestamp", ts,
			"webhook-signature", "v1,"+b64(mac(sha256.New, secret, id, ".", ts, ".", body)))
	}
	standardV1a := func(key ed25519.PrivateKey, id, ts, body string) request {
		return newRequest(body, "webhook-id", id, "webhook-timestamp", ts,
			"webhook-signature", "v1a,"+b64(ed25519.Sign(key, []byte(id+"."+ts+"."+body))))
	}
	svix := func(r request) request {
		return newRequest(string(r.body), "svix-id", r.headers["webhook-id"], "svix-timestamp", r.headers["webhook-timestamp"],
			"svix-signature", r.headers["webhook-signature"])
	}
	// twilioJSON is signed over https://h.example, whatever authority the
	// request shows.
	twilioJSON := func(secret, authority, body string) request {
		path := "/t?bodySHA256=" + hexOf(sha256Of(body))
		return newRequest(body, ":scheme", "https", ":authority", authority, ":path", path, "content-type", "application/json",
			"x-twilio-signature", b64(mac(sha1.New, secret, "https://h.example"+path)))
	}
	// twilioForm is signed over url, and its parameters sorted, whatever
	// authority the request shows and in whatever order the body has them.
	twilioForm := func(secret, url, authority, body string, sorted ...string) request {
		return newRequest(body, ":scheme", "https", ":authority", authority, ":path", "/f", "content-type", "application/x-www-form-urlencoded",
			"x-twilio-signature", b64(mac(sha1.New, secret, append([]string{url}, sorted...)...)))
	}
	hmacReq := func(secret, id, ts, path, body string) request {
		return newRequest(body, ":method", "POST", ":path", path, "x-id", id, "x-ts", ts,
			"x-sig", hexOf(mac(sha512.New, secret, id, ".", ts, ".POST.", path, ".", body)))
	}
	hmacByIDRequest := func(id, body string) request {
		return newRequest(body, "x-id", id, "x-sig", hexOf(mac(sha256.New, "a", id, ".", body)))
	}

	type pair struct {
		name        string
		one, other  *Config
		first, then request
	}
	same := []pair{
		{"stripe: an exact replay", stripeAB, stripeAB, stripeBoth("{}"), stripeBoth("{}")},
		{"stripe: signed with two secrets (rotation), replayed with the second signature alone", stripeAB, stripeAB,
			stripeBoth("{}"), stripeRequest("b", nowTS, "{}")},
		{"stripe: signed with two secrets, replayed with the first signature alone", stripeAB, stripeAB,
			stripeBoth("{}"), stripeRequest("a", nowTS, "{}")},
		{"stripe: its signatures listed in another order, among unknown entries", stripeAB, stripeAB,
			stripeBoth("{}"), newRequest("{}", "stripe-signature", "v0=x,v1="+hexOf(mac(sha256.New, "b", nowTS, ".{}"))+",t="+nowTS)},
		{"stripe: a secret appended to the list (rotation)", stripeA, stripeAB, stripeRequest("a", nowTS, "{}"), stripeRequest("a", nowTS, "{}")},
		{"stripe: signed with the appended secret, after the first one was", stripeA, stripeAB,
			stripeRequest("a", nowTS, "{}"), stripeRequest("b", nowTS, "{}")},

		{"github: checked by X-Hub-Signature-256, replayed with X-Hub-Signature alone", githubA, githubA,
			githubSHA256("a", "{}"), githubSHA1("a", "{}")},
		{"github: signed with the second secret", githubAB, githubAB, githubSHA256("a", "{}"), githubSHA256("b", "{}")},
		{"github: X-Hub-Signature-256 under the first secret, X-Hub-Signature under the second", githubAB, githubAB,
			githubSHA256("a", "{}"), githubSHA1("b", "{}")},
		{"github: X-Hub-Signature under either secret", githubAB, githubAB, githubSHA1("a", "{}"), githubSHA1("b", "{}")},

		{"slack: signed with either secret", slackAB, slackAB, slackRequest("a", nowTS, "{}"), slackRequest("b", nowTS, "{}")},
		{"shopify: signed with either secret", shopifyAB, shopifyAB, shopify("a", "{}"), shopify("b", "{}")},

		{"standard: a v1 signature, replayed with a v1a one", standardW, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", nowTS, "{}")},
		{"standard: standard headers, replayed with svix headers", standardW, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), svix(standardV1(whsecKey, "msg_1", nowTS, "{}"))},
		{"standard: signed with either secret", standardWW2, standardWW2,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsec2Key, "msg_1", nowTS, "{}")},
		{"standard: v1 under the second secret, replayed with a v1a one", standardWW2, standardWW2,
			standardV1(whsec2Key, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", nowTS, "{}")},
		{"standard, public keys only: signed with either key", standardKeys, standardKeys,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey2, "msg_1", nowTS, "{}")},
		{"standard, public keys only: replayed with svix headers", standardKeys, standardKeys,
			standardV1a(edKey, "msg_1", nowTS, "{}"), svix(standardV1a(edKey, "msg_1", nowTS, "{}"))},
		{"standard, header key: the same id with another body and timestamp", standardByID, standardByID,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_1", "1700000060", `{"again":1}`)},
		{"standard, header key: the same id from svix-id", standardByID, standardByID,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), svix(standardV1(whsecKey, "msg_1", nowTS, "{}"))},

		{"twilio: JSON, the URL with its default port, signed without", twilioAB, twilioAB,
			twilioJSON("a", "h.example", "{}"), twilioJSON("a", "h.example:443", "{}")},
		{"twilio: JSON, signed with either secret", twilioAB, twilioAB, twilioJSON("a", "h.example", "{}"), twilioJSON("b", "h.example", "{}")},
		{"twilio: form, signed without the default port, then with it", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1", "a", "1"),
			twilioForm("a", "https://h.example:443/f", "h.example", "a=1", "a", "1")},
		{"twilio: form, the request with the default port, signed without it", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1", "a", "1"),
			twilioForm("a", "https://h.example/f", "h.example:443", "a=1", "a", "1")},
		{"twilio: form, with either secret and either port form", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1", "a", "1"),
			twilioForm("b", "https://h.example:443/f", "h.example:443", "a=1", "a", "1")},
		{"twilio: form, its parameters in another order", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1&b=2", "a", "1", "b", "2"),
			twilioForm("a", "https://h.example/f", "h.example", "b=2&a=1", "a", "1", "b", "2")},

		{"hmac: signed with either secret", hmacAB, hmacAB,
			hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("b", "42", nowTS, "/in", "{}")},
		{"hmac, header key: the same id", hmacByID, hmacByID, hmacByIDRequest("d-1", "{}"), hmacByIDRequest("d-1", `{"again":1}`)},
	}
	for _, tt := range same {
		t.Run("same key: "+tt.name, func(t *testing.T) {
			assert.Equal(t, key(tt.one, tt.first), key(tt.other, tt.then))
		})
	}

	differs := []pair{
		{"stripe: a redelivery signed afresh", stripeAB, stripeAB, stripeBoth("{}"), stripeRequest("a", "1700000001", "{}")},
		{"stripe: another body", stripeAB, stripeAB, stripeRequest("a", nowTS, "{}"), stripeRequest("a", nowTS, "{ }")},
		{"stripe: the first secret replaced", stripeA, stripeCA, stripeRequest("a", nowTS, "{}"), stripeRequest("a", nowTS, "{}")},
		{"stripe: the secrets reordered", stripeAB, stripeBA, stripeRequest("a", nowTS, "{}"), stripeRequest("a", nowTS, "{}")},

		{"github: another body", githubA, githubA, githubSHA256("a", "{}"), githubSHA256("a", "{ }")},
		{"github: another body, by X-Hub-Signature", githubA, githubA, githubSHA1("a", "{}"), githubSHA1("a", "{ }")},
		{"github: the first secret replaced", githubA, githubCA, githubSHA256("a", "{}"), githubSHA256("a", "{}")},
		{"github: the first secret replaced, by X-Hub-Signature", githubA, githubCA, githubSHA1("a", "{}"), githubSHA1("a", "{}")},

		{"slack: another timestamp", slackAB, slackAB, slackRequest("a", nowTS, "{}"), slackRequest("a", "1700000001", "{}")},
		{"slack: another body", slackAB, slackAB, slackRequest("a", nowTS, "{}"), slackRequest("a", nowTS, "{ }")},
		{"slack: the secrets reordered", slackAB, slackBA, slackRequest("a", nowTS, "{}"), slackRequest("a", nowTS, "{}")},

		{"shopify: another body", shopifyAB, shopifyAB, shopify("a", "{}"), shopify("a", "{ }")},
		{"shopify: the secrets reordered", shopifyAB, shopifyBA, shopify("a", "{}"), shopify("a", "{}")},

		{"standard: another id, same body and timestamp", standardW, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_2", nowTS, "{}")},
		{"standard: another timestamp", standardW, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_1", "1700000001", "{}")},
		{"standard: another body", standardW, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_1", nowTS, "{ }")},
		{"standard: another body, by v1a", standardW, standardW,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", nowTS, "{ }")},
		{"standard: the secrets reordered", standardWW2, standardW2W,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_1", nowTS, "{}")},
		{"standard: the secrets reordered, by v1a", standardWW2, standardW2W,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", nowTS, "{}")},
		{"standard, public keys only: another id", standardKeys, standardKeys,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_2", nowTS, "{}")},
		{"standard, public keys only: another timestamp", standardKeys, standardKeys,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", "1700000001", "{}")},
		{"standard, public keys only: another body", standardKeys, standardKeys,
			standardV1a(edKey, "msg_1", nowTS, "{}"), standardV1a(edKey, "msg_1", nowTS, "{ }")},
		{"standard, header key: another id", standardByID, standardByID,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_2", nowTS, "{}")},
		{"standard: the same id as a header key and as part of the signed content", standardByID, standardW,
			standardV1(whsecKey, "msg_1", nowTS, "{}"), standardV1(whsecKey, "msg_1", nowTS, "{}")},

		{"twilio: JSON, another body", twilioAB, twilioAB, twilioJSON("a", "h.example", "{}"), twilioJSON("a", "h.example", "{ }")},
		{"twilio: form, another value", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1", "a", "1"), twilioForm("a", "https://h.example/f", "h.example", "a=2", "a", "2")},
		{"twilio: form, another host", twilioAB, twilioAB,
			twilioForm("a", "https://h.example/f", "h.example", "a=1", "a", "1"), twilioForm("a", "https://i.example/f", "i.example", "a=1", "a", "1")},
		{"twilio: the secrets reordered", twilioAB, twilioBA, twilioJSON("a", "h.example", "{}"), twilioJSON("a", "h.example", "{}")},

		{"hmac: another id", hmacAB, hmacAB, hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("a", "43", nowTS, "/in", "{}")},
		{"hmac: another timestamp", hmacAB, hmacAB, hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("a", "42", "1700000001", "/in", "{}")},
		{"hmac: another path", hmacAB, hmacAB, hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("a", "42", nowTS, "/in?x", "{}")},
		{"hmac: another body", hmacAB, hmacAB, hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("a", "42", nowTS, "/in", "{ }")},
		{"hmac: the secrets reordered", hmacAB, hmacBA, hmacReq("a", "42", nowTS, "/in", "{}"), hmacReq("a", "42", nowTS, "/in", "{}")},
		{"hmac, header key: another id", hmacByID, hmacByID, hmacByIDRequest("d-1", "{}"), hmacByIDRequest("d-2", "{}")},

		{"another scheme, same body and secret", githubA, config(`{"scheme": "shopify", "secrets": [{"env": "A"}]}`),
			githubSHA256("a", "{}"), shopify("a", "{}")},
	}
	for _, tt := range differs {
		t.Run("new key: "+tt.name, func(t *testing.T) {
			assert.NotEqual(t, key(tt.one, tt.first), key(tt.other, tt.then))
		})
	}

	t.Run("no key without replay protection", func(t *testing.T) {
		off := config(`{"scheme": "stripe", "secrets": [{"env": "A"}], "replay": {"enabled": false}}`)
		assert.Equal(t, Verdict{Expires: now.Add(DefaultTolerance)}, off.Verify(stripeRequest("a", nowTS, "{}").delivery(), now))
	})
}

// TestReplayKeyDerivation pins what the replay key is cut from: SHA-256
// over the length-prefixed scheme, a mode byte, the length-prefixed signed
// timestamp and id, and the first secret's HMAC of the signed content in
// the scheme's algorithm (HMAC-SHA256 for GitHub's SHA-1 path too; a
// plain SHA-256 without secrets); or, for a header key, over the scheme,
// 'h' and the id.
func TestReplayKeyDerivation(t *testing.T) {
	env := map[string]string{"A": "a", "B": "b", "W": whsec, "W2": whsec2, "P": edPub}
	const body = `{"n":1}`
	twilioPath := "/t?bodySHA256=" + hexOf(sha256Of(body))
	tests := []struct {
		name   string
		config string
		given  request
		want   [16]byte
	}{
		{"stripe, signed with the second secret", `{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B"}]}`,
			stripeRequest("b", nowTS, body),
			signedKey("stripe", nowTS, "", mac(sha256.New, "a", nowTS, ".", body))},
		{"github by X-Hub-Signature", `{"scheme": "github", "secrets": [{"env": "A"}, {"env": "B"}], "github": {"allow_sha1": true}}`,
			newRequest(body, "x-hub-signature", "sha1="+hexOf(mac(sha1.New, "b", body))),
			signedKey("github", "", "", mac(sha256.New, "a", body))},
		{"slack", `{"scheme": "slack", "secrets": [{"env": "A"}]}`, slackRequest("a", nowTS, body),
			signedKey("slack", nowTS, "", mac(sha256.New, "a", "v0:", nowTS, ":", body))},
		{"shopify", `{"scheme": "shopify", "secrets": [{"env": "A"}]}`,
			newRequest(body, "x-shopify-hmac-sha256", b64(mac(sha256.New, "a", body))),
			signedKey("shopify", "", "", mac(sha256.New, "a", body))},
		{"standard by v1a, with secrets", `{"scheme": "standard", "secrets": [{"env": "W2"}, {"env": "W"}], "public_keys": [{"env": "P"}]}`,
			standardRequest("msg_1", nowTS, body).withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, body)),
			signedKey("standard", nowTS, "msg_1", mac(sha256.New, whsec2Key, "msg_1.", nowTS, ".", body))},
		{"standard, public keys only", `{"scheme": "standard", "public_keys": [{"env": "P"}]}`,
			standardRequest("msg_1", nowTS, body).withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, body)),
			signedKey("standard", nowTS, "msg_1", sha256Of("msg_1."+nowTS+"."+body))},
		{"twilio JSON, the request with the default port", `{"scheme": "twilio", "secrets": [{"env": "A"}, {"env": "B"}]}`,
			newRequest(body, ":authority", "h:443", ":path", twilioPath, "content-type", "application/json",
				"x-twilio-signature", b64(mac(sha1.New, "b", "https://h:443"+twilioPath))),
			signedKey("twilio", "", "", mac(sha1.New, "a", "https://h"+twilioPath))},
		{"twilio form, signed with the default port", `{"scheme": "twilio", "secrets": [{"env": "A"}]}`,
			newRequest("b=2&a=1", ":authority", "h", ":path", "/f", "content-type", "application/x-www-form-urlencoded",
				"x-twilio-signature", b64(mac(sha1.New, "a", "https://h:443/f", "a", "1", "b", "2"))),
			signedKey("twilio", "", "", mac(sha1.New, "a", "https://h/f", "a", "1", "b", "2"))},
		{"hmac, sha512", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "algorithm": "sha512",
			"timestamp_header": "x-ts", "id_header": "x-id", "template": "{id}:{timestamp}:{body}"}}`,
			newRequest(body, "x-id", "42", "x-ts", nowTS, "x-sig", hexOf(mac(sha512.New, "a", "42:", nowTS, ":", body))),
			signedKey("hmac", nowTS, "42", mac(sha512.New, "a", "42:", nowTS, ":", body))},
		{"standard, header key", `{"scheme": "standard", "secrets": [{"env": "W"}], "replay": {"key": "header:webhook-id"}}`,
			standardRequest("msg_1", nowTS, body), idKey("standard", "msg_1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseConfig(t, tt.config, env).Verify(tt.given.delivery(), now)
			require.True(t, got.OK(), got.Reason)
			assert.Equal(t, tt.want, got.ReplayKey)
		})
	}
}

// signedKey is the replay key of a delivery keyed on its signed content.
func signedKey(scheme, ts, id string, digest []byte) [16]byte {
	msg := framed(nil, scheme)
	msg = append(msg, 's')
	msg = framed(framed(msg, ts), id)
	sum := sha256.Sum256(append(msg, digest...))
	return [16]byte(sum[:16])
}

// idKey is the replay key of a delivery keyed on a signed id header.
func idKey(scheme, id string) [16]byte {
	msg := append(framed(nil, scheme), 'h')
	sum := sha256.Sum256(framed(msg, id))
	return [16]byte(sum[:16])
}

func framed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func TestSignatureHeaders(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  []string
	}{
		{"stripe", `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, []string{"stripe-signature"}},
		{"github", `{"scheme": "github", "secrets": [{"env": "A"}]}`, []string{"x-hub-signature-256", "x-hub-signature"}},
		{"slack", `{"scheme": "slack", "secrets": [{"env": "A"}]}`, []string{"x-slack-signature"}},
		{"shopify", `{"scheme": "shopify", "secrets": [{"env": "A"}]}`, []string{"x-shopify-hmac-sha256"}},
		{"standard", `{"scheme": "standard", "secrets": [{"env": "A"}]}`, []string{"webhook-signature", "svix-signature"}},
		{"twilio", `{"scheme": "twilio", "secrets": [{"env": "A"}]}`, []string{"x-twilio-signature"}},
		{"hmac", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "X-Sig"}}`, []string{"x-sig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Parse([]byte(tt.given))
			require.NoError(t, err)
			assert.Equal(t, tt.want, routes.Default.SignatureHeaders())
		})
	}
}

func TestVerifyLargeBodyAllocations(t *testing.T) {
	c := parseConfig(t, `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, map[string]string{"A": "a"})
	body := strings.Repeat("x", DefaultMaxBodyBytes)
	d := stripeRequest("a", nowTS, body).delivery()

	allocated := testing.AllocsPerRun(5, func() { c.Verify(d, now) })

	assert.Less(t, allocated, 30.0, "a handful of allocations, none per byte")
}
