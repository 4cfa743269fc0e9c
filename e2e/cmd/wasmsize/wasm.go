package main

import (
	"errors"
	"fmt"
	"strings"
)

// module is what wasmsize reads from one Wasm binary.
type module struct {
	name string
	// file, code, data and names are byte counts: the whole binary, the
	// code section, the data section and the "name" custom section.
	file, code, data, names int
	// funcs are the functions the module defines, with the size of each
	// body and its name from the name section ("" when there is none).
	funcs []function
}

type function struct {
	name string
	size int
}

// Section ids of the Wasm binary format.
const (
	sectionCustom = 0
	sectionImport = 2
	sectionCode   = 10
	sectionData   = 11
)

// importFunc is the kind byte of a function import.
const importFunc = 0

// parse reads the sections of a Wasm binary that wasmsize reports on.
func parse(b []byte) (*module, error) {
	r := &reader{b: b}
	if string(r.bytes(4)) != "\x00asm" || string(r.bytes(4)) != "\x01\x00\x00\x00" {
		return nil, errors.New("not a Wasm binary (version 1)")
	}
	m := &module{file: len(b)}
	imported := 0
	var names map[int]string
	for r.err == nil && r.off < len(b) {
		id := r.byte()
		size := int(r.uleb())
		start := r.off
		body := &reader{b: r.bytes(size), base: start}
		switch id {
		case sectionImport:
			imported = body.funcImports()
		case sectionCode:
			m.code = size
			for range body.uleb() {
				n := int(body.uleb())
				body.bytes(n)
				m.funcs = append(m.funcs, function{size: n})
			}
			r.err = cmpErr(r.err, body.err)
		case sectionData:
			m.data = size
		case sectionCustom:
			if body.name() == "name" {
				m.names = size
				names = body.functionNames()
			}
			r.err = cmpErr(r.err, body.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	for i := range m.funcs {
		m.funcs[i].name = names[imported+i]
	}
	return m, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// packages sums the code bytes of the module's functions by Go package.
func (m *module) packages() map[string]int {
	out := map[string]int{}
	for _, f := range m.funcs {
		out[packageOf(f.name)] += f.size
	}
	return out
}

// packageOf is the Go package of a function from its name in the name
// section. The Go linker writes names with every character other than
// letters, digits, '_' and '.' replaced by '_': "encoding/json.(*decodeState).object"
// is "encoding_json.__decodeState_.object". So the package is what comes
// before the first '.' (after the host name for a module path such as
// "github.com_x_y.F"), shown with '/' again for the standard library and
// with a short name for this module and the proxy-wasm SDK. Functions the
// linker makes up (type equality, "type:.eq.T") are in "type:", and a
// function without a name is "(unnamed)".
func packageOf(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	for prefix, short := range modules {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			pkg, _, _ := strings.Cut(rest, ".")
			return short + strings.ReplaceAll(pkg, "_", "/")
		}
	}
	from := 0
	if host, _, ok := strings.Cut(name, "_"); ok && isHost(host) {
		from = len(host)
	}
	pkg := name
	if i := strings.IndexByte(name[from:], '.'); i >= 0 {
		pkg = name[:from+i]
	}
	if pkg == "type_" {
		return "type:"
	}
	if from == 0 {
		pkg = strings.ReplaceAll(pkg, "_", "/")
	}
	return pkg
}

// modules shortens the mangled paths of the modules a steadfast filter
// links besides the standard library.
var modules = map[string]string{
	"github.com_steadfast_proxy_steadfast_":    "steadfast/",
	"github.com_proxy_wasm_proxy_wasm_go_sdk_": "proxy-wasm-go-sdk/",
}

// isHost reports whether s is the host name at the start of a module path
// ("github.com", "golang.org"), not a package and a function name.
func isHost(s string) bool {
	_, tld, ok := strings.Cut(s, ".")
	switch tld {
	case "com", "org", "net", "io", "in", "dev":
		return ok
	}
	return false
}

// reader decodes the parts of the binary format wasmsize needs; the first
// error sticks and every later read returns zero values.
type reader struct {
	b    []byte
	off  int
	base int // offset of b in the file, for errors
	err  error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.base+r.off, what)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail("unexpected end")
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

// uleb reads an unsigned LEB128 number of at most 32 bits.
func (r *reader) uleb() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 number too long")
	return 0
}

func (r *reader) name() string { return string(r.bytes(int(r.uleb()))) }

// funcImports counts the function imports of an import section: they come
// first in the function index space.
func (r *reader) funcImports() int {
	funcs := 0
	for range r.uleb() {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case importFunc:
			r.uleb()
			funcs++
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
		default:
			r.fail(fmt.Sprintf("import kind %d", kind))
		}
	}
	return funcs
}

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.uleb()
	}
	r.uleb()
}

// functionNames reads the function names subsection of a name section.
func (r *reader) functionNames() map[int]string {
	const functionNames = 1
	names := map[int]string{}
	for r.err == nil && r.off < len(r.b) {
		id := r.byte()
		sub := &reader{b: r.bytes(int(r.uleb()))}
		if id != functionNames {
			continue
		}
		for range sub.uleb() {
			i := int(sub.uleb())
			names[i] = sub.name()
		}
		r.err = cmpErr(r.err, sub.err)
	}
	return names
}
