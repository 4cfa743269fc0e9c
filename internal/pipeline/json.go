package pipeline

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON without encoding/json: configurations are parsed into a Value tree
// and read field by field (Fields), so no reflection is linked into a
// module. encoding/json with reflect and fmt is over 500 KB of Wasm code,
// and every Envoy worker compiles all of it.

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// maxJSONDepth bounds the nesting of objects and lists in a configuration.
const maxJSONDepth = 64

// Value is a parsed JSON value. The zero Value is null.
type Value struct {
	kind Kind
	// text is a string's decoded text, a number's literal, or a bool's
	// "true" or "false".
	text  string
	items []Value  // an array's elements, an object's values
	keys  []string // an object's keys, in document order
}

// Kind returns the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return v.kind == Null }

// Len is the number of an array's elements or an object's members.
func (v Value) Len() int { return len(v.items) }

// Keys returns an object's keys in document order.
func (v Value) Keys() []string { return v.keys }

// Get returns an object's member named key.
func (v Value) Get(key string) (Value, bool) {
	for i, k := range v.keys {
		if k == key {
			return v.items[i], true
		}
	}
	return Value{}, false
}

// Without returns an object without its member named key.
func (v Value) Without(key string) Value {
	out := Value{kind: v.kind, text: v.text}
	for i, k := range v.keys {
		if k != key {
			out.keys = append(out.keys, k)
			out.items = append(out.items, v.items[i])
		}
	}
	if out.kind == Object && out.keys == nil {
		out.keys, out.items = []string{}, []Value{}
	}
	return out
}

// Text returns a string's text.
func (v Value) Text() (string, bool) { return v.text, v.kind == String }

// Str returns a string's text, or the error "must be a string".
func (v Value) Str() (string, error) {
	if v.kind != String {
		return "", errMustString
	}
	return v.text, nil
}

// Boolean returns a bool, or the error "must be true or false".
func (v Value) Boolean() (bool, error) {
	if v.kind != Bool {
		return false, errMustBool
	}
	return v.text == "true", nil
}

// Float returns a number that fits a float64, or the error "must be a
// number".
func (v Value) Float() (float64, error) {
	if v.kind != Number {
		return 0, errMustNumber
	}
	f, err := strconv.ParseFloat(v.text, 64)
	if err != nil {
		return 0, errMustNumber
	}
	return f, nil
}

// Int returns a whole number that fits an int, or the error "must be a
// whole number".
func (v Value) Int() (int, error) {
	n, err := v.Int64()
	if err != nil || int64(int(n)) != n {
		return 0, errMustWhole
	}
	return int(n), nil
}

// Int64 returns a whole number that fits an int64, or the error "must be a
// whole number".
func (v Value) Int64() (int64, error) {
	if v.kind != Number {
		return 0, errMustWhole
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil {
		return 0, errMustWhole
	}
	return n, nil
}

// List returns an array's elements, or the error "must be a list".
func (v Value) List() ([]Value, error) {
	if v.kind != Array {
		return nil, errMustList
	}
	return v.items, nil
}

// Literal returns a number's text as written, or a bool's.
func (v Value) Literal() string { return v.text }

type plainError string

func (e plainError) Error() string { return string(e) }

const (
	errMustString = plainError("must be a string")
	errMustBool   = plainError("must be true or false")
	errMustNumber = plainError("must be a number")
	errMustWhole  = plainError("must be a whole number")
	errMustList   = plainError("must be a list")
	errMustObject = plainError("must be an object")
)

// ParseJSON parses one JSON document. Empty input, malformed JSON, invalid
// UTF-8, nesting deeper than 64 levels and objects that give a key twice
// are errors; the last name the path of the object.
func ParseJSON(data []byte) (Value, error) {
	p := jsonParser{data: data}
	p.space()
	if p.pos == len(data) {
		return Value{}, &FieldError{Msg: "configuration is empty: expected a JSON object"}
	}
	v, err := p.value("", 0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.pos < len(data) {
		return Value{}, p.syntax("after the top-level value")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// syntax reports the byte at the parser's position as unexpected.
func (p *jsonParser) syntax(where string) error {
	if p.pos >= len(p.data) {
		return &FieldError{Msg: "invalid JSON: unexpected end of JSON input"}
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	return &FieldError{Msg: "invalid JSON: invalid character " + strconv.QuoteRune(r) + " " + where + " (byte " + strconv.Itoa(p.pos+1) + ")"}
}

func (p *jsonParser) value(path string, depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Value{}, &FieldError{Path: path, Msg: "invalid JSON: nested more than " + strconv.Itoa(maxJSONDepth) + " levels deep"}
	}
	p.space()
	if p.pos >= len(p.data) {
		return Value{}, p.syntax("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(path, depth)
	case c == '[':
		return p.array(path, depth)
	case c == '"':
		s, err := p.str()
		return Value{kind: String, text: s}, err
	case c == 't':
		return p.word("true", Value{kind: Bool, text: "true"})
	case c == 'f':
		return p.word("false", Value{kind: Bool, text: "false"})
	case c == 'n':
		return p.word("null", Value{})
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return Value{}, p.syntax("looking for the beginning of a value")
}

func (p *jsonParser) word(w string, v Value) (Value, error) {
	for i := 0; i < len(w); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != w[i] {
			return Value{}, p.syntax("in literal " + w)
		}
		p.pos++
	}
	return v, nil
}

func (p *jsonParser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

func (p *jsonParser) number() (Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if p.digits() == 0 {
		return Value{}, p.syntax("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return Value{}, p.syntax("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return Value{}, p.syntax("in exponent of numeric literal")
		}
	}
	return Value{kind: Number, text: string(p.data[start:p.pos])}, nil
}

// str parses a string at the parser's position, which is its opening quote.
func (p *jsonParser) str() (string, error) {
	p.pos++
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.syntax("in string literal")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", &FieldError{Msg: "invalid JSON: invalid UTF-8 in string (byte " + strconv.Itoa(p.pos+1) + ")"}
			}
			buf = append(buf, p.data[p.pos:p.pos+size]...)
			p.pos += size
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.syntax("")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.syntax("in \\u hexadecimal character escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
						save := p.pos
						p.pos += 2
						if lo, ok := p.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
							r2 = utf16.DecodeRune(r, lo)
						} else {
							p.pos = save
						}
					}
					r = r2
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos--
				return "", p.syntax("in string escape code")
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
	return "", p.syntax("")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}

func (p *jsonParser) object(path string, depth int) (Value, error) {
	p.pos++
	v := Value{kind: Object, keys: []string{}, items: []Value{}}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	var seen map[string]bool // past a few keys, a linear search gets slow
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.syntax("looking for the beginning of an object key string")
		}
		key, err := p.str()
		if err != nil {
			return Value{}, err
		}
		if len(v.keys) == 16 {
			seen = make(map[string]bool)
			for _, k := range v.keys {
				seen[k] = true
			}
		}
		dup := seen[key]
		for i := 0; seen == nil && i < len(v.keys); i++ {
			dup = dup || v.keys[i] == key
		}
		if dup {
			return Value{}, &FieldError{Path: path, Msg: "duplicate key " + strconv.Quote(key)}
		}
		if seen != nil {
			seen[key] = true
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.syntax("after object key")
		}
		p.pos++
		item, err := p.value(Join(path, key), depth+1)
		if err != nil {
			return Value{}, err
		}
		v.keys = append(v.keys, key)
		v.items = append(v.items, item)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		return Value{}, p.syntax("after object key:value pair")
	}
}

func (p *jsonParser) array(path string, depth int) (Value, error) {
	p.pos++
	v := Value{kind: Array, items: []Value{}}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		item, err := p.value(Index(path, len(v.items)), depth+1)
		if err != nil {
			return Value{}, err
		}
		v.items = append(v.items, item)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		return Value{}, p.syntax("after array element")
	}
}

// AppendJSON appends the value as compact JSON.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case Null:
		return append(dst, "null"...)
	case Bool, Number:
		return append(dst, v.text...)
	case String:
		return AppendJSONString(dst, v.text)
	case Array:
		dst = append(dst, '[')
		for i, item := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = item.AppendJSON(dst)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, k := range v.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, k)
			dst = append(dst, ':')
			dst = v.items[i].AppendJSON(dst)
		}
		return append(dst, '}')
	}
}

// AppendJSONString appends s as a JSON string, quoted and escaped.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
