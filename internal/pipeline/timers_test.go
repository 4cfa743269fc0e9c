package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// timerHost records what the timers asks of the host.
type timerHost struct {
	now     time.Time
	periods []uint32 // every tick period set, in order
	gone    map[uint32]bool
	ran     []uint32
	failSet bool
}

func (h *timerHost) scheduler() *Timers {
	return NewTimers(
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

func (h *timerHost) run(id uint32) func() { return func() { h.ran = append(h.ran, id) } }

func TestTimersTicksAtTheNearestDeadlineOnly(t *testing.T) {
	h := &timerHost{now: t0}
	s := h.scheduler()

	require.NoError(t, s.At(1, 0, t0.Add(200*time.Millisecond), h.run(1)))
	require.NoError(t, s.At(2, 0, t0.Add(50*time.Millisecond), h.run(2)))
	require.NoError(t, s.At(3, 0, t0.Add(300*time.Millisecond), h.run(3)))
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

func TestTimersNeverRunsEarly(t *testing.T) {
	h := &timerHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.At(1, 0, t0.Add(10*time.Millisecond+time.Microsecond), h.run(1)))
	assert.Equal(t, []uint32{11}, h.periods, "rounded up to whole milliseconds")

	h.now = t0.Add(10 * time.Millisecond)
	s.Tick()
	assert.Empty(t, h.ran)
	assert.Equal(t, []uint32{11, 1}, h.periods, "a tick that came early re-arms for the rest")

	h.now = t0.Add(11 * time.Millisecond)
	s.Tick()
	assert.Equal(t, []uint32{1}, h.ran)
}

func TestTimersCancelDropsTheDeadline(t *testing.T) {
	h := &timerHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.At(1, 0, t0.Add(10*time.Millisecond), h.run(1)))
	require.NoError(t, s.At(2, 0, t0.Add(20*time.Millisecond), h.run(2)))
	s.Cancel(1, 0)
	s.Cancel(1, 0) // twice is harmless
	s.Cancel(9, 0) // unknown is harmless
	h.now = t0.Add(time.Second)
	s.Tick()
	assert.Equal(t, []uint32{2}, h.ran)

	require.NoError(t, s.At(3, 0, t0.Add(2*time.Second), h.run(3)))
	s.Cancel(3, 0)
	assert.Equal(t, uint32(0), h.periods[len(h.periods)-1], "cancelling the last deadline stops the timer")
}

func TestTimersSkipsStreamsThatAreGone(t *testing.T) {
	h := &timerHost{now: t0, gone: map[uint32]bool{1: true}}
	s := h.scheduler()
	require.NoError(t, s.At(1, 0, t0, h.run(1)))
	require.NoError(t, s.At(2, 0, t0, h.run(2)))
	s.Tick()
	assert.Equal(t, []uint32{2}, h.ran)
}

func TestTimersRescheduleReplacesAndCallbacksMayReschedule(t *testing.T) {
	h := &timerHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.At(1, 0, t0.Add(time.Second), h.run(1)))
	require.NoError(t, s.At(1, 0, t0.Add(5*time.Millisecond), func() {
		h.ran = append(h.ran, 100)
		require.NoError(t, s.At(1, 0, h.now.Add(5*time.Millisecond), h.run(1)))
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

func TestTimersReportsAHostThatWillNotArm(t *testing.T) {
	h := &timerHost{now: t0, failSet: true}
	s := h.scheduler()
	require.Error(t, s.At(1, 0, t0.Add(time.Second), h.run(1)))
	assert.Equal(t, 0, s.Pending(), "a deadline that cannot fire is not kept")
}

func TestTimersKeepOneDeadlinePerStageOfAStream(t *testing.T) {
	h := &timerHost{now: t0}
	s := h.scheduler()
	require.NoError(t, s.At(1, 0, t0.Add(30*time.Millisecond), h.run(10)))
	require.NoError(t, s.At(1, 1, t0.Add(10*time.Millisecond), h.run(11)))
	require.NoError(t, s.At(1, 2, t0.Add(20*time.Millisecond), h.run(12)))
	assert.Equal(t, 3, s.Pending())
	s.Cancel(1, 2)
	h.now = t0.Add(time.Second)
	s.Tick()
	assert.Equal(t, []uint32{11, 10}, h.ran)
}

func TestTimersRunPeriodicJobsInThePluginContext(t *testing.T) {
	h := &timerHost{now: t0, gone: map[uint32]bool{0: true}}
	s := h.scheduler()
	require.NoError(t, s.Every(100*time.Millisecond, h.run(7)))
	require.NoError(t, s.At(1, 0, t0.Add(150*time.Millisecond), h.run(1)))
	for range 3 {
		h.now = h.now.Add(100 * time.Millisecond)
		s.Tick()
	}
	assert.Equal(t, []uint32{7, 1, 7, 7}, h.ran, "a job runs without entering a stream, and again every period")
	assert.Equal(t, 1, s.Pending(), "the job stays scheduled")
}
