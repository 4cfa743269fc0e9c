package pipeline

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

type testLimit struct {
	Percentage Percent  `json:"percentage"`
	Status     int      `json:"status"`
	After      Duration `json:"after"`
}

type testConfig struct {
	Name   string            `json:"name"`
	Limit  *testLimit        `json:"limit"`
	Tags   []string          `json:"tags"`
	Labels map[string]string `json:"labels"`
	Items  []testLimit       `json:"items"`
}

func (l *testLimit) DecodeJSON(f *Fields) {
	f.Percent("percentage", &l.Percentage)
	f.Int("status", &l.Status)
	f.Duration("after", &l.After)
}

func (c *testConfig) DecodeJSON(f *Fields) {
	f.String("name", &c.Name)
	ObjectPtr(f, "limit", &c.Limit)
	f.Strings("tags", &c.Tags)
	f.StringMap("labels", &c.Labels)
	List(f, "items", &c.Items)
}

func (c *testConfig) Validate() error {
	if c.Limit != nil && c.Limit.Status != 0 && (c.Limit.Status < 200 || c.Limit.Status > 599) {
		return Errorf("limit.status", "must be between 200 and 599")
	}
	return nil
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  testConfig
	}{
		{
			name:  "nested object, list and map",
			given: `{"name":"a","limit":{"percentage":12.5,"status":503,"after":"1.5s"},"tags":["x"],"labels":{"k":"v"}}`,
			want: testConfig{
				Name:   "a",
				Limit:  &testLimit{Percentage: 12.5, Status: 503, After: Duration(1500 * time.Millisecond)},
				Tags:   []string{"x"},
				Labels: map[string]string{"k": "v"},
			},
		},
		{name: "empty object", given: `{}`, want: testConfig{}},
		{name: "null pointer", given: `{"limit":null}`, want: testConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testConfig
			require.NoError(t, Decode([]byte(tt.given), &got))
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "unknown top-level field", given: `{"nmae":"a"}`, want: "nmae: unknown field"},
		{name: "unknown nested field", given: `{"limit":{"percent":1}}`, want: "limit.percent: unknown field"},
		{name: "percentage above 100", given: `{"limit":{"percentage":150}}`, want: "limit.percentage: must be between 0 and 100"},
		{name: "negative percentage", given: `{"limit":{"percentage":-1}}`, want: "limit.percentage: must be between 0 and 100"},
		{name: "percentage as a string", given: `{"limit":{"percentage":"5"}}`, want: "limit.percentage: must be a number between 0 and 100"},
		{name: "bad duration", given: `{"limit":{"after":"soon"}}`, want: `limit.after: "soon" is not a duration: use a number and a unit such as "250ms" or "5s"`},
		{name: "duration as a number", given: `{"limit":{"after":5}}`, want: `limit.after: must be a duration string such as "250ms" or "5s"`},
		{name: "negative duration", given: `{"limit":{"after":"-1s"}}`, want: `limit.after: "-1s" must not be negative`},
		{name: "wrong scalar type", given: `{"name":5}`, want: "name: must be a string"},
		{name: "whole number expected", given: `{"limit":{"status":5.5}}`, want: "limit.status: must be a whole number"},
		{name: "list expected", given: `{"tags":"x"}`, want: "tags: must be a list"},
		{name: "element of a list", given: `{"items":[{},{"status":"x"}]}`, want: "items[1].status: must be a whole number"},
		{name: "map value", given: `{"labels":{"k":1}}`, want: `labels["k"]: must be a string`},
		{name: "object expected", given: `{"limit":[]}`, want: "limit: must be an object"},
		{name: "number too large for a float", given: `{"limit":{"percentage":1e309}}`, want: "limit.percentage: must be a number between 0 and 100"},
		{name: "number too large for an int", given: `{"limit":{"status":1e309}}`, want: "limit.status: must be a whole number"},
		{name: "number too large in a list", given: `{"items":[{"status":-1e309}]}`, want: "items[0].status: must be a whole number"},
		{name: "duplicate top-level key", given: `{"name":"a","name":"b"}`, want: `duplicate key "name"`},
		{name: "duplicate nested key", given: `{"limit":{"percentage":1,"status":503,"percentage":2}}`, want: `limit: duplicate key "percentage"`},
		{name: "duplicate key in a list element", given: `{"items":[{},{"status":1,"status":1}]}`, want: `items[1]: duplicate key "status"`},
		{name: "duplicate map key", given: `{"labels":{"k":"v","k":"w"}}`, want: `labels: duplicate key "k"`},
		{name: "duplicate key written with an escape", given: `{"name":"a","n\u0061me":"b"}`, want: `duplicate key "name"`},
		{name: "duplicate key in an unknown field", given: `{"extra":{"a":1,"a":1}}`, want: `extra: duplicate key "a"`},
		{name: "not JSON", given: `{"name":`, want: "invalid JSON: unexpected end of JSON input"},
		{name: "trailing data", given: `{} {}`, want: "invalid JSON: invalid character '{' after the top-level value (byte 4)"},
		{name: "empty", given: ` `, want: "configuration is empty: expected a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testConfig
			err := Decode([]byte(tt.given), &got)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestDecodeKeepsRepeatedValuesInLists(t *testing.T) {
	var got testConfig
	require.NoError(t, Decode([]byte(`{"tags":["x","x"],"items":[{"status":1},{"status":1}],"limit":{"status":2}}`), &got))
	assert.Equal(t, testConfig{
		Tags:  []string{"x", "x"},
		Items: []testLimit{{Status: 1}, {Status: 1}},
		Limit: &testLimit{Status: 2},
	}, got, "the same key in sibling objects and the same value twice in a list are no duplicates")
}

func TestParseRoutesRejectsDuplicateKeys(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "in a route entry", given: `{"routes":[{"name":"a"},{"name":"b","limit":{"percentage":5,"percentage":6}}]}`, want: `routes[1].limit: duplicate key "percentage"`},
		{name: "a route's name", given: `{"routes":[{"name":"a","name":"b"}]}`, want: `routes[0]: duplicate key "name"`},
		{name: "disabled twice", given: `{"routes":[{"name":"a","disabled":true,"disabled":false}]}`, want: `routes[0]: duplicate key "disabled"`},
		{name: "routes twice", given: `{"routes":[],"routes":[{"name":"a"}]}`, want: `duplicate key "routes"`},
		{name: "a number too large in a route", given: `{"routes":[{"name":"a","limit":{"percentage":1e309}}]}`, want: `routes["a"].limit.percentage: must be a number between 0 and 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoutes[testConfig]([]byte(tt.given))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestDecodeOverlaysExistingValues(t *testing.T) {
	var got testConfig
	require.NoError(t, Decode([]byte(`{"name":"a","limit":{"percentage":5,"status":503},"tags":["x","y"]}`), &got))
	require.NoError(t, Decode([]byte(`{"limit":{"percentage":50},"tags":["z"]}`), &got))
	assert.Equal(t, testConfig{
		Name:  "a",
		Limit: &testLimit{Percentage: 50, Status: 503},
		Tags:  []string{"z"},
	}, got)
}

func TestPercentHits(t *testing.T) {
	assert.False(t, Percent(0).Hits(0))
	assert.True(t, Percent(100).Hits(0.999999))
	assert.True(t, Percent(25).Hits(0.2499))
	assert.False(t, Percent(25).Hits(0.25))
	assert.True(t, Percent(0.01).Hits(0.00009))
	assert.False(t, Percent(0.01).Hits(0.0001))
}

func TestIsToken(t *testing.T) {
	for given, want := range map[string]bool{
		"x-request-id":      true,
		"GET":               true,
		"a!#$%&'*+-.^_`|~9": true,
		"":                  false,
		"x y":               false,
		"x:y":               false,
		":path":             false,
		"é":                 false,
	} {
		assert.Equal(t, want, IsToken(given), "%q", given)
	}
}

// asFieldError must find what errors.As finds, through every kind of wrapping.
func TestAsFieldErrorAgreesWithErrorsAs(t *testing.T) {
	fe := &FieldError{Path: "a.b", Msg: "bad"}
	other := &FieldError{Path: "c", Msg: "worse"}
	plain := errors.New("plain")
	for name, err := range map[string]error{
		"itself":           fe,
		"plain":            plain,
		"wrapped":          strfmt.Errorf("ctx: %w", fe),
		"wrapped twice":    strfmt.Errorf("outer: %w", strfmt.Errorf("inner: %w", fe)),
		"joined":           errors.Join(plain, fe, other),
		"joined in wrap":   strfmt.Errorf("ctx: %w", errors.Join(plain, strfmt.Errorf("x: %w", other), fe)),
		"joined, none":     errors.Join(plain, errors.New("other")),
		"two %w":           strfmt.Errorf("%w and %w", plain, other),
		"wrapped no field": strfmt.Errorf("ctx: %w", plain),
	} {
		var want *FieldError
		errors.As(err, &want)
		assert.Same(t, want, asFieldError(err), name)
	}
	assert.Nil(t, asFieldError(nil))

	got := prefixError("routes[0]", strfmt.Errorf("ctx: %w", fe))
	assert.Equal(t, &FieldError{Path: "routes[0].a.b", Msg: "bad"}, got)
	assert.Equal(t, &FieldError{Path: "p", Msg: "plain"}, prefixError("p", plain))
}

// SortStable must order as slices.SortStableFunc does, ties included, at
// every length around its run size and its merge widths.
func TestSortStableAgreesWithSlices(t *testing.T) {
	type item struct{ key, at int }
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 11, 12, 13, 23, 24, 25, 47, 48, 49, 100, 1000, 5003} {
		for _, keys := range []int{1, 3, n + 1} {
			in := make([]item, n)
			for i := range in {
				in[i] = item{key: rng.IntN(keys), at: i}
			}
			got, want := slices.Clone(in), slices.Clone(in)
			SortStable(got, func(a, b item) bool { return a.key < b.key })
			slices.SortStableFunc(want, func(a, b item) int { return cmp.Compare(a.key, b.key) })
			require.Equal(t, want, got, "n=%d keys=%d", n, keys)
		}
	}
	desc := make([]int, 3000)
	for i := range desc {
		desc[i] = len(desc) - i
	}
	SortStable(desc, func(a, b int) bool { return a < b })
	assert.True(t, slices.IsSorted(desc))
}
