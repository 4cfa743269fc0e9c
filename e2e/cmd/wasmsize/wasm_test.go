package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackageOf(t *testing.T) {
	tests := []struct{ given, want string }{
		{"runtime.mallocgc", "runtime"},
		{"encoding_json.__decodeState_.object", "encoding/json"},
		{"crypto_internal_fips140_sha256.blockGeneric", "crypto/internal/fips140/sha256"},
		{"slices.pdqsortCmpFunc_go.shape.int_", "slices"},
		{"unicode.map.init.2", "unicode"},
		{"syscall.fd_write", "syscall"},
		{"type_.eq.runtime.itab", "type:"},
		{"github.com_steadfast_proxy_steadfast_internal_pipeline.__Stream_.OnHttpRequestHeaders", "steadfast/internal/pipeline"},
		{"github.com_proxy_wasm_proxy_wasm_go_sdk_proxywasm.GetHttpRequestHeader", "proxy-wasm-go-sdk/proxywasm"},
		{"golang.org_x_text_unicode_norm.init", "golang.org_x_text_unicode_norm"},
		{"_rt0_wasm_wasip1", "/rt0/wasm/wasip1"},
		{"", "(unnamed)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, packageOf(tt.given), "packageOf(%q)", tt.given)
	}
}

// TestParse reads a hand-made module: two function imports and a memory
// import, three function bodies, a data segment and function names.
func TestParse(t *testing.T) {
	b := []byte("\x00asm\x01\x00\x00\x00")
	section := func(id byte, body ...byte) {
		b = append(b, id, byte(len(body)))
		b = append(b, body...)
	}
	section(sectionImport, 3,
		1, 'm', 1, 'a', importFunc, 0,
		1, 'm', 1, 'b', importFunc, 0,
		1, 'm', 1, 'c', 2, 0, 1)
	section(sectionCode, 3, 2, 0, 0x0b, 3, 0, 1, 0x0b, 1, 0x0b)
	section(sectionData, 1, 0, 0x41, 0, 0x0b, 4, 'a', 'b', 'c', 'd')
	names := []byte{4, 'n', 'a', 'm', 'e', 1, 16, 3,
		2, 5, 'p', '.', 'f', 'o', 'o',
		3, 3, 'q', '.', 'g',
		4, 1, 'h'}
	section(sectionCustom, names...)

	m, err := parse(b)
	require.NoError(t, err)
	require.Equal(t, &module{
		file:  len(b),
		code:  10,
		data:  10,
		names: len(names),
		funcs: []function{{"p.foo", 2}, {"q.g", 3}, {"h", 1}},
	}, m)
	require.Equal(t, map[string]int{"p": 2, "q": 3, "h": 1}, m.packages())
}

func TestParseRejectsTruncated(t *testing.T) {
	_, err := parse([]byte("\x00asm\x01\x00\x00\x00\x0a\x05\x01"))
	require.ErrorContains(t, err, "unexpected end")
	_, err = parse([]byte("ELF"))
	require.ErrorContains(t, err, "not a Wasm binary")
}
