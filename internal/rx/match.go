package rx

import (
	"strings"
	"unicode/utf8"
)

// Regexp is a compiled expression. MatchString reuses buffers held here so
// that it does not allocate: a Regexp is not safe for concurrent use (a
// proxy-wasm VM runs one thread; compile one per goroutine elsewhere).
type Regexp struct {
	expr  string
	prog  []inst
	spans []span
	// anchored is set when every match must start at the beginning of the
	// subject (\A or ^ without (?m)), so the search stops early.
	anchored bool
	// skip is set when a match cannot be empty: first is then the set of
	// bytes it can start with, and the search skips the others.
	skip  bool
	first [4]uint64
	// prefix is the literal text every match starts with, if any, and
	// prefixPC the instruction after it.
	prefix    string
	prefixPC  int32
	cur, next threadSet
	stack     []int32
	// visited and jobs are the backtracker's.
	visited []uint64
	jobs    []job
}

// threadSet is a sparse set of the instructions visited at one position
// (clear is O(1)) and the list of its rune instructions, the threads that
// read the next rune.
type threadSet struct {
	sparse  []int32
	dense   []int32
	threads []int32
}

func newThreadSet(n int) threadSet {
	return threadSet{sparse: make([]int32, n), dense: make([]int32, 0, n), threads: make([]int32, 0, n)}
}

func (s *threadSet) clear() {
	s.dense = s.dense[:0]
	s.threads = s.threads[:0]
}

func (s *threadSet) has(pc int32) bool {
	i := s.sparse[pc]
	return int(i) < len(s.dense) && i >= 0 && s.dense[i] == pc
}

func (s *threadSet) add(pc int32) {
	s.sparse[pc] = int32(len(s.dense))
	s.dense = append(s.dense, pc)
}

// Compile parses expr in RE2 syntax. Its errors read like those of
// regexp.Compile after "error parsing regexp: ".
func Compile(expr string) (*Regexp, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	prog, spans, err := compile(expr, n)
	if err != nil {
		return nil, err
	}
	first, skip := firstBytes(prog, spans)
	prefix, prefixPC := literalPrefix(n)
	return &Regexp{
		expr:     expr,
		prog:     prog,
		spans:    spans,
		anchored: anchoredAtStart(n),
		skip:     skip,
		first:    first,
		prefix:   prefix,
		prefixPC: prefixPC,
		cur:      newThreadSet(len(prog)),
		next:     newThreadSet(len(prog)),
		stack:    make([]int32, 0, len(prog)),
	}, nil
}

// String returns the expression Compile was given.
func (re *Regexp) String() string { return re.expr }

// anchoredAtStart reports whether every match of n starts at the beginning
// of the text.
func anchoredAtStart(n *node) bool {
	switch n.kind {
	case kAssert:
		return n.assert == beginText
	case kConcat:
		return anchoredAtStart(n.subs[0])
	case kAlt:
		for _, sub := range n.subs {
			if !anchoredAtStart(sub) {
				return false
			}
		}
		return true
	case kRepeat:
		return n.min > 0 && anchoredAtStart(n.subs[0])
	}
	return false
}

// MatchString reports whether s contains a match, in linear time. Each
// byte of s that is not valid UTF-8 reads as U+FFFD, as in regexp.
func (re *Regexp) MatchString(s string) bool {
	if re.skip && (len(s) == 0 || re.anchored && !re.canStart(s[0])) ||
		re.anchored && !strings.HasPrefix(s, re.prefix) {
		return false
	}
	if len(re.prog)*(len(s)+1) <= maxBacktrack {
		return re.backtrack(s)
	}
	return re.pike(s)
}

// pike runs the Pike VM: every thread in step, one rune at a time.
func (re *Regexp) pike(s string) bool {
	cur, next := &re.cur, &re.next
	cur.clear()
	next.clear()
	prev := rune(-1)
	r, w := decode(s, 0)
	for pos := 0; ; {
		if len(cur.threads) == 0 && re.skip && !re.anchored {
			// Nothing under way: go on where a match can start.
			i := re.nextStart(s, pos)
			if i < 0 {
				return false
			}
			if i > pos {
				cur.clear()
				pos, prev = i, before(s, i)
				r, w = decode(s, i)
			}
		}
		if pos == 0 || !re.anchored {
			if re.follow(cur, 0, prev, r) {
				return true
			}
		} else if len(cur.threads) == 0 {
			return false
		}
		if r < 0 {
			return false
		}
		pos += w
		after, aw := decode(s, pos)
		for _, pc := range cur.threads {
			i := &re.prog[pc]
			if (r < utf8.RuneSelf && i.hasASCII(byte(r)) || r >= utf8.RuneSelf && re.matchRune(i, r)) && re.follow(next, i.out, r, after) {
				return true
			}
		}
		cur, next = next, cur
		next.clear()
		prev, r, w = r, after, aw
	}
}

// decode returns the rune at s[i:] and its width, or -1 at the end.
func decode(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// hasASCII reports whether rune instruction i matches the ASCII rune c.
func (i *inst) hasASCII(c byte) bool { return i.ascii[c>>6&1]&(1<<(c&63)) != 0 }

func (re *Regexp) matchRune(i *inst, r rune) bool {
	if r < utf8.RuneSelf {
		return i.hasASCII(byte(r))
	}
	spans := re.spans[i.arg:i.end]
	lo, hi := 0, len(spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < spans[m].lo:
			hi = m
		case r > spans[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// follow adds to set the rune instructions reachable from pc without
// consuming a rune, between the runes before and after (-1 at either end
// of the subject), and reports whether the match instruction is reachable.
func (re *Regexp) follow(set *threadSet, pc int32, before, after rune) bool {
	if set.has(pc) {
		return false
	}
	set.add(pc)
	stack := append(re.stack[:0], pc)
	for len(stack) > 0 {
		pc = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i := &re.prog[pc]
		var to [2]int32
		n := 0
		switch i.op {
		case opMatch:
			return true
		case opRune:
			set.threads = append(set.threads, pc)
		case opJmp:
			to[0], n = i.out, 1
		case opSplit:
			to[0], to[1], n = i.out, i.arg, 2
		case opAssert:
			if holds(i.assert, before, after) {
				to[0], n = i.out, 1
			}
		}
		for _, t := range to[:n] {
			if !set.has(t) {
				set.add(t)
				stack = append(stack, t)
			}
		}
	}
	re.stack = stack
	return false
}

func holds(a assertion, before, after rune) bool {
	switch a {
	case beginLine:
		return before == -1 || before == '\n'
	case endLine:
		return after == -1 || after == '\n'
	case beginText:
		return before == -1
	case endText:
		return after == -1
	case wordBoundary:
		return isWordRune(before) != isWordRune(after)
	case noWordBoundary:
		return isWordRune(before) == isWordRune(after)
	}
	return false
}

func isWordRune(r rune) bool {
	return r >= 0 && r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '_')
}
