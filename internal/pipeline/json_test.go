package pipeline

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `-12E+2`, `"x"`,
		` {"a" : [1, "two", {"three": null}], "b": {"c": true}} `,
		`"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \u0000"`,
		`"héllo ☺"`, `[[[[]]]]`, `{"":""}`,
	} {
		v, err := ParseJSON([]byte(doc))
		require.NoError(t, err, doc)
		var want, got any
		require.NoError(t, json.Unmarshal([]byte(doc), &want))
		require.NoError(t, json.Unmarshal(v.AppendJSON(nil), &got), string(v.AppendJSON(nil)))
		assert.Equal(t, want, got, doc)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for doc, want := range map[string]string{
		``:                       "configuration is empty: expected a JSON object",
		`  `:                     "configuration is empty: expected a JSON object",
		`{`:                      "invalid JSON: unexpected end of JSON input",
		`{"a":1,}`:               `invalid JSON: invalid character '}' looking for the beginning of an object key string (byte 8)`,
		`[1 2]`:                  `invalid JSON: invalid character '2' after array element (byte 4)`,
		`01`:                     `invalid JSON: invalid character '1' after the top-level value (byte 2)`,
		`1.`:                     `invalid JSON: unexpected end of JSON input`,
		`"a\x"`:                  `invalid JSON: invalid character 'x' in string escape code (byte 4)`,
		"\"a\tb\"":               `invalid JSON: invalid character '\t' in string literal (byte 3)`,
		"\"\xff\"":               `invalid JSON: invalid UTF-8 in string (byte 2)`,
		`{"a":{"b":1,"b":2}}`:    `a: duplicate key "b"`,
		`{"l":[{"k":1,"k":1}]}`:  `l[0]: duplicate key "k"`,
		`"\u12"`:                 `invalid JSON: invalid character '1' in \u hexadecimal character escape (byte 4)`,
		strings.Repeat("[", 100): `[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: invalid JSON: nested more than 64 levels deep`,
		`tru`:                    "invalid JSON: unexpected end of JSON input",
		`nul1`:                   `invalid JSON: invalid character '1' in literal null (byte 4)`,
	} {
		_, err := ParseJSON([]byte(doc))
		require.Error(t, err, doc)
		assert.Equal(t, want, err.Error(), doc)
	}
}

// TestParseJSONManyKeys covers both sides of the parser's switch from a
// linear search to a map of the keys past 16 of them.
func TestParseJSONManyKeys(t *testing.T) {
	object := func(n int, dup string) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
		}
		b.WriteString(`"` + dup + `":2}`)
		return []byte(b.String())
	}
	for _, n := range []int{3, 15, 16, 17, 5000} {
		v, err := ParseJSON(object(n, "last"))
		require.NoError(t, err, n)
		require.Equal(t, n+1, v.Len())
		for _, dup := range []string{"k0", "k" + strconv.Itoa(n-1)} {
			_, err := ParseJSON(object(n, dup))
			require.EqualError(t, err, `duplicate key "`+dup+`"`, "%d keys", n)
		}
	}
}

func TestFieldsReportTheFirstProblemInKeyOrder(t *testing.T) {
	var c testConfig
	err := Decode([]byte(`{"zz":1,"name":5,"limit":{"status":"x"}}`), &c)
	require.EqualError(t, err, "limit.status: must be a whole number")
	err = Decode([]byte(`{"zz":1,"name":5}`), &c)
	require.EqualError(t, err, "name: must be a string")
	err = Decode([]byte(`{"zz":1,"name":"a"}`), &c)
	require.EqualError(t, err, "zz: unknown field")
}

func TestFieldsNull(t *testing.T) {
	c := testConfig{Name: "kept", Limit: &testLimit{}, Tags: []string{"x"}, Labels: map[string]string{"a": "b"}}
	require.NoError(t, Decode([]byte(`{"name":null,"limit":null,"tags":null,"labels":null}`), &c))
	assert.Equal(t, testConfig{Name: "kept"}, c)
}

func TestFieldsOverlay(t *testing.T) {
	c := testConfig{Limit: &testLimit{Status: 503}, Labels: map[string]string{"a": "1"}, Tags: []string{"x"}}
	require.NoError(t, Decode([]byte(`{"limit":{"percentage":5},"labels":{"b":"2"},"tags":["y"]}`), &c))
	assert.Equal(t, testConfig{Limit: &testLimit{Status: 503, Percentage: 5}, Labels: map[string]string{"a": "1", "b": "2"}, Tags: []string{"y"}}, c,
		"objects merge field by field, lists replace")
}

func TestFieldsNumbers(t *testing.T) {
	for doc, want := range map[string]string{
		`{"limit":{"status":1.5}}`:       "limit.status: must be a whole number",
		`{"limit":{"status":1e3}}`:       "limit.status: must be a whole number",
		`{"limit":{"status":1e400}}`:     "limit.status: must be a whole number",
		`{"limit":{"percentage":1e400}}`: "limit.percentage: must be a number between 0 and 100",
		`{"items":[{},{"status":true}]}`: "items[1].status: must be a whole number",
		`{"labels":{"k":1}}`:             `labels["k"]: must be a string`,
		`{"tags":"x"}`:                   "tags: must be a list",
		`{"limit":[]}`:                   "limit: must be an object",
	} {
		var c testConfig
		assert.EqualError(t, Decode([]byte(doc), &c), want, doc)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s", "ctl\x00\x1f\n\r\t", "<&>", "é☺😀", "bad\xffutf8"} {
		var got string
		require.NoError(t, json.Unmarshal(AppendJSONString(nil, s), &got))
		want := strings.ToValidUTF8(s, "\uFFFD")
		assert.Equal(t, want, got)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, `-1.5e+10`, `[`, `{"a":1,"a":2}`, "\"\xff\""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := ParseJSON([]byte(doc))
		valid := json.Valid([]byte(doc))
		if err != nil {
			if valid && utf8.ValidString(doc) && !strings.Contains(err.Error(), "duplicate key") && !strings.Contains(err.Error(), "nested") {
				t.Fatalf("rejected valid JSON %q: %v", doc, err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", doc)
		}
		var want, got any
		if json.Unmarshal([]byte(doc), &want) != nil {
			return
		}
		if err := json.Unmarshal(v.AppendJSON(nil), &got); err != nil {
			t.Fatalf("re-encoded %q as invalid JSON: %v", doc, err)
		}
		assert.Equal(t, want, got)
	})
}
