package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotRoundTrips(t *testing.T) {
	fullCount := NewCountWindow(MaxWindowCalls)
	for i := range MaxWindowCalls {
		fullCount.Record(Outcome(1+i%3), t0)
	}
	busyTime := NewTimeWindow(MaxWindowBuckets, time.Second)
	for i := range MaxWindowBuckets {
		busyTime.buckets[i] = bucket{calls: maxBucketCount, fail: maxBucketCount, slow: maxBucketCount}
	}
	busyTime.head = t0.UnixNano() / int64(time.Second)
	tests := []struct {
		name  string
		given Snapshot
		size  int
	}{
		{"fresh", Snapshot{}, 12},
		{"open", opened(), 20},
		{"half-open with probes", Snapshot{State: HalfOpen, Generation: 7, ConsecutiveTrips: 3, HalfOpenSince: t0,
			Probes: []uint16{65535, 3}, NextProbe: 4, ProbeSuccesses: 2, Shadows: 0b1010}, 24},
		{"closed with a full count window of 1000 calls", Snapshot{Generation: 1 << 31, ConsecutiveFailures: 999, Window: fullCount}, 272},
		{"closed with 60 full time buckets", Snapshot{Window: busyTime}, 383},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Encode(nil, tt.given)
			assert.Equal(t, tt.size, len(b), "encoded size")
			back, err := Decode(b)
			require.NoError(t, err)
			assert.Equal(t, tt.given, back)
		})
	}
}

func TestSnapshotSizeForTheDefaultConfig(t *testing.T) {
	c := parse(t, `{}`)
	s, _ := calls(c, Snapshot{}, t0, failed, failed, failed, failed, failed)
	assert.Equal(t, 20, len(Encode(nil, s)), "open")
	s, _, _ = c.Allow(s, sec(60), 0.5)
	assert.Equal(t, 21, len(Encode(nil, s)), "half-open with a probe")
}

func TestDecodeGarbageIsAFreshCircuit(t *testing.T) {
	good := Encode(nil, opened())
	tests := []struct {
		name  string
		given []byte
	}{
		{"another format", append([]byte{2}, good[1:]...)},
		{"unknown state", append([]byte{1, 3}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", append(good, 0)},
		{"too many probes", []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 11}},
		{"varint overflow", []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"text", []byte("closed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(tt.given)
			assert.ErrorIs(t, err, ErrSnapshot)
			assert.Equal(t, Snapshot{}, s)
		})
	}
	s, err := Decode(nil)
	assert.NoError(t, err, "a key not written yet")
	assert.Equal(t, Snapshot{}, s)
}

func TestAWindowOfAnotherShapeStartsAfresh(t *testing.T) {
	c := parse(t, `{"trip": {"failure_rate": 50, "minimum_calls": 2, "window": {"type": "count", "size": 4}}}`)
	old := NewCountWindow(10) // written before a configuration change
	record(old, t0, Failure, Failure, Failure)
	s, tr := c.Done(Snapshot{Window: old}, Ticket{Kind: Call}, ok, t0, 0.5)
	assert.Equal(t, Transition{}, tr)
	want := NewCountWindow(4)
	want.Record(Success, t0)
	assert.Equal(t, Snapshot{Window: want}, s)
}
