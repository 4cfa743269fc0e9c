package webhookauth

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// benchmarkDelivery is a valid delivery of size bytes for a scheme.
type benchmarkDelivery struct {
	scheme string
	config string
	sign   func(body string) request
}

func benchmarkDeliveries() []benchmarkDelivery {
	twilio := func(body string) request {
		path := "/t?bodySHA256=" + hexOf(sha256Of(body))
		return newRequest(body, ":scheme", "https", ":authority", "h", ":path", path, "content-type", "application/json",
			"x-twilio-signature", b64(mac(sha1.New, "a", "https://h"+path)))
	}
	return []benchmarkDelivery{
		{"stripe", `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, func(b string) request { return stripeRequest("a", nowTS, b) }},
		{"stripe-2-secrets", `{"scheme": "stripe", "secrets": [{"env": "B"}, {"env": "A"}]}`, func(b string) request { return stripeRequest("a", nowTS, b) }},
		{"github", `{"scheme": "github", "secrets": [{"env": "A"}]}`, func(b string) request {
			return newRequest(b, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "a", b)))
		}},
		{"slack", `{"scheme": "slack", "secrets": [{"env": "A"}]}`, func(b string) request { return slackRequest("a", nowTS, b) }},
		{"shopify", `{"scheme": "shopify", "secrets": [{"env": "A"}]}`, func(b string) request {
			return newRequest(b, "x-shopify-hmac-sha256", b64(mac(sha256.New, "a", b)))
		}},
		{"standard", `{"scheme": "standard", "secrets": [{"env": "W"}]}`, func(b string) request { return standardRequest("msg_1", nowTS, b) }},
		{"standard-ed25519", `{"scheme": "standard", "public_keys": [{"env": "P"}]}`, func(b string) request {
			return standardRequest("msg_1", nowTS, b).withHeader("webhook-signature", ed25519Signature("msg_1", nowTS, b))
		}},
		{"twilio-json", `{"scheme": "twilio", "secrets": [{"env": "A"}]}`, twilio},
		{"hmac", `{"scheme": "hmac", "secrets": [{"env": "A"}], "hmac": {"header": "x-sig", "timestamp_header": "x-ts", "template": "{timestamp}.{body}"}}`,
			func(b string) request {
				return newRequest(b, "x-ts", nowTS, "x-sig", hexOf(mac(sha256.New, "a", nowTS, ".", b)))
			}},
	}
}

func BenchmarkVerify(b *testing.B) {
	env := map[string]string{"A": "a", "B": "b", "W": whsec, "P": edPub}
	for _, bd := range benchmarkDeliveries() {
		c := parseConfig(b, bd.config, env)
		for _, size := range []struct {
			name  string
			bytes int
		}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
			body := strings.Repeat("x", size.bytes)
			d := bd.sign(body).delivery()
			if v := c.Verify(d, now); !v.OK() {
				b.Fatalf("%s: the benchmark delivery is refused: %s", bd.scheme, v.Reason)
			}
			b.Run(bd.scheme+"/"+size.name, func(b *testing.B) {
				b.SetBytes(int64(size.bytes))
				b.ReportAllocs()
				for b.Loop() {
					c.Verify(d, now)
				}
			})
		}
	}
}

// BenchmarkReplayKey is what deriving the replay key costs: the same
// GitHub deliveries verified with replay protection on and off. The key
// reuses the HMAC the signature is checked with, so the two differ by one
// SHA-256 of a hundred bytes, whatever the body's size.
func BenchmarkReplayKey(b *testing.B) {
	env := map[string]string{"A": "a"}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		body := strings.Repeat("x", size.bytes)
		d := newRequest(body, "x-hub-signature-256", "sha256="+hexOf(mac(sha256.New, "a", body))).delivery()
		for _, replay := range []string{"on", "off"} {
			c := parseConfig(b, `{"scheme": "github", "secrets": [{"env": "A"}], "replay": {"enabled": `+map[string]string{"on": "true", "off": "false"}[replay]+`}}`, env)
			b.Run(size.name+"/replay-"+replay, func(b *testing.B) {
				b.SetBytes(int64(size.bytes))
				b.ReportAllocs()
				for b.Loop() {
					if !c.Verify(d, now).OK() {
						b.Fatal("refused")
					}
				}
			})
		}
	}
}

// BenchmarkCheckAndInsert inserts into a shard of the default cache as it
// is with keys spread evenly (about 64 entries), evicting its oldest entry
// by sequence each time, into a reused buffer as the glue does.
func BenchmarkCheckAndInsert(b *testing.B) {
	shards := replayShards(DefaultReplayCacheSize)
	var entries []entry
	for i := range maxShardEntries {
		entries = append(entries, entry{byte(i), now.Add(time.Hour), uint64(1 + i*shards)})
	}
	in := Insertion{Expires: now.Add(time.Hour), Now: now, Counted: DefaultReplayCacheSize + 1, CacheSize: DefaultReplayCacheSize}
	full := shard(entries...)
	var dst []byte
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		binary.BigEndian.PutUint64(in.Key[8:], i)
		next, replay, evicted := CheckAndInsert(dst, full, in)
		if replay || evicted != 1 {
			b.Fatalf("a new key taken for a replay, or %d evictions", evicted)
		}
		dst = next
	}
}
