package plugins

import (
	"container/heap"
	"time"
)

// Scheduler multiplexes a plugin context's single tick timer over many
// streams' deadlines. It ticks only while deadlines are pending, always at
// the nearest one, and drops a stream's deadline when the stream ends.
//
// Each stream (context id) has at most one pending deadline; scheduling
// again replaces it. Host effects are injected so the scheduler can be
// tested natively: setTick arms the host timer (0 turns it off) and enter
// makes a stream's context the effective one before its callback runs.
type Scheduler struct {
	now     func() time.Time
	setTick func(ms uint32) error
	enter   func(id uint32) error

	byID    map[uint32]*deadline
	queue   deadlineHeap
	ticking bool      // the host timer is on
	armedAt time.Time // the deadline it was last armed for; zero: unknown
}

type deadline struct {
	id    uint32
	at    time.Time
	fn    func()
	index int
}

// NewScheduler returns a scheduler using the given clock and host effects.
func NewScheduler(now func() time.Time, setTick func(ms uint32) error, enter func(id uint32) error) *Scheduler {
	return &Scheduler{now: now, setTick: setTick, enter: enter, byID: map[uint32]*deadline{}}
}

// Pending returns how many streams wait on a deadline.
func (s *Scheduler) Pending() int { return len(s.queue) }

// Schedule runs fn for stream id at the first tick at or after at. The
// error is the host's refusal to arm the timer: the caller must then not
// pause the stream, since nothing would resume it.
func (s *Scheduler) Schedule(id uint32, at time.Time, fn func()) error {
	if d, ok := s.byID[id]; ok {
		d.at, d.fn = at, fn
		heap.Fix(&s.queue, d.index)
	} else {
		d := &deadline{id: id, at: at, fn: fn}
		s.byID[id] = d
		heap.Push(&s.queue, d)
	}
	if err := s.rearm(); err != nil {
		s.Cancel(id)
		return err
	}
	return nil
}

// Cancel drops the pending deadline of stream id, if any.
func (s *Scheduler) Cancel(id uint32) {
	d, ok := s.byID[id]
	if !ok {
		return
	}
	delete(s.byID, id)
	heap.Remove(&s.queue, d.index)
	_ = s.rearm()
}

// Tick runs every due deadline's callback, each after its stream's context
// was made effective; a stream whose context cannot be entered is gone and
// is dropped. Callbacks may schedule again.
func (s *Scheduler) Tick() {
	now := s.now()
	var due []*deadline
	for len(s.queue) > 0 && !s.queue[0].at.After(now) {
		d := heap.Pop(&s.queue).(*deadline)
		delete(s.byID, d.id)
		due = append(due, d)
	}
	s.armedAt = time.Time{} // the host timer keeps its old period: re-arm below
	for _, d := range due {
		if s.enter(d.id) == nil {
			d.fn()
		}
	}
	_ = s.rearm()
}

// rearm points the host timer at the nearest deadline, or turns it off.
func (s *Scheduler) rearm() error {
	if len(s.queue) == 0 {
		if !s.ticking {
			return nil
		}
		s.ticking, s.armedAt = false, time.Time{}
		return s.setTick(0)
	}
	next := s.queue[0].at
	if s.ticking && !s.armedAt.IsZero() && !next.Before(s.armedAt) {
		return nil // the timer already fires no later than needed
	}
	ms := uint32(1)
	if wait := next.Sub(s.now()); wait > time.Millisecond {
		ms = uint32((wait + time.Millisecond - 1) / time.Millisecond)
	}
	if err := s.setTick(ms); err != nil {
		return err
	}
	s.ticking, s.armedAt = true, next
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
