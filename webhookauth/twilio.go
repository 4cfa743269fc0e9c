package webhookauth

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
)

// maxFormParams bounds the parameters of a Twilio form body; Twilio sends
// a few dozen.
const maxFormParams = 1024

// verifyTwilio checks X-Twilio-Signature: HMAC-SHA1 over the full URL and,
// for a form body, every POST parameter sorted by name, name then value.
// A JSON body is covered instead by a bodySHA256 query parameter, the hex
// SHA-256 of the body, which must match. Any other non-empty body cannot
// be covered by the signature and is malformed.
func (c *Config) verifyTwilio(d Delivery) (signed, Reason) {
	h, r := d.get("x-twilio-signature")
	if r != ReasonNone {
		return signed{}, r
	}
	u, r := c.twilioRequestURL(d)
	if r != ReasonNone {
		return signed{}, r
	}
	sig, ok := decodeSignature(h, "", true, sha1.Size)
	if !ok {
		return signed{}, ReasonMalformed
	}
	_, query, _ := strings.Cut(u, "?")
	bodyHash, hashed, ok := queryParam(query, "bodySHA256")
	if !ok {
		return signed{}, ReasonMalformed
	}
	bodyOK := 1
	var params []formParam
	switch {
	case hashed:
		want, ok := decodeHex(bodyHash, sha256.Size)
		if !ok {
			return signed{}, ReasonMalformed
		}
		got := sum256(d.Body)
		bodyOK = subtle.ConstantTimeCompare(got[:], want)
	case isForm(d):
		if params, ok = parseForm(d.Body); !ok {
			return signed{}, ReasonMalformed
		}
	case len(d.Body) > 0:
		return signed{}, ReasonMalformed
	}
	parts := make([][]byte, 1, 1+2*len(params))
	for _, p := range params {
		parts = append(parts, p.name, p.value)
	}
	for _, candidate := range [2]string{u, otherPortForm(u)} {
		if candidate == "" {
			continue
		}
		parts[0] = []byte(candidate)
		if m := c.matchHMAC(sha1.New, [][]byte{sig}, parts...); m != nil && bodyOK == 1 {
			return signed{sig: m}, ReasonNone
		}
	}
	return signed{}, ReasonMismatch
}

// twilioRequestURL is the URL Twilio signed: the configured one with the
// request's query string, or one rebuilt from the request.
func (c *Config) twilioRequestURL(d Delivery) (string, Reason) {
	path, r := d.get(":path")
	if r != ReasonNone {
		return "", r
	}
	if c.twilioURL != "" {
		if _, query, ok := strings.Cut(path, "?"); ok {
			return c.twilioURL + "?" + query, ReasonNone
		}
		return c.twilioURL, ReasonNone
	}
	authority, r := d.get(":authority")
	if r != ReasonNone {
		return "", r
	}
	return requestScheme(d) + "://" + authority + path, ReasonNone
}

// requestScheme is the scheme the client used: x-forwarded-proto when a
// proxy in front set it, else :scheme, else https.
func requestScheme(d Delivery) string {
	for _, name := range [...]string{"x-forwarded-proto", ":scheme"} {
		v, r := d.get(name)
		if r != ReasonNone {
			continue
		}
		v, _, _ = strings.Cut(v, ",")
		switch v = strings.ToLower(trimOWS(v)); v {
		case "http", "https":
			return v
		}
	}
	return "https"
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

func isForm(d Delivery) bool {
	ct, r := d.get("content-type")
	if r != ReasonNone {
		return false
	}
	media, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(trimOWS(media), "application/x-www-form-urlencoded")
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
	slices.SortFunc(params, func(a, b formParam) int {
		if c := bytes.Compare(a.name, b.name); c != 0 {
			return c
		}
		return bytes.Compare(a.value, b.value)
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
