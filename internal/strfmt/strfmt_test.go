package strfmt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type named struct{}

func (named) String() string { return "named" }

// TestSprintfAgreesWithFmt checks every supported verb and argument type
// against package fmt.
func TestSprintfAgreesWithFmt(t *testing.T) {
	err := errors.New("boom")
	cases := []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"100%%", nil},
		{"%s and %v", []any{"a", "b"}},
		{"%q", []any{"a\"b\n"}},
		{"%q", []any{[]string{"a", "b c"}}},
		{"%v", []any{[]string{"a", "b"}}},
		{"%s", []any{[]byte("bytes")}},
		{"%t %v", []any{true, false}},
		{"%d %d %d %d %d", []any{-1, int8(2), int16(3), int32(4), int64(-5)}},
		{"%d %d %d %d %d", []any{uint(1), uint8(2), uint16(3), uint32(4), uint64(5)}},
		{"%v", []any{42}},
		{"%x %X", []any{255, 255}},
		{"%x", []any{-255}},
		{"%x %X", []any{"hi", []byte{0xab}}},
		{"%016x", []any{uint64(0xbeef)}},
		{"%04d", []any{7}},
		{"%04d", []any{-7}},
		{"%5s|", []any{"ab"}},
		{"%g %v %g", []any{0.5, 1.25, 1e21}},
		{"%.2f %f %.1f", []any{3.14159, 2.5, 99.95}},
		{"%e", []any{1234.5678}},
		{"%g", []any{float32(0.1)}},
		{"%v %s %d", []any{1500 * time.Millisecond, time.Second, time.Millisecond}},
		{"%v: %s", []any{err, err}},
		{"%v", []any{named{}}},
		{"%v", []any{nil}},
	}
	for _, c := range cases {
		require.Equal(t, fmt.Sprintf(c.format, c.args...), Sprintf(c.format, c.args...), c.format)
	}
}

func TestSprintfBadFormats(t *testing.T) {
	require.Equal(t, "a %!d(MISSING)", Sprintf("a %d"))
	require.Equal(t, "a%!(EXTRA)", Sprintf("a", 1))
	require.Equal(t, "a%!(NOVERB)", Sprintf("a%"))
	require.Equal(t, "%!v(?)", Sprintf("%v", struct{}{}))
}

var errBase = errors.New("base")

type kind struct{ n int }

func (k *kind) Error() string { return "kind" }

func TestErrorfWraps(t *testing.T) {
	err := Errorf("%w: status %d", errBase, 503)
	require.Equal(t, "base: status 503", err.Error())
	require.ErrorIs(t, err, errBase)
	require.Equal(t, errBase, errors.Unwrap(err))

	k := &kind{n: 3}
	two := Errorf("%q then %w and %w", "x", errBase, k)
	require.Equal(t, `"x" then base and kind`, two.Error())
	require.ErrorIs(t, two, errBase)
	var got *kind
	require.ErrorAs(t, two, &got)
	require.Equal(t, 3, got.n)

	plain := Errorf("no %s here", "wrap")
	require.Nil(t, errors.Unwrap(plain))
	require.Equal(t, "no wrap here", plain.Error())
	require.Equal(t, "100% 5", Errorf("100%% %d", 5).Error())
}

type boom struct{ msg string }

func (b *boom) Error() string { return b.msg }

func TestAMethodThatPanicsPrintsNil(t *testing.T) {
	var nilErr *boom
	require.Equal(t, "err: <nil>", Sprintf("err: %v", error(nilErr)))
	require.Equal(t, fmt.Sprintf("%v", error(nilErr)), Sprintf("%v", error(nilErr)))
}
