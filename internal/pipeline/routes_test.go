package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRoutesResolve(t *testing.T) {
	routes, err := ParseRoutes[testConfig]([]byte(`{
		"name": "top",
		"limit": {"percentage": 5, "status": 503},
		"tags": ["a"],
		"routes": [
			{"name": "health", "disabled": true},
			{"name": "api-*", "limit": {"percentage": 50}},
			{"name": "api-v1", "name_is_not_reached": true}
		]
	}`))
	require.Error(t, err, "unknown fields of later entries are still reported")
	assert.Equal(t, `routes["api-v1"].name_is_not_reached: unknown field`, err.Error())

	routes, err = ParseRoutes[testConfig]([]byte(`{
		"name": "top",
		"limit": {"percentage": 5, "status": 503},
		"tags": ["a"],
		"routes": [
			{"name": "health", "disabled": true},
			{"name": "api-*", "limit": {"percentage": 50}},
			{"name": "api-v1", "tags": []}
		]
	}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"health", "api-*", "api-v1"}, routes.Names())

	tests := []struct {
		route string
		want  *testConfig
	}{
		{route: "other", want: &testConfig{Name: "top", Limit: &testLimit{Percentage: 5, Status: 503}, Tags: []string{"a"}}},
		{route: "", want: &testConfig{Name: "top", Limit: &testLimit{Percentage: 5, Status: 503}, Tags: []string{"a"}}},
		{route: "health", want: nil},
		{route: "api-v1", want: &testConfig{Name: "top", Limit: &testLimit{Percentage: 50, Status: 503}, Tags: []string{"a"}}},
		{route: "api-v2", want: &testConfig{Name: "top", Limit: &testLimit{Percentage: 50, Status: 503}, Tags: []string{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			assert.Equal(t, tt.want, routes.Resolve(Named(tt.route)))
			assert.Equal(t, tt.want, routes.Resolve(Named(tt.route)), "cached")
		})
	}
}

func TestParseRoutesErrors(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "top-level validation", given: `{"limit":{"status":99}}`, want: "limit.status: must be between 200 and 599"},
		{name: "route validation is prefixed", given: `{"routes":[{"name":"api","limit":{"status":99}}]}`, want: `routes["api"].limit.status: must be between 200 and 599`},
		{name: "route inherits an invalid merge", given: `{"limit":{"percentage":1},"routes":[{"name":"api","limit":{"status":700}}]}`, want: `routes["api"].limit.status: must be between 200 and 599`},
		{name: "route decode error", given: `{"routes":[{"name":"api","limit":{"percentage":101}}]}`, want: `routes["api"].limit.percentage: must be between 0 and 100`},
		{name: "missing name", given: `{"routes":[{"disabled":true}]}`, want: `routes[0]: give a name (the Envoy route name, exact or a glob such as "api-*") or a match (hosts, paths, methods, clusters)`},
		{name: "empty name", given: `{"routes":[{"name":" "}]}`, want: `routes[0].name: must be the Envoy route name, exact or a glob such as "api-*"`},
		{name: "match with an unknown field", given: `{"routes":[{"match":{"host":["a"]}}]}`, want: `routes[0].match.host: unknown field`},
		{name: "match path without a slash", given: `{"routes":[{"name":"api","match":{"paths":["v1"]}}]}`, want: `routes["api"].match.paths[0]: "v1" must start with /`},
		{name: "match method not a token", given: `{"routes":[{"match":{"methods":["GE T"]}}]}`, want: `routes[0].match.methods[0]: "GE T" is not a method`},
		{name: "match entry validation is prefixed", given: `{"routes":[{"match":{"paths":["/a"]},"limit":{"status":99}}]}`, want: `routes[0].limit.status: must be between 200 and 599`},
		{name: "duplicate name", given: `{"routes":[{"name":"a","disabled":true},{"name":"a","disabled":true}]}`, want: `routes["a"]: duplicate route name`},
		{name: "disabled with overrides", given: `{"routes":[{"name":"a","disabled":true,"tags":[]}]}`, want: `routes["a"]: a disabled route takes no other fields`},
		{name: "disabled not a bool", given: `{"routes":[{"name":"a","disabled":"yes"}]}`, want: `routes["a"].disabled: must be true or false`},
		{name: "routes not a list", given: `{"routes":{}}`, want: "routes: must be a list of route entries"},
		{name: "entry not an object", given: `{"routes":[1]}`, want: "routes[0]: must be an object with a name or a match"},
		{name: "not an object", given: `[]`, want: "configuration must be a JSON object"},
		{name: "not JSON", given: `nope`, want: "invalid JSON: invalid character 'o' in literal null (byte 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoutes[testConfig]([]byte(tt.given))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestRoutesEachPrefixesErrors(t *testing.T) {
	routes, err := ParseRoutes[testConfig]([]byte(`{"name":"top","routes":[{"name":"off","disabled":true},{"name":"api"}]}`))
	require.NoError(t, err)
	var seen []string
	err = routes.Each(func(c *testConfig) error {
		seen = append(seen, c.Name)
		if len(seen) == 2 {
			return Errorf("secret.env", "variable X is not set")
		}
		return nil
	})
	assert.Equal(t, []string{"top", "top"}, seen)
	require.Error(t, err)
	assert.Equal(t, `routes["api"].secret.env: variable X is not set`, err.Error())
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"api", "api", true},
		{"api", "api2", false},
		{"api-*", "api-", true},
		{"api-*", "api-v1", true},
		{"api-*", "ap", false},
		{"*", "", true},
		{"*.match", "vs.match", true},
		{"*-v?", "users-v1", true},
		{"*-v?", "users-v10", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Glob(tt.pattern, tt.name), "%q ~ %q", tt.pattern, tt.name)
	}
}

// req is a Request with every field set.
type req struct{ route, method, path, authority, cluster string }

func (r req) Route() string     { return r.route }
func (r req) Method() string    { return r.method }
func (r req) Path() string      { return r.path }
func (r req) Authority() string { return r.authority }
func (r req) Cluster() string   { return r.cluster }

// In an Istio sidecar's inbound listener every route is named "default":
// entries tell requests apart by host, path, method and cluster instead.
func TestRoutesMatchByRequest(t *testing.T) {
	routes, err := ParseRoutes[testConfig]([]byte(`{
		"name": "top",
		"routes": [
			{"match": {"paths": ["/healthz"]}, "disabled": true},
			{"name": "default", "match": {"hosts": ["*.payments.svc.cluster.local"], "methods": ["POST"]}, "name_": "x"}
		]
	}`))
	require.Error(t, err)
	assert.Equal(t, `routes["default"].name_: unknown field`, err.Error())

	routes, err = ParseRoutes[testConfig]([]byte(`{
		"name": "top",
		"routes": [
			{"match": {"paths": ["/healthz"]}, "disabled": true},
			{"name": "default", "match": {"hosts": ["*.Payments.svc.cluster.local"], "methods": ["POST"]}, "tags": ["payments"]},
			{"match": {"clusters": ["outbound|*|reviews.*"]}, "tags": ["reviews"]},
			{"name": "api-*", "tags": ["api"]}
		]
	}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"#0", "default", "#2", "api-*"}, routes.Names())
	assert.True(t, routes.NeedsRoute())

	tags := func(c *testConfig) any {
		if c == nil {
			return "disabled"
		}
		return c.Tags
	}
	tests := []struct {
		name  string
		given req
		want  any
	}{
		{"health check", req{route: "default", path: "/healthz?full=1", method: "GET"}, "disabled"},
		{"payments POST with port", req{route: "default", method: "POST", path: "/pay", authority: "api.payments.svc.cluster.local:8080"}, []string{"payments"}},
		{"payments GET", req{route: "default", method: "GET", path: "/pay", authority: "api.payments.svc.cluster.local"}, []string(nil)},
		{"payments POST on another route", req{route: "other", method: "POST", authority: "api.payments.svc.cluster.local"}, []string(nil)},
		{"reviews cluster", req{route: "default", path: "/r", cluster: "outbound|9080|v2|reviews.default.svc.cluster.local"}, []string{"reviews"}},
		{"by name", req{route: "api-v1", path: "/x"}, []string{"api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tags(routes.Resolve(tt.given)))
		})
	}
}
