package webhookauth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
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
	// ReasonMalformed: a header is unparsable or too long, a signature is
	// not spelt as the provider spells it, there are too many signatures,
	// or a body is in a form the signature cannot cover.
	ReasonMalformed Reason = "malformed"
	// ReasonAmbiguous: a signature header, or a header whose value is
	// signed (a timestamp, an id), came more than once. Which copy the
	// provider signed, and which one the application reads, cannot be
	// told apart.
	ReasonAmbiguous Reason = "ambiguous"
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
	// Headers are the request's headers, pseudo-headers included.
	Headers Headers
	// Body is the whole request body.
	Body []byte
}

// Verdict is the outcome of a verification.
type Verdict struct {
	Reason Reason
	// ReplayKey identifies the delivery: what its provider signed, the
	// same whichever secret, signature or algorithm matched (see
	// startKey). Set on success when replay protection is on.
	ReplayKey [16]byte
	// Expires is until when the replay key must be remembered; set on
	// success.
	Expires time.Time
}

// OK reports whether the delivery was accepted.
func (v Verdict) OK() bool { return v.Reason == ReasonNone }

// Verify checks a whole delivery at once: its signature and, for schemes
// with a signed timestamp, its freshness at time now. It is Begin, Write
// and Finish in one call, so it decides exactly as a delivery checked
// piece by piece. It does not consult the replay cache: on success the
// caller passes the Verdict's ReplayKey and Expires to CheckAndInsert. A
// Config whose secrets were not resolved accepts nothing.
func (c *Config) Verify(d Delivery, now time.Time) Verdict {
	if len(d.Body) > c.settings.MaxBodyBytes {
		return Verdict{Reason: ReasonTooLarge}
	}
	v, r := c.Begin(d.Headers, now)
	if r != ReasonNone {
		return Verdict{Reason: r}
	}
	v.Write(d.Body)
	return v.Finish(d.Body, now)
}

// Verifier checks one delivery while its body passes, so that only the
// checks that need the body in one piece (Twilio's form parameters,
// Standard Webhooks' Ed25519 signatures) have it kept: Config.Begin reads
// the headers, Write takes the body in the pieces it comes in, and Finish
// decides. A Verifier serves one delivery.
type Verifier struct {
	c     *Config
	timed bool
	unix  int64 // the signed timestamp, when timed
	// macs hold one HMAC per secret, fed the signed content; sigs are the
	// HMAC signatures the delivery carries, decoded.
	macs []hash.Hash
	sigs [][]byte
	// keyInput is what the replay key hashes (see startKey): its first
	// keyHead bytes are written by Begin and, with keyContent (replay.key
	// "signature"), the content's digest follows; nil when replay
	// protection is off.
	keyInput   []byte
	keyHead    int
	keyContent bool
	// digest is fed the signed content for the replay key when no HMAC
	// that verification computes serves (see digestOwn); nil otherwise.
	digest hash.Hash
	// bodySigned: the body is part of the signed content, as it is for
	// every scheme but Twilio's.
	bodySigned bool
	suffix     [][]byte // signed content after the body (hmac templates)
	size       int      // body bytes written
	ed25519    *ed25519Check
	twilio     *twilioCheck
}

// ed25519Check is what a Standard Webhooks v1a signature is checked with:
// Ed25519 needs the signed message in one piece.
type ed25519Check struct {
	prefix []byte // "id.timestamp."
	sigs   [][]byte
}

// Begin reads a delivery's headers at time now: it parses the signature,
// checks the signed timestamp's freshness and prepares what Write feeds.
// A delivery whose headers already decide against it is refused here,
// before its body arrives.
func (c *Config) Begin(h Headers, now time.Time) (*Verifier, Reason) {
	if c.keys == nil {
		return nil, ReasonMismatch
	}
	for _, name := range c.sigHeaders {
		if h.repeated(name) {
			return nil, ReasonAmbiguous
		}
	}
	switch c.Scheme {
	case SchemeStripe:
		return c.beginStripe(h, now)
	case SchemeGitHub:
		return c.beginGitHub(h)
	case SchemeSlack:
		return c.beginSlack(h, now)
	case SchemeShopify:
		return c.beginShopify(h)
	case SchemeStandard:
		return c.beginStandard(h, now)
	case SchemeTwilio:
		return c.beginTwilio(h)
	case SchemeHMAC:
		return c.beginHMAC(h, now)
	}
	return nil, ReasonMismatch
}

// NeedsBody reports whether Finish needs the whole body.
func (v *Verifier) NeedsBody() bool {
	return v.ed25519 != nil || v.twilio != nil && v.twilio.form
}

// Write takes the next piece of the body.
func (v *Verifier) Write(p []byte) {
	v.size += len(p)
	if v.bodySigned {
		v.signed(p)
	}
	if v.twilio != nil && v.twilio.bodyHash != nil {
		v.twilio.bodyHash.Write(p)
	}
}

// Finish decides at time now, once the whole body was written. body is
// the whole body when NeedsBody, and is not read otherwise.
func (v *Verifier) Finish(body []byte, now time.Time) Verdict {
	c := v.c
	if v.timed && !c.fresh(v.unix, now) {
		return Verdict{Reason: ReasonStale}
	}
	var r Reason
	if v.twilio != nil {
		r = v.finishTwilio(body)
	} else {
		for _, p := range v.suffix {
			v.signed(p)
		}
		if !v.macMatches() && !v.ed25519Matches(body) {
			r = ReasonMismatch
		}
	}
	if r != ReasonNone {
		return Verdict{Reason: r}
	}
	verdict := Verdict{Expires: now.Add(c.settings.ReplayWindow)}
	if v.timed {
		verdict.Expires = time.Unix(v.unix, 0).Add(c.settings.Tolerance)
	}
	if v.keyInput != nil {
		verdict.ReplayKey = v.replayKey()
	}
	return verdict
}

// replayKey is the first 16 bytes of the SHA-256 of keyInput.
func (v *Verifier) replayKey() [16]byte {
	if v.digest != nil {
		v.keyInput = v.digest.Sum(v.keyInput[:v.keyHead])
	}
	sum := sum256(v.keyInput)
	return [16]byte(sum[:16])
}

// keepContentMAC makes mac, the first secret's HMAC of the signed content,
// the replay key's digest, unless the key has a digest of its own.
func (v *Verifier) keepContentMAC(mac []byte) {
	if v.keyContent && v.digest == nil {
		v.keyInput = append(v.keyInput[:v.keyHead], mac...)
	}
}

// newVerifier prepares an HMAC per secret for sigs (none when sigs is
// empty) and the replay key of a delivery whose signed timestamp and id
// are ts and id ("" when the scheme signs none). The first of those HMACs
// is the content's digest in the replay key; a scheme that checks none, or
// none in the algorithm that digest must have, calls digestOwn.
func (c *Config) newVerifier(newHash func() hash.Hash, sigs [][]byte, ts, id string) *Verifier {
	v := &Verifier{c: c, sigs: sigs, bodySigned: true}
	if len(sigs) > 0 {
		v.macs = make([]hash.Hash, len(c.keys.secrets))
		for i, key := range c.keys.secrets {
			v.macs[i] = hmac.New(newHash, key)
		}
	}
	v.startKey(ts, id)
	return v
}

// startKey begins the replay key: SHA-256 over the scheme, then either
// (replay.key "signature") the signed timestamp, the signed id and a
// digest of the signed content, or (replay.key "header:<name>") the signed
// id alone. Every part but the digest, which comes last and whose size the
// configuration fixes, is length-prefixed, and a mode byte tells the two
// kinds apart, so no two deliveries that differ in what was signed share a
// key.
//
// The digest is the scheme's HMAC of the signed content under the first
// configured secret, which verification computes anyway, so the body is
// hashed once for both (GitHub's SHA-1 path and Standard Webhooks' Ed25519
// path add a hash of their own, see digestOwn). Nothing of the signature
// goes in: the same delivery has one key whichever secret, signature or
// algorithm matched, and however the signature header was spelt. Only the
// first secret matters: replacing or reordering it changes every key, and
// the cache starts afresh as after a restart; appending a secret does not.
func (v *Verifier) startKey(ts, id string) {
	if !v.c.settings.Replay {
		return
	}
	buf := make([]byte, 0, 16+len(v.c.Scheme)+len(ts)+len(id)+sha512.Size)
	buf = appendFramed(buf, v.c.Scheme)
	if v.c.replayHeader != "" {
		buf = append(buf, 'h')
		buf = appendFramed(buf, id)
	} else {
		buf = append(buf, 's')
		buf = appendFramed(appendFramed(buf, ts), id)
		v.keyContent = true
	}
	v.keyInput, v.keyHead = buf, len(buf)
}

// digestOwn gives the replay key a digest of the signed content of its
// own, fed beside the HMACs, for deliveries whose checks compute no HMAC
// under the first secret in the algorithm newHash: that HMAC or, without
// a secret (Standard Webhooks with public keys only), a plain SHA-256.
// Call it before the signed content is fed.
func (v *Verifier) digestOwn(newHash func() hash.Hash) {
	if !v.keyContent {
		return
	}
	if secrets := v.c.keys.secrets; len(secrets) > 0 {
		v.digest = hmac.New(newHash, secrets[0])
	} else {
		v.digest = newSHA256()
	}
}

// appendFramed appends s after its length, four bytes big-endian.
func appendFramed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// signed feeds the next part of the signed content to the HMACs and to
// the replay key's own digest, if any.
func (v *Verifier) signed(p []byte) {
	for _, m := range v.macs {
		m.Write(p)
	}
	if v.digest != nil {
		v.digest.Write(p)
	}
}

// macMatches reports whether any HMAC equals any of the delivery's
// signatures, comparing every pair in constant time. It keeps the first
// secret's HMAC for the replay key, unless the key has a digest of its own.
func (v *Verifier) macMatches() bool {
	var sum [sha512.Size]byte
	match := 0
	for i, m := range v.macs {
		got := m.Sum(sum[:0])
		if i == 0 {
			v.keepContentMAC(got)
		}
		for _, s := range v.sigs {
			match |= subtle.ConstantTimeCompare(got, s)
		}
	}
	return match == 1
}

// ed25519Matches checks the Standard Webhooks v1a signatures, if any,
// against every public key.
func (v *Verifier) ed25519Matches(body []byte) bool {
	e := v.ed25519
	if e == nil {
		return false
	}
	// The one copy of the body this package makes, and only for v1a
	// deliveries.
	msg := make([]byte, 0, len(e.prefix)+len(body))
	msg = append(append(msg, e.prefix...), body...)
	for _, pk := range v.c.keys.public {
		for _, s := range e.sigs {
			if ed25519.Verify(pk, msg, s) {
				return true
			}
		}
	}
	return false
}

// fresh reports whether a signed timestamp is within tolerance of now.
func (c *Config) fresh(unix int64, now time.Time) bool {
	age := now.Sub(time.Unix(unix, 0))
	return age <= c.settings.Tolerance && age >= -c.settings.Tolerance
}

func (c *Config) beginStripe(h Headers, now time.Time) (*Verifier, Reason) {
	raw, r := h.get("stripe-signature")
	if r != ReasonNone {
		return nil, r
	}
	sig, ok := parseStripeSignature(raw)
	if !ok {
		return nil, ReasonMalformed
	}
	if !c.fresh(sig.unix, now) {
		return nil, ReasonStale
	}
	v := c.newVerifier(newSHA256, sig.v1, sig.timestamp, "")
	v.timed, v.unix = true, sig.unix
	v.signed([]byte(sig.timestamp + "."))
	return v, ReasonNone
}

// beginGitHub reads X-Hub-Signature-256, or with allow_sha1 the legacy
// X-Hub-Signature when the first is absent. Both sign the body alone, and
// the replay key digests it with HMAC-SHA256 either way, so a delivery has
// the same key whichever header it is checked by: the legacy path computes
// that HMAC beside its HMAC-SHA1s.
func (c *Config) beginGitHub(h Headers) (*Verifier, Reason) {
	newHash, size, prefix, legacy := newSHA256, sha256.Size, "sha256=", false
	raw, r := h.get("x-hub-signature-256")
	if r == ReasonMissingHeader && c.allowSHA1 {
		newHash, size, prefix, legacy = sha1.New, sha1.Size, "sha1=", true
		raw, r = h.get("x-hub-signature")
	}
	if r != ReasonNone {
		return nil, r
	}
	sig, ok := decodeSignature(raw, prefix, lowerHex, size)
	if !ok {
		return nil, ReasonMalformed
	}
	v := c.newVerifier(newHash, [][]byte{sig}, "", "")
	if legacy {
		v.digestOwn(newSHA256)
	}
	return v, ReasonNone
}

func (c *Config) beginSlack(h Headers, now time.Time) (*Verifier, Reason) {
	raw, r := h.get("x-slack-signature")
	if r != ReasonNone {
		return nil, r
	}
	ts, r := h.get("x-slack-request-timestamp")
	if r != ReasonNone {
		return nil, r
	}
	sig, ok := decodeSignature(raw, "v0=", lowerHex, sha256.Size)
	unix, tsOK := parseUnix(ts)
	if !ok || !tsOK {
		return nil, ReasonMalformed
	}
	if !c.fresh(unix, now) {
		return nil, ReasonStale
	}
	v := c.newVerifier(newSHA256, [][]byte{sig}, ts, "")
	v.timed, v.unix = true, unix
	v.signed([]byte("v0:" + ts + ":"))
	return v, ReasonNone
}

func (c *Config) beginShopify(h Headers) (*Verifier, Reason) {
	raw, r := h.get("x-shopify-hmac-sha256")
	if r != ReasonNone {
		return nil, r
	}
	sig, ok := decodeSignature(raw, "", canonicalBase64, sha256.Size)
	if !ok {
		return nil, ReasonMalformed
	}
	return c.newVerifier(newSHA256, [][]byte{sig}, "", ""), ReasonNone
}

// standardHeaders are the Standard Webhooks headers and the svix-prefixed
// ones Svix sends, in the order id, timestamp, signature.
var standardHeaders = [2][3]string{
	{"webhook-id", "webhook-timestamp", "webhook-signature"},
	{"svix-id", "svix-timestamp", "svix-signature"},
}

func (c *Config) beginStandard(h Headers, now time.Time) (*Verifier, Reason) {
	names := standardHeaders[0]
	raw, r := h.get(names[2])
	if r == ReasonMissingHeader {
		names = standardHeaders[1]
		if raw, r = h.get(names[2]); r == ReasonMissingHeader {
			names = standardHeaders[0] // report the standard names' absence
		}
	}
	if r != ReasonNone {
		return nil, r
	}
	id, r := h.get(names[0])
	if r != ReasonNone {
		return nil, r
	}
	ts, r := h.get(names[1])
	if r != ReasonNone {
		return nil, r
	}
	sigs, ok := parseStandardSignatures(raw)
	unix, tsOK := parseUnix(ts)
	if !ok || !tsOK {
		return nil, ReasonMalformed
	}
	if !c.fresh(unix, now) {
		return nil, ReasonStale
	}
	macSigs := sigs.v1
	if len(c.keys.secrets) == 0 {
		macSigs = nil
	}
	withKeys := len(sigs.v1a) > 0 && len(c.keys.public) > 0
	if len(macSigs) == 0 && !withKeys {
		return nil, ReasonMismatch // no signature any secret or key could match
	}
	v := c.newVerifier(newSHA256, macSigs, ts, id)
	v.timed, v.unix = true, unix
	if len(macSigs) == 0 {
		// Only v1a signatures, or no secret: the replay key still takes
		// the first secret's HMAC when there is one, as for v1.
		v.digestOwn(newSHA256)
	}
	prefix := []byte(id + "." + ts + ".")
	v.signed(prefix)
	if withKeys {
		v.ed25519 = &ed25519Check{prefix: prefix, sigs: sigs.v1a}
	}
	return v, ReasonNone
}

func (c *Config) beginHMAC(h Headers, now time.Time) (*Verifier, Reason) {
	sp := c.generic
	raw, r := h.get(sp.header)
	if r != ReasonNone {
		return nil, r
	}
	var values [fieldBody]string // indexed by field-1
	for _, in := range [...]struct {
		field field
		name  string
	}{{fieldID, sp.idHeader}, {fieldTimestamp, sp.tsHeader}, {fieldMethod, ":method"}, {fieldPath, ":path"}} {
		if !sp.needs.has(in.field) {
			continue
		}
		if values[in.field-1], r = h.get(in.name); r != ReasonNone {
			return nil, r
		}
	}
	enc := anyHex
	if sp.base64 {
		enc = canonicalBase64
	}
	sig, ok := decodeSignature(raw, sp.prefix, enc, sp.size)
	if !ok {
		return nil, ReasonMalformed
	}
	ts, id := values[fieldTimestamp-1], values[fieldID-1]
	var unix int64
	if sp.tsHeader != "" {
		if unix, ok = parseUnix(ts); !ok {
			return nil, ReasonMalformed
		}
		if !c.fresh(unix, now) {
			return nil, ReasonStale
		}
	}
	v := c.newVerifier(sp.newHash, [][]byte{sig}, ts, id)
	v.timed, v.unix = sp.tsHeader != "", unix
	// The template has {body} exactly once (see HMACConfig.spec): what
	// comes before it is signed now, what follows at Finish.
	afterBody := false
	for _, p := range sp.template {
		var part []byte
		switch p.field {
		case fieldBody:
			afterBody = true
			continue
		case fieldLiteral:
			part = []byte(p.literal)
		default:
			part = []byte(values[p.field-1])
		}
		if afterBody {
			v.suffix = append(v.suffix, part)
		} else {
			v.signed(part)
		}
	}
	return v, ReasonNone
}
