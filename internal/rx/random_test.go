package rx

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRandomSameAsRegexp builds expressions from pieces of syntax and
// subjects from runes those pieces care about, with a fixed seed, and
// compares rx with regexp on each pair: it reaches combinations of flags,
// anchors and nesting that mutating the fuzz corpus rarely does.
func TestRandomSameAsRegexp(t *testing.T) {
	pieces := []string{
		"a", "b", "c", "k", "K", "é", "☺", ".", `\d`, `\w`, `\W`, `\s`, `\b`, `\B`,
		"^", "$", `\A`, `\z`, "[a-c]", "[^ab]", "[k-l]", "(?i)", "(?m)", "(?s)", "(?-i)",
		"(?i:", "(?:", "(", "(", "|", ")", ")", "*", "+", "?", "{2}", "{1,3}", "{0,}",
		"*?", "[[:alpha:]]", "[^\n]", `\n`, `\x{263a}`, "x", "1",
	}
	runes := []string{"a", "b", "c", "k", "K", "\u212a", "é", "É", "☺", " ", "\n", "_", "1", "\xff", "x"}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		var expr strings.Builder
		for range 1 + rng.IntN(8) {
			expr.WriteString(pieces[rng.IntN(len(pieces))])
		}
		for range 4 {
			var subject strings.Builder
			for range rng.IntN(7) {
				subject.WriteString(runes[rng.IntN(len(runes))])
			}
			sameAsRegexp(t, expr.String(), subject.String())
		}
	}
}
