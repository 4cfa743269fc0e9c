package webhookauth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"
	"github.com/slack-go/slack"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v84/webhook"
)

// Bodies of the differential tests: short, so that tampering with every
// byte stays fast.
var differentialBodies = []string{
	`{"id":"evt_1","object":"event"}`,
	"",
	"payload=%7B%22a%22%3A1%7D&x=\u00e9",
}

// oracle is a provider's own verification, which must agree with ours.
type oracle func(r request) error

// differential is one correctly signed delivery, the headers whose every
// byte matters, and the provider library that judges it, if any.
type differential struct {
	name    string
	config  string
	env     map[string]string
	signed  request
	headers []string
	oracle  oracle
}

// TestDifferential checks that deliveries signed by (or judged valid by)
// the providers' official libraries are accepted, and that every
// single-byte alteration of the body or of a signed header is refused, by
// us and by the library alike.
func TestDifferential(t *testing.T) {
	at := time.Now().Truncate(time.Second)
	ts := strconv.FormatInt(at.Unix(), 10)
	var cases []differential
	for i, body := range differentialBodies {
		n := " body " + strconv.Itoa(i)
		cases = append(cases,
			stripeDifferential(n, body, at),
			slackDifferential(n, body, ts),
			standardDifferential(n, body, at),
			githubDifferential(n, body),
			differential{
				name:    "shopify" + n,
				config:  `{"scheme": "shopify", "secrets": [{"env": "S"}]}`,
				env:     map[string]string{"S": "shpss_0123"},
				signed:  newRequest(body, "x-shopify-hmac-sha256", b64(mac(sha256.New, "shpss_0123", body))),
				headers: []string{"x-shopify-hmac-sha256"},
			},
			twilioDifferential(n, body),
			differential{
				name: "hmac" + n,
				config: `{"scheme": "hmac", "secrets": [{"env": "S"}], "hmac": {"header": "x-sig", "prefix": "v1=",
					"algorithm": "sha1", "encoding": "base64", "timestamp_header": "x-ts", "id_header": "x-id",
					"template": "{method} {path} {id} {timestamp} {body}"}}`,
				env: map[string]string{"S": "k"},
				signed: newRequest(body, ":method", "POST", ":path", "/w", "x-id", "id-9", "x-ts", ts,
					"x-sig", "v1="+b64(mac(sha1.New, "k", "POST /w id-9 ", ts, " ", body))),
				headers: []string{":method", ":path", "x-id", "x-ts", "x-sig"},
			},
		)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConfig(t, tt.config, tt.env)
			if tt.oracle != nil {
				require.NoError(t, tt.oracle(tt.signed), "the provider's library accepts the delivery")
			}
			assert.Equal(t, ReasonNone, c.Verify(tt.signed.delivery(), at).Reason)
			for _, tampered := range tt.signed.tamperings(tt.headers...) {
				got := c.Verify(tampered.req.delivery(), at)
				assert.NotEqual(t, ReasonNone, got.Reason, tampered.name)
				assert.Equal(t, Verdict{Reason: got.Reason}, got, tampered.name)
				if tt.oracle != nil {
					assert.Error(t, tt.oracle(tampered.req), "the provider's library refuses %s too", tampered.name)
				}
			}
		})
	}
}

func stripeDifferential(n, body string, at time.Time) differential {
	const secret = "whsec_test_0123456789"
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at})
	return differential{
		name:    "stripe" + n,
		config:  `{"scheme": "stripe", "secrets": [{"env": "OLD"}, {"env": "S"}]}`,
		env:     map[string]string{"S": secret, "OLD": "whsec_retired"},
		signed:  newRequest(body, "stripe-signature", p.Header),
		headers: []string{"stripe-signature"},
		oracle: func(r request) error {
			return webhook.ValidatePayloadWithTolerance(r.body, r.headers["stripe-signature"], secret, DefaultTolerance)
		},
	}
}

func githubDifferential(n, body string) differential {
	const secret = "It's a Secret to Everybody"
	return differential{
		name:    "github" + n,
		config:  `{"scheme": "github", "secrets": [{"env": "S"}]}`,
		env:     map[string]string{"S": secret},
		signed:  newRequest(body, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, secret, body))),
		headers: []string{"x-hub-signature-256"},
		oracle: func(r request) error {
			return github.ValidateSignature(r.headers["x-hub-signature-256"], r.body, []byte(secret))
		},
	}
}

func slackDifferential(n, body, ts string) differential {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	return differential{
		name:    "slack" + n,
		config:  `{"scheme": "slack", "secrets": [{"env": "S"}]}`,
		env:     map[string]string{"S": secret},
		signed:  slackRequest(secret, ts, body),
		headers: []string{"x-slack-signature", "x-slack-request-timestamp"},
		oracle: func(r request) error {
			h := http.Header{}
			h.Set("X-Slack-Signature", r.headers["x-slack-signature"])
			h.Set("X-Slack-Request-Timestamp", r.headers["x-slack-request-timestamp"])
			v, err := slack.NewSecretsVerifier(h, secret)
			if err != nil {
				return err
			}
			if _, err := v.Write(r.body); err != nil {
				return err
			}
			return v.Ensure()
		},
	}
}

func standardDifferential(n, body string, at time.Time) differential {
	wh, err := standardwebhooks.NewWebhook(whsec)
	if err != nil {
		panic(err)
	}
	sig, err := wh.Sign("msg_2Lh9KRb0pzN4LePd3XiA4Ckv6S7", at, []byte(body))
	if err != nil {
		panic(err)
	}
	return differential{
		name:   "standard" + n,
		config: `{"scheme": "standard", "secrets": [{"env": "S"}]}`,
		env:    map[string]string{"S": whsec},
		signed: newRequest(body, "webhook-id", "msg_2Lh9KRb0pzN4LePd3XiA4Ckv6S7",
			"webhook-timestamp", strconv.FormatInt(at.Unix(), 10), "webhook-signature", sig),
		headers: []string{"webhook-id", "webhook-timestamp", "webhook-signature"},
		oracle: func(r request) error {
			h := http.Header{}
			for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
				h.Set(name, r.headers[name])
			}
			return wh.Verify(r.body, h)
		},
	}
}

// twilioDifferential signs a form body through its parameters, and any
// other body through bodySHA256.
func twilioDifferential(n, body string) differential {
	const secret = "twilio-token"
	if body == differentialBodies[2] {
		url := "https://hooks.example.com/sms?tenant=7"
		return differential{
			name:   "twilio form" + n,
			config: `{"scheme": "twilio", "secrets": [{"env": "S"}]}`,
			env:    map[string]string{"S": secret},
			signed: newRequest(body, ":scheme", "https", ":authority", "hooks.example.com", ":path", "/sms?tenant=7",
				"content-type", "application/x-www-form-urlencoded",
				"x-twilio-signature", b64(mac(sha1.New, secret, url, "payload", `{"a":1}`, "x", "\u00e9"))),
			headers: []string{":authority", ":path", "x-twilio-signature"},
		}
	}
	path := "/events?bodySHA256=" + hexOf(sha256Of(body))
	return differential{
		name:   "twilio JSON" + n,
		config: `{"scheme": "twilio", "secrets": [{"env": "S"}]}`,
		env:    map[string]string{"S": secret},
		signed: newRequest(body, ":scheme", "https", ":authority", "hooks.example.com", ":path", path,
			"content-type", "application/json",
			"x-twilio-signature", b64(mac(sha1.New, secret, "https://hooks.example.com"+path))),
		headers: []string{":authority", ":path", "x-twilio-signature"},
	}
}

// TestStripeRotation follows a secret roll: Stripe signs with both secrets
// for a while, then only with the new one.
func TestStripeRotation(t *testing.T) {
	at := time.Now()
	body := []byte(`{"id":"evt_rot"}`)
	oldSig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_old", Timestamp: at})
	newSig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_new", Timestamp: at})
	both := oldSig.Header + ",v1=" + hexOf(newSig.Signature)
	tests := []struct {
		name    string
		secrets map[string]string
		header  string
		want    Reason
	}{
		{"old secret only, both signatures", map[string]string{"A": "whsec_old", "B": "whsec_unused"}, both, ReasonNone},
		{"new secret second, both signatures", map[string]string{"A": "whsec_unused", "B": "whsec_new"}, both, ReasonNone},
		{"new secret second, new signature only", map[string]string{"A": "whsec_old", "B": "whsec_new"}, newSig.Header, ReasonNone},
		{"old secret only, new signature only", map[string]string{"A": "whsec_old", "B": "whsec_older"}, newSig.Header, ReasonMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConfig(t, `{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B"}]}`, tt.secrets)
			got := c.Verify(newRequest(string(body), "stripe-signature", tt.header).delivery(), at)
			assert.Equal(t, tt.want, got.Reason)
		})
	}
}

// TestGenericHMACAlgorithms signs with each algorithm and encoding.
func TestGenericHMACAlgorithms(t *testing.T) {
	tests := []struct {
		name      string
		algorithm string
		encoding  string
		signature string
	}{
		{"sha1 hex", "sha1", "hex", "sha1=" + hexOf(mac(sha1.New, "k", "b"))},
		{"sha256 base64", "sha256", "base64", "sha1=" + b64(mac(sha256.New, "k", "b"))},
		{"sha512 hex", "sha512", "hex", "sha1=" + hexOf(mac(sha512.New, "k", "b"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConfig(t, `{"scheme": "hmac", "secrets": [{"env": "K"}], "hmac": {"header": "x-s", "prefix": "sha1=",
				"algorithm": "`+tt.algorithm+`", "encoding": "`+tt.encoding+`"}}`, map[string]string{"K": "k"})
			got := c.Verify(newRequest("b", "x-s", tt.signature).delivery(), now)
			assert.Equal(t, Verdict{Expires: now.Add(DefaultReplayWindow)}, withoutKey(got))
		})
	}
}

// TestRespeltSignatures: spellings of a genuine signature that the Go
// libraries accept because they decode hex, while the providers' documented
// checks and their Node, Python and Ruby libraries compare lower-case hex
// strings and refuse them. This filter is as strict as the strictest.
func TestRespeltSignatures(t *testing.T) {
	at := time.Now().Truncate(time.Second)
	ts := strconv.FormatInt(at.Unix(), 10)
	const body = `{"id":"evt_1","object":"event"}`
	upper := func(d differential, header, prefix string) request {
		v := d.signed.headers[header]
		return d.signed.withHeader(header, prefix+strings.ToUpper(strings.TrimPrefix(v, prefix)))
	}
	stripe := stripeDifferential("", body, at)
	upperStripe := stripe.signed.withHeader("stripe-signature", "t="+ts+",v1="+strings.ToUpper(hexOf(mac(sha256.New, "whsec_test_0123456789", ts, ".", body))))
	github := githubDifferential("", body)
	slack := slackDifferential("", body, ts)
	tests := []struct {
		d       differential
		respelt request
	}{
		{stripe, upperStripe},
		{github, upper(github, "x-hub-signature-256", "sha256=")},
		{slack, upper(slack, "x-slack-signature", "v0=")},
	}
	for _, tt := range tests {
		t.Run(tt.d.name, func(t *testing.T) {
			c := parseConfig(t, tt.d.config, tt.d.env)
			require.NoError(t, tt.d.oracle(tt.respelt), "the Go library decodes the hex, in either case")
			assert.Equal(t, Verdict{Reason: ReasonMalformed}, c.Verify(tt.respelt.delivery(), at))
		})
	}
}
