package rx

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// allowedRejection reports whether err is a limit rx has and regexp has
// not: Unicode classes, program size and nesting depth.
func allowedRejection(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case ErrUnicodeClass, ErrRepeatTooLarge, ErrLarge, ErrNestingDepth:
		return true
	}
	return false
}

// sameAsRegexp checks that rx and regexp agree on expr and subject.
func sameAsRegexp(t *testing.T, expr, subject string) {
	t.Helper()
	want, goErr := regexp.Compile(expr)
	got, err := Compile(expr)
	switch {
	case goErr != nil && err == nil:
		t.Fatalf("Compile(%q) succeeded; regexp rejects it: %v", expr, goErr)
	case goErr != nil:
		// The same message, where rx has no more to say (a Note).
		if msg := strings.TrimPrefix(goErr.Error(), "error parsing regexp: "); !allowedRejection(err) && !strings.HasPrefix(err.Error(), msg) {
			t.Fatalf("Compile(%q) error = %q, regexp says %q", expr, err, msg)
		}
		return
	case err != nil && allowedRejection(err):
		return
	case err != nil:
		t.Fatalf("Compile(%q): %v; regexp accepts it", expr, err)
	}
	if g, w := got.MatchString(subject), want.MatchString(subject); g != w {
		t.Fatalf("Compile(%q).MatchString(%q) = %v, regexp says %v", expr, subject, g, w)
	}
	// MatchString picks one engine by size; both must agree.
	w := want.MatchString(subject)
	if g := got.pike(subject); g != w {
		t.Fatalf("Compile(%q): Pike VM on %q = %v, regexp says %v", expr, subject, g, w)
	}
	if g := got.backtrack(subject); g != w {
		t.Fatalf("Compile(%q): backtracker on %q = %v, regexp says %v", expr, subject, g, w)
	}
}

// differential is a table of expressions, each tried against every subject
// in subjects and its own.
var differential = []struct {
	expr     string
	subjects []string
}{
	{`abc`, []string{"abc", "xabcx", "ab", "ABC", ""}},
	{`^abc$`, []string{"abc", "abc\n", "xabc", "abcx"}},
	{`a.c`, []string{"abc", "a\nc", "a☺c", "ac", "a\xffc"}},
	{`(?s)a.c`, []string{"a\nc", "abc"}},
	{`a\.c`, []string{"a.c", "abc"}},
	{`\\`, []string{`\`, "x"}},
	{`\t\n\r\f\v\a`, []string{"\t\n\r\f\v\a", "tnrfva"}},
	{`\x41\x{263a}\x{10FFFF}`, []string{"A☺\U0010FFFF", "A☺"}},
	{`\101\0`, []string{"A\x00", "A0"}},
	{`[abc]+`, []string{"cab", "xyz", ""}},
	{`[^a-z]`, []string{"abc", "abC", "\n", "é"}},
	{`[a-]`, []string{"-", "a", "b"}},
	{`[-a]`, []string{"-", "b"}},
	{`[]a]`, []string{"]", "a", "b"}},
	{`[^]a]`, []string{"]", "a", "b"}},
	{`[a-c-e]`, []string{"-", "d", "e", "b"}},
	{`[\]\\\-]`, []string{"]", `\`, "-", "a"}},
	{`[\d-z]`, []string{"-", "5", "z", "y"}},
	{`\d+`, []string{"123", "abc", "١"}},
	{`\D`, []string{"1", "a", ""}},
	{`\w+\W\s\S`, []string{"ab_9 \tx", "ab cd", "é é"}},
	{`[\w.]+@[\w.]+`, []string{"a.b@c.d", "@"}},
	{`[^\d\s]`, []string{"1 2", "1a"}},
	{`[\D]`, []string{"1", "x"}},
	{`[[:alpha:]]+`, []string{"abc", "123"}},
	{`[[:^alpha:]]`, []string{"abc", "ab1"}},
	{`[[:digit:][:upper:]]`, []string{"a", "A", "1"}},
	{`[[:space:]]`, []string{"\v", " ", "x"}},
	{`\s`, []string{"\v", " "}},
	{`[[:punct:]]`, []string{"!", "a", "`", "~"}},
	{`[[:word:]][[:xdigit:]][[:cntrl:]]`, []string{"_f\x7f", "_g\x01"}},
	{`[[:ascii:]][[:blank:]][[:graph:]][[:print:]][[:lower:]][[:alnum:]]`, []string{"a\t!  a1", "é !  a1"}},
	{`(?m)^b$`, []string{"a\nb\nc", "ab\nc", "b"}},
	{`^b$`, []string{"a\nb\nc", "b"}},
	{`(?m)a$`, []string{"a\n", "ab"}},
	{`a$`, []string{"a\n", "a"}},
	{`\Aa\z`, []string{"a", "a\n", "\na"}},
	{`(?m)\Ab`, []string{"a\nb", "b"}},
	{`\bfoo\b`, []string{"a foo b", "foobar", "foo", "_foo"}},
	{`\Bfoo\B`, []string{"afoob", "foo"}},
	{`\b`, []string{"", " ", "a"}},
	{`\B`, []string{"", " ", "a", "ab"}},
	{`é\b`, []string{"é", "éa"}},
	{`(ab)+c`, []string{"ababc", "ac"}},
	{`(?:ab)*c`, []string{"c", "abab"}},
	{`(?P<name>a)(?<other>b)`, []string{"ab", "ba"}},
	{`a|b|c`, []string{"b", "d"}},
	{`a||b`, []string{"", "x"}},
	{`(|a)+b`, []string{"b", "aab", "c"}},
	{`(a*)*b`, []string{"b", "aaab", "aaa"}},
	{`(a*)+$`, []string{"", "b"}},
	{`(a|b)*abb`, []string{"aababb", "abab"}},
	{`a*?b+?c??`, []string{"b", "ac"}},
	{`a{2}`, []string{"a", "aa"}},
	{`^a{2,}$`, []string{"a", "aa", "aaaaa"}},
	{`^a{2,4}$`, []string{"a", "aa", "aaaa", "aaaaa"}},
	{`^a{0}b$`, []string{"b", "ab"}},
	{`^(ab){1,2}?$`, []string{"ab", "abab", "ababab"}},
	{`^a{,2}$`, []string{"a{,2}", "aa"}},
	{`a{01}`, []string{"a{01}", "a"}},
	{`a{`, []string{"a{"}},
	{`x{2}{`, []string{"xx{"}},
	{`(?i)hello`, []string{"HeLLo", "help"}},
	{`(?i)k`, []string{"K", "\u212a", "k"}},
	{`(?i)[k-l]`, []string{"\u212a", "L"}},
	{`(?i)[^k]`, []string{"\u212a", "K", "x"}},
	{`(?i)\W`, []string{"k", "\u212a", "ſ"}},
	{`(?i)s`, []string{"ſ", "S"}},
	{`(?i)ǅ`, []string{"Ǆ", "ǆ"}},
	{`(?i:a)b`, []string{"Ab", "AB"}},
	{`(?i)a(?-i)b`, []string{"Ab", "AB"}},
	{`(?i)(?-i:a)b`, []string{"aB", "AB"}},
	{`((?i)a)b`, []string{"Ab", "AB"}},
	{`(?i)a|b`, []string{"B"}},
	{`(?U)a+`, []string{"aa"}},
	{`(?ims-U:^a.$)`, []string{"x\nA\n\n", "x"}},
	{`(?)a`, []string{"a"}},
	{`\Qa.b\E+`, []string{"a.bb", "axb"}},
	{`\Qa.b`, []string{"a.b"}},
	{`(?i)\Qab\E`, []string{"AB"}},
	{`\pL`, []string{"a"}},
	{`a*(?i)*`, []string{"aaa"}},
	{`\xff`, []string{"\xff", "ÿ", "\uFFFD"}},
	{`\x{FFFD}`, []string{"\xff", "\xc3", "a"}},
	{`^.$`, []string{"\xff", "\xc3\xa9", "\xc3"}},
	{`^..$`, []string{"\xc3\x28", "\xe2\x82"}},
	{`日本語`, []string{"こんにちは日本語", "日本"}},
	{`[日-語]+`, []string{"本", "a"}},
	{`^/api/v[12]/users/[0-9]+$`, []string{"/api/v1/users/42", "/api/v3/users/42", "/api/v2/users/"}},
	{`^Bearer .+$`, []string{"Bearer abc", "Bearer ", "bearer x"}},
	{`(?i)^(chrome|firefox)/[0-9]+`, []string{"Chrome/120", "FireFox/x", "Safari/1"}},
	{`5\d\d`, []string{"503", "200"}},
	{`^(5..|429)$`, []string{"503", "429", "4290"}},
	{`[^\x00-\x{10FFFF}]`, []string{"a", ""}},
	{`[\x00-\x{10FFFF}]`, []string{"a", ""}},
	{`$^`, []string{"", "a"}},
	{`(?m)$^`, []string{"a\n\nb", "ab"}},
	{`^*a`, []string{"a"}},
	{`(?:)`, []string{""}},
	{`()`, []string{"x"}},
	{`x*`, []string{""}},
	{`(a+|b+)*c`, []string{"abbac", "abba"}},
	{`(a{2}|b{3}){2}`, []string{"aabbb", "abbb"}},
	{`\b(?:\w+)\b\.`, []string{"foo.", "."}},
	{`[[:alpha:]-z]`, []string{"-"}},
	{`[a-\x{10FFFF}]`, []string{"\U0010FFFF"}},
	{`(?i)Σ`, []string{"σ", "ς", "Σ"}},
	{`(?i)[α-ω]`, []string{"Σ", "ς"}},
	{`(?s:.)`, []string{"\n"}},
	{`(?m:^)a`, []string{"b\na"}},
	{`\_\!\@`, []string{"_!@"}},
}

// invalid are expressions both regexp and rx reject.
var invalid = []string{
	`*`, `+a`, `?`, `a**`, `a*+`, `a+?*`, `a{2}{3}`, `a{2}*`, `(*)`, `a|*`, `(?i)*`, `{1}`,
	`(ab`, `ab)`, `)`, `(a|b`, `[a`, `[a-`, `[`, `[^`, `[]`, `[z-a]`, `[\d-\w]x[b-a]`,
	`a{1001}`, `a{2,1}`, `a{1000000000}`, `(a{500}){3}`, `((a{10}){10}){11}`,
	`\q`, `\1`, `\8`, `\C`, `\x`, `\xg0`, `\xé0`, `\xA`, `\x{FFFFFFFFF}`, `\x{1g}`, `\x{}`, `\x{110000}`, `\x{12`, `\`, `a\`, `\é`,
	`[\q]`, `[[:foo:]]`, `[[:alpha:]`, `(?P<>a)`, `(?P<a`, `(?<a-b>x)`, `(?x)`, `(?i-)`, `(?-)`,
	`(?i`, `(?`, `(?P=name)`, `(?=a)`, `(?!a)`, `(?<=a)`, `\pX`, `[\p{Foo}]`, "\xff", "a\x80",
}

func TestSameAsRegexp(t *testing.T) {
	for _, tc := range differential {
		for _, s := range tc.subjects {
			sameAsRegexp(t, tc.expr, s)
		}
		// and the subjects of every other expression
		for _, other := range differential {
			for _, s := range other.subjects {
				sameAsRegexp(t, tc.expr, s)
			}
		}
	}
}

func TestInvalidLikeRegexp(t *testing.T) {
	for _, expr := range invalid {
		if _, err := regexp.Compile(expr); err == nil {
			t.Errorf("regexp accepts %q: the table is wrong", expr)
		}
		if _, err := Compile(expr); err == nil {
			t.Errorf("Compile(%q) succeeded", expr)
		}
	}
}

// TestErrorTextLikeRegexp checks the messages rx shares with regexp.
func TestErrorTextLikeRegexp(t *testing.T) {
	for _, expr := range invalid {
		_, goErr := regexp.Compile(expr)
		_, err := Compile(expr)
		if goErr == nil || err == nil || allowedRejection(err) {
			continue
		}
		want := strings.TrimPrefix(goErr.Error(), "error parsing regexp: ")
		if got := err.Error(); !strings.HasPrefix(got, want) {
			t.Errorf("Compile(%q) error = %q, want %q", expr, got, want)
		}
	}
}
