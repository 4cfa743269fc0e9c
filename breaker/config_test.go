package breaker

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/conftest"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// parse returns the top-level configuration of data, which must be valid.
func parse(t *testing.T, data string) *Config {
	t.Helper()
	routes, err := Parse([]byte(data))
	require.NoError(t, err)
	return routes.Default
}

// statuses is a statusSet holding ranges.
func statuses(ranges ...StatusRange) statusSet { return statusSetOf(ranges, nil) }

// defaultPolicy is what `{}` prepares.
func defaultPolicy() policy {
	return policy{
		key: KeyCluster, maxKeys: DefaultMaxKeys,
		failStatus: statuses(StatusRange{500, 599}), failGRPC: 1<<4 | 1<<13 | 1<<14, connFailures: true,
		trip:     trip{consecutive: DefaultConsecutiveFailures, minimumCalls: DefaultMinimumCalls},
		openBase: DefaultOpenBase, openMax: DefaultOpenMax, multiplier: DefaultOpenMultiplier, jitter: DefaultOpenJitter,
		probes: DefaultProbes, successes: DefaultProbes, maxWait: DefaultMaxWait,
		guidedStatus: statuses(StatusRange{429, 429}, StatusRange{503, 503}), guidedMax: DefaultServerGuidedMax,
		mode:  ModeEnforcing,
		reply: Reply{Status: DefaultReplyStatus, Body: DefaultReplyBody},
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  func(p *policy)
	}{
		{name: "empty config is the default breaker", given: `{}`, want: func(*policy) {}},
		{
			name:  "tenant key and a cap",
			given: `{"key": "header:X-Tenant", "max_keys": 50}`,
			want:  func(p *policy) { p.key, p.keyHeader, p.maxKeys = KeyHeaderPrefix, "x-tenant", 50 },
		},
		{
			name:  "failure statuses mix codes and ranges, grpc names and numbers",
			given: `{"failure": {"statuses": [502, "503", "520-521"], "grpc_statuses": ["unavailable", 8], "connection_failures": false}}`,
			want: func(p *policy) {
				p.failStatus = statuses(StatusRange{502, 502}, StatusRange{503, 503}, StatusRange{520, 521})
				p.failGRPC, p.connFailures = 1<<14|1<<8, false
			},
		},
		{
			name:  "empty lists mean no failure status at all",
			given: `{"failure": {"statuses": [], "grpc_statuses": []}}`,
			want:  func(p *policy) { p.failStatus, p.failGRPC = statusSet{}, 0 },
		},
		{
			name: "failure rate over a count window",
			given: `{"trip": {"consecutive_failures": 0, "failure_rate": 50, "minimum_calls": 10,
				"window": {"type": "count", "size": 20}}}`,
			want: func(p *policy) {
				p.trip = trip{failureRate: 50, minimumCalls: 10}
				p.window = windowShape{size: 20}
			},
		},
		{
			name: "slow call rate over a time window",
			given: `{"slow_call": {"threshold": "2s"}, "trip": {"slow_call_rate": 80,
				"window": {"type": "time", "duration": "60s", "buckets": 6}}}`,
			want: func(p *policy) {
				p.slow = 2 * time.Second
				p.trip = trip{consecutive: 5, slowRate: 80, minimumCalls: DefaultMinimumCalls}
				p.window = windowShape{buckets: 6, width: 10 * time.Second}
			},
		},
		{
			name:  "a rate without a window gets the default count window, minimum calls at most its size",
			given: `{"trip": {"failure_rate": 25, "window": {"type": "count", "size": 10}}}`,
			want: func(p *policy) {
				p.trip = trip{consecutive: 5, failureRate: 25, minimumCalls: 10}
				p.window = windowShape{size: 10}
			},
		},
		{
			name:  "open, half-open and server-guided tuned",
			given: `{"open": {"base": "1s", "max": "10s", "multiplier": 3, "jitter": 0}, "half_open": {"probes": 3, "successes": 5, "max_wait": "20s"}, "server_guided": {"enabled": true, "statuses": [429], "max": "30s"}}`,
			want: func(p *policy) {
				p.openBase, p.openMax, p.multiplier, p.jitter = time.Second, 10*time.Second, 3, 0
				p.probes, p.successes, p.maxWait = 3, 5, 20*time.Second
				p.guided, p.guidedStatus, p.guidedMax = true, statuses(StatusRange{429, 429}), 30*time.Second
			},
		},
		{
			name:  "a base longer than the default max raises the max",
			given: `{"open": {"base": "10m"}}`,
			want:  func(p *policy) { p.openBase, p.openMax = 10*time.Minute, 10*time.Minute },
		},
		{
			name:  "server-guided alone may open the circuit",
			given: `{"trip": {"consecutive_failures": 0}, "server_guided": {"enabled": true}, "mode": "dry_run"}`,
			want:  func(p *policy) { p.trip.consecutive, p.guided, p.mode = 0, true, ModeDryRun },
		},
		{
			name:  "reply",
			given: `{"reply": {"status": 429, "body": "", "headers": {"X-B": "2", "x-a": "1"}}}`,
			want: func(p *policy) {
				p.reply = Reply{Status: 429, Body: "", Headers: [][2]string{{"x-a", "1"}, {"x-b", "2"}}}
			},
		},
		{
			name:  "shadows share the main window, which a shadow rate brings",
			given: `{"shadow": [{"name": "strict", "trip": {"consecutive_failures": 3}}, {"name": "rate", "trip": {"consecutive_failures": 0, "failure_rate": 20, "minimum_calls": 5}}]}`,
			want: func(p *policy) {
				p.window = windowShape{size: DefaultWindowSize}
				p.shadows = []shadow{
					{name: "strict", trip: trip{consecutive: 3, minimumCalls: DefaultMinimumCalls}},
					{name: "rate", trip: trip{failureRate: 20, minimumCalls: 5}},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultPolicy()
			tt.want(&want)
			assert.Equal(t, want, parse(t, tt.given).p)
		})
	}
}

func TestParseResponseHeader(t *testing.T) {
	c := parse(t, `{"failure": {"response_header": {"name": "X-Overloaded", "regex": "^(yes|1)$"}}}`)
	assert.Equal(t, "x-overloaded", c.FailureHeader())
	assert.Equal(t, "^(yes|1)$", c.p.headerRegex.String())
}

func TestParseRoutes(t *testing.T) {
	routes, err := Parse([]byte(`{"open": {"base": "5s"}, "routes": [{"name": "api", "open": {"max": "1m"}}, {"name": "off", "disabled": true}]}`))
	require.NoError(t, err)
	api := routes.Resolve(pipeline.Named("api"))
	require.NotNil(t, api)
	assert.Equal(t, [2]time.Duration{5 * time.Second, time.Minute}, [2]time.Duration{api.p.openBase, api.p.openMax})
	assert.Nil(t, routes.Resolve(pipeline.Named("off")))
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{"unknown field", `{"tripp": {}}`, "tripp: unknown field"},
		{"bad key", `{"key": "tenant"}`, `key: "tenant" is not a key: use "cluster", "route" or "header:<name>"`},
		{"bad header key", `{"key": "header::path"}`, `key: "header::path" does not name a request header: use "header:x-tenant"`},
		{"max keys", `{"max_keys": 0}`, "max_keys: must be between 1 and 10000"},
		{"status out of range", `{"failure": {"statuses": [600]}}`, `failure.statuses[0]: must be a status (503) or a range of statuses ("500-599"), from 100 to 599`},
		{"range backwards", `{"failure": {"statuses": ["599-500"]}}`, `failure.statuses[0]: must be a status (503) or a range of statuses ("500-599"), from 100 to 599`},
		{"grpc name", `{"failure": {"grpc_statuses": ["BROKEN"]}}`, `failure.grpc_statuses[0]: must be a gRPC status name ("UNAVAILABLE") or number (14)`},
		{"grpc number", `{"failure": {"grpc_statuses": [17]}}`, `failure.grpc_statuses[0]: must be a gRPC status from 0 to 16`},
		{"header match twice", `{"failure": {"response_header": {"name": "x-a", "exact": "1", "present": true}}}`, "failure.response_header: give exactly one of exact, regex or present"},
		{"header regex", `{"failure": {"response_header": {"name": "x-a", "regex": "("}}}`, "failure.response_header.regex: invalid regular expression: missing closing ): `(`"},
		{"slow without threshold", `{"slow_call": {}}`, `slow_call.threshold: is required: a duration such as "2s"`},
		{"slow threshold zero", `{"slow_call": {"threshold": "0s"}}`, "slow_call.threshold: must be more than 0"},
		{"time window without duration", `{"trip": {"failure_rate": 50, "window": {"type": "time"}}}`, `trip.window.duration: is required: a duration such as "60s"`},
		{"buckets too narrow", `{"trip": {"failure_rate": 50, "window": {"type": "time", "duration": "10ms", "buckets": 20}}}`, "trip.window.buckets: each bucket must span at least 1ms"},
		{"open base zero", `{"open": {"base": "0s"}}`, "open.base: must be more than 0"},
		{"slow rate without threshold", `{"trip": {"slow_call_rate": 50}}`, "slow_call.threshold: is required when a slow_call_rate is set"},
		{"nothing trips", `{"trip": {"consecutive_failures": 0}}`, "trip: nothing would ever open the circuit: set consecutive_failures, failure_rate or slow_call_rate, or enable server_guided"},
		{"consecutive too many", `{"trip": {"consecutive_failures": 1001}}`, "trip.consecutive_failures: must be between 0 (off) and 1000"},
		{"zero rate", `{"trip": {"failure_rate": 0}}`, "trip.failure_rate: must be more than 0 (leave it out to turn it off)"},
		{"rate above 100", `{"trip": {"failure_rate": 101}}`, "trip.failure_rate: must be between 0 and 100"},
		{"window too big", `{"trip": {"failure_rate": 50, "window": {"type": "count", "size": 1001}}}`, "trip.window.size: must be between 1 and 1000 calls"},
		{"window type", `{"trip": {"failure_rate": 50, "window": {"type": "sliding"}}}`, `trip.window.type: "sliding" is not a window type: use "count" or "time"`},
		{"time window too long", `{"trip": {"failure_rate": 50, "window": {"type": "time", "duration": "2h"}}}`, "trip.window.duration: must be at most 1h"},
		{"too many buckets", `{"trip": {"failure_rate": 50, "window": {"type": "time", "duration": "60s", "buckets": 61}}}`, "trip.window.buckets: must be between 1 and 60"},
		{"minimum calls above size", `{"trip": {"failure_rate": 50, "minimum_calls": 30, "window": {"type": "count", "size": 20}}}`, "trip.minimum_calls: must be at most the window's size (20): the rate would never count"},
		{"open max below base", `{"open": {"base": "1m", "max": "30s"}}`, "open.max: must be at least open.base (1m0s)"},
		{"multiplier", `{"open": {"multiplier": 0.5}}`, "open.multiplier: must be between 1 and 10"},
		{"jitter", `{"open": {"jitter": 1.5}}`, "open.jitter: must be a fraction between 0 and 1"},
		{"negative duration", `{"open": {"base": "-1s"}}`, `open.base: "-1s" must not be negative`},
		{"probes", `{"half_open": {"probes": 11}}`, "half_open.probes: must be between 1 and 10"},
		{"max wait", `{"half_open": {"max_wait": "0s"}}`, "half_open.max_wait: must be more than 0"},
		{"guided max", `{"server_guided": {"enabled": true, "max": "3h"}}`, "server_guided.max: must be at most 1h"},
		{"mode", `{"mode": "off"}`, `mode: "off" is not a mode: use "enforcing", "dry_run", "forced_open" or "disabled"`},
		{"reply status", `{"reply": {"status": 99}}`, "reply.status: must be between 200 and 599"},
		{"too many shadows", `{"shadow": [{"name":"a","trip":{}},{"name":"b","trip":{}},{"name":"c","trip":{}},{"name":"d","trip":{}},{"name":"e","trip":{}}]}`, "shadow: at most 4 shadow policies"},
		{"shadow twice", `{"shadow": [{"name":"a","trip":{}},{"name":"a","trip":{}}]}`, `shadow[1].name: "a" is given twice`},
		{"shadow window", `{"shadow": [{"name":"a","trip":{"window": {"type": "count", "size": 5}}}]}`, "shadow[0].trip.window: shadow policies share trip.window: leave it out"},
		{"route entry", `{"routes": [{"name": "api", "mode": "loud"}]}`, `routes["api"].mode: "loud" is not a mode: use "enforcing", "dry_run", "forced_open" or "disabled"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.given))
			require.Error(t, err)
			var fe *pipeline.FieldError
			assert.True(t, errors.As(err, &fe), "not a FieldError: %v", err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestDecodeJSONReadsEveryField(t *testing.T) {
	conftest.ReadsEveryField(t, &Config{})
}
