package retry

import (
	"math"
	"time"
)

// Backoff is the prepared backoff policy.
type Backoff struct {
	Base, Max  time.Duration
	Multiplier float64
	// Jitter is JitterNone, JitterFull, JitterEqual, JitterDecorrelated or
	// JitterProportional.
	Jitter string
	// Proportion is the proportional jitter's spread: the wait varies by
	// up to this fraction either way.
	Proportion float64
}

// decorrelatedGrowth is the factor of the decorrelated jitter: the next
// wait is drawn between base and three times the previous one, as in the
// AWS definition.
const decorrelatedGrowth = 3

// Exponential is the wait before retry n (1 for the first retry) without
// jitter: base × multiplier^(n−1), at most max.
func (b Backoff) Exponential(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.Base) * math.Pow(b.Multiplier, float64(n-1))
	if d >= float64(b.Max) || math.IsInf(d, 1) {
		return b.Max
	}
	return time.Duration(d)
}

// Wait is the wait before retry n for a uniform random value u in [0, 1);
// prev is the previous wait (0 before the first retry), which only the
// decorrelated jitter reads. With e = Exponential(n), the AWS definitions:
//
//	none          e
//	full          u × e
//	equal         e/2 + u × e/2
//	decorrelated  min(max, base + u × (3 × prev − base)), prev starting at base
//	proportional  e × (1 + proportion × (2u − 1))
func (b Backoff) Wait(n int, prev time.Duration, u float64) time.Duration {
	u = min(max(u, 0), 1)
	e := b.Exponential(n)
	switch b.Jitter {
	case JitterFull:
		return time.Duration(u * float64(e))
	case JitterEqual:
		return e/2 + time.Duration(u*float64(e-e/2))
	case JitterDecorrelated:
		if prev < b.Base {
			prev = b.Base
		}
		hi := min(float64(prev)*decorrelatedGrowth, float64(b.Max))
		lo := float64(b.Base)
		if hi < lo {
			hi = lo
		}
		return time.Duration(lo + u*(hi-lo))
	case JitterProportional:
		return time.Duration(float64(e) * (1 + b.Proportion*(2*u-1)))
	}
	return e
}

// Bounds are the least and the most Wait can return for retry n after a
// wait of prev, whatever the random value.
func (b Backoff) Bounds(n int, prev time.Duration) (lo, hi time.Duration) {
	return b.Wait(n, prev, 0), b.Wait(n, prev, 1)
}
