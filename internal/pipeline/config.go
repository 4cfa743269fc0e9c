package pipeline

import (
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/strfmt"
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
	return &FieldError{Path: path, Msg: strfmt.Sprintf(format, args...)}
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
	if fe := asFieldError(err); fe != nil {
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

// asFieldError finds the first *FieldError in err's tree, in the order
// errors.As searches it (no error type here has an As method, so it does
// not look for one). errors.As itself links reflection into every module
// (some 27 KB of code); this only needs type assertions.
func asFieldError(err error) *FieldError {
	for err != nil {
		switch e := err.(type) {
		case *FieldError:
			return e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if fe := asFieldError(inner); fe != nil {
					return fe
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "1.5s", "2m"). Negative durations are rejected.
type Duration time.Duration

// UnmarshalJSON reads a duration string, for code that uses encoding/json.
func (d *Duration) UnmarshalJSON(b []byte) error { return unmarshalValue(b, d) }

// MarshalJSON writes the duration as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return AppendJSONString(nil, time.Duration(d).String()), nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Percent is a percentage from 0 to 100; fractions are allowed (0.01 is one
// request in ten thousand).
type Percent float64

// UnmarshalJSON reads a percentage, for code that uses encoding/json.
func (p *Percent) UnmarshalJSON(b []byte) error { return unmarshalValue(b, p) }

// unmarshalValue parses b and decodes it into d.
func unmarshalValue(b []byte, d ValueDecoder) error {
	v, err := ParseJSON(b)
	if err != nil {
		return err
	}
	return d.DecodeValue(v)
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
	SortStrings(names)
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
	SortShort(out, func(a, b [2]string) bool { return a[0] < b[0] }) // by lower-case name
	return out, nil
}

// SortStrings sorts a short list of strings, such as the names in a
// configuration.
func SortStrings(s []string) { SortShort(s, func(a, b string) bool { return a < b }) }

// SortShort sorts a short list stably by less: an insertion sort, a few
// lines of Wasm where the standard library's sorts link hundreds per type.
func SortShort[T any](s []T, less func(a, b T) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// SortStable sorts s stably by less in O(n log n) for lists of any length:
// insertion-sorted runs merged bottom-up through one buffer of len(s). It is
// a fraction of the Wasm code of the standard library's generic sorts.
func SortStable[T any](s []T, less func(a, b T) bool) {
	const run = 12
	n := len(s)
	for lo := 0; lo < n; lo += run {
		SortShort(s[lo:min(lo+run, n)], less)
	}
	if n <= run {
		return
	}
	src, dst := s, make([]T, n)
	for width := run; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for ; i < mid && j < hi; k++ {
				if less(src[j], src[i]) { // ties take the left run's first: stable
					dst[k] = src[j]
					j++
				} else {
					dst[k] = src[i]
					i++
				}
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
}
