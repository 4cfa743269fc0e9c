package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/ipaddr"
)

// fakeRequest is a Request from a map of headers; when record is set it
// notes every call, the way the glue's host calls would happen.
type fakeRequest struct {
	headers map[string]string
	// repeated counts the extra values of headers given more than once;
	// Header returns the first, as Envoy does.
	repeated map[string]int
	cluster  string
	source   string // "": unknown
	record   bool
	calls    []string
}

func (r *fakeRequest) Header(name string) (string, bool) {
	if r.record {
		r.calls = append(r.calls, "header "+name)
	}
	v, ok := r.headers[name]
	return v, ok
}

func (r *fakeRequest) HeaderCount(name string) int {
	if r.record {
		r.calls = append(r.calls, "all headers")
	}
	if _, ok := r.headers[name]; !ok {
		return 0
	}
	return 1 + r.repeated[name]
}

func (r *fakeRequest) Cluster() string {
	if r.record {
		r.calls = append(r.calls, "cluster")
	}
	return r.cluster
}

func (r *fakeRequest) SourceIP() (ipaddr.Addr, bool) {
	if r.record {
		r.calls = append(r.calls, "source")
	}
	a, err := ipaddr.ParseAddr(r.source)
	return a, err == nil
}

// constant is a random source that always returns u.
func constant(u float64) func() float64 { return func() float64 { return u } }

// sequence is a random source returning us in turn, then failing the test.
func sequence(t *testing.T, us ...float64) func() float64 {
	return func() float64 {
		if len(us) == 0 {
			t.Error("more random draws than expected")
			return 0
		}
		u := us[0]
		us = us[1:]
		return u
	}
}

// noRandom is a random source that must not be used.
func noRandom(t *testing.T) func() float64 {
	return func() float64 {
		t.Error("the random source was used")
		return 0
	}
}

// monday returns Monday 2025-01-06 at hh:mm UTC.
func monday(hh, mm int) time.Time { return time.Date(2025, 1, 6, hh, mm, 0, 0, time.UTC) }

func TestDecideAtFixedRandomValues(t *testing.T) {
	c := parseDefault(t, `{
		"abort": {"percentage": 50, "http_status": 500},
		"delay": {"percentage": 30, "uniform": {"min": "100ms", "max": "500ms"}},
		"response": {"abort": {"percentage": 99.9, "http_status": 502}, "delay": {"percentage": 100, "fixed": "1s"}}
	}`)
	abort := &Abort{HTTPStatus: 500, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}
	respAbort := &Abort{HTTPStatus: 502, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}
	tests := []struct {
		name  string
		given float64
		want  Plan
	}{
		{name: "0", given: 0, want: Plan{Abort: abort, Delay: 100 * time.Millisecond, ResponseAbort: respAbort, ResponseDelay: time.Second}},
		{name: "0.25", given: 0.25, want: Plan{Abort: abort, Delay: 200 * time.Millisecond, ResponseAbort: respAbort, ResponseDelay: time.Second}},
		{name: "0.5", given: 0.5, want: Plan{ResponseAbort: respAbort, ResponseDelay: time.Second}},
		{name: "0.999", given: 0.999, want: Plan{ResponseDelay: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.Decide(get(), monday(12, 0), constant(tt.given)))
		})
	}
}

func TestDecideDrawsInOrder(t *testing.T) {
	c := parseDefault(t, `{
		"abort": {"percentage": 50},
		"delay": {"percentage": 50, "uniform": {"min": "0s", "max": "1s"}},
		"response": {"abort": {"percentage": 50}, "delay": {"percentage": 50, "uniform": {"min": "0s", "max": "10s"}}}
	}`)
	// abort, delay, delay's sample, response abort, response delay, its sample
	got := c.Decide(get(), monday(12, 0), sequence(t, 0.9, 0.1, 0.25, 0.9, 0.4, 0.5))
	assert.Equal(t, Plan{Delay: 250 * time.Millisecond, ResponseDelay: 5 * time.Second}, got)
}

func TestDecideMatch(t *testing.T) {
	abort := Plan{Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}}
	tests := []struct {
		name  string
		match string
		given func(r *fakeRequest)
		want  Plan
	}{
		{name: "no match section", match: `{}`, want: abort},
		{name: "method listed", match: `{"methods": ["POST", "GET"]}`, want: abort},
		{name: "method not listed", match: `{"methods": ["POST"]}`, want: Plan{}},
		{name: "method missing", match: `{"methods": ["GET"]}`, given: func(r *fakeRequest) { delete(r.headers, ":method") }, want: Plan{}},
		{name: "path prefix", match: `{"path": {"prefix": "/api/"}}`, want: abort},
		{name: "path prefix other", match: `{"path": {"prefix": "/admin/"}}`, want: Plan{}},
		{name: "path exact", match: `{"path": {"exact": "/api/users"}}`, want: abort},
		{name: "path exact ignores the query", match: `{"path": {"exact": "/api/users"}}`, given: func(r *fakeRequest) { r.headers[":path"] = "/api/users?page=2" }, want: abort},
		{name: "path exact other", match: `{"path": {"exact": "/api/user"}}`, want: Plan{}},
		{name: "path prefix does not see the query", match: `{"path": {"prefix": "/api/users?"}}`, given: func(r *fakeRequest) { r.headers[":path"] = "/api/users?page=2" }, want: Plan{}},
		{name: "path regex", match: `{"path": {"regex": "^/api/v[0-9]+/"}}`, given: func(r *fakeRequest) { r.headers[":path"] = "/api/v2/users" }, want: abort},
		{name: "path regex other", match: `{"path": {"regex": "^/api/v[0-9]+/"}}`, want: Plan{}},
		{name: "path missing", match: `{"path": {"prefix": "/"}}`, given: func(r *fakeRequest) { delete(r.headers, ":path") }, want: Plan{}},
		{name: "header exact", match: `{"headers": [{"name": "x-user", "exact": "a"}]}`, given: func(r *fakeRequest) { r.headers["x-user"] = "a" }, want: abort},
		{name: "header exact other", match: `{"headers": [{"name": "x-user", "exact": "a"}]}`, given: func(r *fakeRequest) { r.headers["x-user"] = "ab" }, want: Plan{}},
		{name: "header exact empty value", match: `{"headers": [{"name": "x-user", "exact": ""}]}`, given: func(r *fakeRequest) { r.headers["x-user"] = "" }, want: abort},
		{name: "header exact absent", match: `{"headers": [{"name": "x-user", "exact": ""}]}`, want: Plan{}},
		{name: "header name is lower-cased", match: `{"headers": [{"name": "X-User", "exact": "a"}]}`, given: func(r *fakeRequest) { r.headers["x-user"] = "a" }, want: abort},
		{name: "header regex", match: `{"headers": [{"name": "x-b", "regex": "^t.*"}]}`, given: func(r *fakeRequest) { r.headers["x-b"] = "tea" }, want: abort},
		{name: "header regex other", match: `{"headers": [{"name": "x-b", "regex": "^t.*"}]}`, given: func(r *fakeRequest) { r.headers["x-b"] = "coffee" }, want: Plan{}},
		{name: "header regex absent", match: `{"headers": [{"name": "x-b", "regex": ".*"}]}`, want: Plan{}},
		{name: "header present", match: `{"headers": [{"name": "x-c", "present": true}]}`, given: func(r *fakeRequest) { r.headers["x-c"] = "" }, want: abort},
		{name: "header present absent", match: `{"headers": [{"name": "x-c", "present": true}]}`, want: Plan{}},
		{name: "header absent", match: `{"headers": [{"name": "x-c", "present": false}]}`, want: abort},
		{name: "header absent present", match: `{"headers": [{"name": "x-c", "present": false}]}`, given: func(r *fakeRequest) { r.headers["x-c"] = "1" }, want: Plan{}},
		{name: "pseudo-header", match: `{"headers": [{"name": ":authority", "exact": "shop"}]}`, given: func(r *fakeRequest) { r.headers[":authority"] = "shop" }, want: abort},
		{name: "every header rule must match", match: `{"headers": [{"name": "x-a", "present": true}, {"name": "x-b", "present": true}]}`, given: func(r *fakeRequest) { r.headers["x-a"] = "1" }, want: Plan{}},
		{name: "cluster", match: `{"clusters": ["other", "backend"]}`, want: abort},
		{name: "cluster other", match: `{"clusters": ["other"]}`, want: Plan{}},
		{name: "source in v4 CIDR", match: `{"source_cidrs": ["::1/128", "10.0.0.0/8"]}`, want: abort},
		{name: "source CIDR with host bits", match: `{"source_cidrs": ["10.9.9.9/8"]}`, want: abort},
		{name: "source v4 mapped in v6", match: `{"source_cidrs": ["10.0.0.0/8"]}`, given: func(r *fakeRequest) { r.source = "::ffff:10.1.2.3" }, want: abort},
		{name: "source in v6 CIDR", match: `{"source_cidrs": ["10.0.0.0/8", "::1/128"]}`, given: func(r *fakeRequest) { r.source = "::1" }, want: abort},
		{name: "source outside", match: `{"source_cidrs": ["192.168.0.0/16"]}`, want: Plan{}},
		{name: "source unknown", match: `{"source_cidrs": ["0.0.0.0/0"]}`, given: func(r *fakeRequest) { r.source = "" }, want: Plan{}},
		{name: "all selectors", match: `{"methods": ["GET"], "path": {"prefix": "/api"}, "headers": [{"name": "x-c", "present": false}],
			"clusters": ["backend"], "source_cidrs": ["10.0.0.0/8"]}`, want: abort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseDefault(t, `{"abort": {"percentage": 100}, "match": `+tt.match+`}`)
			req := get()
			if tt.given != nil {
				tt.given(req)
			}
			assert.Equal(t, tt.want, c.Decide(req, monday(12, 0), constant(0)))
		})
	}
}

func TestDecideHostCalls(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  []string
	}{
		{name: "nothing to inject asks nothing", given: `{"abort": {"percentage": 0}, "match": {"methods": ["GET"]}}`, want: nil},
		{name: "outside the windows asks nothing", given: `{"abort": {"percentage": 100}, "match": {"methods": ["GET"]},
			"active_windows": [{"days": ["sun"], "start": "00:00", "end": "23:59"}]}`, want: nil},
		{name: "no match asks nothing", given: `{"abort": {"percentage": 100}}`, want: nil},
		{name: "method first, short-circuit", given: `{"abort": {"percentage": 100}, "match": {"methods": ["PUT"], "path": {"prefix": "/"},
			"clusters": ["backend"], "source_cidrs": ["10.0.0.0/8"]}}`, want: []string{"header :method"}},
		{name: "then path", given: `{"abort": {"percentage": 100}, "match": {"methods": ["GET"], "path": {"prefix": "/admin"},
			"clusters": ["backend"], "source_cidrs": ["10.0.0.0/8"]}}`, want: []string{"header :method", "header :path"}},
		{name: "then headers", given: `{"abort": {"percentage": 100}, "match": {"path": {"prefix": "/"}, "headers": [{"name": "x-a", "present": true}, {"name": "x-b", "present": true}],
			"clusters": ["backend"]}}`, want: []string{"header :path", "header x-a"}},
		{name: "then cluster", given: `{"abort": {"percentage": 100}, "match": {"clusters": ["other"], "source_cidrs": ["10.0.0.0/8"]}}`,
			want: []string{"cluster"}},
		{name: "then source", given: `{"abort": {"percentage": 100}, "match": {"clusters": ["backend"], "source_cidrs": ["10.0.0.0/8"]}}`,
			want: []string{"cluster", "source"}},
		{name: "request id when sampling by it", given: `{"abort": {"percentage": 100}, "sampling": "request_id"}`,
			want: []string{"header x-request-id"}},
		{name: "token header when header control is on", given: `{"abort": {"percentage": 100}, "header_control": {"enabled": true, "token_env": "T"}}`,
			want: []string{"header x-steadfast-fault-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseDefault(t, tt.given)
			require.NoError(t, c.ResolveSecrets(func(string) (string, bool) { return testToken, true }))
			req := get()
			req.record = true
			c.Decide(req, monday(12, 0), constant(0))
			assert.Equal(t, tt.want, req.calls)
		})
	}
}

func TestDecideWindows(t *testing.T) {
	c := parseDefault(t, `{"abort": {"percentage": 100}, "active_windows": [{"days": ["mon"], "start": "09:00", "end": "17:30"}]}`)
	abort := Plan{Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}}
	tests := []struct {
		name  string
		given time.Time
		want  Plan
	}{
		{name: "inside", given: monday(12, 0), want: abort},
		{name: "before", given: monday(8, 59), want: Plan{}},
		{name: "after", given: monday(17, 30), want: Plan{}},
		{name: "judged in UTC", given: monday(12, 0).In(time.FixedZone("UTC+10", 10*3600)), want: abort},
		{name: "local 09:00 is 23:00 UTC the day before", given: time.Date(2025, 1, 7, 9, 0, 0, 0, time.FixedZone("UTC+10", 10*3600)), want: Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.Decide(get(), tt.given, constant(0)))
		})
	}
}

func TestDecideRequestIDSampling(t *testing.T) {
	c := parseDefault(t, `{"sampling": "request_id", "abort": {"percentage": 50},
		"delay": {"percentage": 50, "uniform": {"min": "0s", "max": "1s"}}}`)
	withID := func(id string) *fakeRequest {
		r := get()
		r.headers["x-request-id"] = id
		return r
	}
	seen := map[string]int{}
	for i := range 200 {
		id := fmt.Sprintf("5f0c6a1e-%04d-4f7b-9d6e-1b2c3d4e5f60", i)
		first := c.Decide(withID(id), monday(12, 0), noRandom(t))
		again := c.Decide(withID(id), monday(13, 0), noRandom(t))
		assert.Equal(t, first, again, "the same id gets the same plan")
		seen[fmt.Sprint(first.Kinds())]++
	}
	assert.Len(t, seen, 4, "abort and delay are drawn independently: %v", seen)

	t.Run("without an id, the random source decides", func(t *testing.T) {
		assert.Equal(t, Plan{}, c.Decide(get(), monday(12, 0), constant(0.9)))
		assert.Equal(t, Plan{
			Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
			Delay: 250 * time.Millisecond,
		}, c.Decide(get(), monday(12, 0), constant(0.25)))
	})
}

// TestSamplingRate draws 100k decisions and expects the number of aborts
// within five standard deviations of the binomial mean n·p.
func TestSamplingRate(t *testing.T) {
	const n = 100_000
	tests := []struct {
		name     string
		given    string
		min, max int
	}{
		// mean 100, sigma 9.99
		{name: "0.1%", given: "0.1", min: 50, max: 150},
		// mean 10000, sigma 94.9
		{name: "10%", given: "10", min: 9526, max: 10474},
		// mean 50000, sigma 158.1
		{name: "50%", given: "50", min: 49210, max: 50790},
	}
	for _, tt := range tests {
		t.Run("random "+tt.name, func(t *testing.T) {
			c := parseDefault(t, `{"abort": {"percentage": `+tt.given+`}}`)
			rnd := rand.New(rand.NewPCG(1, 2)).Float64
			req := get()
			got := 0
			for range n {
				if c.Decide(req, monday(12, 0), rnd).Abort != nil {
					got++
				}
			}
			assert.GreaterOrEqual(t, got, tt.min)
			assert.LessOrEqual(t, got, tt.max)
		})
		t.Run("request_id "+tt.name, func(t *testing.T) {
			c := parseDefault(t, `{"sampling": "request_id", "abort": {"percentage": `+tt.given+`}}`)
			req := get()
			got := 0
			for i := range n {
				req.headers["x-request-id"] = strconv.Itoa(i)
				if c.Decide(req, monday(12, 0), noRandom(t)).Abort != nil {
					got++
				}
			}
			assert.GreaterOrEqual(t, got, tt.min)
			assert.LessOrEqual(t, got, tt.max)
		})
	}
}

func TestDecideHeaderControl(t *testing.T) {
	const config = `{
		"abort": {"percentage": 100, "http_status": 500},
		"response": {"delay": {"percentage": 100, "fixed": "1s"}},
		"match": {"methods": ["GET"]},
		"header_control": {"enabled": true, "token_env": "FAULTS_TOKEN"}
	}`
	c := parseDefault(t, config)
	require.NoError(t, c.ResolveSecrets(func(string) (string, bool) { return testToken, true }))
	configured := Plan{
		Abort:         &Abort{HTTPStatus: 500, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
		ResponseDelay: time.Second,
	}
	rejected := configured
	rejected.TokenRejected = true
	tests := []struct {
		name     string
		given    map[string]string
		repeated map[string]int
		rnd      float64
		want     Plan
	}{
		{name: "no control headers", given: map[string]string{}, want: configured},
		{name: "control without a token is ignored", given: map[string]string{HeaderAbort: "418"}, want: configured},
		{name: "control with a wrong token is ignored", given: map[string]string{DefaultTokenHeader: "a-wrong-token-of-some-length", HeaderAbort: "418"}, want: rejected},
		{name: "a prefix of the token is wrong", given: map[string]string{DefaultTokenHeader: testToken[:len(testToken)-1], HeaderAbort: "418"}, want: rejected},
		{name: "the token and more is wrong", given: map[string]string{DefaultTokenHeader: testToken + "x", HeaderAbort: "418"}, want: rejected},
		{name: "an empty token is wrong", given: map[string]string{DefaultTokenHeader: "", HeaderAbort: "418"}, want: rejected},
		{name: "the token header given twice is refused", given: map[string]string{DefaultTokenHeader: testToken, HeaderAbort: "418"},
			repeated: map[string]int{DefaultTokenHeader: 1}, want: rejected},
		{name: "control replaces the request faults", given: map[string]string{DefaultTokenHeader: testToken, HeaderAbort: "418", HeaderDelay: "250"}, want: Plan{
			Abort:         &Abort{HTTPStatus: 418, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody},
			Delay:         250 * time.Millisecond,
			ResponseDelay: time.Second,
			FromHeaders:   true,
		}},
		{name: "a token alone turns the request faults off", given: map[string]string{DefaultTokenHeader: testToken}, want: Plan{
			ResponseDelay: time.Second,
			FromHeaders:   true,
		}},
		{name: "control percentages are sampled", given: map[string]string{DefaultTokenHeader: testToken, HeaderAbort: "418", HeaderAbortPercentage: "20",
			HeaderDelay: "1s", HeaderDelayPercentage: "30"}, rnd: 0.25, want: Plan{
			Delay:         time.Second,
			ResponseDelay: time.Second,
			FromHeaders:   true,
		}},
		{name: "a malformed value drops its fault only", given: map[string]string{DefaultTokenHeader: testToken, HeaderAbort: "4180", HeaderDelay: "1s"}, want: Plan{
			Delay:         time.Second,
			ResponseDelay: time.Second,
			FromHeaders:   true,
		}},
		{name: "still subject to match", given: map[string]string{":method": "POST", DefaultTokenHeader: testToken, HeaderAbort: "418"}, want: Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := get()
			for k, v := range tt.given {
				req.headers[k] = v
			}
			req.repeated = tt.repeated
			assert.Equal(t, tt.want, c.Decide(req, monday(12, 0), constant(tt.rnd)))
		})
	}

	t.Run("headers are counted only once the token matched", func(t *testing.T) {
		for token, want := range map[string][]string{
			"a-wrong-token-of-some-length": {"header :method", "header x-steadfast-fault-token"},
			testToken:                      {"header :method", "header x-steadfast-fault-token", "all headers"},
		} {
			req := get()
			req.headers[DefaultTokenHeader] = token
			req.record = true
			c.Decide(req, monday(12, 0), constant(0))
			assert.Equal(t, want, req.calls[:len(want)], "token %q", token)
		}
	})
	t.Run("an unresolved token honours nothing", func(t *testing.T) {
		c := parseDefault(t, config)
		req := get()
		req.headers[DefaultTokenHeader] = ""
		req.headers[HeaderAbort] = "418"
		assert.Equal(t, configured, c.Decide(req, monday(12, 0), constant(0)))
	})
	t.Run("header control alone makes the config live", func(t *testing.T) {
		c := parseDefault(t, `{"header_control": {"enabled": true, "token_env": "FAULTS_TOKEN", "token_header": "x-key"}}`)
		require.NoError(t, c.ResolveSecrets(func(string) (string, bool) { return testToken, true }))
		req := get()
		req.headers["x-key"] = testToken
		req.headers[HeaderAbortGRPC] = "4"
		assert.Equal(t, Plan{
			Abort:       &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: 4, Body: DefaultAbortBody},
			FromHeaders: true,
		}, c.Decide(req, monday(12, 0), constant(0)))
	})
	t.Run("header control disabled", func(t *testing.T) {
		c := parseDefault(t, `{"abort": {"percentage": 0}}`)
		req := get()
		req.headers[DefaultTokenHeader] = testToken
		req.headers[HeaderAbort] = "418"
		assert.Equal(t, Plan{}, c.Decide(req, monday(12, 0), constant(0)))
	})
}

func TestDecideNilInputs(t *testing.T) {
	var none *Config
	assert.Equal(t, Plan{}, none.Decide(get(), monday(12, 0), constant(0)), "a nil config injects nothing")

	c := parseDefault(t, `{"abort": {"percentage": 100}}`)
	assert.Equal(t, Plan{Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}},
		c.Decide(get(), monday(12, 0), nil), "a nil random source falls back to math/rand/v2")
}

// planView is everything a Plan reports about itself.
type planView struct {
	Empty       bool
	Kinds       []string
	HeaderValue string
}

func TestPlanViews(t *testing.T) {
	tests := []struct {
		name  string
		given Plan
		want  planView
	}{
		{name: "empty", given: Plan{}, want: planView{Empty: true, Kinds: []string{}, HeaderValue: ""}},
		{name: "abort", given: Plan{Abort: &Abort{HTTPStatus: 503}}, want: planView{Kinds: []string{"abort"}, HeaderValue: "abort=503"}},
		{name: "delay and response abort", given: Plan{Delay: 200 * time.Millisecond, ResponseAbort: &Abort{HTTPStatus: 500}},
			want: planView{Kinds: []string{"delay", "response_abort"}, HeaderValue: "delay=200ms,response_abort=500"}},
		{name: "all four", given: Plan{Abort: &Abort{HTTPStatus: 429}, Delay: 1500 * time.Millisecond, ResponseAbort: &Abort{HTTPStatus: 502}, ResponseDelay: time.Minute, FromHeaders: true},
			want: planView{Kinds: []string{"abort", "delay", "response_abort", "response_delay"}, HeaderValue: "abort=429,delay=1.5s,response_abort=502,response_delay=1m0s"}},
		{name: "response delay", given: Plan{ResponseDelay: time.Millisecond}, want: planView{Kinds: []string{"response_delay"}, HeaderValue: "response_delay=1ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, planView{Empty: tt.given.Empty(), Kinds: tt.given.Kinds(), HeaderValue: tt.given.HeaderValue()})
		})
	}
}

func BenchmarkDecide(b *testing.B) {
	benchmarks := []struct {
		name   string
		config string
	}{
		{name: "0%", config: `{"abort": {"percentage": 0}, "delay": {"percentage": 0, "fixed": "1s"}, "match": {"path": {"prefix": "/api/"}}}`},
		{name: "never matching", config: `{"abort": {"percentage": 100}, "match": {"methods": ["POST"], "path": {"prefix": "/admin/"}}}`},
		{name: "never matching header", config: `{"abort": {"percentage": 100}, "match": {"methods": ["GET"], "path": {"regex": "^/api/v[0-9]+/"}, "headers": [{"name": "x-user", "exact": "chaos"}]}}`},
		{name: "100% abort", config: `{"abort": {"percentage": 100}, "match": {"methods": ["GET"], "path": {"prefix": "/api/"}}}`},
		{name: "100% lognormal delay by request id", config: `{"sampling": "request_id", "delay": {"percentage": 100, "lognormal": {"median": "100ms", "p99": "1s"}}}`},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			routes, err := Parse([]byte(bm.config))
			require.NoError(b, err)
			c := routes.Default
			req := get()
			req.headers["x-request-id"] = "5f0c6a1e-2b4d-4f7b-9d6e-1b2c3d4e5f60"
			now := monday(12, 0)
			rnd := rand.New(rand.NewPCG(1, 2)).Float64
			b.ReportAllocs()
			for b.Loop() {
				c.Decide(req, now, rnd)
			}
		})
	}
}

// testToken is a header control token long enough for MinTokenLength.
const testToken = "s3cret-chaos-token"
