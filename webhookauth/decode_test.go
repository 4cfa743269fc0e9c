package webhookauth

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/conftest"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func TestDecodeJSONReadsEveryField(t *testing.T) {
	conftest.ReadsEveryField(t, &Config{}) // with Secret, ReplayConfig, EtcdConfig and the scheme options
}

func TestNullLeavesAFieldAsItIs(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "stripe", "secrets": [{"env": "A", "value": null}], "replay": null,
		"routes": [{"name": "r", "scheme": null, "replay": {"enabled": false}}]}`))
	require.NoError(t, err)
	assert.Equal(t, "webhookauth scheme=stripe secrets=[env:A] tolerance=5m0s max_body_bytes=1048576 failure_status=401 replay=true", routes.Default.String())
	r := routes.Resolve(pipeline.Named("r"))
	assert.Equal(t, SchemeStripe, r.Scheme)
	assert.False(t, r.Settings().Replay)
}

func TestTwilioURL(t *testing.T) {
	const (
		notURL      = "is not a URL"
		notAbsolute = "must be an absolute http or https URL"
		credentials = "must not contain credentials"
		query       = "must have no query string or fragment: the request's query string is appended"
	)
	tests := []struct {
		url  string
		want string // the end of the message; "" for none
	}{
		{"https://hooks.example.com/twilio", ""},
		{"http://h", ""},
		{"HTTPS://h/x", ""},
		{"http://[::1]:80/x", ""},
		{"http://[2001:db8::1]/x", ""},
		{"http://127.0.0.1:8080/x", ""},
		{"http://h:/x", ""},
		{"https://h/x@y", ""},
		{"https://h/caf%C3%A9/é", ""},
		{"http://user@host", credentials},
		{"https://u:p@h.example.com/t", credentials},
		{"http://a@b@h/", credentials},
		{"https://h/p?q", query},
		{"https://h/p?", query},
		{"https://h/p#f", query},
		{"https://h?q", query},
		{"https://u@h/p?q", credentials},
		{"http:///x", notAbsolute},
		{"http://", notAbsolute},
		{"http://user@/x", notAbsolute},
		{"ftp://h", notAbsolute},
		{"ftp://h?q", notAbsolute},
		{"//h", notAbsolute},
		{"//h:80/x", notAbsolute},
		{"http:h/x", notAbsolute},
		{"/twilio", notAbsolute},
		{"h/x", notAbsolute},
		{"https://h ost/x", notURL},
		{"https://h/a b", notURL},
		{" https://h/x", notURL},
		{"https://h/x\n", notURL},
		{"https://h/\x00", notURL},
		{"https://h/\x7f", notURL},
		{"https://h/%zz", notURL},
		{"https://h/%4", notURL},
		{"http://[::1/x", notURL},
		{"http://[::1]x/", notURL},
		{"http://[h]/", notURL},
		{"http://h:port/x", notURL},
		{"http://h<x>/", notURL},
	}
	for _, tt := range tests {
		err := validTwilioURL(tt.url)
		if tt.want == "" {
			assert.NoError(t, err, "%q", tt.url)
			continue
		}
		if assert.Error(t, err, "%q", tt.url) {
			want := fmt.Sprintf("%q ", tt.url) + tt.want
			if tt.want == credentials {
				want = credentials
			}
			assert.Equal(t, want, err.Error())
		}
	}
}

// TestNoVerbPrintsASecret formats secrets and configurations, and values
// holding them, with every verb a log line might use.
func TestNoVerbPrintsASecret(t *testing.T) {
	const inline = "inline-s3cret-value"
	routes, err := Parse([]byte(`{"scheme": "stripe", "secrets": [{"value": "` + inline + `"}, {"env": "A"}]}`))
	require.NoError(t, err)
	c := routes.Default
	require.NoError(t, c.ResolveSecrets(lookupIn(map[string]string{"A": inline + "-env"})))
	s := c.Secrets[0]
	type holder struct {
		C Config
		S Secret
	}
	type hidden struct {
		c Config
		s Secret
	}
	values := []any{s, &s, *c, c, c.Secrets, map[string]Secret{"k": s}, holder{*c, s}, &holder{*c, s}, hidden{*c, s}, &hidden{*c, s}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%+d", "%#x", "%o", "%t", "%10.3s", "%T"} {
		for _, v := range values {
			got := fmt.Sprintf(verb, v)
			assert.NotContains(t, got, "s3cret", "%s of %T", verb, v)
			assert.NotContains(t, strings.ToLower(got), fmt.Sprintf("%x", "s3cret"), "%s of %T", verb, v)
		}
	}
	assert.Equal(t, "value:(redacted)", s.GoString())
	assert.Equal(t, c.String(), c.GoString())
	js, err := json.Marshal(c.Secrets)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"value":"(redacted)"},{"env":"A"}]`, string(js))
}

func TestDecodeHexAgreesWithEncodingHex(t *testing.T) {
	for _, s := range []string{"", "00", "ff", "FF", "aB", "0g", "abc", "deadbeef", "DEADBEEF", "zz", "0x", " 1"} {
		for _, lower := range []bool{false, true} {
			want, err := hex.DecodeString(s)
			ok := err == nil && !(lower && strings.ContainsAny(s, "ABCDEF"))
			got, gotOK := decodeHex(s, lower, len(s)/2)
			if len(s)%2 == 1 {
				ok = false
			}
			require.Equal(t, ok, gotOK, "%q lower=%v", s, lower)
			if ok {
				require.Equal(t, want, got, "%q", s)
			}
		}
	}
	_, ok := decodeHex("00", false, 2)
	require.False(t, ok, "the length must match the size")
}
