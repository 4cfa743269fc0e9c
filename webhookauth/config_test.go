package webhookauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func TestParseSettings(t *testing.T) {
	defaults := Settings{
		Scheme:          SchemeStripe,
		Tolerance:       DefaultTolerance,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		BodyTimeout:     DefaultBodyTimeout,
		FailureStatus:   DefaultFailureStatus,
		VerifiedHeader:  DefaultVerifiedHeader,
		Replay:          true,
		ReplayCacheSize: DefaultReplayCacheSize,
		ReplayWindow:    DefaultTolerance,
	}
	tests := []struct {
		name  string
		given string
		want  Settings
	}{
		{
			name:  "defaults",
			given: `{"scheme": "stripe", "secrets": [{"env": "A"}]}`,
			want:  defaults,
		},
		{
			name: "every field set",
			given: `{"scheme": "github", "secrets": [{"env": "A"}, {"value": "inline"}], "tolerance": "1m",
				"max_body_bytes": 2048, "body_timeout": "30s", "failure_status": 403, "strip_signature_headers": true, "verified_header": "",
				"replay": {"enabled": false, "cache_size": 500, "window": "10m", "key": "signature"},
				"github": {"allow_sha1": true}}`,
			want: Settings{
				Scheme: SchemeGitHub, Tolerance: time.Minute, MaxBodyBytes: 2048, BodyTimeout: 30 * time.Second, FailureStatus: 403,
				StripSignatureHeaders: true, ReplayCacheSize: 500, ReplayWindow: 10 * time.Minute,
			},
		},
		{
			name:  "a scheme without timestamp remembers deliveries for the default window",
			given: `{"scheme": "shopify", "secrets": [{"env": "A"}], "tolerance": "2m"}`,
			want:  Settings{Scheme: SchemeShopify, Tolerance: 2 * time.Minute, MaxBodyBytes: DefaultMaxBodyBytes, BodyTimeout: DefaultBodyTimeout, FailureStatus: 401, VerifiedHeader: DefaultVerifiedHeader, Replay: true, ReplayCacheSize: DefaultReplayCacheSize, ReplayWindow: DefaultReplayWindow},
		},
		{
			name:  "generic hmac with a timestamp remembers deliveries for the tolerance",
			given: `{"scheme": "hmac", "secrets": [{"env": "A"}], "tolerance": "2m", "hmac": {"header": "x-sig", "timestamp_header": "x-ts", "template": "{timestamp}.{body}"}}`,
			want:  Settings{Scheme: SchemeHMAC, Tolerance: 2 * time.Minute, MaxBodyBytes: DefaultMaxBodyBytes, BodyTimeout: DefaultBodyTimeout, FailureStatus: 401, VerifiedHeader: DefaultVerifiedHeader, Replay: true, ReplayCacheSize: DefaultReplayCacheSize, ReplayWindow: 2 * time.Minute},
		},
		{
			name:  "header names are lower-cased",
			given: `{"scheme": "stripe", "secrets": [{"env": "A"}], "verified_header": "X-Webhook-OK"}`,
			want:  func() Settings { s := defaults; s.VerifiedHeader = "x-webhook-ok"; return s }(),
		},
		{
			name:  "standard webhooks with public keys only",
			given: `{"scheme": "standard", "public_keys": [{"env": "P"}]}`,
			want:  func() Settings { s := defaults; s.Scheme = SchemeStandard; return s }(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Parse([]byte(tt.given))
			require.NoError(t, err)
			assert.Equal(t, tt.want, routes.Default.Settings())
		})
	}
}

// TestReplayKeyOnSignedIDs: a header may identify deliveries only where
// the signature covers it.
func TestReplayKeyOnSignedIDs(t *testing.T) {
	for _, config := range []string{
		`{"scheme": "standard", "secrets": [{"env": "A"}], "replay": {"key": "header:webhook-id"}}`,
		`{"scheme": "standard", "secrets": [{"env": "A"}], "replay": {"key": "header:Svix-Id"}}`,
		`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "id_header": "X-Delivery", "template": "{id}.{body}"},
			"replay": {"key": "header:x-delivery"}}`,
	} {
		_, err := Parse([]byte(config))
		assert.NoError(t, err, config)
	}
}

func TestParseRouteOverride(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"env": "GH"}], "replay": {"window": "1m"},
		"routes": [
			{"name": "stripe-*", "scheme": "stripe", "secrets": [{"env": "STRIPE"}], "replay": {"window": null}, "tolerance": "30s"},
			{"name": "legacy", "disabled": true}
		]}`))
	require.NoError(t, err)

	assert.Equal(t, Settings{
		Scheme: SchemeStripe, Tolerance: 30 * time.Second, MaxBodyBytes: DefaultMaxBodyBytes, BodyTimeout: DefaultBodyTimeout, FailureStatus: 401,
		VerifiedHeader: DefaultVerifiedHeader, Replay: true, ReplayCacheSize: DefaultReplayCacheSize, ReplayWindow: 30 * time.Second,
	}, routes.Resolve(pipeline.Named("stripe-eu")).Settings())
	assert.Equal(t, time.Minute, routes.Resolve(pipeline.Named("other")).Settings().ReplayWindow)
	assert.Nil(t, routes.Resolve(pipeline.Named("legacy")))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  *pipeline.FieldError
	}{
		{"no scheme", `{"secrets": [{"env": "A"}]}`,
			&pipeline.FieldError{Path: "scheme", Msg: "is required: one of stripe, github, slack, shopify, standard, twilio, hmac"}},
		{"unknown scheme", `{"scheme": "paypal", "secrets": [{"env": "A"}]}`,
			&pipeline.FieldError{Path: "scheme", Msg: `"paypal" is not a scheme: use one of stripe, github, slack, shopify, standard, twilio, hmac`}},
		{"unknown field", `{"scheme": "stripe", "secret": [{"env": "A"}]}`,
			&pipeline.FieldError{Path: "secret", Msg: "unknown field"}},
		{"no secret", `{"scheme": "stripe"}`,
			&pipeline.FieldError{Path: "secrets", Msg: `give at least one secret, such as {"env": "WEBHOOK_SECRET"}`}},
		{"secret with env and value", `{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B", "value": "x"}]}`,
			&pipeline.FieldError{Path: "secrets[1]", Msg: "give exactly one of env or value"}},
		{"secret with neither", `{"scheme": "stripe", "secrets": [{}]}`,
			&pipeline.FieldError{Path: "secrets[0]", Msg: "give exactly one of env or value"}},
		{"secret with an unknown field", `{"scheme": "stripe", "secrets": [{"file": "/x"}]}`,
			&pipeline.FieldError{Path: "secrets[0].file", Msg: "unknown field"}},
		{"bad variable name", `{"scheme": "stripe", "secrets": [{"env": "A=B"}]}`,
			&pipeline.FieldError{Path: "secrets[0].env", Msg: `"A=B" is not an environment variable name`}},
		{"hmac block for stripe", `{"scheme": "stripe", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig"}}`,
			&pipeline.FieldError{Path: "hmac", Msg: `applies only to scheme "hmac", not "stripe"`}},
		{"github block for slack", `{"scheme": "slack", "secrets": [{"env": "A"}], "github": {"allow_sha1": true}}`,
			&pipeline.FieldError{Path: "github", Msg: `applies only to scheme "github", not "slack"`}},
		{"twilio block for github", `{"scheme": "github", "secrets": [{"env": "A"}], "twilio": {}}`,
			&pipeline.FieldError{Path: "twilio", Msg: `applies only to scheme "twilio", not "github"`}},
		{"public keys for stripe", `{"scheme": "stripe", "secrets": [{"env": "A"}], "public_keys": [{"env": "P"}]}`,
			&pipeline.FieldError{Path: "public_keys", Msg: `apply only to scheme "standard" (Ed25519 v1a signatures)`}},
		{"standard without secret or key", `{"scheme": "standard"}`,
			&pipeline.FieldError{Path: "secrets", Msg: `give at least one secret or public key, such as {"env": "WEBHOOK_SECRET"}`}},
		{"standard inline secret not base64", `{"scheme": "standard", "secrets": [{"value": "whsec_not base64!"}]}`,
			&pipeline.FieldError{Path: "secrets[0].value", Msg: `is not a Standard Webhooks secret ("whsec_" and base64)`}},
		{"inline public key too short", `{"scheme": "standard", "public_keys": [{"value": "whpk_AAAA"}]}`,
			&pipeline.FieldError{Path: "public_keys[0].value", Msg: `is not an Ed25519 public key ("whpk_" and the base64 of 32 bytes)`}},
		{"zero tolerance", `{"scheme": "stripe", "secrets": [{"env": "A"}], "tolerance": "0s"}`,
			&pipeline.FieldError{Path: "tolerance", Msg: "must be between 1s and 1h0m0s"}},
		{"tolerance too long", `{"scheme": "stripe", "secrets": [{"env": "A"}], "tolerance": "2h"}`,
			&pipeline.FieldError{Path: "tolerance", Msg: "must be between 1s and 1h0m0s"}},
		{"tolerance not a duration", `{"scheme": "stripe", "secrets": [{"env": "A"}], "tolerance": 300}`,
			&pipeline.FieldError{Path: "tolerance", Msg: `must be a duration string such as "250ms" or "5s"`}},
		{"negative body limit", `{"scheme": "stripe", "secrets": [{"env": "A"}], "max_body_bytes": -1}`,
			&pipeline.FieldError{Path: "max_body_bytes", Msg: "must be between 1 and 67108864 (64 MiB)"}},
		{"body limit over 64 MiB", `{"scheme": "stripe", "secrets": [{"env": "A"}], "max_body_bytes": 67108865}`,
			&pipeline.FieldError{Path: "max_body_bytes", Msg: "must be between 1 and 67108864 (64 MiB)"}},
		{"body timeout too short", `{"scheme": "stripe", "secrets": [{"env": "A"}], "body_timeout": "10ms"}`,
			&pipeline.FieldError{Path: "body_timeout", Msg: "must be between 100ms and 5m0s"}},
		{"failure status not 4xx", `{"scheme": "stripe", "secrets": [{"env": "A"}], "failure_status": 503}`,
			&pipeline.FieldError{Path: "failure_status", Msg: "must be a 4xx status, from 400 to 499"}},
		{"verified header with a space", `{"scheme": "stripe", "secrets": [{"env": "A"}], "verified_header": "x verified"}`,
			&pipeline.FieldError{Path: "verified_header", Msg: `"x verified" is not a header name`}},
		{"replay cache too small", `{"scheme": "stripe", "secrets": [{"env": "A"}], "replay": {"cache_size": 99}}`,
			&pipeline.FieldError{Path: "replay.cache_size", Msg: "must be between 100 and 1000000"}},
		{"replay cache too large", `{"scheme": "stripe", "secrets": [{"env": "A"}], "replay": {"cache_size": 1000001}}`,
			&pipeline.FieldError{Path: "replay.cache_size", Msg: "must be between 100 and 1000000"}},
		{"replay window for a timestamped scheme", `{"scheme": "slack", "secrets": [{"env": "A"}], "replay": {"window": "1m"}}`,
			&pipeline.FieldError{Path: "replay.window", Msg: `scheme "slack" signs a timestamp: deliveries are remembered while it is within tolerance; set tolerance instead`}},
		{"replay window too long", `{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"window": "25h"}}`,
			&pipeline.FieldError{Path: "replay.window", Msg: "must be between 1s and 24h0m0s"}},
		{"replay key unknown", `{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"key": "body"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"body" is not a replay key: use "signature" or "header:<name>"`}},
		{"replay key header without name", `{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"key": "header:"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:" does not name a header: use "header:" and a header name`}},
		{"replay key on a header github does not sign", `{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"key": "header:X-GitHub-Delivery"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:X-GitHub-Delivery": scheme "github" does not sign x-github-delivery, ` +
				`so a replay with another value would pass; use "signature" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac`}},
		{"replay key on the signature header", `{"scheme": "stripe", "secrets": [{"env": "A"}], "replay": {"key": "header:stripe-signature"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:stripe-signature": scheme "stripe" does not sign stripe-signature, ` +
				`so a replay with another value would pass; use "signature" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac`}},
		{"replay key on a standard header that is not the id", `{"scheme": "standard", "secrets": [{"env": "A"}], "replay": {"key": "header:webhook-timestamp"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:webhook-timestamp": scheme "standard" does not sign webhook-timestamp, ` +
				`so a replay with another value would pass; use "signature" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac`}},
		{"replay key on an hmac header other than id_header", `{"scheme": "hmac", "secrets": [{"env": "A"}],
			"hmac": {"header": "x-sig", "id_header": "x-id", "template": "{id}{body}"}, "replay": {"key": "header:x-request-id"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:x-request-id": scheme "hmac" does not sign x-request-id, ` +
				`so a replay with another value would pass; use "signature" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac`}},
		{"replay key on an hmac id_header that is not set", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig"}, "replay": {"key": "header:x-id"}}`,
			&pipeline.FieldError{Path: "replay.key", Msg: `"header:x-id": scheme "hmac" does not sign x-id, ` +
				`so a replay with another value would pass; use "signature" (the default), or a signed id: webhook-id for standard, hmac.id_header for hmac`}},
		{"hmac without its block", `{"scheme": "hmac", "secrets": [{"env": "A"}]}`,
			&pipeline.FieldError{Path: "hmac.header", Msg: "is required for scheme hmac"}},
		{"hmac without header", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"prefix": "sha256="}}`,
			&pipeline.FieldError{Path: "hmac.header", Msg: "is required for scheme hmac"}},
		{"hmac pseudo-header", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": ":path"}}`,
			&pipeline.FieldError{Path: "hmac.header", Msg: `":path" is not a header name`}},
		{"hmac md5", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "algorithm": "md5"}}`,
			&pipeline.FieldError{Path: "hmac.algorithm", Msg: `"md5" is not supported: use sha1, sha256 or sha512`}},
		{"hmac base32", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "encoding": "base32"}}`,
			&pipeline.FieldError{Path: "hmac.encoding", Msg: `"base32" is not supported: use hex or base64`}},
		{"hmac template without body", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{method} {path}"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: "must sign {body}, or a tampered body would pass"}},
		{"hmac template signing the body twice", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{body}.{body}"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: "must sign {body} once: the body is hashed as it passes"}},
		{"hmac template unknown placeholder", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{host}{body}"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: "unknown placeholder {host}: use {id}, {timestamp}, {method}, {path} or {body}"}},
		{"hmac template unclosed", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{body}{id"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: `unclosed "{id"`}},
		{"hmac timestamp placeholder without header", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{timestamp}.{body}"}}`,
			&pipeline.FieldError{Path: "hmac.timestamp_header", Msg: "is required: the template signs {timestamp}"}},
		{"hmac timestamp header not signed", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "timestamp_header": "x-ts"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: "must sign {timestamp}: an unsigned timestamp_header proves nothing"}},
		{"hmac id placeholder without header", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "template": "{id}{body}"}}`,
			&pipeline.FieldError{Path: "hmac.id_header", Msg: "is required: the template signs {id}"}},
		{"hmac id header not signed", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "id_header": "x-id"}}`,
			&pipeline.FieldError{Path: "hmac.template", Msg: "must sign {id}: an unsigned id_header proves nothing"}},
		{"twilio relative URL", `{"scheme": "twilio", "secrets": [{"env": "A"}], "twilio": {"url": "/twilio"}}`,
			&pipeline.FieldError{Path: "twilio.url", Msg: `"/twilio" must be an absolute http or https URL`}},
		{"twilio URL with query", `{"scheme": "twilio", "secrets": [{"env": "A"}], "twilio": {"url": "https://h.example.com/t?a=1"}}`,
			&pipeline.FieldError{Path: "twilio.url", Msg: `"https://h.example.com/t?a=1" must have no query string or fragment: the request's query string is appended`}},
		{"twilio URL with credentials", `{"scheme": "twilio", "secrets": [{"env": "A"}], "twilio": {"url": "https://u:p@h.example.com/t"}}`,
			&pipeline.FieldError{Path: "twilio.url", Msg: "must not contain credentials"}},
		{"route override with a block of another scheme", `{"scheme": "stripe", "secrets": [{"env": "A"}], "routes": [{"name": "gh", "hmac": {"header": "x"}}]}`,
			&pipeline.FieldError{Path: `routes["gh"].hmac`, Msg: `applies only to scheme "hmac", not "stripe"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.given))
			var got *pipeline.FieldError
			require.True(t, errors.As(err, &got), "want a FieldError, got %v", err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveSecrets(t *testing.T) {
	tests := []struct {
		name  string
		given string
		env   map[string]string
		want  error
	}{
		{"env and inline secrets", `{"scheme": "stripe", "secrets": [{"env": "A"}, {"value": "inline"}]}`,
			map[string]string{"A": "whsec_a"}, nil},
		{"unset variable", `{"scheme": "stripe", "secrets": [{"env": "A"}, {"env": "B"}]}`,
			map[string]string{"A": "whsec_a"},
			&pipeline.FieldError{Path: "secrets[1].env", Msg: `environment variable "B" is not set or is empty`}},
		{"empty variable", `{"scheme": "stripe", "secrets": [{"env": "A"}]}`,
			map[string]string{"A": ""},
			&pipeline.FieldError{Path: "secrets[0].env", Msg: `environment variable "A" is not set or is empty`}},
		{"standard secret not base64", `{"scheme": "standard", "secrets": [{"env": "W"}]}`,
			map[string]string{"W": "whsec_hunter2!"},
			&pipeline.FieldError{Path: "secrets[0].env", Msg: `environment variable "W" does not hold a Standard Webhooks secret ("whsec_" and base64)`}},
		{"standard secret with a trailing newline", `{"scheme": "standard", "secrets": [{"env": "W"}]}`,
			map[string]string{"W": whsec + "\n"}, nil},
		{"public key of the wrong length", `{"scheme": "standard", "public_keys": [{"env": "P"}]}`,
			map[string]string{"P": "whpk_" + b64([]byte("sixteen byte key"))},
			&pipeline.FieldError{Path: "public_keys[0].env", Msg: `environment variable "P" does not hold an Ed25519 public key ("whpk_" and the base64 of 32 bytes)`}},
		{"public key", `{"scheme": "standard", "public_keys": [{"env": "P"}]}`,
			map[string]string{"P": edPub}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Parse([]byte(tt.given))
			require.NoError(t, err)
			assert.Equal(t, tt.want, routes.Default.ResolveSecrets(lookupIn(tt.env)))
		})
	}
}

func TestResolveSecretsOfEveryRoute(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "stripe", "secrets": [{"env": "A"}],
		"routes": [{"name": "eu", "secrets": [{"env": "EU"}]}, {"name": "off", "disabled": true}]}`))
	require.NoError(t, err)
	lookup := lookupIn(map[string]string{"A": "a"})

	err = routes.Each(func(c *Config) error { return c.ResolveSecrets(lookup) })

	assert.Equal(t, &pipeline.FieldError{Path: `routes["eu"].secrets[0].env`, Msg: `environment variable "EU" is not set or is empty`}, err)
}

// TestSecretsNeverShow formats a configuration and its errors in every way
// a log line might, and looks for the secrets.
func TestSecretsNeverShow(t *testing.T) {
	const inline, fromEnv, badStandard = "inline-s3cret-value", "env-s3cret-value", "whsec_s3cret!!"
	routes, err := Parse([]byte(`{"scheme": "stripe", "secrets": [{"env": "A"}, {"value": "` + inline + `"}]}`))
	require.NoError(t, err)
	c := routes.Default
	require.NoError(t, c.ResolveSecrets(lookupIn(map[string]string{"A": fromEnv})))
	standard, err := Parse([]byte(`{"scheme": "standard", "secrets": [{"env": "W"}]}`))
	require.NoError(t, err)
	resolveErr := standard.Default.ResolveSecrets(lookupIn(map[string]string{"W": badStandard}))
	require.Error(t, resolveErr)
	_, inlineErr := Parse([]byte(`{"scheme": "standard", "secrets": [{"value": "` + badStandard + `"}]}`))
	require.Error(t, inlineErr)
	js, err := json.Marshal(c)
	require.NoError(t, err)

	var shown []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		shown = append(shown, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c), fmt.Sprintf(verb, c.Secrets), fmt.Sprintf(verb, c.Secrets[1]))
	}
	shown = append(shown, c.String(), string(js), resolveErr.Error(), inlineErr.Error())
	for _, s := range shown {
		for _, secret := range []string{inline, fromEnv, badStandard, "s3cret"} {
			assert.NotContains(t, s, secret)
		}
	}
	assert.Equal(t, "webhookauth scheme=stripe secrets=[env:A value:(redacted)] tolerance=5m0s max_body_bytes=1048576 failure_status=401 replay=true", c.String())
}

func TestValidateIsRepeatable(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "X-Sig", "timestamp_header": "X-Ts", "template": "{timestamp}.{body}"}}`))
	require.NoError(t, err)
	c := routes.Default
	before := c.Settings()

	require.NoError(t, c.Validate())

	assert.Equal(t, before, c.Settings())
	assert.Equal(t, []string{"x-sig"}, c.SignatureHeaders())
}
