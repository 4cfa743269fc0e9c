package plugins

import (
	"strings"
	"testing"
)

func FuzzParseRoutes(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"name":"a","limit":{"percentage":5,"status":503,"after":"1s"},"tags":["x"],"labels":{"k":"v"}}`,
		`{"routes":[{"name":"api-*","limit":{"percentage":50}},{"name":"h","disabled":true}]}`,
		`{"items":[{"status":1},{"after":"-1s"}]}`,
		`[1,2]`, `null`, `{"routes":null}`, `{"limit":{"percentage":1e400}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		routes, err := ParseRoutes[testConfig]([]byte(s))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		routes.Resolve("api-v1")
		routes.Resolve("")
	})
}

func FuzzGlob(f *testing.F) {
	f.Add("api-*", "api-v1")
	f.Add("*a*?*", "bab")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		_ = Glob(pattern, name) // must not panic or hang
		if !strings.ContainsAny(name, "*?") && !Glob(name, name) {
			t.Fatalf("%q does not match itself", name)
		}
		if !Glob("*", name) {
			t.Fatalf("* does not match %q", name)
		}
	})
}
