package plugins

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeHost records what the scheduler asks of the host.
type fakeHost struct {
	now     time.Time
	periods []uint32 // every tick period set, in order
	gone    map[uint32]bool
	ran     []uint32
	failSet bool
}

func (h *fakeHost) scheduler() *Scheduler {
	return NewScheduler(
		func() time.Time { return h.now },
		func(ms uint32) error {
			if h.failSet {
				return errors.New("host refused")
			}
			h.periods = append(h.periods, ms)
			return nil
		},
		func(id uint32) error {
			if h.gone[id] {
				return errors.New("no such context")
			}
			return nil
		},
	)
}

func (h *fakeHost) run(id uint32) func() { return func() { h.ran = append(h.ran, id) } }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSchedulerTicksAtTheNearestDeadlineOnly(t *testing.T) {
	h := &fakeHost{now: t0}
	s := h.scheduler()

	require.NoError(t, s.Schedule(1, t0.Add(200*time.Millisecond), h.run(1)))
	require.NoError(t, s.Schedule(2, t0.Add(50*time.Millisecond), h.run(2)))
	require.NoError(t, s.Schedule(3, t0.Add(300*time.Millisecond), h.run(3)))
	assert.Equal(t, []uint32{200, 50}, h.periods, "re-armed only when the nearest deadline moved earlier")

	h.now = t0.Add(50 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{2}, h.ran)
	assert.Equal(t, []uint32{200, 50, 150}, h.periods)

	h.now = t0.Add(300 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{2, 1, 3}, h.ran, "all due deadlines run in deadline order")
	assert.Equal(t, []uint32{200, 50, 150, 0}, h.periods, "the timer stops when nothing is pending")
	assert.Equal(t, 0, s.Pending())
}

func TestSchedulerNeverRunsEarly(t *testing.T) {
	h := &fakeHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.Schedule(1, t0.Add(10*time.Millisecond+time.Microsecond), h.run(1)))
	assert.Equal(t, []uint32{11}, h.periods, "rounded up to whole milliseconds")

	h.now = t0.Add(10 * time.Millisecond)
	s.Tick()
	assert.Empty(t, h.ran)
	assert.Equal(t, []uint32{11, 1}, h.periods, "a tick that came early re-arms for the rest")

	h.now = t0.Add(11 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{1}, h.ran)
}

func TestSchedulerCancelDropsTheDeadline(t *testing.T) {
	h := &fakeHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.Schedule(1, t0.Add(10*time.Millisecond), h.run(1)))
	require.NoError(t, s.Schedule(2, t0.Add(20*time.Millisecond), h.run(2)))
	s.Cancel(1)
	s.Cancel(1) // twice is harmless
	s.Cancel(9) // unknown is harmless
	h.now = t0.Add(time.Second)
	s.Tick()
	assert.Equal(t, []uint32{2}, h.ran)

	require.NoError(t, s.Schedule(3, t0.Add(2*time.Second), h.run(3)))
	s.Cancel(3)
	assert.Equal(t, uint32(0), h.periods[len(h.periods)-1], "cancelling the last deadline stops the timer")
}

func TestSchedulerSkipsStreamsThatAreGone(t *testing.T) {
	h := &fakeHost{now: t0, gone: map[uint32]bool{1: true}}
	s := h.scheduler()
	require.NoError(t, s.Schedule(1, t0, h.run(1)))
	require.NoError(t, s.Schedule(2, t0, h.run(2)))
	s.Tick()
	assert.Equal(t, []uint32{2}, h.ran)
}

func TestSchedulerRescheduleReplacesAndCallbacksMayReschedule(t *testing.T) {
	h := &fakeHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.Schedule(1, t0.Add(time.Second), h.run(1)))
	require.NoError(t, s.Schedule(1, t0.Add(5*time.Millisecond), func() {
		h.ran = append(h.ran, 100)
		require.NoError(t, s.Schedule(1, h.now.Add(5*time.Millisecond), h.run(1)))
	}))
	assert.Equal(t, 1, s.Pending())
	h.now = t0.Add(5 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{100}, h.ran)
	assert.Equal(t, 1, s.Pending())
	h.now = t0.Add(10 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{100, 1}, h.ran)
}

func TestSchedulerReportsAHostThatWillNotArm(t *testing.T) {
	h := &fakeHost{now: t0, failSet: true}
	s := h.scheduler()
	require.Error(t, s.Schedule(1, t0.Add(time.Second), h.run(1)))
	assert.Equal(t, 0, s.Pending(), "a deadline that cannot fire is not kept")
}
