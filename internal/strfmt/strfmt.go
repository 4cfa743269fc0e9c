// Package strfmt formats the handful of verbs steadfast's messages use
// without package fmt. Every Envoy worker compiles a module's whole Wasm
// code, and fmt with the reflect package it needs is about 300 KB of it.
//
// Verbs: %v %s %q %d %x %X %t %g %f %e %w and %%, with an optional '0'
// flag, width and precision. Arguments may be strings, byte slices, bools,
// integers, floats, time.Duration, errors, Stringers and string slices;
// anything else prints as %!v(?).
package strfmt

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Stringer is a value that names itself, like fmt.Stringer.
type Stringer interface{ String() string }

// Sprintf formats args by format.
func Sprintf(format string, args ...any) string {
	return string(Append(nil, format, args...))
}

// Errorf returns an error whose message is Sprintf(format, args...). The
// arguments of %w verbs are wrapped: errors.Is and errors.As see them.
func Errorf(format string, args ...any) error {
	e := &wrapError{msg: Sprintf(format, args...)}
	for i, j := 0, 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && (format[i] == '0' || format[i] == '.' || format[i] == '-' || format[i] == '+' || format[i] == '#' || format[i] == ' ' || format[i] >= '1' && format[i] <= '9') {
			i++
		}
		if i >= len(format) || format[i] == '%' {
			continue
		}
		if format[i] == 'w' && j < len(args) {
			if err, ok := args[j].(error); ok {
				e.errs = append(e.errs, err)
			}
		}
		j++
	}
	if len(e.errs) == 1 {
		return &wrapOne{msg: e.msg, err: e.errs[0]}
	}
	return e
}

type wrapError struct {
	msg  string
	errs []error
}

func (e *wrapError) Error() string   { return e.msg }
func (e *wrapError) Unwrap() []error { return e.errs }

type wrapOne struct {
	msg string
	err error
}

func (e *wrapOne) Error() string { return e.msg }
func (e *wrapOne) Unwrap() error { return e.err }

// spec is one parsed verb.
type spec struct {
	verb      byte
	zero      bool
	width     int
	precision int // -1: none
}

// Append appends Sprintf(format, args...) to dst.
func Append(dst []byte, format string, args ...any) []byte {
	n := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		i++
		s := spec{precision: -1}
		for i < len(format) && (format[i] == '0' || format[i] == '-' || format[i] == '+' || format[i] == '#' || format[i] == ' ') {
			s.zero = s.zero || format[i] == '0'
			i++
		}
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			s.width = s.width*10 + int(format[i]-'0')
			i++
		}
		if i < len(format) && format[i] == '.' {
			i++
			s.precision = 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				s.precision = s.precision*10 + int(format[i]-'0')
				i++
			}
		}
		if i >= len(format) {
			return append(dst, "%!(NOVERB)"...)
		}
		s.verb = format[i]
		if s.verb == '%' {
			dst = append(dst, '%')
			continue
		}
		if n >= len(args) {
			dst = append(dst, "%!"...)
			dst = append(dst, s.verb)
			dst = append(dst, "(MISSING)"...)
			continue
		}
		dst = s.pad(dst, args[n])
		n++
	}
	if n < len(args) {
		dst = append(dst, "%!(EXTRA)"...)
	}
	return dst
}

// pad formats arg and pads it on the left to the spec's width.
func (s spec) pad(dst []byte, arg any) []byte {
	start := len(dst)
	dst = s.format(dst, arg)
	if pad := s.width - utf8.RuneCount(dst[start:]); pad > 0 {
		fill := byte(' ')
		if s.zero {
			fill = '0'
		}
		for range pad {
			dst = append(dst, 0)
		}
		copy(dst[start+pad:], dst[start:len(dst)-pad])
		for i := start; i < start+pad; i++ {
			dst[i] = fill
		}
		if fill == '0' && dst[start+pad] == '-' {
			dst[start], dst[start+pad] = '-', '0'
		}
	}
	return dst
}

func (s spec) format(dst []byte, arg any) []byte {
	switch v := arg.(type) {
	case nil:
		return append(dst, "<nil>"...)
	case string:
		return s.str(dst, v)
	case []byte:
		return s.str(dst, string(v))
	case bool:
		if s.verb == 'v' || s.verb == 't' {
			return strconv.AppendBool(dst, v)
		}
	case int:
		return s.integer(dst, int64(v))
	case int8:
		return s.integer(dst, int64(v))
	case int16:
		return s.integer(dst, int64(v))
	case int32:
		return s.integer(dst, int64(v))
	case int64:
		return s.integer(dst, v)
	case uint:
		return s.unsigned(dst, uint64(v))
	case uint8:
		return s.unsigned(dst, uint64(v))
	case uint16:
		return s.unsigned(dst, uint64(v))
	case uint32:
		return s.unsigned(dst, uint64(v))
	case uint64:
		return s.unsigned(dst, v)
	case uintptr:
		return s.unsigned(dst, uint64(v))
	case float32:
		return s.float(dst, float64(v), 32)
	case float64:
		return s.float(dst, v, 64)
	case time.Duration:
		if s.verb == 'd' || s.verb == 'x' || s.verb == 'X' {
			return s.integer(dst, int64(v))
		}
		return s.str(dst, v.String())
	case error:
		return s.str(dst, call(v.Error))
	case Stringer:
		return s.str(dst, call(v.String))
	case []string:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = s.str(dst, e)
		}
		return append(dst, ']')
	}
	dst = append(dst, "%!"...)
	dst = append(dst, s.verb)
	return append(dst, "(?)"...)
}

// call returns what an Error or String method returns, or "<nil>" when it
// panics, as a method on a nil pointer does: a message must never take its
// caller down.
func call(method func() string) (out string) {
	defer func() {
		if recover() != nil {
			out = "<nil>"
		}
	}()
	return method()
}

func (s spec) str(dst []byte, v string) []byte {
	if s.precision >= 0 && s.verb != 'q' {
		for i := range v {
			if s.precision == 0 {
				v = v[:i]
				break
			}
			s.precision--
		}
	}
	switch s.verb {
	case 'q':
		return strconv.AppendQuote(dst, v)
	case 'x', 'X':
		const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
		digits := lower
		if s.verb == 'X' {
			digits = upper
		}
		for i := 0; i < len(v); i++ {
			dst = append(dst, digits[v[i]>>4], digits[v[i]&0xf])
		}
		return dst
	default:
		return append(dst, v...)
	}
}

func (s spec) integer(dst []byte, v int64) []byte {
	switch s.verb {
	case 'x':
		if v < 0 {
			return strconv.AppendUint(append(dst, '-'), uint64(-v), 16)
		}
		return strconv.AppendInt(dst, v, 16)
	case 'X':
		start := len(dst)
		s.verb = 'x'
		dst = s.integer(dst, v)
		upper(dst[start:])
		return dst
	case 'q':
		return strconv.AppendQuoteRune(dst, rune(v))
	}
	return strconv.AppendInt(dst, v, 10)
}

func (s spec) unsigned(dst []byte, v uint64) []byte {
	switch s.verb {
	case 'x':
		return strconv.AppendUint(dst, v, 16)
	case 'X':
		start := len(dst)
		dst = strconv.AppendUint(dst, v, 16)
		upper(dst[start:])
		return dst
	case 'q':
		return strconv.AppendQuoteRune(dst, rune(v))
	}
	return strconv.AppendUint(dst, v, 10)
}

func upper(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
}

func (s spec) float(dst []byte, v float64, bits int) []byte {
	switch s.verb {
	case 'f', 'F':
		p := s.precision
		if p < 0 {
			p = 6
		}
		return strconv.AppendFloat(dst, v, 'f', p, bits)
	case 'e':
		p := s.precision
		if p < 0 {
			p = 6
		}
		return strconv.AppendFloat(dst, v, 'e', p, bits)
	}
	return strconv.AppendFloat(dst, v, 'g', s.precision, bits)
}
