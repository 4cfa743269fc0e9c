package webhookauth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"
)

// Reason says why a delivery was refused; "" means it was accepted. The
// values are metric labels.
type Reason string

// Reasons.
const (
	ReasonNone Reason = ""
	// ReasonMissingHeader: a header the scheme needs is absent or empty.
	ReasonMissingHeader Reason = "missing_header"
	// ReasonMalformed: a header is unparsable or too long, there are too
	// many signatures, or a body is in a form the signature cannot cover.
	ReasonMalformed Reason = "malformed"
	// ReasonStale: the signed timestamp is further than the tolerance from
	// now, in the past or the future.
	ReasonStale Reason = "stale"
	// ReasonMismatch: no signature matches any secret or key.
	ReasonMismatch Reason = "mismatch"
	// ReasonReplay: the delivery was accepted before (decided by the
	// replay cache, see CheckAndInsert).
	ReasonReplay Reason = "replay"
	// ReasonTooLarge: the body exceeds max_body_bytes.
	ReasonTooLarge Reason = "too_large"
)

// Delivery is what Verify sees of a request.
type Delivery struct {
	// Header returns a request header by lower-case name, including the
	// pseudo-headers ":method", ":path", ":authority" and ":scheme".
	Header func(name string) (string, bool)
	// Body is the whole request body.
	Body []byte
}

// Verdict is the outcome of Verify.
type Verdict struct {
	Reason Reason
	// ReplayKey identifies this exact signed delivery; set on success.
	ReplayKey [16]byte
	// Expires is until when the replay key must be remembered; set on
	// success.
	Expires time.Time
}

// OK reports whether the delivery was accepted.
func (v Verdict) OK() bool { return v.Reason == ReasonNone }

// signed is what a scheme found in a delivery whose signature matched.
type signed struct {
	timed bool
	unix  int64  // the signed timestamp, when timed
	sig   []byte // the signature that matched, decoded
}

// Verify checks a delivery's signature, and for schemes with a signed
// timestamp its freshness, at time now. It does not consult the replay
// cache: on success the caller passes the Verdict's ReplayKey and Expires
// to CheckAndInsert. A Config whose secrets were not resolved accepts
// nothing.
func (c *Config) Verify(d Delivery, now time.Time) Verdict {
	if c.keys == nil {
		return Verdict{Reason: ReasonMismatch}
	}
	if len(d.Body) > c.settings.MaxBodyBytes {
		return Verdict{Reason: ReasonTooLarge}
	}
	var replayID string
	if c.replayHeader != "" {
		v, r := d.get(c.replayHeader)
		if r != ReasonNone {
			return Verdict{Reason: r}
		}
		replayID = v
	}
	var s signed
	var r Reason
	switch c.Scheme {
	case SchemeStripe:
		s, r = c.verifyStripe(d, now)
	case SchemeGitHub:
		s, r = c.verifyGitHub(d)
	case SchemeSlack:
		s, r = c.verifySlack(d, now)
	case SchemeShopify:
		s, r = c.verifyShopify(d)
	case SchemeStandard:
		s, r = c.verifyStandard(d, now)
	case SchemeTwilio:
		s, r = c.verifyTwilio(d)
	case SchemeHMAC:
		s, r = c.verifyHMAC(d, now)
	default:
		r = ReasonMismatch
	}
	if r != ReasonNone {
		return Verdict{Reason: r}
	}
	v := Verdict{Expires: now.Add(c.settings.ReplayWindow)}
	if s.timed {
		v.Expires = time.Unix(s.unix, 0).Add(c.settings.Tolerance)
	}
	if c.replayHeader != "" {
		v.ReplayKey = replayKey(c.Scheme, 'h', 0, []byte(replayID))
	} else {
		v.ReplayKey = replayKey(c.Scheme, 's', s.unix, s.sig)
	}
	return v
}

// replayKey is the first 16 bytes of SHA-256 over the scheme, the kind of
// key ('s' signature, 'h' header), the signed timestamp (0 when none) and
// the value. The signature is the decoded one, so that another spelling of
// it (upper-case hex) is the same delivery.
func replayKey(scheme string, kind byte, unix int64, value []byte) [16]byte {
	h := newSHA256()
	buf := make([]byte, 0, len(scheme)+10)
	buf = append(buf, scheme...)
	buf = append(buf, 0, kind)
	buf = binary.BigEndian.AppendUint64(buf, uint64(unix))
	h.Write(buf)
	h.Write(value)
	var key [16]byte
	copy(key[:], h.Sum(nil))
	return key
}

// get reads a header as hostile input: absent or empty is missing, longer
// than MaxHeaderBytes is malformed.
func (d Delivery) get(name string) (string, Reason) {
	if d.Header == nil {
		return "", ReasonMissingHeader
	}
	v, ok := d.Header(name)
	switch {
	case !ok || v == "":
		return "", ReasonMissingHeader
	case len(v) > MaxHeaderBytes:
		return "", ReasonMalformed
	}
	return v, ReasonNone
}

// fresh reports whether a signed timestamp is within tolerance of now.
func (c *Config) fresh(unix int64, now time.Time) bool {
	age := now.Sub(time.Unix(unix, 0))
	return age <= c.settings.Tolerance && age >= -c.settings.Tolerance
}

// matchHMAC computes, for each secret in turn, the HMAC of the parts written in
// order, and returns the first of sigs that equals one (compared in
// constant time), or nil.
func (c *Config) matchHMAC(newHash func() hash.Hash, sigs [][]byte, parts ...[]byte) []byte {
	var sum [64]byte
	for _, key := range c.keys.secrets {
		m := hmac.New(newHash, key)
		for _, p := range parts {
			m.Write(p)
		}
		got := m.Sum(sum[:0])
		for _, s := range sigs {
			if hmac.Equal(got, s) {
				return s
			}
		}
	}
	return nil
}

func (c *Config) verifyStripe(d Delivery, now time.Time) (signed, Reason) {
	h, r := d.get("stripe-signature")
	if r != ReasonNone {
		return signed{}, r
	}
	sig, ok := parseStripeSignature(h)
	if !ok {
		return signed{}, ReasonMalformed
	}
	if !c.fresh(sig.unix, now) {
		return signed{}, ReasonStale
	}
	m := c.matchHMAC(newSHA256, sig.v1, []byte(sig.timestamp), []byte{'.'}, d.Body)
	if m == nil {
		return signed{}, ReasonMismatch
	}
	return signed{timed: true, unix: sig.unix, sig: m}, ReasonNone
}

func (c *Config) verifyGitHub(d Delivery) (signed, Reason) {
	newHash, size, prefix := newSHA256, sha256.Size, "sha256="
	h, r := d.get("x-hub-signature-256")
	if r == ReasonMissingHeader && c.allowSHA1 {
		newHash, size, prefix = sha1.New, sha1.Size, "sha1="
		h, r = d.get("x-hub-signature")
	}
	if r != ReasonNone {
		return signed{}, r
	}
	sig, ok := decodeSignature(h, prefix, false, size)
	if !ok {
		return signed{}, ReasonMalformed
	}
	m := c.matchHMAC(newHash, [][]byte{sig}, d.Body)
	if m == nil {
		return signed{}, ReasonMismatch
	}
	return signed{sig: m}, ReasonNone
}

func (c *Config) verifySlack(d Delivery, now time.Time) (signed, Reason) {
	h, r := d.get("x-slack-signature")
	if r != ReasonNone {
		return signed{}, r
	}
	ts, r := d.get("x-slack-request-timestamp")
	if r != ReasonNone {
		return signed{}, r
	}
	sig, ok := decodeSignature(h, "v0=", false, sha256.Size)
	unix, tsOK := parseUnix(ts)
	if !ok || !tsOK {
		return signed{}, ReasonMalformed
	}
	if !c.fresh(unix, now) {
		return signed{}, ReasonStale
	}
	m := c.matchHMAC(newSHA256, [][]byte{sig}, []byte("v0:"+ts+":"), d.Body)
	if m == nil {
		return signed{}, ReasonMismatch
	}
	return signed{timed: true, unix: unix, sig: m}, ReasonNone
}

func (c *Config) verifyShopify(d Delivery) (signed, Reason) {
	h, r := d.get("x-shopify-hmac-sha256")
	if r != ReasonNone {
		return signed{}, r
	}
	sig, ok := decodeSignature(h, "", true, sha256.Size)
	if !ok {
		return signed{}, ReasonMalformed
	}
	m := c.matchHMAC(newSHA256, [][]byte{sig}, d.Body)
	if m == nil {
		return signed{}, ReasonMismatch
	}
	return signed{sig: m}, ReasonNone
}

// standardHeaders are the Standard Webhooks headers and the svix-prefixed
// ones Svix sends, in the order id, timestamp, signature.
var standardHeaders = [2][3]string{
	{"webhook-id", "webhook-timestamp", "webhook-signature"},
	{"svix-id", "svix-timestamp", "svix-signature"},
}

func (c *Config) verifyStandard(d Delivery, now time.Time) (signed, Reason) {
	names := standardHeaders[0]
	h, r := d.get(names[2])
	if r == ReasonMissingHeader {
		names = standardHeaders[1]
		if h, r = d.get(names[2]); r == ReasonMissingHeader {
			names = standardHeaders[0] // report the standard names' absence
		}
	}
	if r != ReasonNone {
		return signed{}, r
	}
	id, r := d.get(names[0])
	if r != ReasonNone {
		return signed{}, r
	}
	ts, r := d.get(names[1])
	if r != ReasonNone {
		return signed{}, r
	}
	sigs, ok := parseStandardSignatures(h)
	unix, tsOK := parseUnix(ts)
	if !ok || !tsOK {
		return signed{}, ReasonMalformed
	}
	if !c.fresh(unix, now) {
		return signed{}, ReasonStale
	}
	prefix := []byte(id + "." + ts + ".")
	if len(sigs.v1) > 0 {
		if m := c.matchHMAC(newSHA256, sigs.v1, prefix, d.Body); m != nil {
			return signed{timed: true, unix: unix, sig: m}, ReasonNone
		}
	}
	if len(sigs.v1a) > 0 && len(c.keys.public) > 0 {
		// Ed25519 needs the message in one piece: the one copy of the
		// body this package makes, and only for v1a deliveries.
		msg := make([]byte, 0, len(prefix)+len(d.Body))
		msg = append(append(msg, prefix...), d.Body...)
		for _, pk := range c.keys.public {
			for _, s := range sigs.v1a {
				if ed25519.Verify(pk, msg, s) {
					return signed{timed: true, unix: unix, sig: s}, ReasonNone
				}
			}
		}
	}
	return signed{}, ReasonMismatch
}

func (c *Config) verifyHMAC(d Delivery, now time.Time) (signed, Reason) {
	sp := c.generic
	h, r := d.get(sp.header)
	if r != ReasonNone {
		return signed{}, r
	}
	var values [fieldBody]string // indexed by field-1
	for _, in := range [...]struct {
		field field
		name  string
	}{{fieldID, sp.idHeader}, {fieldTimestamp, sp.tsHeader}, {fieldMethod, ":method"}, {fieldPath, ":path"}} {
		if !sp.needs.has(in.field) {
			continue
		}
		if values[in.field-1], r = d.get(in.name); r != ReasonNone {
			return signed{}, r
		}
	}
	sig, ok := decodeSignature(h, sp.prefix, sp.base64, sp.size)
	if !ok {
		return signed{}, ReasonMalformed
	}
	s := signed{timed: sp.tsHeader != ""}
	if s.timed {
		if s.unix, ok = parseUnix(values[fieldTimestamp-1]); !ok {
			return signed{}, ReasonMalformed
		}
		if !c.fresh(s.unix, now) {
			return signed{}, ReasonStale
		}
	}
	parts := make([][]byte, len(sp.template))
	for i, p := range sp.template {
		switch p.field {
		case fieldLiteral:
			parts[i] = []byte(p.literal)
		case fieldBody:
			parts[i] = d.Body
		default:
			parts[i] = []byte(values[p.field-1])
		}
	}
	if s.sig = c.matchHMAC(sp.newHash, [][]byte{sig}, parts...); s.sig == nil {
		return signed{}, ReasonMismatch
	}
	return s, ReasonNone
}
