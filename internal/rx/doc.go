// Package rx matches strings against regular expressions in RE2 syntax
// without the Unicode class tables (\p{Greek} and the like).
//
// It exists because the standard regexp package, with regexp/syntax and the
// unicode tables it references, adds about 330 KB of Wasm code to every
// module that uses it, and every Envoy worker compiles that code again. The
// filters only ask whether a header or a path matches somewhere, so rx keeps
// just that: Compile and MatchString, with the match/no-match answers of
// regexp for every expression both accept.
//
// Matching is a Thompson NFA simulation (a Pike VM without captures): time
// is linear in len(subject) × program size and never backtracks; programs
// are limited to MaxProgram instructions.
//
// Not supported, each with an error naming it: Unicode classes (\pL,
// \p{Greek}, \PN), \C, and backreferences such as \1 (RE2 rejects those
// too). Capture groups, named or not, are accepted and only group; lazy
// quantifiers and (?U) are accepted and match the same strings.
//
// Where rx rejects what regexp accepts (the codes of the second block of
// ErrorCode constants, and ErrNestingDepth): Unicode classes; expressions
// over MaxProgram instructions (regexp allows millions); and nesting deeper
// than 1000, which rx counts for every group where regexp counts capturing
// groups only. Everything regexp rejects, rx rejects with the same message,
// at times followed by a note in parentheses (\1: backreferences).
package rx
