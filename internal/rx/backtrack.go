package rx

import (
	"strings"
	"unicode/utf8"
)

// maxBacktrack bounds the visited set of the backtracker, in bits: one for
// each instruction at each position of the subject (32 KB at most).
const maxBacktrack = 256 << 10

// job is a branch the backtracker has still to try: instruction pc at byte
// pos of the subject.
type job struct{ pc, pos int32 }

// backtrack reports whether s contains a match by a depth-first search that
// marks each (instruction, position) pair it reaches and never reaches one
// twice: like the Pike VM it takes at most len(s) × program size steps, but
// with less bookkeeping per step. The failures a search start leaves marked
// stay failures for the next start, so the set is cleared once per call.
func (re *Regexp) backtrack(s string) bool {
	words := (len(re.prog)*(len(s)+1) + 63) / 64
	if cap(re.visited) < words {
		re.visited = make([]uint64, words)
	}
	re.visited = re.visited[:words]
	clear(re.visited)
	n := len(re.prefix)
	for pos := 0; ; {
		if re.skip {
			if pos = re.nextStart(s, pos); pos < 0 || re.anchored && pos > 0 {
				return false
			}
		}
		// nextStart found the literal prefix at pos (MatchString checked
		// it when anchored): start after it.
		if n > 0 && re.try(s, re.prefixPC, pos+n) || n == 0 && re.try(s, 0, pos) {
			return true
		}
		if re.anchored || pos >= len(s) {
			return false
		}
		_, w := decode(s, pos)
		pos += w
	}
}

// try searches for a match from instruction pc at pos.
func (re *Regexp) try(s string, pc int32, pos int) bool {
	width, visited := len(re.prog), re.visited
	jobs := append(re.jobs[:0], job{pc, int32(pos)})
next:
	for len(jobs) > 0 {
		j := jobs[len(jobs)-1]
		jobs = jobs[:len(jobs)-1]
		pc, p := j.pc, int(j.pos)
		for {
			b := uint(p*width + int(pc))
			if visited[b/64]&(1<<(b%64)) != 0 {
				continue next
			}
			visited[b/64] |= 1 << (b % 64)
			i := &re.prog[pc]
			switch i.op {
			case opMatch:
				re.jobs = jobs
				return true
			case opRune:
				if p < len(s) && s[p] < utf8.RuneSelf {
					if !i.hasASCII(s[p]) {
						continue next
					}
					p++
					break
				}
				r, w := decode(s, p)
				if r < 0 || !re.matchRune(i, r) {
					continue next
				}
				p += w
			case opSplit:
				jobs = append(jobs, job{i.arg, int32(p)})
			case opAssert:
				if !holds(i.assert, before(s, p), peek(s, p)) {
					continue next
				}
			}
			pc = i.out
		}
	}
	re.jobs = jobs
	return false
}

// before and peek return the rune before and at byte i of s as far as
// assertions care: -1 at either end, ASCII as itself, anything else as
// U+FFFD (neither a word rune nor a newline).
func before(s string, i int) rune {
	if i == 0 {
		return -1
	}
	return ascii(s[i-1])
}

func peek(s string, i int) rune {
	if i >= len(s) {
		return -1
	}
	return ascii(s[i])
}

func ascii(c byte) rune {
	if c < utf8.RuneSelf {
		return rune(c)
	}
	return utf8.RuneError
}

// firstBytes returns the set of bytes a match can start with (any byte of
// 0x80 and up when a non-ASCII rune can come first), or false when a match
// can be empty.
func firstBytes(prog []inst, spans []span) (set [4]uint64, ok bool) {
	seen := make([]bool, len(prog))
	stack := []int32{0}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		i := &prog[pc]
		switch i.op {
		case opMatch:
			return set, false
		case opRune:
			set[0] |= i.ascii[0]
			set[1] |= i.ascii[1]
			for _, sp := range spans[i.arg:i.end] {
				if sp.hi >= utf8.RuneSelf {
					set[2], set[3] = ^uint64(0), ^uint64(0)
				}
			}
		case opSplit:
			stack = append(stack, i.out, i.arg)
		default:
			stack = append(stack, i.out)
		}
	}
	return set, true
}

// nextStart returns the first byte at or after pos where a match can start,
// or -1. It stops only at ASCII bytes, which are always a rune of their
// own, or at the first byte of 0x80 and up after pos when such bytes can
// start a match: either way at the start of a rune.
func (re *Regexp) nextStart(s string, pos int) int {
	if re.prefix != "" {
		if i := strings.Index(s[pos:], re.prefix); i >= 0 {
			return pos + i
		}
		return -1
	}
	for i := pos; i < len(s); i++ {
		if re.canStart(s[i]) {
			return i
		}
	}
	return -1
}

func (re *Regexp) canStart(c byte) bool { return re.first[c/64]&(1<<(c%64)) != 0 }

// literalPrefix returns the ASCII runes every match starts with, after the
// \A of an anchored expression, and the instruction that follows them.
func literalPrefix(n *node) (string, int32) {
	if n.kind != kConcat {
		return "", 0
	}
	subs := n.subs
	pc := int32(0)
	if len(subs) > 0 && subs[0].kind == kAssert && subs[0].assert == beginText {
		subs, pc = subs[1:], 1
	}
	var b []byte
	for _, sub := range subs {
		if sub.kind != kClass || len(sub.class) != 1 || sub.class[0].lo != sub.class[0].hi || sub.class[0].lo >= utf8.RuneSelf {
			break
		}
		b = append(b, byte(sub.class[0].lo))
	}
	return string(b), pc + int32(len(b))
}
