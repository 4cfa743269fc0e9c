package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldError is a configuration error tied to the JSON path of the value
// that caused it, such as `routes["api"].abort.percentage`.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns a FieldError for path.
func Errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Join appends name to a JSON path: Join("abort", "percentage") is
// "abort.percentage" and Join("", "abort") is "abort".
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index appends a list index to a JSON path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Key appends a map key to a JSON path.
func Key(path, key string) string { return path + "[" + strconv.Quote(key) + "]" }

// prefixError puts prefix in front of the path of a FieldError.
func prefixError(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		p := prefix
		switch {
		case fe.Path == "":
		case strings.HasPrefix(fe.Path, "["):
			p += fe.Path
		default:
			p = Join(prefix, fe.Path)
		}
		return &FieldError{Path: p, Msg: fe.Msg}
	}
	return &FieldError{Path: prefix, Msg: err.Error()}
}

// Decode decodes JSON into v strictly: unknown fields are errors, and every
// error names the JSON path of the offending value. Decoding into a value
// that already holds data overlays it: objects merge field by field, lists
// and scalars are replaced. That is how a route entry inherits the fields it
// does not name.
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("plugins.Decode: target must be a non-nil pointer")
	}
	data, err := checkJSON(data)
	if err != nil {
		return err
	}
	return decodeValue(rv.Elem(), data, "")
}

// checkJSON trims data and reports empty or malformed JSON, and objects
// that give a key twice. It checks the syntax only: numbers stay text, so a
// number that fits no Go type (1e309) is reported by the field that reads
// it, under that field's path.
func checkJSON(data []byte) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, &FieldError{Msg: "configuration is empty: expected a JSON object"}
	}
	var syntax json.RawMessage
	if err := json.Unmarshal(data, &syntax); err != nil {
		return nil, &FieldError{Msg: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if err := duplicateKey(data); err != nil {
		return nil, err
	}
	return data, nil
}

// jsonLevel is an object or list being walked by duplicateKey.
type jsonLevel struct {
	path    string
	keys    map[string]bool // the object's keys so far; nil for a list
	key     string          // the key of the object's value being read
	wantKey bool            // the object's next token is a key or its end
	index   int             // the list's next index
}

// duplicateKey reports the first object, at any depth, that gives a key
// twice: encoding/json would silently keep the last value, so a
// configuration could say two things at once. data must be valid JSON.
func duplicateKey(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonLevel
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: valid JSON has no other error
		}
		var top *jsonLevel
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if tok == json.Delim('}') || tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.wantKey {
			key, _ := tok.(string)
			if top.keys[key] {
				return Errorf(top.path, "duplicate key %q", key)
			}
			top.keys[key], top.key, top.wantKey = true, key, false
			continue
		}
		path := ""
		switch {
		case top == nil:
		case top.keys != nil:
			path, top.wantKey = Join(top.path, top.key), true
		default:
			path = Index(top.path, top.index)
			top.index++
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &jsonLevel{path: path, keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &jsonLevel{path: path})
		}
	}
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func decodeValue(v reflect.Value, raw []byte, path string) error {
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return prefixError(path, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if string(raw) == "null" {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(v.Elem(), raw, path)
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return Errorf(path, "must be an object")
		}
		fields := jsonFields(v.Type())
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			idx, ok := fields[k]
			if !ok {
				return Errorf(Join(path, k), "unknown field")
			}
			if err := decodeValue(v.Field(idx), obj[k], Join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if string(raw) == "null" {
			v.SetZero()
			return nil
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return Errorf(path, "must be a list")
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if err := decodeValue(out.Index(i), item, Index(path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	case reflect.Map:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || v.Type().Key().Kind() != reflect.String {
			return Errorf(path, "must be an object")
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for k, item := range obj {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(elem, item, Key(path, k)); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), elem)
		}
		return nil
	default:
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			return Errorf(path, "must be %s", kindName(v.Kind()))
		}
		return nil
	}
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, zero or more"
	default:
		return "a " + k.String()
	}
}

// jsonFields maps the JSON names of a struct's exported fields to their index.
func jsonFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = i
	}
	return out
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "1.5s", "2m"). Negative durations are rejected.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration string such as "250ms" or "5s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`%q is not a duration: use a number and a unit such as "250ms" or "5s"`, s)
	}
	if v < 0 {
		return fmt.Errorf("%q must not be negative", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Percent is a percentage from 0 to 100; fractions are allowed (0.01 is one
// request in ten thousand).
type Percent float64

// UnmarshalJSON implements json.Unmarshaler.
func (p *Percent) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("must be a number between 0 and 100")
	}
	if math.IsNaN(f) || f < 0 || f > 100 {
		return errors.New("must be between 0 and 100")
	}
	*p = Percent(f)
	return nil
}

// Hits reports whether a uniform random value u in [0, 1) falls within the
// percentage.
func (p Percent) Hits(u float64) bool { return u*100 < float64(p) }

// IsToken reports whether s is an HTTP token (RFC 9110), the syntax of
// header names and methods.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ReplyHeaders checks the headers of a configured local reply, given at
// path as a JSON object of names and values, and returns them with
// lower-case names, sorted by name. Pseudo-headers, names that are no HTTP
// token, values with line breaks or NUL, and a name given twice in
// different cases are errors naming the header's path.
func ReplyHeaders(path string, headers map[string]string) ([][2]string, error) {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	var out [][2]string
	for _, name := range names {
		at := Key(path, name)
		lower := strings.ToLower(name)
		switch {
		case strings.HasPrefix(name, ":"):
			return nil, Errorf(at, "pseudo-headers cannot be set")
		case !IsToken(lower):
			return nil, Errorf(at, "%q is not a valid header name", name)
		case strings.ContainsAny(headers[name], "\r\n\x00"):
			return nil, Errorf(at, "the value must not contain line breaks or NUL")
		}
		for _, h := range out {
			if h[0] == lower {
				return nil, Errorf(at, "given twice, in different cases")
			}
		}
		out = append(out, [2]string{lower, headers[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}
