package faults

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/conftest"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// get is a request for GET /api/users from 10.1.2.3 to cluster backend.
func get() *fakeRequest {
	return &fakeRequest{
		headers: map[string]string{":method": "GET", ":path": "/api/users"},
		cluster: "backend",
		source:  "10.1.2.3",
	}
}

func parseDefault(t *testing.T, data string) *Config {
	t.Helper()
	routes, err := Parse([]byte(data))
	require.NoError(t, err)
	return routes.Default
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  Plan
	}{
		{
			name:  "empty config injects nothing",
			given: `{}`,
			want:  Plan{},
		},
		{
			name:  "abort defaults",
			given: `{"abort": {"percentage": 100}}`,
			want:  Plan{Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}},
		},
		{
			name: "abort in full, headers lower-cased and sorted",
			given: `{"abort": {"percentage": 10, "http_status": 500, "grpc_status": 0, "body": "",
				"headers": {"X-Z": "1", "retry-after": "5", "x-a": "b"}}}`,
			want: Plan{Abort: &Abort{HTTPStatus: 500, GRPCStatus: 0, Body: "",
				Headers: [][2]string{{"retry-after", "5"}, {"x-a", "b"}, {"x-z", "1"}}}},
		},
		{
			name:  "fixed delay",
			given: `{"delay": {"percentage": 5, "fixed": "200ms"}}`,
			want:  Plan{Delay: 200 * time.Millisecond},
		},
		{
			name:  "uniform delay starts at min",
			given: `{"delay": {"percentage": 5, "uniform": {"min": "100ms", "max": "500ms"}}}`,
			want:  Plan{Delay: 100 * time.Millisecond},
		},
		{
			name:  "uniform delay min defaults to zero",
			given: `{"delay": {"percentage": 5, "uniform": {"max": "500ms"}}}`,
			want:  Plan{Delay: 0},
		},
		{
			name:  "lognormal delay at u=0 is zero",
			given: `{"delay": {"percentage": 5, "lognormal": {"median": "100ms", "p99": "1s"}}}`,
			want:  Plan{Delay: 0},
		},
		{
			name:  "zero percentage",
			given: `{"abort": {"percentage": 0}, "delay": {"percentage": 0, "fixed": "1s"}}`,
			want:  Plan{},
		},
		{
			name: "response faults",
			given: `{"response": {"abort": {"percentage": 1, "http_status": 502},
				"delay": {"percentage": 1, "fixed": "1s"}}}`,
			want: Plan{
				ResponseAbort: &Abort{HTTPStatus: 502, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
				ResponseDelay: time.Second,
			},
		},
		{
			name: "the full example",
			given: `{
				"abort":   {"percentage": 10, "http_status": 503, "grpc_status": 14, "body": "text", "headers": {"x-a": "b"}},
				"delay":   {"percentage": 5, "fixed": "200ms"},
				"response": {"abort": {"percentage": 1}, "delay": {"percentage": 1, "uniform": {"min": "1s", "max": "2s"}}},
				"match": {
					"methods": ["GET", "POST"],
					"path": {"prefix": "/api/"},
					"headers": [{"name": "X-Path", "exact": "/api/users"}, {"name": "x-b", "regex": "^t.*"}, {"name": "x-c", "present": false}],
					"clusters": ["backend"],
					"source_cidrs": ["10.0.0.0/8", "::1/128"]
				},
				"header_control": {"enabled": false, "token_env": "FAULTS_TOKEN", "token_header": "x-steadfast-fault-token"},
				"max_active_faults": 100,
				"sampling": "random",
				"active_windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "23:59"}],
				"fault_header": "x-steadfast-fault"
			}`,
			want: Plan{
				Abort:         &Abort{HTTPStatus: 503, GRPCStatus: 14, Body: "text", Headers: [][2]string{{"x-a", "b"}}},
				Delay:         200 * time.Millisecond,
				ResponseAbort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
				ResponseDelay: time.Second,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseDefault(t, tt.given)
			req := get()
			req.headers["x-path"] = "/api/users"
			req.headers["x-b"] = "tea"
			assert.Equal(t, tt.want, c.Decide(req, monday(12, 0), constant(0)))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "not JSON", given: `{`, want: "invalid JSON: unexpected end of JSON input"},
		{name: "unknown field", given: `{"abortt": {}}`, want: "abortt: unknown field"},
		{name: "unknown nested field", given: `{"abort": {"percentage": 1, "status": 500}}`, want: "abort.status: unknown field"},
		{name: "percentage 150", given: `{"abort": {"percentage": 150}}`, want: "abort.percentage: must be between 0 and 100"},
		{name: "negative percentage", given: `{"delay": {"percentage": -1, "fixed": "1s"}}`, want: "delay.percentage: must be between 0 and 100"},
		{name: "percentage missing", given: `{"abort": {"http_status": 500}}`, want: "abort.percentage: is required: the share of requests, from 0 to 100"},
		{name: "status 99", given: `{"abort": {"percentage": 1, "http_status": 99}}`, want: "abort.http_status: must be between 200 and 599"},
		{name: "status 600", given: `{"response": {"abort": {"percentage": 1, "http_status": 600}}}`, want: "response.abort.http_status: must be between 200 and 599"},
		{name: "grpc status 17", given: `{"abort": {"percentage": 1, "grpc_status": 17}}`, want: "abort.grpc_status: must be between 0 and 16"},
		{name: "grpc status negative", given: `{"abort": {"percentage": 1, "grpc_status": -1}}`, want: "abort.grpc_status: must be between 0 and 16"},
		{name: "status not a number", given: `{"abort": {"percentage": 1, "http_status": "503"}}`, want: "abort.http_status: must be a whole number"},
		{name: "abort header name", given: `{"abort": {"percentage": 1, "headers": {"x a": "b"}}}`, want: `abort.headers["x a"]: "x a" is not a valid header name`},
		{name: "abort pseudo-header", given: `{"abort": {"percentage": 1, "headers": {":status": "200"}}}`, want: `abort.headers[":status"]: pseudo-headers cannot be set`},
		{name: "abort header value", given: `{"abort": {"percentage": 1, "headers": {"x-a": "b\r\nx-b: c"}}}`, want: `abort.headers["x-a"]: the value must not contain line breaks or NUL`},
		{name: "abort header twice", given: `{"abort": {"percentage": 1, "headers": {"x-a": "1", "X-A": "2"}}}`, want: `abort.headers["x-a"]: given twice, in different cases`},
		{name: "bad duration", given: `{"delay": {"percentage": 1, "fixed": "2x"}}`, want: `delay.fixed: "2x" is not a duration: use a number and a unit such as "250ms" or "5s"`},
		{name: "negative duration", given: `{"delay": {"percentage": 1, "fixed": "-1s"}}`, want: `delay.fixed: "-1s" must not be negative`},
		{name: "unknown distribution", given: `{"delay": {"percentage": 1, "exponential": {"mean": "1s"}}}`, want: "delay.exponential: unknown field"},
		{name: "no distribution", given: `{"delay": {"percentage": 1}}`, want: "delay: give exactly one of fixed, uniform or lognormal"},
		{name: "two distributions", given: `{"delay": {"percentage": 1, "fixed": "1s", "uniform": {"max": "2s"}}}`, want: "delay: give exactly one of fixed, uniform or lognormal"},
		{name: "uniform without max", given: `{"delay": {"percentage": 1, "uniform": {"min": "1s"}}}`, want: "delay.uniform.max: is required"},
		{name: "uniform max below min", given: `{"delay": {"percentage": 1, "uniform": {"min": "2s", "max": "1s"}}}`, want: "delay.uniform.max: must be at least min (2s)"},
		{name: "lognormal without median", given: `{"delay": {"percentage": 1, "lognormal": {"p99": "1s"}}}`, want: "delay.lognormal.median: is required"},
		{name: "lognormal zero median", given: `{"delay": {"percentage": 1, "lognormal": {"median": "0s", "p99": "1s"}}}`, want: "delay.lognormal.median: must be more than 0"},
		{name: "lognormal without p99", given: `{"delay": {"percentage": 1, "lognormal": {"median": "1s"}}}`, want: "delay.lognormal.p99: is required"},
		{name: "lognormal p99 below median", given: `{"response": {"delay": {"percentage": 1, "lognormal": {"median": "1s", "p99": "500ms"}}}}`, want: "response.delay.lognormal.p99: must be at least the median (1s)"},
		{name: "lognormal max below p99", given: `{"delay": {"percentage": 1, "lognormal": {"median": "1s", "p99": "2s", "max": "1500ms"}}}`, want: "delay.lognormal.max: must be at least p99 (2s)"},
		{name: "fixed delay over 1h", given: `{"delay": {"percentage": 1, "fixed": "1000000h"}}`, want: "delay.fixed: must be at most 1h"},
		{name: "uniform max over 1h", given: `{"delay": {"percentage": 1, "uniform": {"max": "61m"}}}`, want: "delay.uniform.max: must be at most 1h"},
		{name: "lognormal p99 over 1h", given: `{"response": {"delay": {"percentage": 1, "lognormal": {"median": "1s", "p99": "1h0m1s"}}}}`, want: "response.delay.lognormal.p99: must be at most 1h"},
		{name: "lognormal max over 1h", given: `{"delay": {"percentage": 1, "lognormal": {"median": "1s", "p99": "2s", "max": "2h"}}}`, want: "delay.lognormal.max: must be at most 1h"},
		{name: "duplicate key", given: `{"routes": [{"name": "api", "abort": {"percentage": 1, "percentage": 100}}]}`, want: `routes[0].abort: duplicate key "percentage"`},
		{name: "number too large", given: `{"max_active_faults": 1e309}`, want: "max_active_faults: must be a whole number"},
		{name: "methods lower-case", given: `{"match": {"methods": ["GET", "post"]}}`, want: `match.methods[1]: "post" is not an upper-case method such as GET`},
		{name: "methods empty name", given: `{"match": {"methods": [""]}}`, want: `match.methods[0]: "" is not an upper-case method such as GET`},
		{name: "path with none", given: `{"match": {"path": {}}}`, want: "match.path: give exactly one of exact, prefix or regex"},
		{name: "path with two", given: `{"match": {"path": {"exact": "/a", "prefix": "/a"}}}`, want: "match.path: give exactly one of exact, prefix or regex"},
		{name: "path prefix empty", given: `{"match": {"path": {"prefix": ""}}}`, want: "match.path.prefix: must not be empty"},
		{name: "path regex invalid", given: `{"match": {"path": {"regex": "(("}}}`, want: "match.path.regex: invalid regular expression: missing closing ): `((`"},
		{name: "header rule with none", given: `{"match": {"headers": [{"name": "a", "exact": "b"}, {"name": "x-b"}]}}`, want: "match.headers[1]: give exactly one of exact, regex or present"},
		{name: "header rule with two", given: `{"match": {"headers": [{"name": "a", "exact": "b", "present": true}]}}`, want: "match.headers[0]: give exactly one of exact, regex or present"},
		{name: "header rule without name", given: `{"match": {"headers": [{"exact": "b"}]}}`, want: "match.headers[0].name: is required"},
		{name: "header rule bad name", given: `{"match": {"headers": [{"name": "a b", "exact": "b"}]}}`, want: `match.headers[0].name: "a b" is not a valid header name`},
		{name: "header rule bad regex", given: `{"match": {"headers": [{"name": "a", "regex": "[z-a]"}]}}`, want: "match.headers[0].regex: invalid regular expression: invalid character class range: `z-a`"},
		{name: "cluster empty", given: `{"match": {"clusters": [""]}}`, want: "match.clusters[0]: must not be empty"},
		{name: "cidr invalid", given: `{"match": {"source_cidrs": ["10.0.0.0/8", "10.0.0.1"]}}`, want: `match.source_cidrs[1]: "10.0.0.1" is not a CIDR such as 10.0.0.0/8 or fd00::/8`},
		{name: "token env missing", given: `{"header_control": {"enabled": true}}`, want: "header_control.token_env: is required when header_control.enabled is true"},
		{name: "token header invalid", given: `{"header_control": {"enabled": true, "token_env": "T", "token_header": "x y"}}`, want: `header_control.token_header: "x y" is not a valid header name`},
		{name: "token header pseudo", given: `{"header_control": {"enabled": true, "token_env": "T", "token_header": ":path"}}`, want: `header_control.token_header: pseudo-headers cannot be used`},
		{name: "max active negative", given: `{"max_active_faults": -1}`, want: "max_active_faults: must be between 0 (no cap) and 1000"},
		{name: "max active over the bound", given: `{"max_active_faults": 1001}`, want: "max_active_faults: must be between 0 (no cap) and 1000"},
		{name: "sampling unknown", given: `{"sampling": "hash"}`, want: `sampling: "hash" is not a sampling mode: use "random" or "request_id"`},
		{name: "window without days", given: `{"active_windows": [{"days": [], "start": "09:00", "end": "17:00"}]}`, want: "active_windows[0].days: give at least one day"},
		{name: "window unknown day", given: `{"active_windows": [{"days": ["mon", "Tue"], "start": "09:00", "end": "17:00"}]}`, want: `active_windows[0].days[1]: "Tue" is not a day: use mon, tue, wed, thu, fri, sat or sun`},
		{name: "window duplicate day", given: `{"active_windows": [{"days": ["mon", "mon"], "start": "09:00", "end": "17:00"}]}`, want: `active_windows[0].days[1]: "mon" is listed twice`},
		{name: "window bad start", given: `{"active_windows": [{"days": ["mon"], "start": "9:00", "end": "17:00"}]}`, want: `active_windows[0].start: "9:00" is not a time of day: use "HH:MM" from 00:00 to 23:59`},
		{name: "window end 24:00", given: `{"active_windows": [{"days": ["mon"], "start": "09:00", "end": "24:00"}]}`, want: `active_windows[0].end: "24:00" is not a time of day: use "HH:MM" from 00:00 to 23:59`},
		{name: "window minute 60", given: `{"active_windows": [{"days": ["mon"], "start": "09:60", "end": "10:00"}]}`, want: `active_windows[0].start: "09:60" is not a time of day: use "HH:MM" from 00:00 to 23:59`},
		{name: "window empty", given: `{"active_windows": [{"days": ["mon"], "start": "09:00", "end": "09:00"}]}`, want: "active_windows[0].end: must differ from start"},
		{name: "fault header invalid", given: `{"fault_header": "x fault"}`, want: `fault_header: "x fault" is not a valid header name`},
		{name: "fault header pseudo", given: `{"fault_header": ":fault"}`, want: `fault_header: pseudo-headers cannot be used`},
		{name: "route error is prefixed", given: `{"routes": [{"name": "api", "abort": {"percentage": 150}}]}`, want: `routes["api"].abort.percentage: must be between 0 and 100`},
		{name: "fault not an object", given: `{"abort": 5}`, want: "abort: must be an object"},
		{name: "sampling not a string", given: `{"sampling": 1}`, want: "sampling: must be a string"},
		{name: "windows not a list", given: `{"active_windows": {}}`, want: "active_windows: must be a list"},
		{name: "unknown window field", given: `{"active_windows": [{"days": ["mon"], "start": "09:00", "end": "10:00", "tz": "CET"}]}`, want: "active_windows[0].tz: unknown field"},
		{name: "header rule not an object", given: `{"match": {"headers": [1]}}`, want: "match.headers[0]: must be an object"},
		{name: "abort header value not a string", given: `{"abort": {"percentage": 1, "headers": {"x-a": 1}}}`, want: `abort.headers["x-a"]: must be a string`},
		{name: "enabled not a bool", given: `{"header_control": {"enabled": 1}}`, want: "header_control.enabled: must be true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.given))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var fe *pipeline.FieldError
			assert.True(t, errors.As(err, &fe), "a FieldError")
		})
	}
}

func TestParseRouteOverrides(t *testing.T) {
	routes, err := Parse([]byte(`{
		"abort": {"percentage": 10, "http_status": 500},
		"delay": {"percentage": 100, "fixed": "1s"},
		"routes": [
			{"name": "api", "abort": {"percentage": 100}},
			{"name": "slow", "delay": {"fixed": null, "uniform": {"min": "2s", "max": "3s"}}},
			{"name": "calm", "abort": null, "delay": null},
			{"name": "off", "disabled": true}
		]
	}`))
	require.NoError(t, err)

	tests := []struct {
		name  string
		given string
		want  Plan
	}{
		{name: "the default", given: "other", want: Plan{Delay: time.Second}},
		{name: "percentage overridden, status inherited", given: "api", want: Plan{
			Abort: &Abort{HTTPStatus: 500, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
			Delay: time.Second,
		}},
		{name: "distribution replaced", given: "slow", want: Plan{Delay: 2500 * time.Millisecond}},
		{name: "faults removed", given: "calm", want: Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := routes.Resolve(pipeline.Named(tt.given))
			require.NotNil(t, c)
			assert.Equal(t, tt.want, c.Decide(get(), monday(12, 0), constant(0.5)))
		})
	}
	assert.Nil(t, routes.Resolve(pipeline.Named("off")))
}

func TestDecodeReadsEveryField(t *testing.T) {
	conftest.ReadsEveryField(t, &Config{})
}

// A route entry overlays the top level as encoding/json did: objects are
// merged field by field, maps gain members, lists are replaced.
func TestRouteEntryOverlaysTheTopLevel(t *testing.T) {
	routes, err := Parse([]byte(`{
		"abort": {"percentage": 100, "headers": {"x-a": "1"}},
		"active_windows": [{"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}],
		"routes": [{"name": "api",
			"abort": {"http_status": 500, "headers": {"x-b": "2"}},
			"active_windows": [{"days": ["sat"], "start": "10:00", "end": "11:00"}]}]
	}`))
	require.NoError(t, err)
	c := routes.Resolve(pipeline.Named("api"))
	require.NotNil(t, c)
	percentage, status := pipeline.Percent(100), 500
	assert.Equal(t, &AbortFault{Percentage: &percentage, HTTPStatus: &status, Headers: map[string]string{"x-a": "1", "x-b": "2"}}, c.Abort)
	require.Len(t, c.ActiveWindows, 1)
	assert.Equal(t, []string{"sat"}, c.ActiveWindows[0].Days)
	assert.Equal(t, map[string]string{"x-a": "1"}, routes.Default.Abort.Headers, "the top level keeps its own headers")
}

func TestResolveSecrets(t *testing.T) {
	env := map[string]string{"FAULTS_TOKEN": testToken, "EMPTY": "", "SHORT": "fifteen-chars-x", "SIXTEEN": "sixteen-chars-xx"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "set", given: `{"header_control": {"enabled": true, "token_env": "FAULTS_TOKEN"}}`, want: ""},
		{name: "disabled needs nothing", given: `{"header_control": {"enabled": false, "token_env": "NOPE"}}`, want: ""},
		{name: "no header control", given: `{}`, want: ""},
		{name: "missing", given: `{"header_control": {"enabled": true, "token_env": "NOPE"}}`, want: "header_control.token_env: environment variable NOPE is not set or empty"},
		{name: "empty", given: `{"header_control": {"enabled": true, "token_env": "EMPTY"}}`, want: "header_control.token_env: environment variable EMPTY is not set or empty"},
		{name: "too short", given: `{"header_control": {"enabled": true, "token_env": "SHORT"}}`, want: "header_control.token_env: the token in environment variable SHORT is shorter than 16 characters"},
		{name: "16 characters", given: `{"header_control": {"enabled": true, "token_env": "SIXTEEN"}}`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseDefault(t, tt.given).ResolveSecrets(lookup)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// load is what the filter does at start: Parse, then ResolveSecrets on
// every route (as the stage does at plugin start).
func load(data []byte, lookup func(string) (string, bool)) (*pipeline.Routes[Config], error) {
	routes, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := routes.Each(func(c *Config) error { return c.ResolveSecrets(lookup) }); err != nil {
		return nil, err
	}
	return routes, nil
}

func TestResolveSecretsPerRoute(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "FAULTS_TOKEN" {
			return testToken, true
		}
		return "", false
	}
	_, err := load([]byte(`{"routes": [{"name": "api", "header_control": {"enabled": true, "token_env": "API_TOKEN"}}]}`), lookup)
	require.Error(t, err)
	assert.Equal(t, `routes["api"].header_control.token_env: environment variable API_TOKEN is not set or empty`, err.Error())

	routes, err := load([]byte(`{"header_control": {"enabled": true, "token_env": "FAULTS_TOKEN"}}`), lookup)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprintf("%v", routes.Default),
		fmt.Sprintf("%+v", routes.Default),
		fmt.Sprintf("%#v", routes.Default),
		fmt.Sprintf("%v", *routes.Default),
		fmt.Sprintf("%+v", *routes.Default),
		fmt.Sprintf("%#v", *routes.Default),
	} {
		assert.NotContains(t, s, testToken, "the token never shows in formatted output")
	}
}

// settings is what the stage reads from a Config besides Decide.
type settings struct {
	FaultHeader   string
	HeaderControl bool
	MaxActive     int
	RouteLabel    bool
}

func settingsOf(c *Config) settings {
	return settings{
		FaultHeader:   c.FaultHeader(),
		HeaderControl: c.HeaderControlEnabled(),
		MaxActive:     c.MaxActive(),
		RouteLabel:    c.RouteLabel(),
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  settings
	}{
		{name: "defaults", given: `{}`, want: settings{RouteLabel: true, FaultHeader: DefaultFaultHeader}},
		{name: "marker header off", given: `{"fault_header": ""}`, want: settings{RouteLabel: true}},
		{name: "marker header renamed", given: `{"fault_header": "X-Chaos"}`, want: settings{RouteLabel: true, FaultHeader: "x-chaos"}},
		{name: "header control", given: `{"header_control": {"enabled": true, "token_env": "T"}}`, want: settings{RouteLabel: true,
			FaultHeader: DefaultFaultHeader, HeaderControl: true,
		}},
		{name: "header control disabled", given: `{"header_control": {"enabled": false, "token_header": "x-key"}}`, want: settings{RouteLabel: true,
			FaultHeader: DefaultFaultHeader,
		}},
		{name: "limit", given: `{"max_active_faults": 7}`, want: settings{FaultHeader: DefaultFaultHeader, MaxActive: 7, RouteLabel: true}},
		{name: "the largest limit", given: `{"max_active_faults": 1000}`, want: settings{FaultHeader: DefaultFaultHeader, MaxActive: ActiveFaultsLimit, RouteLabel: true}},
		{name: "no route label", given: `{"route_metrics": false}`, want: settings{FaultHeader: DefaultFaultHeader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, settingsOf(parseDefault(t, tt.given)))
		})
	}
}

func TestStrippedHeaders(t *testing.T) {
	control := []string{HeaderAbort, HeaderAbortGRPC, HeaderAbortPercentage, HeaderDelay, HeaderDelayPercentage}
	tests := []struct {
		name  string
		given string
		want  []string
	}{
		{name: "no header control: nothing to strip", given: `{"abort": {"percentage": 1}}`, want: nil},
		{name: "header control disabled everywhere", given: `{"header_control": {"enabled": false, "token_header": "x-key"},
			"routes": [{"name": "a", "header_control": {"token_header": "x-other"}}]}`, want: nil},
		{name: "enabled at the top", given: `{"header_control": {"enabled": true, "token_env": "T"}}`,
			want: append(control, DefaultTokenHeader)},
		{name: "enabled in one route only, names from every entry", given: `{
			"header_control": {"enabled": false, "token_env": "T", "token_header": "X-Top"},
			"routes": [
				{"name": "off", "disabled": true},
				{"name": "plain"},
				{"name": "chaos", "header_control": {"enabled": true, "token_header": "x-chaos"}},
				{"name": "other", "header_control": {"token_header": "x-other"}},
				{"name": "again", "header_control": {"token_header": "X-CHAOS"}}]}`,
			want: append(control, "x-top", "x-chaos", "x-other")},
		{name: "a route without header control keeps the default name", given: `{
			"routes": [{"name": "chaos", "header_control": {"enabled": true, "token_env": "T"}}]}`,
			want: append(control, DefaultTokenHeader)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Parse([]byte(tt.given))
			require.NoError(t, err)
			assert.Equal(t, tt.want, StrippedHeaders(routes))
		})
	}
}
