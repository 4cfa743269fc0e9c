package webhookauth

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// request is a delivery under test: its headers (lower-case names), extra
// copies of some of them, and its body. Its with* methods return modified
// copies.
type request struct {
	headers map[string]string
	extra   [][2]string
	body    []byte
}

func newRequest(body string, kv ...string) request {
	r := request{headers: map[string]string{}, body: []byte(body)}
	for i := 0; i+1 < len(kv); i += 2 {
		r.headers[kv[i]] = kv[i+1]
	}
	return r
}

// headerList is the request's headers as Envoy hands them over: in name
// order, then the extra copies.
func (r request) headerList() Headers {
	var h Headers
	for _, name := range slices.Sorted(maps.Keys(r.headers)) {
		h = append(h, [2]string{name, r.headers[name]})
	}
	return append(h, r.extra...)
}

func (r request) delivery() Delivery {
	return Delivery{Headers: r.headerList(), Body: r.body}
}

// withCopy adds another copy of a header, after all the others.
func (r request) withCopy(name, value string) request {
	r.extra = append(slices.Clone(r.extra), [2]string{name, value})
	return r
}

func (r request) withHeader(name, value string) request {
	r.headers = maps.Clone(r.headers)
	r.headers[name] = value
	return r
}

func (r request) without(name string) request {
	r.headers = maps.Clone(r.headers)
	delete(r.headers, name)
	return r
}

func (r request) withBody(body []byte) request {
	r.body = body
	return r
}

// tampered is one single-byte alteration of a request.
type tampered struct {
	name string
	req  request
}

// tamperings lists every alteration of one byte (xor 1, which never turns a
// hex digit or base64 letter into another spelling of the same value) of
// the body and of each of the named headers.
func (r request) tamperings(headers ...string) []tampered {
	var out []tampered
	for i := range r.body {
		b := slices.Clone(r.body)
		b[i] ^= 1
		out = append(out, tampered{name: "body byte " + itoa(i), req: r.withBody(b)})
	}
	for _, h := range headers {
		v := r.headers[h]
		for i := range len(v) {
			b := []byte(v)
			b[i] ^= 1
			out = append(out, tampered{name: h + " byte " + itoa(i), req: r.withHeader(h, string(b))})
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// parseConfig parses a top-level configuration and resolves its secrets
// from env.
func parseConfig(t testing.TB, js string, env map[string]string) *Config {
	t.Helper()
	routes, err := Parse([]byte(js))
	require.NoError(t, err)
	require.NoError(t, routes.Default.ResolveSecrets(lookupIn(env)))
	return routes.Default
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := env[name]; return v, ok }
}

// mac signs parts with key: the signer of the test deliveries.
func mac(newHash func() hash.Hash, key string, parts ...string) []byte {
	m := hmac.New(newHash, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
func b64(b []byte) string   { return base64.StdEncoding.EncodeToString(b) }

// withoutKey drops the replay key, which TestReplayKey covers, so tables
// can compare the rest of a Verdict.
func withoutKey(v Verdict) Verdict {
	v.ReplayKey = [16]byte{}
	return v
}

func unix(sec int64) time.Time { return time.Unix(sec, 0) }

// verifyInChunks verifies d as the filter does: Begin, then the body in
// pieces of the given sizes (what is left in one last piece), then Finish,
// with the whole body only if the verifier says it needs it. Each piece is
// overwritten once written, as a verifier must not keep it.
func verifyInChunks(c *Config, d Delivery, sizes []int, now time.Time) Verdict {
	if len(d.Body) > c.Settings().MaxBodyBytes {
		return Verdict{Reason: ReasonTooLarge}
	}
	v, r := c.Begin(d.Headers, now)
	if r != ReasonNone {
		return Verdict{Reason: r}
	}
	write := func(p []byte) {
		piece := slices.Clone(p)
		v.Write(piece)
		for i := range piece {
			piece[i] = 0xa5
		}
	}
	rest := d.Body
	for _, n := range sizes {
		n = min(n, len(rest))
		write(rest[:n])
		rest = rest[n:]
	}
	write(rest)
	var body []byte
	if v.NeedsBody() {
		body = d.Body
	}
	return v.Finish(body, now)
}
