package pipeline

import (
	"math"
	"time"
)

// Decoder is a configuration type that reads itself from a JSON object:
// DecodeJSON reads each of its fields with the methods of Fields. Fields
// that are absent leave the value as it is, so decoding into a value that
// already holds data overlays it; that is how a route entry inherits the
// fields it does not name.
type Decoder interface {
	DecodeJSON(f *Fields)
}

// ValueDecoder is a type written in JSON as something other than an object
// of fields, such as a duration string. Its errors need no path: the caller
// adds the field's.
type ValueDecoder interface {
	DecodeValue(v Value) error
}

// Decode parses data and decodes it into d strictly: unknown fields are
// errors, and every error names the JSON path of the offending value.
func Decode(data []byte, d Decoder) error {
	v, err := ParseJSON(data)
	if err != nil {
		return err
	}
	return DecodeValue(v, "", d)
}

// DecodeValue decodes a parsed object at path into d.
func DecodeValue(v Value, path string, d Decoder) error {
	if v.kind != Object {
		return &FieldError{Path: path, Msg: errMustObject.Error()}
	}
	f := &Fields{path: path, v: v, used: make([]bool, len(v.keys))}
	d.DecodeJSON(f)
	return f.Err()
}

// The readers below are marked noinline: inlined, each call site of a
// configuration's DecodeJSON would carry its own copy of the reader's
// closure, about 1 KB of Wasm code per field.

// Fields reads the members of one JSON object. Its methods record the first
// problem of each field; Err reports, of the fields with a problem and the
// fields nothing read, the first in key order.
type Fields struct {
	path   string
	v      Value
	used   []bool
	errKey string
	err    error
}

// At is the JSON path of the field name.
func (f *Fields) At(name string) string { return Join(f.path, name) }

// Take returns the field name and marks it read. Absent fields report
// false; null is returned as a null Value.
func (f *Fields) Take(name string) (Value, bool) {
	for i, k := range f.v.keys {
		if k == name {
			f.used[i] = true
			return f.v.items[i], true
		}
	}
	return Value{}, false
}

// Fail records err for the field name: a FieldError's path is taken as
// relative to the field's, any other error's text is the message.
func (f *Fields) Fail(name string, err error) {
	if err == nil || (f.err != nil && f.errKey <= name) {
		return
	}
	f.errKey, f.err = name, prefixError(f.At(name), err)
}

// Err returns the first error, in key order, of the fields read with a
// problem and of the fields nothing read ("unknown field").
func (f *Fields) Err() error {
	for i, k := range f.v.keys {
		if !f.used[i] {
			f.Fail(k, plainError("unknown field"))
		}
	}
	return f.err
}

// Value decodes the field name with fn, unless it is absent.
//
//go:noinline
func (f *Fields) Value(name string, fn func(v Value) error) {
	if v, ok := f.Take(name); ok {
		f.Fail(name, fn(v))
	}
}

// String reads a string; null leaves dst as it is.
//
//go:noinline
func (f *Fields) String(name string, dst *string) {
	f.Value(name, func(v Value) (err error) {
		if !v.IsNull() {
			*dst, err = v.Str()
		}
		return err
	})
}

// StringPtr reads a string; null sets dst to nil.
//
//go:noinline
func (f *Fields) StringPtr(name string, dst **string) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		s, err := v.Str()
		if err == nil {
			*dst = &s
		}
		return err
	})
}

// Bool reads true or false; null leaves dst as it is.
//
//go:noinline
func (f *Fields) Bool(name string, dst *bool) {
	f.Value(name, func(v Value) (err error) {
		if !v.IsNull() {
			*dst, err = v.Boolean()
		}
		return err
	})
}

// BoolPtr reads true or false; null sets dst to nil.
//
//go:noinline
func (f *Fields) BoolPtr(name string, dst **bool) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		b, err := v.Boolean()
		if err == nil {
			*dst = &b
		}
		return err
	})
}

// Int reads a whole number; null leaves dst as it is.
//
//go:noinline
func (f *Fields) Int(name string, dst *int) {
	f.Value(name, func(v Value) (err error) {
		if !v.IsNull() {
			*dst, err = v.Int()
		}
		return err
	})
}

// IntPtr reads a whole number; null sets dst to nil.
//
//go:noinline
func (f *Fields) IntPtr(name string, dst **int) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		n, err := v.Int()
		if err == nil {
			*dst = &n
		}
		return err
	})
}

// Float reads a number; null leaves dst as it is.
//
//go:noinline
func (f *Fields) Float(name string, dst *float64) {
	f.Value(name, func(v Value) (err error) {
		if !v.IsNull() {
			*dst, err = v.Float()
		}
		return err
	})
}

// FloatPtr reads a number; null sets dst to nil.
//
//go:noinline
func (f *Fields) FloatPtr(name string, dst **float64) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		n, err := v.Float()
		if err == nil {
			*dst = &n
		}
		return err
	})
}

// Duration reads a duration string; null leaves dst as it is.
//
//go:noinline
func (f *Fields) Duration(name string, dst *Duration) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			return nil
		}
		return dst.DecodeValue(v)
	})
}

// DurationPtr reads a duration string; null sets dst to nil.
//
//go:noinline
func (f *Fields) DurationPtr(name string, dst **Duration) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		var d Duration
		err := d.DecodeValue(v)
		if err == nil {
			*dst = &d
		}
		return err
	})
}

// Percent reads a percentage; null leaves dst as it is.
//
//go:noinline
func (f *Fields) Percent(name string, dst *Percent) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			return nil
		}
		return dst.DecodeValue(v)
	})
}

// PercentPtr reads a percentage; null sets dst to nil.
//
//go:noinline
func (f *Fields) PercentPtr(name string, dst **Percent) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		var p Percent
		err := p.DecodeValue(v)
		if err == nil {
			*dst = &p
		}
		return err
	})
}

// Strings reads a list of strings; null sets dst to nil.
//
//go:noinline
func (f *Fields) Strings(name string, dst *[]string) {
	ValueList(f, name, dst, func(v Value, s *string) (err error) {
		*s, err = v.Str()
		return err
	})
}

// StringMap reads an object of strings, adding its members to dst; null
// sets dst to nil.
//
//go:noinline
func (f *Fields) StringMap(name string, dst *map[string]string) {
	ValueMap(f, name, dst, func(v Value, s *string) (err error) {
		*s, err = v.Str()
		return err
	})
}

// Object decodes the object in the field name into d, over what d holds;
// null leaves d as it is, as it does a scalar.
//
//go:noinline
func (f *Fields) Object(name string, d Decoder) {
	if v, ok := f.Take(name); ok && !v.IsNull() {
		f.Fail(name, DecodeValue(v, "", d))
	}
}

// ObjectPtr decodes the object in the field name into *dst, allocating it
// when nil and overlaying it otherwise; null sets dst to nil.
//
//go:noinline
func ObjectPtr[T any, PT interface {
	*T
	Decoder
}](f *Fields, name string, dst **T) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		if *dst == nil {
			*dst = new(T)
		}
		return DecodeValue(v, "", PT(*dst))
	})
}

// List decodes a list of objects into a new slice; null sets dst to nil.
//
//go:noinline
func List[T any, PT interface {
	*T
	Decoder
}](f *Fields, name string, dst *[]T) {
	ValueList(f, name, dst, func(v Value, e *T) error { return DecodeValue(v, "", PT(e)) })
}

// ValueList decodes a list with fn, element by element, into a new slice;
// null sets dst to nil.
//
//go:noinline
func ValueList[T any](f *Fields, name string, dst *[]T, fn func(v Value, dst *T) error) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		items, err := v.List()
		if err != nil {
			return err
		}
		out := make([]T, len(items))
		for i, item := range items {
			if err := fn(item, &out[i]); err != nil {
				return prefixError(Index("", i), err)
			}
		}
		*dst = out
		return nil
	})
}

// ValueMap decodes an object's members with fn, adding them to dst; null
// sets dst to nil.
//
//go:noinline
func ValueMap[T any](f *Fields, name string, dst *map[string]T, fn func(v Value, dst *T) error) {
	f.Value(name, func(v Value) error {
		if v.IsNull() {
			*dst = nil
			return nil
		}
		if v.kind != Object {
			return errMustObject
		}
		if *dst == nil {
			*dst = make(map[string]T, len(v.keys))
		}
		for i, k := range v.keys {
			var e T
			if err := fn(v.items[i], &e); err != nil {
				return prefixError(Key("", k), err)
			}
			(*dst)[k] = e
		}
		return nil
	})
}

// DecodeValue reads a duration string.
func (d *Duration) DecodeValue(v Value) error {
	s, err := v.Str()
	if err != nil {
		return plainError(`must be a duration string such as "250ms" or "5s"`)
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		return Errorf("", `%q is not a duration: use a number and a unit such as "250ms" or "5s"`, s)
	}
	if t < 0 {
		return Errorf("", "%q must not be negative", s)
	}
	*d = Duration(t)
	return nil
}

// DecodeValue reads a percentage.
func (p *Percent) DecodeValue(v Value) error {
	n, err := v.Float()
	if err != nil {
		return plainError("must be a number between 0 and 100")
	}
	if math.IsNaN(n) || n < 0 || n > 100 {
		return plainError("must be between 0 and 100")
	}
	*p = Percent(n)
	return nil
}
