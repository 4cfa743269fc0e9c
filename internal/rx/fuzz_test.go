package rx

import "testing"

// FuzzMatch requires rx to agree with regexp: the same answer when both
// compile expr, a rejection whenever regexp rejects it. rx may reject what
// regexp accepts only for the limits allowedRejection lists.
func FuzzMatch(f *testing.F) {
	for _, tc := range differential {
		for _, s := range tc.subjects {
			f.Add(tc.expr, s)
		}
	}
	for _, expr := range invalid {
		f.Add(expr, "")
	}
	f.Fuzz(func(t *testing.T, expr, subject string) {
		sameAsRegexp(t, expr, subject)
		if re, err := Compile(expr); err == nil && re.String() != expr {
			t.Fatalf("String() = %q, want %q", re.String(), expr)
		}
	})
}
