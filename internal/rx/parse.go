package rx

import (
	"strings"
	"unicode/utf8"
)

// maxHeight bounds how deeply groups and repetitions nest, as regexp does.
const maxHeight = 1000

// maxRepeat is the largest count a repetition such as x{n,m} may give, and
// the largest product of the counts of nested ones, as in RE2.
const maxRepeat = 1000

type flags uint8

const (
	foldCase  flags = 1 << iota // (?i)
	dotNL                       // (?s)
	multiLine                   // (?m)
	nonGreedy                   // (?U): accepted, no effect on whether a string matches
)

type kind uint8

const (
	kEmpty  kind = iota // matches the empty string
	kClass              // one rune of class
	kAssert             // an empty-width assertion such as ^ or \b
	kConcat             // subs one after another
	kAlt                // any one of subs
	kRepeat             // subs[0] min to max times; max -1 is unbounded
)

type assertion uint8

const (
	beginLine assertion = iota + 1
	endLine
	beginText
	endText
	wordBoundary
	noWordBoundary
)

// node is one piece of the parsed expression.
type node struct {
	kind     kind
	assert   assertion
	class    []span
	subs     []*node
	min, max int
	// counted marks x{n,m}: only those count against maxRepeat.
	counted bool
	height  int
	// spans locates class in the program's spans once compiled: counted
	// repetition compiles the same node many times.
	spans    [2]int32
	compiled bool
}

// frame is one open group: the alternatives parsed so far, the sequence
// of the current one, and the flags to restore when the group closes.
type frame struct {
	saved flags
	alts  []*node
	seq   []*node
}

type parser struct {
	whole  string
	flags  flags
	frames []frame
}

// parse turns expr into a tree, with the syntax and the errors of Go's
// regexp.Compile (Perl flags) except where the package comment says.
func parse(expr string) (*node, error) {
	p := &parser{whole: expr, frames: []frame{{}}}
	t := expr
	lastRepeat := ""
	for t != "" {
		repeat := ""
		var err error
		switch t[0] {
		case '(':
			if len(t) >= 2 && t[1] == '?' {
				t, err = p.parsePerlFlags(t)
			} else {
				p.open(p.flags)
				t = t[1:]
			}
		case '|':
			f := p.top()
			f.alts = append(f.alts, concat(f.seq))
			f.seq = nil
			t = t[1:]
		case ')':
			err = p.close()
			t = t[1:]
		case '^':
			p.push(p.lineOrText(beginLine, beginText))
			t = t[1:]
		case '$':
			p.push(p.lineOrText(endLine, endText))
			t = t[1:]
		case '.':
			if p.flags&dotNL != 0 {
				p.push(&node{kind: kClass, class: []span{{0, utf8.MaxRune}}, height: 1})
			} else {
				p.push(&node{kind: kClass, class: []span{{0, '\n' - 1}, {'\n' + 1, utf8.MaxRune}}, height: 1})
			}
			t = t[1:]
		case '[':
			t, err = p.parseClass(t)
		case '*', '+', '?':
			before := t
			lo, hi := 0, -1
			switch t[0] {
			case '+':
				lo = 1
			case '?':
				hi = 1
			}
			t, err = p.repeat(lo, hi, false, before, t[1:], lastRepeat)
			repeat = before
		case '{':
			before := t
			lo, hi, after, ok := parseRepeat(t)
			if !ok {
				p.literal('{')
				t = t[1:]
				break
			}
			if lo < 0 || lo > maxRepeat || hi > maxRepeat || hi >= 0 && lo > hi {
				return nil, &Error{Code: ErrInvalidRepeatSize, Expr: before[:len(before)-len(after)]}
			}
			t, err = p.repeat(lo, hi, true, before, after, lastRepeat)
			repeat = before
		case '\\':
			t, err = p.parseBackslash(t)
		default:
			var r rune
			if r, t, err = nextRune(t); err == nil {
				p.literal(r)
			}
		}
		if err != nil {
			return nil, err
		}
		if h := p.height(); h > maxHeight {
			return nil, &Error{Code: ErrNestingDepth, Expr: expr}
		}
		lastRepeat = repeat
	}
	if len(p.frames) > 1 {
		return nil, &Error{Code: ErrMissingParen, Expr: expr}
	}
	f := p.frames[0]
	return alternate(append(f.alts, concat(f.seq))), nil
}

func (p *parser) top() *frame { return &p.frames[len(p.frames)-1] }

// height is how deeply the node just pushed nests, counting the groups
// still open around it.
func (p *parser) height() int {
	f := p.top()
	if len(f.seq) == 0 {
		return len(p.frames)
	}
	return f.seq[len(f.seq)-1].height + len(p.frames)
}

func (p *parser) push(n *node) {
	f := p.top()
	f.seq = append(f.seq, n)
}

func (p *parser) lineOrText(line, text assertion) *node {
	if p.flags&multiLine != 0 {
		return &node{kind: kAssert, assert: line, height: 1}
	}
	return &node{kind: kAssert, assert: text, height: 1}
}

func (p *parser) literal(r rune) {
	if p.flags&foldCase != 0 {
		p.push(&node{kind: kClass, class: foldRune(r), height: 1})
		return
	}
	p.push(&node{kind: kClass, class: []span{{r, r}}, height: 1})
}

// open starts a group that restores saved when it closes.
func (p *parser) open(saved flags) {
	p.frames = append(p.frames, frame{saved: saved})
}

func (p *parser) close() error {
	if len(p.frames) == 1 {
		return &Error{Code: ErrUnexpectedParen, Expr: p.whole}
	}
	f := p.frames[len(p.frames)-1]
	p.frames = p.frames[:len(p.frames)-1]
	n := alternate(append(f.alts, concat(f.seq)))
	n.height++
	p.flags = f.saved
	p.push(n)
	return nil
}

func concat(seq []*node) *node {
	switch len(seq) {
	case 0:
		return &node{kind: kEmpty, height: 1}
	case 1:
		return seq[0]
	}
	return &node{kind: kConcat, subs: seq, height: 1 + maxSubHeight(seq)}
}

func alternate(alts []*node) *node {
	if len(alts) == 1 {
		return alts[0]
	}
	return &node{kind: kAlt, subs: alts, height: 1 + maxSubHeight(alts)}
}

func maxSubHeight(subs []*node) int {
	h := 0
	for _, s := range subs {
		h = max(h, s.height)
	}
	return h
}

// repeat applies the operator in before (ending where after starts) to the
// last piece parsed. lastRepeat is the operator just before it, if any: a
// repetition of a repetition such as a** is an error, as in Perl.
func (p *parser) repeat(lo, hi int, counted bool, before, after, lastRepeat string) (string, error) {
	if after != "" && after[0] == '?' {
		after = after[1:] // lazy: the same strings match
	}
	if lastRepeat != "" {
		return "", &Error{Code: ErrInvalidRepeatOp, Expr: lastRepeat[:len(lastRepeat)-len(after)]}
	}
	f := p.top()
	if len(f.seq) == 0 {
		return "", &Error{Code: ErrMissingRepeatArgument, Expr: before[:len(before)-len(after)]}
	}
	sub := f.seq[len(f.seq)-1]
	n := &node{kind: kRepeat, subs: []*node{sub}, min: lo, max: hi, counted: counted, height: sub.height + 1}
	if counted && (lo >= 2 || hi >= 2) && !repeatIsValid(n, maxRepeat) {
		return "", &Error{Code: ErrInvalidRepeatSize, Expr: before[:len(before)-len(after)]}
	}
	f.seq[len(f.seq)-1] = n
	return after, nil
}

// repeatIsValid reports whether the counts of the nested counted
// repetitions in n multiply to at most limit.
func repeatIsValid(n *node, limit int) bool {
	if n.kind == kRepeat && n.counted {
		m := n.max
		if m == 0 {
			return true
		}
		if m < 0 {
			m = n.min
		}
		if m > limit {
			return false
		}
		if m > 0 {
			limit /= m
		}
	}
	for _, sub := range n.subs {
		if !repeatIsValid(sub, limit) {
			return false
		}
	}
	return true
}

// parseRepeat reads {n}, {n,} or {n,m} at the start of s; ok is false when
// s does not start with one, and the brace is then a literal. A count too
// large to read comes back as lo -1.
func parseRepeat(s string) (lo, hi int, rest string, ok bool) {
	if s == "" || s[0] != '{' {
		return
	}
	s = s[1:]
	var ok1 bool
	if lo, s, ok1 = parseInt(s); !ok1 || s == "" {
		return
	}
	if s[0] != ',' {
		hi = lo
	} else {
		s = s[1:]
		if s == "" {
			return
		}
		if s[0] == '}' {
			hi = -1
		} else if hi, s, ok1 = parseInt(s); !ok1 {
			return
		} else if hi < 0 {
			lo = -1
		}
	}
	if s == "" || s[0] != '}' {
		return
	}
	return lo, hi, s[1:], true
}

// parseInt reads a decimal count without leading zeros; -1 when too large.
func parseInt(s string) (n int, rest string, ok bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return
	}
	if len(s) >= 2 && s[0] == '0' && s[1] >= '0' && s[1] <= '9' {
		return
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n >= 1e8 {
			n = -1
		} else if n >= 0 {
			n = n*10 + int(s[i]-'0')
		}
		i++
	}
	return n, s[i:], true
}

// parsePerlFlags reads a group that starts with (?: named groups, flags
// such as (?i) and groups with flags such as (?i:...).
func (p *parser) parsePerlFlags(s string) (string, error) {
	t := s
	startsWithP := len(t) > 4 && t[2] == 'P' && t[3] == '<'
	startsWithName := len(t) > 3 && t[2] == '<'
	if startsWithP || startsWithName {
		begin := 4
		if startsWithName {
			begin = 3
		}
		end := strings.IndexByte(t, '>')
		if end < 0 {
			if err := checkUTF8(t); err != nil {
				return "", err
			}
			return "", &Error{Code: ErrInvalidNamedCapture, Expr: s}
		}
		if err := checkUTF8(t[begin:end]); err != nil {
			return "", err
		}
		if !isValidCaptureName(t[begin:end]) {
			return "", &Error{Code: ErrInvalidNamedCapture, Expr: t[:end+1]}
		}
		p.open(p.flags)
		return t[end+1:], nil
	}
	t = t[2:]
	f := p.flags
	negate := false
	sawFlag := false
	for t != "" {
		var c rune
		var err error
		if c, t, err = nextRune(t); err != nil {
			return "", err
		}
		switch c {
		case 'i', 'm', 's', 'U':
			bit := flagBit(c)
			if negate {
				f &^= bit
			} else {
				f |= bit
			}
			sawFlag = true
			continue
		case '-':
			if negate {
				break
			}
			negate = true
			sawFlag = false
			continue
		case ':', ')':
			if negate && !sawFlag {
				break
			}
			if c == ':' {
				p.open(p.flags)
			}
			p.flags = f
			return t, nil
		}
		break
	}
	return "", &Error{Code: ErrInvalidPerlOp, Expr: s[:len(s)-len(t)]}
}

func flagBit(c rune) flags {
	switch c {
	case 'i':
		return foldCase
	case 'm':
		return multiLine
	case 's':
		return dotNL
	}
	return nonGreedy
}

func isValidCaptureName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlnum(c) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// parseBackslash reads an escape outside a class.
func (p *parser) parseBackslash(t string) (string, error) {
	if len(t) >= 2 {
		if a := escapedAssertion(t[1]); a != 0 {
			p.push(&node{kind: kAssert, assert: a, height: 1})
			return t[2:], nil
		}
		switch t[1] {
		case 'C':
			return "", &Error{Code: ErrInvalidEscape, Expr: t[:2], Note: "matching single bytes is not supported"}
		case 'Q':
			lit, rest, _ := strings.Cut(t[2:], `\E`)
			for lit != "" {
				r, more, err := nextRune(lit)
				if err != nil {
					return "", err
				}
				p.literal(r)
				lit = more
			}
			return rest, nil
		case 'p', 'P':
			return "", unicodeClassError(t)
		}
	}
	if g, ok := perlGroup(t); ok {
		p.push(&node{kind: kClass, class: cleanSpans(appendGroup(nil, g, p.flags&foldCase != 0)), height: 1})
		return t[2:], nil
	}
	r, rest, err := parseEscape(t)
	if err != nil {
		return "", err
	}
	p.literal(r)
	return rest, nil
}

// escapedAssertion returns the assertion written \c, or 0.
func escapedAssertion(c byte) assertion {
	switch c {
	case 'A':
		return beginText
	case 'z':
		return endText
	case 'b':
		return wordBoundary
	case 'B':
		return noWordBoundary
	}
	return 0
}

// unicodeClassError names the \p or \P class at the start of t.
func unicodeClassError(t string) error {
	n := min(len(t), 3)
	if len(t) > 2 && t[2] == '{' {
		if end := strings.IndexByte(t, '}'); end >= 0 {
			n = end + 1
		}
	} else if n == 3 {
		_, w := utf8.DecodeRuneInString(t[2:])
		n = 2 + w
	}
	return &Error{Code: ErrUnicodeClass, Expr: t[:n]}
}

// parseEscape reads the single-rune escape at the start of s.
func parseEscape(s string) (r rune, rest string, err error) {
	t := s[1:]
	if t == "" {
		return 0, "", &Error{Code: ErrTrailingBackslash}
	}
	c, t, err := nextRune(t)
	if err != nil {
		return 0, "", err
	}
	switch {
	case c < utf8.RuneSelf && !isAlnum(byte(c)):
		return c, t, nil
	case c >= '1' && c <= '7' && (t == "" || t[0] < '0' || t[0] > '7'):
		return 0, "", &Error{Code: ErrInvalidEscape, Expr: s[:len(s)-len(t)], Note: "backreferences are not supported, as in RE2"}
	case c >= '0' && c <= '7':
		r = c - '0'
		for i := 1; i < 3 && t != "" && t[0] >= '0' && t[0] <= '7'; i++ {
			r = r*8 + rune(t[0]-'0')
			t = t[1:]
		}
		return r, t, nil
	case c == 'x':
		r, rest, ok, err := parseHex(t)
		if err != nil {
			return 0, "", err
		}
		if !ok {
			return 0, "", &Error{Code: ErrInvalidEscape, Expr: s[:len(s)-len(rest)]}
		}
		return r, rest, nil
	}
	switch c {
	case 'a':
		return '\a', t, nil
	case 'f':
		return '\f', t, nil
	case 'n':
		return '\n', t, nil
	case 'r':
		return '\r', t, nil
	case 't':
		return '\t', t, nil
	case 'v':
		return '\v', t, nil
	}
	return 0, "", &Error{Code: ErrInvalidEscape, Expr: s[:len(s)-len(t)]}
}

// parseHex reads the rest of \xHH or \x{H...} (at most U+10FFFF). When
// ok is false, rest follows the rune it stopped at, as regexp quotes it.
func parseHex(t string) (r rune, rest string, ok bool, err error) {
	if t == "" {
		return 0, t, false, nil
	}
	var c rune
	if c, t, err = nextRune(t); err != nil {
		return 0, "", false, err
	}
	if c != '{' {
		x := unhex(c)
		if c, t, err = nextRune(t); err != nil {
			return 0, "", false, err
		}
		y := unhex(c)
		return x*16 + y, t, x >= 0 && y >= 0, nil
	}
	for n := 0; t != ""; n++ {
		if c, t, err = nextRune(t); err != nil {
			return 0, "", false, err
		}
		if c == '}' {
			return r, t, n > 0, nil
		}
		v := unhex(c)
		if v < 0 {
			return 0, t, false, nil
		}
		if r = r*16 + v; r > utf8.MaxRune {
			return 0, t, false, nil
		}
	}
	return 0, t, false, nil
}

// nextRune decodes the rune that starts s; invalid UTF-8 is an error. At
// the end of s it returns utf8.RuneError, which no parser accepts.
func nextRune(s string) (rune, string, error) {
	c, w := utf8.DecodeRuneInString(s)
	if c == utf8.RuneError && w == 1 {
		return 0, "", &Error{Code: ErrInvalidUTF8, Expr: s}
	}
	return c, s[w:], nil
}

func checkUTF8(s string) error {
	for s != "" {
		var err error
		if _, s, err = nextRune(s); err != nil {
			return err
		}
	}
	return nil
}

func unhex(c rune) rune {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

// parseClass reads a bracketed class such as [a-z] or [^[:space:]\d].
func (p *parser) parseClass(s string) (string, error) {
	t := s[1:]
	fold := p.flags&foldCase != 0
	negated := false
	if t != "" && t[0] == '^' {
		negated = true
		t = t[1:]
	}
	var class []span
	first := true // ] and - are literals first in a class
	for t == "" || t[0] != ']' || first {
		first = false
		if len(t) > 2 && t[0] == '[' && t[1] == ':' {
			if i := strings.Index(t[2:], ":]"); i >= 0 {
				name := t[:i+4]
				spans, ok := posixGroup(strings.TrimPrefix(name[2:len(name)-2], "^"))
				if !ok {
					return "", &Error{Code: ErrInvalidCharRange, Expr: name}
				}
				class = appendGroup(class, group{spans, name[2] == '^'}, fold)
				t = t[i+4:]
				continue
			}
		}
		if len(t) >= 2 && t[0] == '\\' && (t[1] == 'p' || t[1] == 'P') {
			return "", unicodeClassError(t)
		}
		if g, ok := perlGroup(t); ok {
			class = appendGroup(class, g, fold)
			t = t[2:]
			continue
		}
		rng := t
		lo, rest, err := parseClassChar(t, s)
		if err != nil {
			return "", err
		}
		t = rest
		hi := lo
		if len(t) >= 2 && t[0] == '-' && t[1] != ']' {
			if hi, t, err = parseClassChar(t[1:], s); err != nil {
				return "", err
			}
			if hi < lo {
				return "", &Error{Code: ErrInvalidCharRange, Expr: rng[:len(rng)-len(t)]}
			}
		}
		if fold {
			class = appendFoldedRange(class, lo, hi)
		} else {
			class = appendRange(class, lo, hi)
		}
	}
	class = cleanSpans(class)
	if negated {
		class = negateSpans(class)
	}
	p.push(&node{kind: kClass, class: class, height: 1})
	return t[1:], nil
}

func parseClassChar(s, wholeClass string) (rune, string, error) {
	if s == "" {
		return 0, "", &Error{Code: ErrMissingBracket, Expr: wholeClass}
	}
	if s[0] == '\\' {
		return parseEscape(s)
	}
	return nextRune(s)
}
