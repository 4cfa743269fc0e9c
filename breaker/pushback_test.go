package breaker

import (
	"net/http"
	"testing"
	"time"
)

// canonicalHTTPDates are the three HTTP-date forms as net/http reads them,
// written with a literal GMT: a date net/http accepts that formats back to
// its own text is one parseHTTPDate must accept too.
var canonicalHTTPDates = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// checkHTTPDate compares parseHTTPDate with net/http.ParseTime on s: what
// parseHTTPDate accepts, net/http reads as the same instant; what net/http
// accepts in a canonical form, parseHTTPDate accepts. net/http also takes
// forms RFC 9110 does not (names in any case, a one-digit hour, fractional
// seconds, any zone in the RFC 850 form), which parseHTTPDate rejects.
func checkHTTPDate(t *testing.T, s string) (time.Time, bool) {
	t.Helper()
	got, ok := parseHTTPDate(s)
	want, err := http.ParseTime(s)
	if ok {
		if err != nil {
			t.Fatalf("%q: parsed as %v, net/http rejects it: %v", s, got, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%q: parsed as %v, net/http reads %v", s, got, want)
		}
		return got, true
	}
	if err == nil {
		for _, layout := range canonicalHTTPDates {
			if want.UTC().Format(layout) == s {
				t.Fatalf("%q: rejected, net/http reads %v", s, want)
			}
		}
	}
	return got, false
}

func TestParseHTTPDate(t *testing.T) {
	nov6 := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		given string
		want  time.Time // zero: rejected
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", nov6},
		{"Sunday, 06-Nov-94 08:49:37 GMT", nov6},
		{"Sun Nov  6 08:49:37 1994", nov6},
		{"Sun Nov 06 08:49:37 1994", nov6},
		{"Wed, 16 Nov 1994 08:49:37 GMT", nov6.AddDate(0, 0, 10)},
		{"Wed Nov 16 08:49:37 1994", nov6.AddDate(0, 0, 10)},
		{"Thu, 29 Feb 2024 23:59:59 GMT", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"Fri, 31 Dec 9999 23:59:59 GMT", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Sat, 01 Jan 0000 00:00:00 GMT", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Monday, 02-Mar-26 12:01:00 GMT", time.Date(2026, 3, 2, 12, 1, 0, 0, time.UTC)},
		{"Thursday, 01-Jan-69 00:00:00 GMT", time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Saturday, 31-Dec-68 00:00:00 GMT", time.Date(2068, 12, 31, 0, 0, 0, 0, time.UTC)},
		// The weekday is a name, not checked against the date (nor by net/http).
		{"Mon, 06 Nov 1994 08:49:37 GMT", nov6},

		{"", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 UTC", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 GMT ", time.Time{}},
		{"Sun, 6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 94 08:49:37 GMT", time.Time{}},
		{"Sun, 06 nov 1994 08:49:37 GMT", time.Time{}},
		{"sun, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Xyz, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 8:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37.5 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 24:00:00 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 23:60:00 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 23:59:60 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08-49-37 GMT", time.Time{}},
		{"Sun, 00 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 31 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 29 Feb 2023 08:49:37 GMT", time.Time{}},
		{"Sun, +6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov -994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 gmt", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 GMT+1", time.Time{}},
		{"Sun, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"Sunday, 06-Nov-94 08:49:37 PST", time.Time{}},
		{"Sunday, 06-Nov-1994 08:49:37 GMT", time.Time{}},
		{"Sunday, 06 Nov 94 08:49:37 GMT", time.Time{}},
		{"Sundae, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"Sunday, 06-Nov--4 08:49:37 GMT", time.Time{}},
		{", 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"Sun Nov 6 08:49:37 1994", time.Time{}},
		{"Sun Nov   6 08:49:37 1994", time.Time{}},
		{"Sun Nov  0 08:49:37 1994", time.Time{}},
		{"Sun Nov 6  08:49:37 1994", time.Time{}},
		{"Sun Nov  6 08:49:37 94", time.Time{}},
		{"Sun Nov  6 08:49:37 1994 GMT", time.Time{}},
		{"Sun, Nov  6 08:49:37 1994", time.Time{}},
		{"tomorrow", time.Time{}},
	}
	for _, tt := range tests {
		got, ok := checkHTTPDate(t, tt.given)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("parseHTTPDate(%q) = %v, %v; want %v", tt.given, got, ok, tt.want)
		}
	}
}

func FuzzHTTPDate(f *testing.F) {
	for _, seed := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun Nov 16 08:49:37 1994", "Thu, 29 Feb 2024 23:59:59 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37.5 GMT", "Sunday, 06-Nov-94 08:49:37 PST", "sun nov  6 8:49:37 1994", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) { checkHTTPDate(t, s) })
}

// FuzzHTTPDateForms writes instants in each form and reads them back.
func FuzzHTTPDateForms(f *testing.F) {
	for _, seed := range []int64{0, 784111777, -62167219200, 253402300799, 951782400, 3124137599} {
		f.Add(seed)
	}
	first, last := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	f.Fuzz(func(t *testing.T, sec int64) {
		if sec < first || sec > last {
			sec = first + (sec%(last-first+1)+(last-first+1))%(last-first+1)
		}
		at := time.Unix(sec, 0).UTC()
		for _, layout := range canonicalHTTPDates {
			if layout == canonicalHTTPDates[1] && (at.Year() < 1969 || at.Year() > 2068) {
				continue // two digits hold 1969 to 2068
			}
			s := at.Format(layout)
			if got, ok := checkHTTPDate(t, s); !ok || !got.Equal(at) {
				t.Fatalf("%q: %v, %v; want %v", s, got, ok, at)
			}
		}
	})
}
