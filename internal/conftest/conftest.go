// Package conftest checks, in tests, that a configuration type's DecodeJSON
// reads every field its struct declares with a json tag. The tags document
// the JSON names; DecodeJSON, written by hand to keep reflection out of the
// modules, is what reads them, and the two must not drift apart.
package conftest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// ReadsEveryField fails t for each json-tagged field of d's struct type that
// DecodeJSON does not read. Each field is given as null, which every reader
// accepts or rejects by type, but never as "unknown field". Struct-typed
// fields (and pointers to, lists and maps of them) that implement
// pipeline.Decoder are checked too.
func ReadsEveryField(t testing.TB, d pipeline.Decoder) {
	t.Helper()
	check(t, reflect.TypeOf(d).Elem(), map[reflect.Type]bool{})
}

var decoderType = reflect.TypeFor[pipeline.Decoder]()

func check(t testing.TB, typ reflect.Type, seen map[reflect.Type]bool) {
	t.Helper()
	if seen[typ] || typ.Kind() != reflect.Struct || !reflect.PointerTo(typ).Implements(decoderType) {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		d := reflect.New(typ).Interface().(pipeline.Decoder)
		err := pipeline.Decode([]byte(`{"`+name+`":null}`), d)
		if err != nil && err.Error() == name+": unknown field" {
			t.Errorf("%s.DecodeJSON does not read %q (field %s)", typ.Name(), name, f.Name)
		}
		inner := f.Type
		for inner.Kind() == reflect.Pointer || inner.Kind() == reflect.Slice || inner.Kind() == reflect.Map {
			inner = inner.Elem()
		}
		check(t, inner, seen)
	}
	d := reflect.New(typ).Interface().(pipeline.Decoder)
	if err := pipeline.Decode([]byte(`{"no such field":1}`), d); err == nil || err.Error() != "no such field: unknown field" {
		t.Errorf("%s.DecodeJSON accepts an unknown field: %v", typ.Name(), err)
	}
}
