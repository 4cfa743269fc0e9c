package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withdrawAll takes retries until the budget refuses, and counts them.
func withdrawAll(b Budget, s BudgetState, at time.Time) (BudgetState, int) {
	n := 0
	for {
		next, ok := b.Withdraw(s, at)
		if !ok {
			return next, n
		}
		s = next
		n++
	}
}

func TestBudgetAllowsPercentOfRequestsPlusAFloor(t *testing.T) {
	b := Budget{Percent: 20, Window: 10 * time.Second, MinPerSecond: 1}
	s := b.Deposit(BudgetState{}, 100, now)
	_, n := withdrawAll(b, s, now)
	assert.Equal(t, 30, n, "20% of 100 requests + 1/s over 10s")
}

func TestBudgetWithoutAFloorNeedsRequests(t *testing.T) {
	b := Budget{Percent: 10, Window: time.Second}
	_, n := withdrawAll(b, BudgetState{}, now)
	assert.Equal(t, 0, n)
	s := b.Deposit(BudgetState{}, 25, now)
	_, n = withdrawAll(b, s, now)
	assert.Equal(t, 2, n)
}

func TestBudgetForgetsWhatLeftTheWindow(t *testing.T) {
	b := Budget{Percent: 50, Window: 10 * time.Second}
	s := b.Deposit(BudgetState{}, 10, now)
	s, n := withdrawAll(b, s, now)
	require.Equal(t, 5, n)
	s = b.Deposit(s, 10, now.Add(5*time.Second))
	_, n = withdrawAll(b, s, now.Add(5*time.Second))
	assert.Equal(t, 5, n, "the first bucket's retries still count")
	later := now.Add(10 * time.Second)
	assert.Equal(t, 5.0, b.Allowance(s, later), "the first bucket left the window")
	assert.Equal(t, uint64(0), b.Spent(s, later))
	assert.Equal(t, 0.0, b.Allowance(s, now.Add(time.Minute)), "all of it left")
}

func TestBudgetIgnoresAClockThatWentBack(t *testing.T) {
	b := Budget{Percent: 100, Window: time.Second}
	s := b.Deposit(BudgetState{}, 3, now)
	s = b.Deposit(s, 2, now.Add(-time.Hour))
	assert.Equal(t, 5.0, b.Allowance(s, now))
}

func TestBudgetEncodingRoundTrips(t *testing.T) {
	b := Budget{Percent: 20, Window: 10 * time.Second}
	s := b.Deposit(BudgetState{}, 1<<31, now)
	s, _ = b.Withdraw(s, now)
	s = b.Deposit(s, 7, now.Add(3*time.Second))
	got, err := DecodeBudget(EncodeBudget(nil, s))
	require.NoError(t, err)
	assert.Equal(t, s, got)
}

func TestDecodeBudgetRejectsWhatItDidNotWrite(t *testing.T) {
	got, err := DecodeBudget(nil)
	assert.NoError(t, err)
	assert.Equal(t, BudgetState{}, got)
	good := EncodeBudget(nil, BudgetState{Epoch: 5})
	for _, bad := range [][]byte{{2}, good[:len(good)-1], append(good, 0), {1, 0xff}} {
		got, err := DecodeBudget(bad)
		assert.ErrorIs(t, err, ErrBudgetState)
		assert.Equal(t, BudgetState{}, got)
	}
}
