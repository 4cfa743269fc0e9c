package breaker

import (
	"strings"
	"time"
)

// MaxPushback is the longest pushback a header may ask for and still be
// honoured at all (server_guided.max then caps it): a server asking for
// more is misconfigured, and its value is not used.
const MaxPushback = 24 * time.Hour

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
	t, ok := parseHTTPDate(value)
	if !ok {
		return 0, false
	}
	d := t.Sub(now)
	if d <= 0 || d > MaxPushback {
		return 0, false
	}
	return d, true
}

// Day and month names of HTTP-dates, which are case-sensitive.
var (
	shortDays = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays  = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months    = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// parseHTTPDate reads an HTTP-date (RFC 9110, section 5.6.7) in any of
// its three forms:
//
//	Sun, 06 Nov 1994 08:49:37 GMT   IMF-fixdate
//	Sunday, 06-Nov-94 08:49:37 GMT  obsolete RFC 850 form
//	Sun Nov  6 08:49:37 1994        asctime
//
// The weekday must be a day's name but is not checked against the date.
// A two-digit year is 1969 to 2068, as net/http reads it. This small
// parser stands in for time.Parse, whose layout machinery is tens of
// kilobytes of a module's code for the sake of one header.
func parseHTTPDate(s string) (time.Time, bool) {
	var day, month, year int
	var clock string
	ok := false
	switch {
	case len(s) == len("Sun, 06 Nov 1994 08:49:37 GMT") && s[3:5] == ", ":
		ok = isName(s[:3], shortDays[:]) && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' && s[25:] == " GMT"
		day, month, year, clock = number(s[5:7], 9999), monthOf(s[8:11]), number(s[12:16], 9999), s[17:25]
	case len(s) == len("Sun Nov  6 08:49:37 1994") && s[3] == ' ':
		ok = isName(s[:3], shortDays[:]) && s[7] == ' ' && s[10] == ' ' && s[19] == ' '
		d := s[8:10]
		if d[0] == ' ' {
			d = d[1:]
		}
		day, month, year, clock = number(d, 9999), monthOf(s[4:7]), number(s[20:24], 9999), s[11:19]
	default:
		comma := strings.Index(s, ", ")
		if comma < 0 {
			return time.Time{}, false
		}
		r := s[comma+2:]
		if len(r) != len("06-Nov-94 08:49:37 GMT") {
			return time.Time{}, false
		}
		ok = isName(s[:comma], longDays[:]) && r[2] == '-' && r[6] == '-' && r[9] == ' ' && r[18:] == " GMT"
		day, month, year, clock = number(r[:2], 9999), monthOf(r[3:6]), number(r[7:9], 9999), r[10:18]
		if year >= 69 {
			year += 1900
		} else if year >= 0 {
			year += 2000
		}
	}
	if !ok || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	hour, minute, second := number(clock[:2], 9999), number(clock[3:5], 9999), number(clock[6:], 9999)
	if day < 1 || month < 1 || year < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if t.Day() != day { // the 31st of a 30-day month, February 29th of a common year
		return time.Time{}, false
	}
	return t, true
}

// isName reports whether s is one of names.
func isName(s string, names []string) bool {
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}

// monthOf is the number of the month named s, 0 when s names none.
func monthOf(s string) int {
	for i, m := range months {
		if s == m {
			return i + 1
		}
	}
	return 0
}

// number parses a run of ASCII digits as a number no greater than max:
// -1 when s is empty, holds anything else, or is greater. The date fields
// are at most four digits, so they pass 9999.
func number(s string, max int) int {
	if s == "" {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		if n = n*10 + int(s[i]-'0'); n > max {
			return -1
		}
	}
	return n
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
	n := number(s, int(MaxPushback/time.Second))
	if n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}
