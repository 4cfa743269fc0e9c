package pipeline

import (
	"container/heap"
	"time"
)

// Timers multiplexes a plugin's single tick timer over many deadlines:
// several per stream (one per stage, so a body timeout, a fault delay and
// a retry backoff can all wait on one stream) and the plugin's periodic
// jobs. The host timer ticks only while something is pending, always at the
// nearest deadline, and never fires a deadline early.
//
// Host effects are injected so that Timers can be tested natively: setTick
// arms the host timer (0 turns it off); enter makes a stream's context the
// effective one before its callback runs, and fails when the stream is gone.
type Timers struct {
	now     func() time.Time
	setTick func(ms uint32) error
	enter   func(stream uint32) error

	byKey   map[timerKey]*deadline
	queue   deadlineHeap
	ticking bool      // the host timer is on
	armedAt time.Time // the deadline it was last armed for; zero: unknown
	jobs    uint32    // periodic jobs registered so far
}

// timerKey names one deadline: a stream and a slot (the stage's index), or
// a periodic job when job is set.
type timerKey struct {
	stream uint32
	slot   uint32
	job    bool
}

type deadline struct {
	key    timerKey
	at     time.Time
	fn     func()
	period time.Duration // > 0: a periodic job, scheduled again after it runs
	index  int
}

// NewTimers returns timers on the given clock and host effects.
func NewTimers(now func() time.Time, setTick func(ms uint32) error, enter func(stream uint32) error) *Timers {
	return &Timers{now: now, setTick: setTick, enter: enter, byKey: map[timerKey]*deadline{}}
}

// Pending returns how many deadlines wait, periodic jobs included.
func (t *Timers) Pending() int { return len(t.queue) }

// At runs fn for the stream's slot at the first tick at or after at,
// replacing that slot's pending deadline. An error is the host's refusal to
// arm its timer: nothing was scheduled, so the caller must not wait for fn.
func (t *Timers) At(stream, slot uint32, at time.Time, fn func()) error {
	return t.schedule(timerKey{stream: stream, slot: slot}, at, 0, fn)
}

// Every runs fn every period, from one period after now, until the plugin
// ends. Jobs run in the plugin's context, never a stream's.
func (t *Timers) Every(period time.Duration, fn func()) error {
	t.jobs++
	return t.schedule(timerKey{slot: t.jobs, job: true}, t.now().Add(period), period, fn)
}

func (t *Timers) schedule(key timerKey, at time.Time, period time.Duration, fn func()) error {
	if d, ok := t.byKey[key]; ok {
		d.at, d.fn, d.period = at, fn, period
		heap.Fix(&t.queue, d.index)
	} else {
		d := &deadline{key: key, at: at, fn: fn, period: period}
		t.byKey[key] = d
		heap.Push(&t.queue, d)
	}
	if err := t.rearm(); err != nil {
		t.drop(key)
		return err
	}
	return nil
}

// Cancel drops the pending deadline of a stream's slot, if any.
func (t *Timers) Cancel(stream, slot uint32) { t.drop(timerKey{stream: stream, slot: slot}) }

func (t *Timers) drop(key timerKey) {
	d, ok := t.byKey[key]
	if !ok {
		return
	}
	delete(t.byKey, key)
	heap.Remove(&t.queue, d.index)
	_ = t.rearm()
}

// Tick runs every due deadline in deadline order, each stream's after its
// context was made effective; a stream whose context cannot be entered is
// gone and its deadline is dropped. Callbacks may schedule again.
func (t *Timers) Tick() {
	now := t.now()
	var due []*deadline
	for len(t.queue) > 0 && !t.queue[0].at.After(now) {
		d := heap.Pop(&t.queue).(*deadline)
		delete(t.byKey, d.key)
		due = append(due, d)
	}
	t.armedAt = time.Time{} // the host timer keeps its old period: re-arm below
	for _, d := range due {
		switch {
		case d.key.job:
			d.fn()
			if _, again := t.byKey[d.key]; !again {
				d.at = now.Add(d.period)
				t.byKey[d.key] = d
				heap.Push(&t.queue, d)
			}
		case t.enter(d.key.stream) == nil:
			d.fn()
		}
	}
	_ = t.rearm()
}

// rearm points the host timer at the nearest deadline, or turns it off.
func (t *Timers) rearm() error {
	if len(t.queue) == 0 {
		if !t.ticking {
			return nil
		}
		t.ticking, t.armedAt = false, time.Time{}
		return t.setTick(0)
	}
	next := t.queue[0].at
	if t.ticking && !t.armedAt.IsZero() && !next.Before(t.armedAt) {
		return nil // the timer already fires no later than needed
	}
	ms := uint32(1)
	if wait := next.Sub(t.now()); wait > time.Millisecond {
		ms = uint32(min((wait+time.Millisecond-1)/time.Millisecond, 1<<31))
	}
	if err := t.setTick(ms); err != nil {
		return err
	}
	t.ticking, t.armedAt = true, next
	return nil
}

type deadlineHeap []*deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *deadlineHeap) Push(x any) {
	d := x.(*deadline)
	d.index = len(*h)
	*h = append(*h, d)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}
