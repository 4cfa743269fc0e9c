package breaker

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"time"
)

// Window holds the recent outcomes that rates are taken over. Both kinds
// are small values meant to live in a Snapshot: CountWindow keeps the last
// N outcomes as two bit rings, TimeWindow a few buckets of counts.
type Window interface {
	// Record adds a Success, Failure or Slow outcome at now (others are
	// not recorded).
	Record(o Outcome, now time.Time)
	// Rates returns the calls in the window at now and the percentages of
	// them that failed and that were slow.
	Rates(now time.Time) (calls int, failureRate, slowRate float64)
	// Clone returns a copy that shares nothing with the window.
	Clone() Window
	fits(s windowShape) bool
	appendTo(b []byte) []byte
}

// newWindow returns an empty window of shape s, or nil for none.
func newWindow(s windowShape) Window {
	switch {
	case s.size > 0:
		return NewCountWindow(s.size)
	case s.buckets > 0:
		return NewTimeWindow(s.buckets, s.width)
	}
	return nil
}

func percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) * 100 / float64(whole)
}

// CountWindow is the last Size outcomes, as a ring of failure bits and one
// of slow bits: 2 bits a call, so 1000 calls take 250 bytes.
type CountWindow struct {
	size  int
	next  int // ring position of the next outcome
	calls int // outcomes held, at most size
	fail  []byte
	slow  []byte
}

// NewCountWindow returns an empty window of the last size outcomes.
func NewCountWindow(size int) *CountWindow {
	n := (size + 7) / 8
	return &CountWindow{size: size, fail: make([]byte, n), slow: make([]byte, n)}
}

// Record implements Window; the time plays no part.
func (w *CountWindow) Record(o Outcome, _ time.Time) {
	if o != Success && o != Failure && o != Slow {
		return
	}
	i, bit := w.next/8, byte(1)<<(w.next%8)
	w.fail[i] &^= bit
	w.slow[i] &^= bit
	switch o {
	case Failure:
		w.fail[i] |= bit
	case Slow:
		w.slow[i] |= bit
	}
	w.next = (w.next + 1) % w.size
	w.calls = min(w.calls+1, w.size)
}

// Rates implements Window; the time plays no part.
func (w *CountWindow) Rates(time.Time) (calls int, failureRate, slowRate float64) {
	return w.calls, percent(ones(w.fail), w.calls), percent(ones(w.slow), w.calls)
}

func ones(b []byte) int {
	n := 0
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return n
}

// Clone implements Window.
func (w *CountWindow) Clone() Window {
	c := *w
	c.fail, c.slow = append([]byte(nil), w.fail...), append([]byte(nil), w.slow...)
	return &c
}

// clean reports whether no bit is set at a position that holds no call.
func (w *CountWindow) clean() bool {
	for i := w.calls; i < 8*len(w.fail); i++ {
		bit := byte(1) << (i % 8)
		if (w.fail[i/8]|w.slow[i/8])&bit != 0 {
			return false
		}
	}
	return true
}

func (w *CountWindow) fits(s windowShape) bool { return s.size == w.size }

// Encoding tags of the windows.
const (
	tagNoWindow    = 0
	tagCountWindow = 1
	tagTimeWindow  = 2
)

// appendTo writes the tag, size, next and calls as uvarints, then the two
// bit rings.
func (w *CountWindow) appendTo(b []byte) []byte {
	b = append(b, tagCountWindow)
	b = binary.AppendUvarint(b, uint64(w.size))
	b = binary.AppendUvarint(b, uint64(w.next))
	b = binary.AppendUvarint(b, uint64(w.calls))
	b = append(b, w.fail...)
	return append(b, w.slow...)
}

// TimeWindow is a span of time cut into buckets of Width, each counting
// its calls, failures and slow calls; a bucket is emptied when the clock
// moves into it again, so a long idle gap empties the whole window.
type TimeWindow struct {
	width   time.Duration
	head    int64 // number (Unix nanoseconds / width) of the newest bucket
	buckets []bucket
}

type bucket struct{ calls, fail, slow uint32 }

// maxBucketCount bounds a bucket's counts so that each encodes in at most
// two bytes (a full time window of MaxWindowBuckets in under 400); a
// bucket about to pass it halves its counts, which keeps its rates.
const maxBucketCount = 1<<14 - 1

// NewTimeWindow returns an empty window of n buckets of width.
func NewTimeWindow(n int, width time.Duration) *TimeWindow {
	return &TimeWindow{width: width, buckets: make([]bucket, n)}
}

func (w *TimeWindow) number(now time.Time) int64 { return now.UnixNano() / int64(w.width) }

func (w *TimeWindow) slot(number int64) *bucket {
	n := int64(len(w.buckets))
	return &w.buckets[((number%n)+n)%n]
}

// Record implements Window. An outcome recorded at a time before the
// newest bucket (another worker's clock read a little earlier) goes into
// the newest bucket.
func (w *TimeWindow) Record(o Outcome, now time.Time) {
	if o != Success && o != Failure && o != Slow {
		return
	}
	if at := w.number(now); at > w.head {
		for k := w.head + 1; k <= at && k-w.head <= int64(len(w.buckets)); k++ {
			*w.slot(k) = bucket{}
		}
		w.head = at
	}
	b := w.slot(w.head)
	if b.calls == maxBucketCount {
		b.calls, b.fail, b.slow = b.calls/2, b.fail/2, b.slow/2
	}
	b.calls++
	switch o {
	case Failure:
		b.fail++
	case Slow:
		b.slow++
	}
}

// Rates implements Window: the buckets still inside the span at now.
func (w *TimeWindow) Rates(now time.Time) (calls int, failureRate, slowRate float64) {
	at := max(w.number(now), w.head)
	var fail, slow int
	for k := w.head; k > w.head-int64(len(w.buckets)) && k > at-int64(len(w.buckets)); k-- {
		b := w.slot(k)
		calls, fail, slow = calls+int(b.calls), fail+int(b.fail), slow+int(b.slow)
	}
	return calls, percent(fail, calls), percent(slow, calls)
}

// Clone implements Window.
func (w *TimeWindow) Clone() Window {
	c := *w
	c.buckets = append([]bucket(nil), w.buckets...)
	return &c
}

func (w *TimeWindow) fits(s windowShape) bool {
	return s.buckets == len(w.buckets) && s.width == w.width
}

// appendTo writes the tag, bucket count, width, head, then each bucket's
// three counts, as uvarints.
func (w *TimeWindow) appendTo(b []byte) []byte {
	b = append(b, tagTimeWindow)
	b = binary.AppendUvarint(b, uint64(len(w.buckets)))
	b = binary.AppendUvarint(b, uint64(w.width))
	b = binary.AppendVarint(b, w.head)
	for _, k := range w.buckets {
		b = binary.AppendUvarint(b, uint64(k.calls))
		b = binary.AppendUvarint(b, uint64(k.fail))
		b = binary.AppendUvarint(b, uint64(k.slow))
	}
	return b
}

var errWindow = errors.New("breaker: malformed window")

// decodeWindow reads a window written by appendTo and returns the bytes
// after it.
func decodeWindow(b []byte) (Window, []byte, error) {
	r := reader{b: b}
	switch r.byte() {
	case tagNoWindow:
		return nil, r.b, r.err
	case tagCountWindow:
		size := r.uvarint(MaxWindowCalls)
		w := NewCountWindow(max(size, 1))
		w.next, w.calls = r.uvarint(size-1), r.uvarint(size)
		r.bytes(w.fail)
		r.bytes(w.slow)
		if r.err != nil || size < 1 || (w.calls < size && w.next != w.calls) || !w.clean() {
			return nil, nil, errWindow
		}
		return w, r.b, nil
	case tagTimeWindow:
		n := r.uvarint(MaxWindowBuckets)
		width := r.uvarint(int(MaxDuration))
		w := NewTimeWindow(n, time.Duration(width))
		w.head = r.varint()
		for i := range w.buckets {
			w.buckets[i] = bucket{uint32(r.uvarint(maxBucketCount)), uint32(r.uvarint(maxBucketCount)), uint32(r.uvarint(maxBucketCount))}
		}
		if r.err != nil || n < 1 || width < int(minBucketWidth) {
			return nil, nil, errWindow
		}
		return w, r.b, nil
	}
	return nil, nil, errWindow
}

// reader reads the encoding; its first error sticks and reads after it
// return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errWindow, nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uvarint reads an unsigned varint no larger than limit.
func (r *reader) uvarint(limit int) int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(max(limit, 0)) {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(dst []byte) {
	if len(r.b) < len(dst) {
		r.fail()
		return
	}
	r.b = r.b[copy(dst, r.b):]
}
