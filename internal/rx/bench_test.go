package rx

import (
	"regexp"
	"strings"
	"testing"
)

// alt100 is an alternation of a hundred user agents.
var alt100 = func() string {
	agents := make([]string, 100)
	for i := range agents {
		agents[i] = "agent" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	return `(?i)^(` + strings.Join(agents, "|") + `)/`
}()

// BenchmarkMatch compares rx with regexp on typical header and path rules.
func BenchmarkMatch(b *testing.B) {
	cases := []struct {
		name, expr, subject string
	}{
		{"bearer", `^Bearer .+$`, "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"},
		{"user-agent", `(?i)^(chrome|firefox)/[0-9]+`, "Firefox/120.0 (X11; Linux x86_64)"},
		{"path", `^/api/v[12]/users/[0-9]+$`, "/api/v2/users/1234567"},
		{"path-miss", `^/api/v[12]/users/[0-9]+$`, "/static/js/app.0123456789.js"},
		// Unanchored rules over long subjects that do not match: the search
		// runs from every position.
		{"bot-miss-1k", `(?i)\b(bot|crawler|spider)\b`, strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 32)},
		{"literal-miss-4k", `/admin/[a-z]+`, "/" + strings.Repeat("static/", 585)},
		{"bearer-miss-4k", `^Bearer .+$`, "Basic " + strings.Repeat("A", 4090)},
		// Over the backtracker's bound: the Pike VM.
		{"bot-miss-16k", `(?i)\b(bot|crawler|spider)\b`, strings.Repeat("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0) ", 256)},
		// A rule that lists a hundred user agents.
		{"alt100", alt100, "AGENTXXC/1.0"},
		{"alt100-miss", alt100, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"},
	}
	for _, tc := range cases {
		rx, err := Compile(tc.expr)
		if err != nil {
			b.Fatal(err)
		}
		std := regexp.MustCompile(tc.expr)
		if rx.MatchString(tc.subject) != std.MatchString(tc.subject) {
			b.Fatalf("%s: rx and regexp disagree", tc.name)
		}
		b.Run(tc.name+"/rx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rx.MatchString(tc.subject)
			}
		})
		b.Run(tc.name+"/regexp", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				std.MatchString(tc.subject)
			}
		})
	}
}
