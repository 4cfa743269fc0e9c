package webhookauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"strings"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// maxFormParams bounds the parameters of a Twilio form body; Twilio sends
// a few dozen.
const maxFormParams = 1024

// twilioCheck is what Twilio's signature is checked against. Twilio signs,
// with HMAC-SHA1, the full URL and, for a form body, every POST parameter
// sorted by name, name then value. A JSON body is covered instead by a
// bodySHA256 query parameter, the hex SHA-256 of the body, which must
// match. Any other non-empty body cannot be covered by the signature and
// is malformed.
type twilioCheck struct {
	url      string // the URL as the request gives it (see twilioRequestURL)
	sig      []byte
	form     bool      // the parameters are signed: Finish needs the body
	bodyHash hash.Hash // bodySHA256 was given: the body's SHA-256
	want     []byte    // bodySHA256, decoded
	// urlMatches: the signature covers the URL alone (no form), and does.
	urlMatches bool
}

// beginTwilio reads the signature and the URL. Unless the body is a form,
// the signature covers the URL alone and is checked here; Finish decides,
// once it knows whether the body could be signed at all.
func (c *Config) beginTwilio(h Headers) (*Verifier, Reason) {
	raw, r := h.get("x-twilio-signature")
	if r != ReasonNone {
		return nil, r
	}
	u, r := c.twilioRequestURL(h)
	if r != ReasonNone {
		return nil, r
	}
	form, r := isForm(h)
	if r != ReasonNone {
		return nil, r
	}
	sig, ok := decodeSignature(raw, "", canonicalBase64, sha1.Size)
	if !ok {
		return nil, ReasonMalformed
	}
	_, query, _ := strings.Cut(u, "?")
	bodyHash, hashed, ok := queryParam(query, "bodySHA256")
	if !ok {
		return nil, ReasonMalformed
	}
	tw := &twilioCheck{url: u, sig: sig}
	switch {
	case hashed:
		if tw.want, ok = decodeHex(bodyHash, true, sha256.Size); !ok {
			return nil, ReasonMalformed
		}
		tw.bodyHash = newSHA256()
	case form:
		tw.form = true
	}
	v := c.newVerifier(nil, nil, "", "")
	v.bodySigned, v.twilio = false, tw
	if !tw.form {
		tw.urlMatches = v.twilioMatches(nil)
	}
	return v, ReasonNone
}

// finishTwilio checks what needs the body: its SHA-256, or the form
// parameters the signature covers.
func (v *Verifier) finishTwilio(body []byte) Reason {
	tw := v.twilio
	switch {
	case tw.form:
		params, ok := parseForm(body)
		if !ok {
			return ReasonMalformed
		}
		if !v.twilioMatches(params) {
			return ReasonMismatch
		}
		return ReasonNone
	case tw.bodyHash == nil && v.size > 0:
		return ReasonMalformed
	case tw.bodyHash != nil:
		var sum [sha256.Size]byte
		if subtle.ConstantTimeCompare(tw.bodyHash.Sum(sum[:0]), tw.want) != 1 {
			return ReasonMismatch
		}
	}
	if !tw.urlMatches {
		return ReasonMismatch
	}
	return ReasonNone
}

// twilioMatches reports whether the signature covers the URL, in either of
// its port forms (see otherPortForm), and params. It keeps, for the replay
// key, the first secret's HMAC over the URL without its scheme's default
// port, whichever form matched: a URL and its other port form are the same
// delivery.
func (v *Verifier) twilioMatches(params []formParam) bool {
	tw := v.twilio
	forms := [2]string{tw.url, otherPortForm(tw.url)}
	canonical := 0
	if forms[1] != "" && len(forms[1]) < len(forms[0]) {
		canonical = 1
	}
	match := 0
	var sum [sha1.Size]byte
	for i, candidate := range forms {
		if candidate == "" {
			continue
		}
		for j, key := range v.c.keys.secrets {
			m := hmac.New(sha1.New, key)
			m.Write([]byte(candidate))
			for _, p := range params {
				m.Write(p.name)
				m.Write(p.value)
			}
			got := m.Sum(sum[:0])
			if i == canonical && j == 0 {
				v.keepContentMAC(got)
			}
			match |= subtle.ConstantTimeCompare(got, tw.sig)
		}
	}
	return match == 1
}

// twilioRequestURL is the URL Twilio signed: the configured one with the
// request's query string, or one rebuilt from the request.
func (c *Config) twilioRequestURL(h Headers) (string, Reason) {
	path, r := h.get(":path")
	if r != ReasonNone {
		return "", r
	}
	if c.twilioURL != "" {
		if _, query, ok := strings.Cut(path, "?"); ok {
			return c.twilioURL + "?" + query, ReasonNone
		}
		return c.twilioURL, ReasonNone
	}
	authority, r := h.get(":authority")
	if r != ReasonNone {
		return "", r
	}
	scheme, r := requestScheme(h)
	if r != ReasonNone {
		return "", r
	}
	return scheme + "://" + authority + path, ReasonNone
}

// requestScheme is the scheme the client used: x-forwarded-proto when a
// proxy in front set it, else :scheme, else https. Either sent twice is
// ambiguous.
func requestScheme(h Headers) (string, Reason) {
	for _, name := range [...]string{"x-forwarded-proto", ":scheme"} {
		v, r := h.get(name)
		switch r {
		case ReasonAmbiguous:
			return "", r
		case ReasonNone:
		default:
			continue
		}
		v, _, _ = strings.Cut(v, ",")
		switch v = strings.ToLower(trimOWS(v)); v {
		case "http", "https":
			return v, ReasonNone
		}
	}
	return "https", ReasonNone
}

// otherPortForm returns u with its scheme's default port removed when it
// names it, or added when it names none; Twilio may sign either form.
// It returns "" for another port or an unexpected URL.
func otherPortForm(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	var port string
	switch scheme {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return ""
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	host, p, hasPort := authority, "", false
	if i := strings.LastIndexByte(authority, ':'); i > strings.LastIndexByte(authority, ']') {
		host, p, hasPort = authority[:i], authority[i+1:], true
	}
	switch {
	case host == "" || strings.Contains(host, ":") && !(host[0] == '[' && host[len(host)-1] == ']'):
		return "" // no host, or an IPv6 address without brackets
	case !hasPort:
		return scheme + "://" + host + ":" + port + tail
	case p == port:
		return scheme + "://" + host + tail
	}
	return ""
}

// queryParam finds the raw value of the query parameter name. ok is false
// when the parameter appears more than once.
func queryParam(query, name string) (value string, found, ok bool) {
	for rest := query; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			continue
		}
		if found {
			return "", false, false
		}
		value, found = v, true
	}
	return value, found, true
}

// isForm reports whether the body is a form, by its content-type; one
// sent twice is ambiguous.
func isForm(h Headers) (bool, Reason) {
	ct, r := h.get("content-type")
	switch r {
	case ReasonAmbiguous:
		return false, r
	case ReasonNone:
	default:
		return false, ReasonNone
	}
	media, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(trimOWS(media), "application/x-www-form-urlencoded"), ReasonNone
}

// formParam is one decoded form parameter.
type formParam struct{ name, value []byte }

// parseForm decodes an application/x-www-form-urlencoded body into its
// parameters sorted by name, then value, as Twilio signs them. All the
// decoded bytes share one buffer the size of the body.
func parseForm(body []byte) ([]formParam, bool) {
	buf := make([]byte, 0, len(body)) // decoding never grows: no reallocation
	var params []formParam
	for rest := body; len(rest) > 0; {
		var pair []byte
		pair, rest, _ = bytes.Cut(rest, []byte{'&'})
		if len(pair) == 0 {
			continue
		}
		if len(params) == maxFormParams {
			return nil, false
		}
		name, value, _ := bytes.Cut(pair, []byte{'='})
		var p formParam
		var ok bool
		if buf, p.name, ok = unescapeForm(buf, name); !ok {
			return nil, false
		}
		if buf, p.value, ok = unescapeForm(buf, value); !ok {
			return nil, false
		}
		params = append(params, p)
	}
	pipeline.SortStable(params, func(a, b formParam) bool {
		if c := bytes.Compare(a.name, b.name); c != 0 {
			return c < 0
		}
		return bytes.Compare(a.value, b.value) < 0
	})
	return params, true
}

// unescapeForm appends the form-decoded s ('+' is a space, %XX a byte) to
// buf and returns the appended part.
func unescapeForm(buf, s []byte) (out, decoded []byte, ok bool) {
	start := len(buf)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			buf = append(buf, ' ')
		case '%':
			if i+2 >= len(s) {
				return buf, nil, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return buf, nil, false
			}
			buf = append(buf, hi<<4|lo)
			i += 2
		default:
			buf = append(buf, c)
		}
	}
	return buf, buf[start:], true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
