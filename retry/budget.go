package retry

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// BudgetBuckets divides a budget's window: requests and retries are
// counted per bucket, and a whole bucket leaves the window at once.
const BudgetBuckets = 10

// Budget is Finagle's retry budget: over the last Window, retries may be
// at most Percent of the requests plus MinPerSecond × Window, so a
// quiet key can still retry a little and a failing one adds at most
// Percent to its upstream's load.
type Budget struct {
	Percent      float64
	Window       time.Duration
	MinPerSecond float64
}

// BudgetState is a key's budget as kept in shared data: the requests and
// retries of each bucket of the window, the bucket of Epoch last.
type BudgetState struct {
	// Epoch is the number of the newest bucket: Unix time / bucket width.
	Epoch    int64
	Requests [BudgetBuckets]uint32
	Retries  [BudgetBuckets]uint32
}

func (b Budget) width() int64 { return max(int64(b.Window/BudgetBuckets), 1) }

// advance moves the window to now, emptying the buckets it leaves behind.
// A clock that went back keeps the window where it is.
func (b Budget) advance(s BudgetState, now time.Time) BudgetState {
	cur := now.UnixNano() / b.width()
	switch {
	case cur <= s.Epoch:
		return s
	case cur-s.Epoch >= BudgetBuckets:
		return BudgetState{Epoch: cur}
	}
	for e := s.Epoch + 1; e <= cur; e++ {
		s.Requests[e%BudgetBuckets], s.Retries[e%BudgetBuckets] = 0, 0
	}
	s.Epoch = cur
	return s
}

// Deposit counts n requests at now.
func (b Budget) Deposit(s BudgetState, n uint32, now time.Time) BudgetState {
	s = b.advance(s, now)
	i := s.Epoch % BudgetBuckets
	s.Requests[i] = satAdd(s.Requests[i], n)
	return s
}

// Allowance is how many retries the window allows in all, at now.
func (b Budget) Allowance(s BudgetState, now time.Time) float64 {
	s = b.advance(s, now)
	var requests float64
	for _, n := range s.Requests {
		requests += float64(n)
	}
	return b.Percent/100*requests + b.MinPerSecond*b.Window.Seconds()
}

// Spent is how many retries the window holds at now.
func (b Budget) Spent(s BudgetState, now time.Time) uint64 {
	s = b.advance(s, now)
	var n uint64
	for _, r := range s.Retries {
		n += uint64(r)
	}
	return n
}

// Withdraw takes one retry from the budget at now; ok is false when the
// window's retries already reach its allowance.
func (b Budget) Withdraw(s BudgetState, now time.Time) (next BudgetState, ok bool) {
	s = b.advance(s, now)
	if float64(b.Spent(s, now)+1) > b.Allowance(s, now) {
		return s, false
	}
	i := s.Epoch % BudgetBuckets
	s.Retries[i] = satAdd(s.Retries[i], 1)
	return s, true
}

func satAdd(a, n uint32) uint32 {
	if a > math.MaxUint32-n {
		return math.MaxUint32
	}
	return a + n
}

// budgetFormat is the first byte of an encoded BudgetState.
const budgetFormat = 1

// ErrBudgetState is DecodeBudget's error for a value that is no
// BudgetState.
var ErrBudgetState = errors.New("retry: malformed budget state")

// EncodeBudget appends s to b: the format byte, the epoch, then each
// bucket's requests and retries as varints (about 25 to 110 bytes).
func EncodeBudget(b []byte, s BudgetState) []byte {
	b = append(b, budgetFormat)
	b = binary.AppendVarint(b, s.Epoch)
	for i := range BudgetBuckets {
		b = binary.AppendUvarint(b, uint64(s.Requests[i]))
		b = binary.AppendUvarint(b, uint64(s.Retries[i]))
	}
	return b
}

// DecodeBudget reads a state written by EncodeBudget. An empty value is a
// fresh budget; anything else that does not decode returns ErrBudgetState
// and a fresh budget, which the caller may use.
func DecodeBudget(b []byte) (BudgetState, error) {
	if len(b) == 0 {
		return BudgetState{}, nil
	}
	if b[0] != budgetFormat {
		return BudgetState{}, ErrBudgetState
	}
	var s BudgetState
	b = b[1:]
	v, n := binary.Varint(b)
	if n <= 0 || v < 0 {
		return BudgetState{}, ErrBudgetState
	}
	s.Epoch, b = v, b[n:]
	for i := range BudgetBuckets {
		for _, dst := range []*uint32{&s.Requests[i], &s.Retries[i]} {
			u, n := binary.Uvarint(b)
			if n <= 0 || u > math.MaxUint32 {
				return BudgetState{}, ErrBudgetState
			}
			*dst, b = uint32(u), b[n:]
		}
	}
	if len(b) != 0 {
		return BudgetState{}, ErrBudgetState
	}
	return s, nil
}
