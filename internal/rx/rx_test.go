package rx

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`z[z-a]`, "invalid character class range: `z-a`"},
		{`(ab`, "missing closing ): `(ab`"},
		{`ab)`, "unexpected ): `ab)`"},
		{`*`, "missing argument to repetition operator: `*`"},
		{`a|+?`, "missing argument to repetition operator: `+?`"},
		{`a**`, "invalid nested repetition operator: `**`"},
		{`a*?{2}`, "invalid nested repetition operator: `*?{2}`"},
		{`\q`, "invalid escape sequence: `\\q`"},
		{`a{1001}`, "invalid repeat count: `{1001}`"},
		{`a{3,2}`, "invalid repeat count: `{3,2}`"},
		{`(a{100}){11}`, "invalid repeat count: `{11}`"},
		{`[a`, "missing closing ]: `[a`"},
		{`x[^`, "missing closing ]: `[^`"},
		{`[[:greek:]]`, "invalid character class range: `[:greek:]`"},
		{`a\`, "trailing backslash at end of expression: ``"},
		{`(?P<1-2>x)`, "invalid named capture: `(?P<1-2>`"},
		{`(?x)`, "invalid or unsupported Perl syntax: `(?x`"},
		{"a\xffb", "invalid UTF-8: `\xffb`"},
		{`\pL`, "Unicode classes such as \\p{Greek} are not supported: `\\pL`"},
		{`x\p{Greek}+`, "Unicode classes such as \\p{Greek} are not supported: `\\p{Greek}`"},
		{`[\PN]`, "Unicode classes such as \\p{Greek} are not supported: `\\PN`"},
		{`\C`, "invalid escape sequence: `\\C` (matching single bytes is not supported)"},
		{`(a)\1`, "invalid escape sequence: `\\1` (backreferences are not supported, as in RE2)"},
		{`[a-z]{1000}x{1000}y{9}`, "repetition too large: `[a-z]{1000}x{1000}y{9}` (it expands to more than 2000 instructions)"},
		{strings.Repeat("ab|", 1000), "expression too large: `" + strings.Repeat("ab|", 1000) + "` (it compiles to more than 2000 instructions)"},
		{strings.Repeat("(", 1001) + strings.Repeat(")", 1001), "expression nests too deeply: `" + strings.Repeat("(", 1001) + strings.Repeat(")", 1001) + "`"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Compile(%q) error = %v, want %s", tc.expr, err, tc.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	_, err := Compile(`\p{Han}`)
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrUnicodeClass {
		t.Fatalf("Compile(`\\p{Han}`) error = %#v, want code %q", err, ErrUnicodeClass)
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct {
		expr    string
		match   []string
		noMatch []string
	}{
		{`\.\\\t\n\r\f\v`, []string{".\\\t\n\r\f\v"}, []string{"x\\\t\n\r\f\v"}},
		{`\x41\x{263a}`, []string{"A☺"}, []string{"A"}},
		{`\*\+\?\(\)\[\]\{\}\|\^\$\-\/`, []string{"*+?()[]{}|^$-/"}, []string{"*"}},
		{`^a.c$`, []string{"abc", "a☺c"}, []string{"a\nc", "abbc"}},
		{`(?s)^a.c$`, []string{"a\nc"}, nil},
		{`[abc][^a-z][a-][]a]`, []string{"b1-]", "c.aa"}, []string{"bb-]"}},
		{`^\d\D\w\W\s\S$`, []string{"1a_! x"}, []string{"1a_!x "}},
		{`^[\d\s]+$`, []string{"1 2\t3"}, []string{"1a"}},
		{`^[[:alpha:]][[:^alpha:]]$`, []string{"a1"}, []string{"ab"}},
		{`(?m)^b$`, []string{"a\nb\nc"}, []string{"a\nbc"}},
		{`^b$`, []string{"b"}, []string{"a\nb\nc", "b\n"}},
		{`\Ab\z`, []string{"b"}, []string{"b\n"}},
		{`\bcat\b`, []string{"a cat."}, []string{"concat"}},
		{`\Bcat\B`, []string{"concatenate"}, []string{"a cat"}},
		{`^(?:ab|cd)(?P<n>e)(?<m>f)(g)$`, []string{"cdefg"}, []string{"acefg"}},
		{`^a{2}b{1,}c{1,2}d*e+f?$`, []string{"aabccdeef"}, []string{"abccde"}},
		{`^a*?b+?c??d{1,2}?$`, []string{"bbd"}, []string{"ad"}},
		{`(?i)hello (?-i)World`, []string{"HELLO World"}, []string{"hello WORLD"}},
		{`(?i:k)k`, []string{"\u212ak"}, []string{"\u212aK"}},
		{`(?U)^a+$`, []string{"aaa"}, nil},
		{`\Qa.b*\E`, []string{"a.b*"}, []string{"axbb"}},
		{`^.$`, []string{"\xff", "é"}, []string{"\xc3\xa9\xa9"}},
	}
	for _, tc := range tests {
		re, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.expr, err)
			continue
		}
		for _, s := range tc.match {
			if !re.MatchString(s) {
				t.Errorf("%q does not match %q", tc.expr, s)
			}
		}
		for _, s := range tc.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q matches %q", tc.expr, s)
			}
		}
	}
}

// TestFoldBounds checks the folding shortcut: runes outside minFold-maxFold
// fold to themselves only, in this Go's Unicode tables.
func TestFoldBounds(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= minFold && r <= maxFold {
			r = maxFold
			continue
		}
		if f := unicode.SimpleFold(r); f != r {
			t.Fatalf("SimpleFold(%U) = %U, outside [%U, %U]", r, f, minFold, maxFold)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	re, err := Compile(`(?i)^(chrome|firefox)/[0-9]+|\bbot\b`)
	if err != nil {
		t.Fatal(err)
	}
	subject := "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0 crawler bot"
	if allocs := testing.AllocsPerRun(100, func() { re.MatchString(subject) }); allocs != 0 {
		t.Fatalf("MatchString allocates %v times per call", allocs)
	}
	// Past the backtracker's bound, the Pike VM: no allocation either, and
	// the backtracker's visited set stays within the bound.
	long := strings.Repeat(subject, 200)
	if len(re.prog)*(len(long)+1) <= maxBacktrack {
		t.Fatalf("subject of %d bytes is not past the bound", len(long))
	}
	if allocs := testing.AllocsPerRun(10, func() { re.MatchString(long) }); allocs != 0 {
		t.Fatalf("MatchString allocates %v times per call on %d bytes", allocs, len(long))
	}
	if words := cap(re.visited); words > maxBacktrack/64 {
		t.Fatalf("visited set of %d words, over %d", words, maxBacktrack/64)
	}
}

// TestLinearTime matches the classic backtracking trap (a?){n}a{n} against
// a long subject: a Pike VM takes n × len steps, a backtracker 2^n.
func TestLinearTime(t *testing.T) {
	re, err := Compile(`^(a?){30}a{30}$`)
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString(strings.Repeat("a", 30)) {
		t.Fatal("no match for 30 a's")
	}
	if re.MatchString(strings.Repeat("a", 61)) {
		t.Fatal("match for 61 a's")
	}
	re, err = Compile(`(x+x+)+y`)
	if err != nil {
		t.Fatal(err)
	}
	if re.MatchString(strings.Repeat("x", 100000)) {
		t.Fatal("match without y")
	}
	// Within the backtracker's bound too: it marks each (instruction,
	// position) it reaches and never comes back to one.
	short := strings.Repeat("x", 5000)
	if len(re.prog)*(len(short)+1) > maxBacktrack {
		t.Fatalf("subject of %d bytes is past the bound", len(short))
	}
	if re.MatchString(short) {
		t.Fatal("match without y")
	}
}

// TestLongAlternationCompiles keeps MaxProgram generous enough for a rule
// that lists a hundred user agents.
func TestLongAlternationCompiles(t *testing.T) {
	agents := make([]string, 100)
	for i := range agents {
		agents[i] = "agent" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	re, err := Compile(`(?i)^(` + strings.Join(agents, "|") + `)/`)
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString("AGENTXXC/1.0") || re.MatchString("agent/1.0") {
		t.Fatal("wrong answer")
	}
}
