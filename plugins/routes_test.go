package plugins

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
			assert.Equal(t, tt.want, routes.Resolve(tt.route))
			assert.Equal(t, tt.want, routes.Resolve(tt.route), "cached")
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
		{name: "missing name", given: `{"routes":[{"disabled":true}]}`, want: `routes[0].name: is required: the Envoy route name, exact or a glob such as "api-*"`},
		{name: "duplicate name", given: `{"routes":[{"name":"a","disabled":true},{"name":"a","disabled":true}]}`, want: `routes["a"]: duplicate route name`},
		{name: "disabled with overrides", given: `{"routes":[{"name":"a","disabled":true,"tags":[]}]}`, want: `routes["a"]: a disabled route takes no other fields`},
		{name: "disabled not a bool", given: `{"routes":[{"name":"a","disabled":"yes"}]}`, want: `routes["a"].disabled: must be true or false`},
		{name: "routes not a list", given: `{"routes":{}}`, want: "routes: must be a list of route entries"},
		{name: "entry not an object", given: `{"routes":[1]}`, want: "routes[0]: must be an object with a name"},
		{name: "not an object", given: `[]`, want: "configuration must be a JSON object"},
		{name: "not JSON", given: `nope`, want: "invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
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
