package breaker

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// snapshotFormat is the first byte of an encoded Snapshot. A value of
// another format (written by another version of the filter) decodes as a
// fresh circuit.
const snapshotFormat = 1

// ErrSnapshot is Decode's error for a value that is no Snapshot.
var ErrSnapshot = errors.New("breaker: malformed snapshot")

// Encode appends the snapshot's encoding to b: the format byte, the state,
// then the counters and times as varints, the probe ids and the window.
// With the default configuration (no window) it takes 12 to 25 bytes; a
// full count window of MaxWindowCalls adds 260, a time window of
// MaxWindowBuckets at most about 380.
func Encode(b []byte, s Snapshot) []byte {
	b = append(b, snapshotFormat, byte(s.State))
	b = binary.AppendUvarint(b, uint64(s.Generation))
	b = binary.AppendUvarint(b, uint64(s.ConsecutiveFailures))
	b = binary.AppendUvarint(b, uint64(s.ConsecutiveTrips))
	b = binary.AppendVarint(b, unixNano(s.OpenUntil))
	b = binary.AppendVarint(b, unixNano(s.HalfOpenSince))
	b = binary.AppendUvarint(b, uint64(s.NextProbe))
	b = binary.AppendUvarint(b, uint64(s.ProbeSuccesses))
	b = append(b, s.Shadows)
	b = binary.AppendUvarint(b, uint64(len(s.Probes)))
	for _, id := range s.Probes {
		b = binary.AppendUvarint(b, uint64(id))
	}
	if s.Window == nil {
		return append(b, tagNoWindow)
	}
	return s.Window.appendTo(b)
}

// Decode reads a snapshot written by Encode. An empty value (a key not
// written yet) is a fresh Closed circuit. Anything else that does not
// decode returns ErrSnapshot with a fresh Closed circuit, which the
// caller should use: a breaker that cannot read its state fails open.
func Decode(b []byte) (Snapshot, error) {
	if len(b) == 0 {
		return Snapshot{}, nil
	}
	s, err := decode(b)
	if err != nil {
		return Snapshot{}, ErrSnapshot
	}
	return s, nil
}

func decode(b []byte) (Snapshot, error) {
	r := reader{b: b}
	if r.byte() != snapshotFormat {
		return Snapshot{}, ErrSnapshot
	}
	var s Snapshot
	s.State = State(r.byte())
	s.Generation = uint32(r.uvarint(math.MaxUint32))
	s.ConsecutiveFailures = r.uvarint(MaxConsecutive)
	s.ConsecutiveTrips = r.uvarint(MaxConsecutive)
	s.OpenUntil = fromUnixNano(r.varint())
	s.HalfOpenSince = fromUnixNano(r.varint())
	s.NextProbe = uint16(r.uvarint(math.MaxUint16))
	s.ProbeSuccesses = r.uvarint(MaxConsecutive)
	s.Shadows = r.byte()
	if n := r.uvarint(MaxProbes); n > 0 {
		s.Probes = make([]uint16, n)
		for i := range s.Probes {
			s.Probes[i] = uint16(r.uvarint(math.MaxUint16))
		}
	}
	if r.err != nil || s.State > HalfOpen {
		return Snapshot{}, ErrSnapshot
	}
	w, rest, err := decodeWindow(r.b)
	if err != nil || len(rest) > 0 {
		return Snapshot{}, ErrSnapshot
	}
	s.Window = w
	return s, nil
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
