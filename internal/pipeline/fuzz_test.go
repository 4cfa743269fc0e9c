package pipeline

import (
	"errors"
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
		`{"limit":{"status":1e309}}`, `{"routes":[{"name":"a","limit":{"percentage":-1e309}}]}`,
		`{"name":"a","name":"b"}`, `{"limit":{"percentage":1,"percentage":1}}`,
		`{"routes":[{"name":"a","disabled":true,"disabled":true}]}`, `{"labels":{"k":"v","\u006b":"w"}}`,
		`{"items":[{"status":1},{"status":1,"after":"1s","after":"2s"}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		routes, err := ParseRoutes[testConfig]([]byte(s))
		if err != nil {
			var fe *FieldError
			switch {
			case err.Error() == "":
				t.Fatal("empty error message")
			case !errors.As(err, &fe):
				t.Fatalf("not a FieldError: %v", err)
			case fe.Path == "" && strings.Contains(fe.Msg, "number"):
				t.Fatalf("a number error without the path of the number: %v", err)
			}
			return
		}
		routes.Resolve(Named("api-v1"))
		routes.Resolve(Named(""))
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
