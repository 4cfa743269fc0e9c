package webhookauth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

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

// decodeSignature removes prefix from v and decodes the rest, hex or
// base64, to exactly size bytes.
func decodeSignature(v, prefix string, base64 bool, size int) ([]byte, bool) {
	s, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return nil, false
	}
	if base64 {
		return decodeBase64(s, size)
	}
	return decodeHex(s, size)
}

func decodeHex(s string, size int) ([]byte, bool) {
	if len(s) != hex.EncodedLen(size) {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

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
// repeated t, an entry without "=", a v1 that is not 32 bytes of hex, or
// no v1 at all is malformed.
func parseStripeSignature(h string) (stripeSignature, bool) {
	var sig stripeSignature
	seenT := false
	for rest := h; ; {
		item, more, found := strings.Cut(rest, ",")
		key, value, ok := strings.Cut(trimOWS(item), "=")
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
			mac, ok := decodeHex(value, sha256.Size)
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
