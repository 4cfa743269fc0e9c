package webhookauth

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func FuzzParseUnix(f *testing.F) {
	for _, s := range []string{"1700000000", "0", "000123", "", "-1", "+1", "1e9", " 1", "1.5", "99999999999999999999", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseUnix(s)
		if !ok {
			return
		}
		want := strings.TrimLeft(s, "0")
		if want == "" {
			want = "0"
		}
		if strconv.FormatInt(n, 10) != want {
			t.Fatalf("parseUnix(%q) = %d", s, n)
		}
	})
}

func FuzzParseStripeSignature(f *testing.F) {
	v1 := strings.Repeat("5257a869e7ecebeda32affa62cdca3fa", 2)
	for _, s := range []string{
		"t=1492774577,v1=" + v1,
		"t=1492774577,v1=" + v1 + ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
		"v1=" + v1 + ", t=1,v1=" + strings.ToUpper(v1),
		"t=1,t=2,v1=" + v1, "t=,v1=", "t=1", ",", "=", "t=1,v1=" + v1 + ",", "t=1," + strings.Repeat("v1="+v1+",", 17),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sig, ok := parseStripeSignature(h)
		if !ok {
			return
		}
		if len(sig.v1) == 0 || len(sig.v1) > MaxSignatures {
			t.Fatalf("%d signatures from %q", len(sig.v1), h)
		}
		for _, s := range sig.v1 {
			if len(s) != sha256.Size {
				t.Fatalf("signature of %d bytes from %q", len(s), h)
			}
		}
		if n, ok := parseUnix(sig.timestamp); !ok || n != sig.unix || !strings.Contains(h, "t="+sig.timestamp) {
			t.Fatalf("timestamp %q (%d) from %q", sig.timestamp, sig.unix, h)
		}
	})
}

func FuzzParseStandardSignatures(f *testing.F) {
	for _, s := range []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a," + strings.Repeat("A", 86) + "==",
		"v2,abc  v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1,", "v1", " ", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
		strings.Repeat("v9,x ", 17),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sigs, ok := parseStandardSignatures(h)
		if !ok {
			return
		}
		if n := len(sigs.v1) + len(sigs.v1a); n == 0 || n > MaxSignatures {
			t.Fatalf("%d signatures from %q", n, h)
		}
		for _, s := range sigs.v1 {
			if !strings.Contains(h, "v1,"+b64(s)) {
				t.Fatalf("v1 %x is not spelt canonically in %q", s, h)
			}
		}
		for _, s := range sigs.v1a {
			if !strings.Contains(h, "v1a,"+b64(s)) {
				t.Fatalf("v1a %x is not spelt canonically in %q", s, h)
			}
		}
	})
}

// FuzzDecodeSignature covers prefix and encoding decoding: whatever it
// accepts has the requested size and the spelling the encoding allows.
func FuzzDecodeSignature(f *testing.F) {
	f.Add("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha256=", uint8(lowerHex), uint8(32))
	f.Add("sha1=01DC10D0C83E72ED246219CDD91669667FE2CA59", "sha1=", uint8(lowerHex), uint8(20))
	f.Add("sha1=01DC10D0C83E72ED246219CDD91669667FE2CA59", "sha1=", uint8(anyHex), uint8(20))
	f.Add("VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", "", uint8(canonicalBase64), uint8(32))
	f.Add("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "", uint8(canonicalBase64), uint8(20))
	f.Add("v0=", "v0=", uint8(lowerHex), uint8(0))
	f.Add("=\n=", "", uint8(canonicalBase64), uint8(1))
	f.Fuzz(func(t *testing.T, v, prefix string, encByte, size uint8) {
		enc := encoding(encByte % 3)
		got, ok := decodeSignature(v, prefix, enc, int(size))
		if !ok {
			return
		}
		rest := strings.TrimPrefix(v, prefix)
		switch {
		case len(got) != int(size):
			t.Fatalf("%d bytes, want %d, from %q", len(got), size, v)
		case enc == canonicalBase64 && b64(got) != rest:
			t.Fatalf("%q is not the canonical base64 of %x", rest, got)
		case enc == lowerHex && hexOf(got) != rest:
			t.Fatalf("%q is not the lower-case hex of %x", rest, got)
		case enc == anyHex && !strings.EqualFold(hexOf(got), rest):
			t.Fatalf("%q is not the hex of %x", rest, got)
		}
	})
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234", "a", "=", "&&", "a=%", "a=%4", "a=%zz", "a+b=c+d", "b=2&a=1&a=0",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		params, ok := parseForm(body)
		if !ok {
			return
		}
		if len(params) > maxFormParams {
			t.Fatalf("%d params", len(params))
		}
		for i := 1; i < len(params); i++ {
			a, b := params[i-1], params[i]
			if c := bytes.Compare(a.name, b.name); c > 0 || c == 0 && bytes.Compare(a.value, b.value) > 0 {
				t.Fatalf("params out of order: %q=%q before %q=%q", a.name, a.value, b.name, b.value)
			}
		}
	})
}

func FuzzTwilioURL(f *testing.F) {
	for _, s := range []string{
		"https://mycompany.com/myapp.php?foo=1&bar=2", "https://mycompany.com:443/x", "http://[::1]:80?a", "http://[::1]", "https://h:8443/",
		"ftp://h/", "https://", "://", "https://h?bodySHA256=00&bodySHA256=11",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		other := otherPortForm(u)
		if other != "" && otherPortForm(other) != u {
			t.Fatalf("otherPortForm(%q) = %q, and back %q", u, other, otherPortForm(other))
		}
		_, query, _ := strings.Cut(u, "?")
		queryParam(query, "bodySHA256")
	})
}

// FuzzParse feeds arbitrary configuration: it may be refused, never panic,
// and an accepted one has settings within their documented bounds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"scheme": "stripe", "secrets": [{"env": "STRIPE_SECRET_A"}, {"env": "STRIPE_SECRET_B"}, {"value": "inline"}],
		  "tolerance": "5m", "max_body_bytes": 1048576, "failure_status": 401, "strip_signature_headers": false,
		  "verified_header": "x-steadfast-webhook-verified", "replay": {"enabled": true, "cache_size": 10000, "key": "signature"}}`,
		`{"scheme": "standard", "secrets": [{"value": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}], "public_keys": [{"env": "SVIX_PUBKEY"}]}`,
		`{"scheme": "github", "secrets": [{"env": "A"}], "github": {"allow_sha1": true}, "replay": {"key": "header:x-github-delivery", "window": "1h"}}`,
		`{"scheme": "twilio", "secrets": [{"env": "A"}], "twilio": {"url": "https://hooks.example.com/twilio"}}`,
		`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-signature", "prefix": "sha256=", "algorithm": "sha256",
		  "encoding": "hex", "timestamp_header": "x-timestamp", "id_header": "x-webhook-id", "template": "{id}.{timestamp}.{body}"},
		  "routes": [{"name": "a*", "tolerance": "1m"}, {"name": "b", "disabled": true}]}`,
		`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x", "template": "{body}{"}}`,
		`{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"store": "etcd", "etcd": {"cluster": "outbound|2379||etcd",
		  "authority": "etcd:2379", "key_prefix": "hooks/", "timeout": "100ms", "failure_policy": "local_only"}},
		  "routes": [{"name": "a", "replay": {"store": "local", "etcd": null}}]}`,
		`{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := Parse(data)
		if err != nil {
			return
		}
		_ = routes.Each(func(c *Config) error {
			s := c.Settings()
			if s.Tolerance < time.Second || s.Tolerance > MaxTolerance || s.MaxBodyBytes < 1 || s.MaxBodyBytes > MaxBodyBytesLimit ||
				s.FailureStatus < 400 || s.FailureStatus > 499 || s.ReplayCacheSize < MinReplayCacheSize || s.ReplayCacheSize > MaxReplayCacheSize ||
				s.ReplayWindow < time.Second || len(c.SignatureHeaders()) == 0 {
				t.Fatalf("settings out of bounds: %+v", s)
			}
			if e := s.Etcd; e != nil && (!printable(e.Cluster) || !printable(e.Authority) || e.KeyPrefix == "" ||
				e.Timeout < MinEtcdTimeout || e.Timeout > MaxEtcdTimeout || e.FailurePolicy != FailClosed && e.FailurePolicy != LocalOnly) {
				t.Fatalf("etcd settings out of bounds: %+v", *e)
			}
			return c.ResolveSecrets(func(string) (string, bool) { return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true })
		})
	})
}

// fuzzConfigs are one resolved configuration per scheme, all with the
// secret "a" (or the standard test secret and key).
func fuzzConfigs(tb testing.TB) []*Config {
	env := map[string]string{"A": "a", "W": whsec, "P": edPub}
	var out []*Config
	for _, js := range []string{
		`{"scheme": "stripe", "secrets": [{"env": "A"}]}`,
		`{"scheme": "github", "secrets": [{"env": "A"}], "github": {"allow_sha1": true}}`,
		`{"scheme": "slack", "secrets": [{"env": "A"}]}`,
		`{"scheme": "shopify", "secrets": [{"env": "A"}]}`,
		`{"scheme": "standard", "secrets": [{"env": "W"}], "public_keys": [{"env": "P"}]}`,
		`{"scheme": "twilio", "secrets": [{"env": "A"}]}`,
		`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "timestamp_header": "x-ts", "id_header": "x-id",
			"template": "{id}|{timestamp}|{method}|{path}|{body}", "encoding": "base64"}}`,
		`{"scheme": "standard", "secrets": [{"env": "W"}], "replay": {"key": "header:webhook-id"}}`,
		`{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "id_header": "x-id", "template": "{method} {body} {id}"},
			"replay": {"key": "header:x-id"}}`,
		`{"scheme": "standard", "public_keys": [{"env": "P"}]}`,
	} {
		out = append(out, parseConfig(tb, js, env))
	}
	return out
}

// fuzzSeed is a valid delivery for one of fuzzConfigs.
type fuzzSeed struct {
	scheme                   uint8
	sig, ts, id, path, ctype string
	body                     []byte
}

// fuzzSeeds are valid deliveries, so that mutations start deep inside
// each scheme.
func fuzzSeeds() []fuzzSeed {
	body := []byte(`{"id":1}`)
	twPath := "/t?bodySHA256=" + hexOf(sha256Of(string(body)))
	return []fuzzSeed{
		{0, stripeHeader("a", nowTS, string(body)), nowTS, "", "/", "", body},
		{1, "sha256=" + hexOf(mac(sha256.New, "a", string(body))), "", "d-1", "/", "", body},
		{1, "sha1=" + hexOf(mac(sha1.New, "a", string(body))), "", "d-1", "/", "", body},
		{2, "v0=" + hexOf(mac(sha256.New, "a", "v0:", nowTS, ":", string(body))), nowTS, "", "/", "", body},
		{3, b64(mac(sha256.New, "a", string(body))), "", "", "/", "", body},
		{4, standardRequest("msg_1", nowTS, string(body)).headers["webhook-signature"], nowTS, "msg_1", "/", "", body},
		{4, ed25519Signature("msg_1", nowTS, string(body)), nowTS, "msg_1", "/", "", body},
		{5, b64(mac(sha1.New, "a", "https://h"+twPath)), "", "", twPath, "application/json", body},
		{5, b64(mac(sha1.New, "a", "https://h/f", "a", "1")), "", "", "/f", "application/x-www-form-urlencoded", []byte("a=1")},
		{6, b64(mac(sha256.New, "a", "i|", nowTS, "|POST|/p|", string(body))), nowTS, "i", "/p", "", body},
		{7, standardRequest("msg_1", nowTS, string(body)).headers["webhook-signature"], nowTS, "msg_1", "/", "", body},
		{8, hexOf(mac(sha256.New, "a", "POST ", string(body), " i")), "", "i", "/", "", body},
		{9, ed25519Signature("msg_1", nowTS, string(body)), nowTS, "msg_1", "/", "", body},
	}
}

// TestFuzzSeedsAreAccepted: every seed is a delivery its configuration
// accepts, so that the fuzzers start from every path to success.
func TestFuzzSeedsAreAccepted(t *testing.T) {
	configs := fuzzConfigs(t)
	for i, s := range fuzzSeeds() {
		c := configs[int(s.scheme)%len(configs)]
		got := c.Verify(fuzzDelivery(s.sig, s.ts, s.id, s.path, s.ctype, s.body), now)
		assert.True(t, got.OK(), "seed %d (%s): %s", i, c.Scheme, got.Reason)
	}
}

// fuzzDelivery gives sig, ts and id to every header that could carry them,
// but for X-Hub-Signature-256 when sig starts with "sha1=": GitHub's
// legacy signature is checked only in that header's absence.
func fuzzDelivery(sig, ts, id, path, ctype string, body []byte) Delivery {
	headers := map[string]string{":method": "POST", ":scheme": "https", ":authority": "h", ":path": path, "content-type": ctype}
	for _, name := range []string{"stripe-signature", "x-hub-signature-256", "x-hub-signature", "x-slack-signature",
		"x-shopify-hmac-sha256", "webhook-signature", "svix-signature", "x-twilio-signature", "x-sig"} {
		headers[name] = sig
	}
	if strings.HasPrefix(sig, "sha1=") {
		delete(headers, "x-hub-signature-256")
	}
	for _, name := range []string{"x-slack-request-timestamp", "webhook-timestamp", "svix-timestamp", "x-ts"} {
		headers[name] = ts
	}
	for _, name := range []string{"webhook-id", "svix-id", "x-id"} {
		headers[name] = id
	}
	return request{headers: headers, body: body}.delivery()
}

// FuzzVerify gives every scheme arbitrary header values and bodies.
func FuzzVerify(f *testing.F) {
	configs := fuzzConfigs(f)
	for _, s := range fuzzSeeds() {
		f.Add(s.scheme, s.sig, s.ts, s.id, s.path, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, scheme uint8, sig, ts, id, path, ctype string, body []byte) {
		c := configs[int(scheme)%len(configs)]
		d := fuzzDelivery(sig, ts, id, path, ctype, body)
		got := c.Verify(d, now)
		if again := c.Verify(d, now); again != got {
			t.Fatalf("Verify is not deterministic: %+v then %+v", got, again)
		}
		if got.OK() && (got.ReplayKey == [16]byte{} || got.Expires.IsZero()) {
			t.Fatalf("accepted without a replay key or expiry: %+v", got)
		}
		if !got.OK() && got != (Verdict{Reason: got.Reason}) {
			t.Fatalf("refused with a replay key or expiry: %+v", got)
		}
	})
}

// FuzzVerifyInChunks checks that how the body is cut into pieces never
// changes the verdict: each byte of cuts is the size of the next piece
// (0 to 16), the rest of the body comes in one.
func FuzzVerifyInChunks(f *testing.F) {
	configs := fuzzConfigs(f)
	for _, s := range fuzzSeeds() {
		f.Add(s.scheme, s.sig, s.ts, s.id, s.path, s.ctype, s.body, []byte{1, 0, 3, 16})
		f.Add(s.scheme, s.sig, s.ts, s.id, s.path, s.ctype, s.body, bytes.Repeat([]byte{1}, len(s.body)))
	}
	f.Fuzz(func(t *testing.T, scheme uint8, sig, ts, id, path, ctype string, body, cuts []byte) {
		c := configs[int(scheme)%len(configs)]
		d := fuzzDelivery(sig, ts, id, path, ctype, body)
		sizes := make([]int, len(cuts))
		for i, b := range cuts {
			sizes[i] = int(b % 17)
		}
		whole, pieces := c.Verify(d, now), verifyInChunks(c, d, sizes, now)
		if whole != pieces {
			t.Fatalf("whole body: %+v, in pieces of %v: %+v", whole, sizes, pieces)
		}
	})
}

// FuzzCheckAndInsert feeds arbitrary shard bytes and counters: the input
// is left alone, and the next shard always decodes, stays within
// ShardBound, in order of sequence, with only remembered entries, holds the
// key under the next sequence number and recognises its replay.
func FuzzCheckAndInsert(f *testing.F) {
	f.Add(shard(entry{1, now.Add(time.Minute), 5}, entry{2, now.Add(-time.Minute), 6}), []byte{1}, int64(60), uint64(10), 100)
	f.Add([]byte{}, []byte{2}, int64(300), uint64(0), 1)
	f.Add([]byte{1, 2, 3}, []byte{}, int64(-1), uint64(1<<63), 0)
	f.Add(shard(entry{3, now, 9}, entry{3, now.Add(time.Hour), 1}), []byte{3}, int64(1), uint64(9), 10000)
	f.Add(shardV1(entry{1, now.Add(time.Hour), 0}), []byte{1}, int64(1), uint64(1), 100)
	f.Fuzz(func(t *testing.T, given, keyBytes []byte, expiresIn int64, counted uint64, size int) {
		in := Insertion{
			Expires: now.Add(time.Duration(expiresIn) * time.Second), Now: now,
			// The glue reads no counter of 2^63 or more (decodeCount).
			Counted: counted & (1<<63 - 1), CacheSize: size % (1 << 20),
		}
		copy(in.Key[:], keyBytes)
		before := bytes.Clone(given)
		next, replay, evicted := CheckAndInsert(nil, given, in)
		if !bytes.Equal(before, given) {
			t.Fatal("the given shard was modified")
		}
		if replay || next == nil {
			if next != nil || evicted != 0 {
				t.Fatalf("nothing to write, yet a shard of %d bytes and %d evictions", len(next), evicted)
			}
			return
		}
		entries := shardEntries(next)
		if entries == nil || len(entries)/entrySize > ShardBound(in.CacheSize) {
			t.Fatalf("next shard of %d bytes does not decode or exceeds the bound %d", len(next), ShardBound(in.CacheSize))
		}
		if evicted < 0 || evicted > len(shardEntries(given))/entrySize {
			t.Fatalf("%d evictions from a shard of %d bytes", evicted, len(given))
		}
		found, last := false, uint64(0)
		for i := 0; i < len(entries); i += entrySize {
			e := entries[i : i+entrySize]
			seq := entrySeq(e)
			if seq < last || entryExpiry(e) < now.UnixNano() || !in.remembers(seq) {
				t.Fatalf("entry %d (sequence %d) out of order, expired or forgotten", i/entrySize, seq)
			}
			last = seq
			if [16]byte(e[:16]) == in.Key {
				found = found || seq == in.Counted+1 && entryExpiry(e) == in.Expires.UnixNano()
			}
		}
		if !found {
			t.Fatal("the key is not in the next shard under the next sequence number")
		}
		if _, again, _ := CheckAndInsert(nil, next, in); !again {
			t.Fatal("the inserted key is not recognised")
		}
	})
}

// FuzzParseEtcdAnswer: no answer, however broken, makes the parsers panic
// or decide without etcd's header; a lease-not-found is always an error.
func FuzzParseEtcdAnswer(f *testing.F) {
	for _, s := range []string{txnInsertedJSON, txnExistsJSON, leaseMissingJSON, grantJSON, `{}`, `[]`, `null`, ``,
		`{"header":{},"succeeded":true,"responses":[{"response_put":{}}]}`, `{"header":{},"ID":"-1","TTL":"1"}`,
		`{"code":5,"message":"lease not found"}`, txnInsertedJSON[:40]} {
		f.Add(200, []byte(s))
	}
	f.Add(404, []byte(leaseMissingJSON))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		outcome, err := parseTxnAnswer(status, body)
		switch outcome {
		case txnInserted, txnExists:
			if err != nil || status != 200 || !strings.Contains(strings.ToLower(string(body)), "header") { // field names match in any case
				t.Fatalf("%d %q decided %d with %v", status, body, outcome, err)
			}
		case txnLeaseNotFound:
			if err == nil {
				t.Fatalf("%d %q: lease not found without an error", status, body)
			}
		case 0:
			if err == nil {
				t.Fatalf("%d %q: no outcome and no error", status, body)
			}
		default:
			t.Fatalf("%d %q: outcome %d", status, body, outcome)
		}
		id, ttl, err := parseGrantAnswer(status, body)
		if err == nil && (id == 0 || ttl <= 0 || ttl > maxLeaseTTL || status != 200) {
			t.Fatalf("%d %q: granted %d for %s", status, body, id, ttl)
		}
	})
}
