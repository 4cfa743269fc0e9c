package webhookauth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Headers are a request's headers as Envoy hands them over: lower-case
// names, the pseudo-headers (":method", ":path", ":authority", ":scheme")
// included, and a name as many times as it was sent. Envoy's own lookup of
// one header returns its first copy only, which is why the filter reads
// them all once and looks them up here.
type Headers [][2]string

// get reads a header as hostile input: sent more than once is ambiguous,
// absent or empty is missing, longer than MaxHeaderBytes is malformed.
func (h Headers) get(name string) (string, Reason) {
	value, n := "", 0
	for _, kv := range h {
		if kv[0] == name {
			if n++; n == 1 {
				value = kv[1]
			}
		}
	}
	switch {
	case n > 1:
		return "", ReasonAmbiguous
	case value == "":
		return "", ReasonMissingHeader
	case len(value) > MaxHeaderBytes:
		return "", ReasonMalformed
	}
	return value, ReasonNone
}

// has reports whether the header name was sent at all.
func (h Headers) has(name string) bool {
	for _, kv := range h {
		if kv[0] == name {
			return true
		}
	}
	return false
}

// repeated reports whether the header name was sent more than once.
func (h Headers) repeated(name string) bool {
	n := 0
	for _, kv := range h {
		if kv[0] == name {
			n++
		}
	}
	return n > 1
}

// The parsers below read attacker-controlled header values. They never
// panic, bound their work by the header's length (at most MaxHeaderBytes)
// and report anything unexpected as malformed (ok == false).

// strictBase64 refuses encodings with non-zero padding bits, so that every
// signature has one spelling and no altered header decodes to a valid one.
var strictBase64 = base64.StdEncoding.Strict()

// parseUnix parses a signed Unix time in seconds: 1 to 18 ASCII digits,
// nothing else (no sign, no space, no fraction).
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// encoding is how a signature is spelt in its header.
type encoding uint8

const (
	// lowerHex is hex in lower case only: GitHub, Slack and Stripe send
	// it, and their own libraries (GitHub's documented check, Slack's
	// Bolt, Stripe's Node, Python and Ruby libraries) compare the header
	// with a lower-case hex string, so no other spelling passes them.
	lowerHex encoding = iota
	// anyHex is hex in either case, for the generic hmac scheme.
	anyHex
	// canonicalBase64 is standard base64 with padding and zero padding
	// bits: the one spelling the providers' libraries compare against.
	canonicalBase64
)

// decodeSignature removes prefix from v and decodes the rest to exactly
// size bytes.
func decodeSignature(v, prefix string, enc encoding, size int) ([]byte, bool) {
	s, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return nil, false
	}
	if enc == canonicalBase64 {
		return decodeBase64(s, size)
	}
	return decodeHex(s, enc == lowerHex, size)
}

// decodeHex decodes size bytes of hex, lower-case only when lower. It does
// not use encoding/hex: its error type formats with fmt, which would link
// fmt (110 KB of Wasm code) into the module.
func decodeHex(s string, lower bool, size int) ([]byte, bool) {
	if len(s) != 2*size {
		return nil, false
	}
	b := make([]byte, size)
	for i := range b {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 || lower && (isUpperHex(s[2*i]) || isUpperHex(s[2*i+1])) {
			return nil, false
		}
		b[i] = hi<<4 | lo
	}
	return b, true
}

func isUpperHex(c byte) bool { return c >= 'A' && c <= 'F' }

func decodeBase64(s string, size int) ([]byte, bool) {
	if len(s) != strictBase64.EncodedLen(size) {
		return nil, false
	}
	b, err := strictBase64.DecodeString(s)
	return b, err == nil && len(b) == size
}

// stripeSignature is a parsed Stripe-Signature header.
type stripeSignature struct {
	timestamp string // the digits as sent: they are what Stripe signed
	unix      int64
	v1        [][]byte
}

// parseStripeSignature parses "t=<unix>,v1=<hex>[,v1=<hex>...]". Entries
// other than t and v1 (v0, future schemes) are ignored; a missing or
// repeated t, an entry without "=", a v1 that is not 32 bytes of
// lower-case hex, or no v1 at all is malformed. Stripe's libraries split
// on "," and "=" without trimming, so neither does this: " v1=" is no v1.
func parseStripeSignature(h string) (stripeSignature, bool) {
	var sig stripeSignature
	seenT := false
	for rest := h; ; {
		item, more, found := strings.Cut(rest, ",")
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			return stripeSignature{}, false
		}
		switch key {
		case "t":
			if seenT {
				return stripeSignature{}, false
			}
			seenT = true
			if sig.unix, ok = parseUnix(value); !ok {
				return stripeSignature{}, false
			}
			sig.timestamp = value
		case "v1":
			if len(sig.v1) == MaxSignatures {
				return stripeSignature{}, false
			}
			mac, ok := decodeHex(value, true, sha256.Size)
			if !ok {
				return stripeSignature{}, false
			}
			sig.v1 = append(sig.v1, mac)
		}
		if !found {
			break
		}
		rest = more
	}
	if !seenT || len(sig.v1) == 0 {
		return stripeSignature{}, false
	}
	return sig, true
}

// standardSignatures is a parsed webhook-signature header.
type standardSignatures struct {
	v1  [][]byte // HMAC-SHA256
	v1a [][]byte // Ed25519
}

// parseStandardSignatures parses space-separated "<version>,<base64>"
// entries. Versions other than v1 and v1a are ignored; an entry without a
// comma, more than MaxSignatures entries, a signature of the wrong length
// or bad base64, or no v1 or v1a at all is malformed.
func parseStandardSignatures(h string) (standardSignatures, bool) {
	var sigs standardSignatures
	entries := 0
	for rest := h; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		if entry == "" {
			continue
		}
		if entries++; entries > MaxSignatures {
			return standardSignatures{}, false
		}
		version, value, ok := strings.Cut(entry, ",")
		if !ok {
			return standardSignatures{}, false
		}
		switch version {
		case "v1":
			mac, ok := decodeBase64(value, sha256.Size)
			if !ok {
				return standardSignatures{}, false
			}
			sigs.v1 = append(sigs.v1, mac)
		case "v1a":
			sig, ok := decodeBase64(value, ed25519.SignatureSize)
			if !ok {
				return standardSignatures{}, false
			}
			sigs.v1a = append(sigs.v1a, sig)
		}
	}
	if len(sigs.v1)+len(sigs.v1a) == 0 {
		return standardSignatures{}, false
	}
	return sigs, true
}

// trimOWS removes the optional white space HTTP allows around list items.
func trimOWS(s string) string { return strings.Trim(s, " \t") }
