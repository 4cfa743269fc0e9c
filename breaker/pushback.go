package breaker

import (
	"strings"
	"time"
)

// MaxPushback is the longest pushback a header may ask for and still be
// honoured at all (server_guided.max then caps it): a server asking for
// more is misconfigured, and its value is not used.
const MaxPushback = 24 * time.Hour

// httpDateLayouts are the HTTP-date formats of RFC 9110: IMF-fixdate, then
// the obsolete RFC 850 and asctime forms.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// RetryAfter reads a Retry-After value (RFC 9110): delta-seconds, or an
// HTTP-date taken relative to now. It reports false for anything not
// usable: malformed, zero, in the past, or longer than MaxPushback.
func RetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if d, ok := deltaSeconds(value); ok {
		return d, d > 0
	}
	if len(value) > 64 {
		return 0, false
	}
	for _, layout := range httpDateLayouts {
		t, err := time.Parse(layout, value)
		if err != nil {
			continue
		}
		d := t.Sub(now)
		if d <= 0 || d > MaxPushback {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

// RateLimitReset reads a RateLimit-Reset value (delta-seconds until the
// quota resets). It reports false for anything not usable: malformed,
// zero, or longer than MaxPushback.
func RateLimitReset(value string) (time.Duration, bool) {
	d, ok := deltaSeconds(strings.TrimSpace(value))
	return d, ok && d > 0
}

// deltaSeconds parses 1*DIGIT as seconds, up to MaxPushback.
func deltaSeconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	const limit = int64(MaxPushback / time.Second)
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int64(c-'0'); n > limit {
			return 0, false
		}
	}
	return time.Duration(n) * time.Second, true
}
