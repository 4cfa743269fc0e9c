package rx

import (
	"unicode"
	"unicode/utf8"
)

// span is the runes lo through hi, both included.
type span struct{ lo, hi rune }

// The runes outside [minFold, maxFold] fold to themselves only; a test
// checks this against the unicode package, so a new Unicode version that
// moves the bounds fails there rather than matching wrongly.
const (
	minFold = 0x0041
	maxFold = 0x1e943
)

// group is a named class such as \d or [:alpha:], negated when neg.
type group struct {
	spans []span
	neg   bool
}

var (
	digit = []span{{'0', '9'}}
	space = []span{{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}
	word  = []span{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
)

// perlGroup returns the ASCII-only Perl class such as \d that starts s,
// as in RE2. A switch rather than a map: no map to build at start-up.
func perlGroup(s string) (group, bool) {
	if len(s) < 2 || s[0] != '\\' {
		return group{}, false
	}
	var spans []span
	switch s[1] | 0x20 {
	case 'd':
		spans = digit
	case 's':
		spans = space
	case 'w':
		spans = word
	default:
		return group{}, false
	}
	return group{spans, s[1] < 'a'}, true
}

// posixGroup returns the ASCII class such as [:alpha:] by its name.
func posixGroup(name string) ([]span, bool) {
	switch name {
	case "alnum":
		return []span{{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}, true
	case "alpha":
		return []span{{'A', 'Z'}, {'a', 'z'}}, true
	case "ascii":
		return []span{{0, 0x7f}}, true
	case "blank":
		return []span{{'\t', '\t'}, {' ', ' '}}, true
	case "cntrl":
		return []span{{0, 0x1f}, {0x7f, 0x7f}}, true
	case "digit":
		return digit, true
	case "graph":
		return []span{{'!', '~'}}, true
	case "lower":
		return []span{{'a', 'z'}}, true
	case "print":
		return []span{{' ', '~'}}, true
	case "punct":
		return []span{{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}, true
	case "space":
		return []span{{'\t', '\r'}, {' ', ' '}}, true
	case "upper":
		return []span{{'A', 'Z'}}, true
	case "word":
		return word, true
	case "xdigit":
		return []span{{'0', '9'}, {'A', 'F'}, {'a', 'f'}}, true
	}
	return nil, false
}

// appendGroup adds g to class, folding its runes first when fold is set
// and only then negating, as RE2 does: (?i)\W excludes k and K alike.
func appendGroup(class []span, g group, fold bool) []span {
	spans := g.spans
	if fold {
		spans = cleanSpans(foldSpans(nil, spans))
	}
	if g.neg {
		return append(class, negateSpans(spans)...)
	}
	return append(class, spans...)
}

// foldSpans appends to out the runes of in and every rune they fold to.
func foldSpans(out, in []span) []span {
	for _, s := range in {
		out = appendFoldedRange(out, s.lo, s.hi)
	}
	return out
}

// appendFoldedRange appends lo-hi and the case variants of its runes.
func appendFoldedRange(out []span, lo, hi rune) []span {
	if lo <= minFold && hi >= maxFold || hi < minFold || lo > maxFold {
		return appendRange(out, lo, hi)
	}
	if lo < minFold {
		out = appendRange(out, lo, minFold-1)
		lo = minFold
	}
	if hi > maxFold {
		out = appendRange(out, maxFold+1, hi)
		hi = maxFold
	}
	for c := lo; c <= hi; c++ {
		out = appendRange(out, c, c)
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			out = appendRange(out, f, f)
		}
	}
	return out
}

// appendRange appends lo-hi, merging it into the last span when they touch,
// which keeps brute-force folding of long ranges short.
func appendRange(out []span, lo, hi rune) []span {
	if n := len(out); n > 0 {
		last := &out[n-1]
		if lo <= last.hi+1 && hi >= last.lo-1 {
			last.lo = min(last.lo, lo)
			last.hi = max(last.hi, hi)
			return out
		}
	}
	return append(out, span{lo, hi})
}

// foldRune returns the class of r and the runes it folds to.
func foldRune(r rune) []span {
	out := []span{{r, r}}
	if r < minFold || r > maxFold {
		return out
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		out = append(out, span{f, f})
	}
	return cleanSpans(out)
}

// cleanSpans sorts spans and merges those that overlap or touch.
func cleanSpans(spans []span) []span {
	sortSpans(spans, make([]span, len(spans)))
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out
}

// sortSpans sorts s by lo with a merge sort through tmp, as long as s; a
// folded class can hold thousands of spans.
func sortSpans(s, tmp []span) {
	if len(s) < 12 {
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && s[j].lo < s[j-1].lo; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		return
	}
	mid := len(s) / 2
	sortSpans(s[:mid], tmp[:mid])
	sortSpans(s[mid:], tmp[mid:])
	copy(tmp, s)
	i, j, k := 0, mid, 0
	for i < mid && j < len(s) {
		if tmp[j].lo < tmp[i].lo {
			s[k] = tmp[j]
			j++
		} else {
			s[k] = tmp[i]
			i++
		}
		k++
	}
	k += copy(s[k:], tmp[i:mid])
	copy(s[k:], tmp[j:len(s)])
}

// negateSpans returns the runes that clean spans leave out.
func negateSpans(spans []span) []span {
	var out []span
	next := rune(0)
	for _, s := range spans {
		if s.lo > next {
			out = append(out, span{next, s.lo - 1})
		}
		next = s.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, span{next, utf8.MaxRune})
	}
	return out
}
