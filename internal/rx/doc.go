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
// Matching takes time linear in len(subject) × program size; programs are
// limited to MaxProgram instructions. A search first skips to where a match
// can start (a literal prefix, or a byte that can begin one) and rejects at
// once a subject without it. When program size × (len(subject)+1) fits in
// 256 Kbit, a depth-first search runs that marks each (instruction,
// position) pair it reaches and never reaches one twice; otherwise a
// Thompson NFA simulation (a Pike VM without captures) runs all threads in
// step. Neither allocates once its buffers, held in the Regexp, have grown.
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
