package pipeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeQueues are the shared queues of one vm_id: a queue belongs to the
// member that registered its name last, and an enqueue tells that member
// at once (Envoy posts it to the owner's worker).
type fakeQueues struct {
	ids    map[string]uint32
	data   map[uint32][][]byte
	owners map[uint32]*member
}

func newFakeQueues() *fakeQueues {
	return &fakeQueues{ids: map[string]uint32{}, data: map[uint32][][]byte{}, owners: map[uint32]*member{}}
}

// member is one plugin of one worker VM.
type member struct {
	world *fakeQueues
	env   *Env
	ready map[uint32]func()
	got   []string
	b     *Broadcaster
}

type memberQueues struct{ m *member }

func (q memberQueues) Register(name string) (uint32, error) {
	w := q.m.world
	id, ok := w.ids[name]
	if !ok {
		id = uint32(len(w.ids) + 1)
		w.ids[name] = id
	}
	w.owners[id] = q.m
	return id, nil
}

func (q memberQueues) Resolve(name string) (uint32, error) {
	if id, ok := q.m.world.ids[name]; ok {
		return id, nil
	}
	return 0, ErrNotFound
}

func (q memberQueues) Enqueue(id uint32, msg []byte) error {
	w := q.m.world
	w.data[id] = append(w.data[id], append([]byte(nil), msg...))
	if owner := w.owners[id]; owner != nil && owner.ready[id] != nil {
		owner.ready[id]()
	}
	return nil
}

func (q memberQueues) Dequeue(id uint32) ([]byte, error) {
	w := q.m.world
	if len(w.data[id]) == 0 {
		return nil, ErrQueueEmpty
	}
	msg := w.data[id][0]
	w.data[id] = w.data[id][1:]
	return msg, nil
}

// join starts a member on store and world at *now and joins topic.
func join(t *testing.T, store SharedStore, world *fakeQueues, now *time.Time, topic string) *member {
	t.Helper()
	m := &member{world: world, ready: map[uint32]func(){}}
	clock := func() time.Time { return *now }
	m.env = &Env{Now: clock, Rand: func() float64 { return 0.5 }, Shared: store, Log: &testLog{}, Queues: memberQueues{m}}
	m.env.timers = NewTimers(clock, func(uint32) error { return nil }, func(uint32) error { return nil })
	m.env.queueReady = func(id uint32, drain func()) { m.ready[id] = drain }
	m.b = m.env.Broadcast(topic, func(msg []byte) { m.got = append(m.got, string(msg)) })
	return m
}

func TestBroadcastReachesEveryOtherMember(t *testing.T) {
	store, world, now := newMemStore(), newFakeQueues(), t0
	a := join(t, store, world, &now, "test")
	b := join(t, store, world, &now, "test")
	c := join(t, store, world, &now, "test")
	require.True(t, a.b.Joined() && b.b.Joined() && c.b.Joined())
	// Members that joined after a sender's last renewal hear it too.
	a.b.Send([]byte("k1"))
	c.b.Send([]byte("k2"))
	assert.Equal(t, []string{"k2"}, a.got)
	assert.Equal(t, []string{"k1", "k2"}, b.got)
	assert.Equal(t, []string{"k1"}, c.got)
}

func TestBroadcastForgetsAMemberThatStoppedRenewing(t *testing.T) {
	store, world, now := newMemStore(), newFakeQueues(), t0
	a := join(t, store, world, &now, "test")
	gone := join(t, store, world, &now, "test")
	now = now.Add(heartbeatPeriod)
	a.env.timers.Tick()
	require.Len(t, a.b.peers, 1)

	// gone's VM was replaced: it renews no more.
	now = now.Add(memberTTL + heartbeatPeriod)
	a.env.timers.Tick()
	assert.Empty(t, a.b.peers, "no messages pile up in a dead member's queue")

	// Its slot, and its queue, go to the next member to join.
	gone.got = nil
	next := join(t, store, world, &now, "test")
	assert.Equal(t, gone.b.slot, next.b.slot)
	a.b.Send([]byte("k"))
	assert.Equal(t, []string{"k"}, next.got)
	assert.Empty(t, gone.got)
}

func TestBroadcastNewOwnerOfASlotDrainsWhatWasLeft(t *testing.T) {
	store, world, now := newMemStore(), newFakeQueues(), t0
	a := join(t, store, world, &now, "test")
	gone := join(t, store, world, &now, "test")
	now = now.Add(heartbeatPeriod)
	a.env.timers.Tick()
	delete(gone.ready, gone.b.own) // its VM is gone: nobody reads its queue
	a.b.Send([]byte("old"))

	now = now.Add(memberTTL + heartbeatPeriod)
	a.env.timers.Tick() // a stays; gone's heartbeat is stale
	next := join(t, store, world, &now, "test")
	require.Equal(t, gone.b.slot, next.b.slot)
	assert.Equal(t, []string{"old"}, next.got, "a stale message only makes the reader look again")
	assert.Empty(t, world.data[next.b.own])
}

func TestBroadcastFullOrWithoutQueuesRunsAlone(t *testing.T) {
	store, world, now := newMemStore(), newFakeQueues(), t0
	for range maxMembers {
		require.True(t, join(t, store, world, &now, "test").b.Joined())
	}
	extra := join(t, store, world, &now, "test")
	assert.False(t, extra.b.Joined())
	extra.b.Send([]byte("k")) // a no-op, not a panic
	log := extra.env.Log.(*testLog)
	require.Len(t, log.lines, 1)
	assert.Contains(t, log.lines[0], "every broadcast slot is taken")

	alone := &Env{Now: func() time.Time { return now }, Rand: func() float64 { return 0.5 }, Shared: store, Log: &testLog{}}
	b := alone.Broadcast("test", func([]byte) { t.Fatal("nothing to receive") })
	assert.False(t, b.Joined())
	b.Send([]byte("k"))
}

func TestBroadcastSurvivesAStoreThatRefusesTheMemberList(t *testing.T) {
	store, world, now := newMemStore(), newFakeQueues(), t0
	store.conflicts = DefaultCASAttempts
	m := join(t, store, world, &now, "test")
	assert.False(t, m.b.Joined())
	m.env.timers.Tick() // nothing due yet
	now = now.Add(heartbeatPeriod)
	m.env.timers.Tick()
	assert.True(t, m.b.Joined(), "the next renewal joins")
}
