package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rates is what Window.Rates returns, as one value.
type rates struct {
	Calls         int
	Failure, Slow float64
}

func ratesOf(w Window, now time.Time) rates {
	c, f, s := w.Rates(now)
	return rates{c, f, s}
}

// record records outcomes one second apart from start.
func record(w Window, start time.Time, outcomes ...Outcome) {
	for i, o := range outcomes {
		w.Record(o, start.Add(time.Duration(i)*time.Second))
	}
}

func TestCountWindow(t *testing.T) {
	S, F, L, I := Success, Failure, Slow, Ignored
	tests := []struct {
		name  string
		size  int
		given []Outcome
		want  rates
	}{
		{"empty", 4, nil, rates{}},
		{"ignored outcomes are not calls", 4, []Outcome{I, I, F}, rates{1, 100, 0}},
		{"partly filled", 4, []Outcome{S, F, L}, rates{3, 100.0 / 3, 100.0 / 3}},
		{"full", 4, []Outcome{F, F, S, L}, rates{4, 50, 25}},
		{"the oldest outcomes fall out", 4, []Outcome{F, F, F, F, S, S, L}, rates{4, 25, 25}},
		{"across a byte", 10, []Outcome{F, S, S, S, S, S, S, S, S, F, F, F}, rates{10, 30, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewCountWindow(tt.size)
			record(w, t0, tt.given...)
			assert.Equal(t, tt.want, ratesOf(w, t0))
			back, rest, err := decodeWindow(w.appendTo(nil))
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.Equal(t, Window(w), back, "round trip")
		})
	}
}

func TestTimeWindow(t *testing.T) {
	S, F, L := Success, Failure, Slow
	tests := []struct {
		name  string
		given []Outcome // one a second from t0
		at    time.Duration
		want  rates
	}{
		{"empty", nil, 0, rates{}},
		{"all buckets count", []Outcome{F, S, S, L, S, S, S, S, S, S}, 9 * time.Second, rates{10, 10, 10}},
		{"a bucket leaves the span", []Outcome{F, S, S, L, S, S, S, S, S, S}, 10 * time.Second, rates{8, 0, 12.5}},
		{"just before a rotation", []Outcome{F, F, F, F, F, S, S, S, S, S}, 11*time.Second + 999*time.Millisecond, rates{8, 37.5, 0}},
		{"at the rotation the oldest bucket leaves", []Outcome{F, F, F, F, F, S, S, S, S, S}, 12 * time.Second, rates{6, 100.0 / 6, 0}},
		{"two buckets later", []Outcome{F, F, F, F, F, S, S, S, S, S}, 14 * time.Second, rates{4, 0, 0}},
		{"a span after the last call", []Outcome{F, F, F, F, F, S, S, S, S, S}, 19 * time.Second, rates{}},
		{"a long idle gap empties it", []Outcome{F, F}, 365 * 24 * time.Hour, rates{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewTimeWindow(5, 2*time.Second)
			record(w, t0, tt.given...)
			assert.Equal(t, tt.want, ratesOf(w, t0.Add(tt.at)))
			back, rest, err := decodeWindow(w.appendTo(nil))
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.Equal(t, Window(w), back, "round trip")
		})
	}
}

func TestTimeWindowRecordsAfterAnIdleGap(t *testing.T) {
	w := NewTimeWindow(5, 2*time.Second)
	record(w, t0, Failure, Failure, Failure)
	later := t0.Add(time.Hour)
	record(w, later, Success, Failure)
	assert.Equal(t, rates{2, 50, 0}, ratesOf(w, later.Add(time.Second)))
	w.Record(Failure, later.Add(-time.Minute)) // a worker whose clock read earlier
	assert.Equal(t, rates{3, 100.0 * 2 / 3, 0}, ratesOf(w, later.Add(time.Second)))
}

func TestTimeWindowHalvesAFullBucket(t *testing.T) {
	w := NewTimeWindow(1, time.Second)
	w.buckets[0] = bucket{calls: maxBucketCount, fail: maxBucketCount - 1}
	w.Record(Success, time.Unix(0, 0))
	assert.Equal(t, bucket{calls: maxBucketCount/2 + 1, fail: (maxBucketCount - 1) / 2}, w.buckets[0])
}

func TestDecodeWindowRejects(t *testing.T) {
	full := NewCountWindow(8)
	record(full, t0, Failure, Failure)
	good := full.appendTo(nil)
	tests := []struct {
		name  string
		given []byte
	}{
		{"empty", nil},
		{"unknown tag", []byte{9}},
		{"count window too big", []byte{tagCountWindow, 0xe9, 0x07, 0, 0}},
		{"count window of size 0", []byte{tagCountWindow, 0, 0, 0}},
		{"short bit rings", good[:len(good)-1]},
		{"next past calls", []byte{tagCountWindow, 8, 3, 2, 0, 0}},
		{"bits where no call is", []byte{tagCountWindow, 8, 2, 2, 0x80, 0}},
		{"time window without buckets", []byte{tagTimeWindow, 0, 1, 0}},
		{"time window width zero", []byte{tagTimeWindow, 1, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeWindow(tt.given)
			assert.ErrorIs(t, err, errWindow)
		})
	}
}
