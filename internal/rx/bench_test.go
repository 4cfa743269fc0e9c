package rx

import (
	"regexp"
	"testing"
)

// BenchmarkMatch compares rx with regexp on typical header and path rules.
func BenchmarkMatch(b *testing.B) {
	cases := []struct {
		name, expr, subject string
	}{
		{"bearer", `^Bearer .+$`, "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"},
		{"user-agent", `(?i)^(chrome|firefox)/[0-9]+`, "Firefox/120.0 (X11; Linux x86_64)"},
		{"path", `^/api/v[12]/users/[0-9]+$`, "/api/v2/users/1234567"},
		{"path-miss", `^/api/v[12]/users/[0-9]+$`, "/static/js/app.0123456789.js"},
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
