package rx

// ErrorCode says what is wrong with an expression. The codes rx shares with
// the standard regexp/syntax package carry the same text.
type ErrorCode string

// The syntax errors.
const (
	ErrInvalidCharClass      ErrorCode = "invalid character class"
	ErrInvalidCharRange      ErrorCode = "invalid character class range"
	ErrInvalidEscape         ErrorCode = "invalid escape sequence"
	ErrInvalidNamedCapture   ErrorCode = "invalid named capture"
	ErrInvalidPerlOp         ErrorCode = "invalid or unsupported Perl syntax"
	ErrInvalidRepeatOp       ErrorCode = "invalid nested repetition operator"
	ErrInvalidRepeatSize     ErrorCode = "invalid repeat count"
	ErrInvalidUTF8           ErrorCode = "invalid UTF-8"
	ErrMissingBracket        ErrorCode = "missing closing ]"
	ErrMissingParen          ErrorCode = "missing closing )"
	ErrMissingRepeatArgument ErrorCode = "missing argument to repetition operator"
	ErrTrailingBackslash     ErrorCode = "trailing backslash at end of expression"
	ErrUnexpectedParen       ErrorCode = "unexpected )"
	ErrNestingDepth          ErrorCode = "expression nests too deeply"
)

// The limits of rx that the standard regexp package does not share: it
// accepts these expressions.
const (
	// ErrUnicodeClass rejects \p and \P classes, whose tables rx leaves out.
	ErrUnicodeClass ErrorCode = `Unicode classes such as \p{Greek} are not supported`
	// ErrRepeatTooLarge rejects an expression whose counted repetitions
	// expand it past MaxProgram instructions.
	ErrRepeatTooLarge ErrorCode = "repetition too large"
	// ErrLarge rejects an expression longer than MaxProgram instructions
	// without the help of counted repetition.
	ErrLarge ErrorCode = "expression too large"
)

// Error is a syntax error or a limit: Code says which, Expr quotes the part
// of the expression at fault and Note, when set, says more.
type Error struct {
	Code ErrorCode
	Expr string
	Note string
}

// Error reads like the standard regexp's message after its "error parsing
// regexp: " prefix.
func (e *Error) Error() string {
	msg := string(e.Code) + ": `" + e.Expr + "`"
	if e.Note != "" {
		msg += " (" + e.Note + ")"
	}
	return msg
}
