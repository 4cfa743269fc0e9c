package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const ms = time.Millisecond

func backoffOf(jitter string) Backoff {
	return Backoff{Base: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: jitter, Proportion: 0.2}
}

func TestExponentialGrowsByTheMultiplierUpToMax(t *testing.T) {
	b := backoffOf(JitterNone)
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, b.Exponential(n))
	}
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)
	assert.Equal(t, time.Second, b.Exponential(1000), "no overflow")
}

// Each jitter at the random values 0, 0.25, 0.5 and 1, for the third
// retry (exponential 400ms) after a wait of 300ms.
func TestJitterAtFixedRandomValues(t *testing.T) {
	tests := []struct {
		jitter string
		want   [4]time.Duration
	}{
		{JitterNone, [4]time.Duration{400 * ms, 400 * ms, 400 * ms, 400 * ms}},
		{JitterFull, [4]time.Duration{0, 100 * ms, 200 * ms, 400 * ms}},
		{JitterEqual, [4]time.Duration{200 * ms, 250 * ms, 300 * ms, 400 * ms}},
		// between base (100ms) and 3 × 300ms = 900ms
		{JitterDecorrelated, [4]time.Duration{100 * ms, 300 * ms, 500 * ms, 900 * ms}},
		// 400ms ± 20%
		{JitterProportional, [4]time.Duration{320 * ms, 360 * ms, 400 * ms, 480 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.jitter, func(t *testing.T) {
			b := backoffOf(tt.jitter)
			var got [4]time.Duration
			for i, u := range []float64{0, 0.25, 0.5, 1} {
				got[i] = b.Wait(3, 300*ms, u)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecorrelatedStartsFromBaseAndStaysUnderMax(t *testing.T) {
	b := backoffOf(JitterDecorrelated)
	lo, hi := b.Bounds(1, 0)
	assert.Equal(t, [2]time.Duration{100 * ms, 300 * ms}, [2]time.Duration{lo, hi}, "prev starts at base")
	lo, hi = b.Bounds(5, 800*ms)
	assert.Equal(t, [2]time.Duration{100 * ms, time.Second}, [2]time.Duration{lo, hi}, "3 × 800ms is cut to max")
}

// The mean over evenly spread random values is each jitter's expectation.
func TestJitterMeans(t *testing.T) {
	tests := []struct {
		jitter string
		want   time.Duration
	}{
		{JitterNone, 400 * ms},
		{JitterFull, 200 * ms},
		{JitterEqual, 300 * ms},
		{JitterDecorrelated, 500 * ms},
		{JitterProportional, 400 * ms},
	}
	const n = 10000
	for _, tt := range tests {
		t.Run(tt.jitter, func(t *testing.T) {
			b := backoffOf(tt.jitter)
			var sum time.Duration
			for i := range n {
				sum += b.Wait(3, 300*ms, (float64(i)+0.5)/n)
			}
			assert.InDelta(t, float64(tt.want), float64(sum/n), float64(ms))
		})
	}
}

func TestWaitClampsTheRandomValue(t *testing.T) {
	b := backoffOf(JitterFull)
	assert.Equal(t, time.Duration(0), b.Wait(1, 0, -3))
	assert.Equal(t, 100*ms, b.Wait(1, 0, 7))
}
