package faults

import (
	"errors"
	"strings"
	"testing"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"abort": {"percentage": 10, "http_status": 503, "grpc_status": 14, "body": "text", "headers": {"x-a": "b"}}}`,
		`{"delay": {"percentage": 5, "fixed": "200ms"}}`,
		`{"delay": {"percentage": 5, "uniform": {"min": "100ms", "max": "500ms"}}}`,
		`{"delay": {"percentage": 5, "lognormal": {"median": "100ms", "p99": "1s", "max": "5s"}}}`,
		`{"response": {"abort": {"percentage": 1}, "delay": {"percentage": 1, "fixed": "1s"}}}`,
		`{"match": {"methods": ["GET"], "path": {"regex": "^/api/v[0-9]+/"}, "headers": [{"name": "x-c", "present": true}],
			"clusters": ["backend"], "source_cidrs": ["10.0.0.0/8", "::1/128"]}, "abort": {"percentage": 100}}`,
		`{"header_control": {"enabled": true, "token_env": "FAULTS_TOKEN"}, "max_active_faults": 100, "sampling": "request_id"}`,
		`{"active_windows": [{"days": ["fri"], "start": "22:00", "end": "06:00"}], "fault_header": "", "abort": {"percentage": 100}}`,
		`{"abort": {"percentage": 10}, "routes": [{"name": "api", "abort": {"percentage": 50}}, {"name": "x", "disabled": true}]}`,
		`{"delay": {"percentage": 1, "lognormal": {"median": "1ns", "p99": "2562047h"}}}`,
		`{"delay": {"percentage": 1, "lognormal": {"median": "1ns", "p99": "1h"}}}`,
		`{"delay": {"percentage": 1, "fixed": "1000000h"}}`,
		`{"abort": {"percentage": 1, "percentage": 2}}`, `{"max_active_faults": 1e309}`,
		`[]`, `null`, ``, `{"abort": 1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := Parse(data)
		if err != nil {
			var fe *pipeline.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a FieldError: %v", err)
			}
			return
		}
		if err := routes.Default.ResolveSecrets(func(string) (string, bool) { return testToken, true }); err != nil {
			t.Fatalf("a token of %d characters refused: %v", len(testToken), err)
		}
		req := get()
		req.headers["x-steadfast-fault-token"] = testToken
		req.headers[HeaderAbort] = "500"
		for _, u := range []float64{0, 0.5, almostOne} {
			p := routes.Default.Decide(req, monday(12, 0), constant(u))
			checkPlan(t, p)
			_ = p.Kinds()
			_ = p.HeaderValue()
		}
	})
}

func checkPlan(t *testing.T, p Plan) {
	t.Helper()
	for _, a := range []*Abort{p.Abort, p.ResponseAbort} {
		if a != nil && (a.HTTPStatus < 200 || a.HTTPStatus > 599 || a.GRPCStatus < 0 || a.GRPCStatus > 16) {
			t.Fatalf("abort out of range: %+v", a)
		}
	}
	if p.Delay < 0 || p.ResponseDelay < 0 {
		t.Fatalf("negative delay: %+v", p)
	}
	if !p.FromHeaders && p.Delay > MaxDelay || p.ResponseDelay > MaxDelay {
		t.Fatalf("a configured delay over MaxDelay: %+v", p)
	}
}

func FuzzParseControl(f *testing.F) {
	f.Add("503", "14", "250ms", "50", "100")
	f.Add("", "", "250", "", "")
	f.Add("99", "17", "-1s", "101", "NaN")
	f.Add("abc", "x", "1h", "1e2", "-0")
	f.Add(" 429 ", "0", "99999999999999999999999", "0.001", "Inf")
	f.Add("+503", "+1", "+1s", "5e1", "0x10")
	f.Add("0503", "016", "60001", ".5", "5.")
	f.Add("503.0", "1_0", "61s", "100.0001", "-0")
	f.Fuzz(func(t *testing.T, abort, grpc, delay, abortPct, delayPct string) {
		given := map[string]string{
			HeaderAbort: abort, HeaderAbortGRPC: grpc, HeaderDelay: delay,
			HeaderAbortPercentage: abortPct, HeaderDelayPercentage: delayPct,
		}
		c, err := ParseControl(func(name string) (string, bool) {
			v, ok := given[name]
			return v, ok && v != ""
		})
		for _, v := range []string{abort, grpc} {
			if c.Abort != nil && v != "" && !controlDigits(v) {
				t.Fatalf("an abort from status %q, which is not plain digits", v)
			}
		}
		if err == nil {
			for _, v := range []string{abortPct, delayPct} {
				if v != "" && strings.Trim(strings.TrimSpace(v), "0123456789.") != "" {
					t.Fatalf("percentage %q accepted", v)
				}
			}
		}
		if c.Abort != nil && (c.Abort.HTTPStatus < 200 || c.Abort.HTTPStatus > 599 || c.Abort.GRPCStatus < 0 || c.Abort.GRPCStatus > 16) {
			t.Fatalf("abort out of range: %+v", c.Abort)
		}
		if c.Delay < 0 || c.Delay > MaxControlDelay {
			t.Fatalf("delay out of range: %v", c.Delay)
		}
		for _, p := range []pipeline.Percent{c.AbortPercentage, c.DelayPercentage} {
			if !(p >= 0 && p <= 100) {
				t.Fatalf("percentage out of range: %v", p)
			}
		}
	})
}

// controlDigits reports whether a control value is plain digits once
// trimmed, the only spelling of a status.
func controlDigits(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && strings.Trim(v, "0123456789") == ""
}
