package pipeline

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStore is a SharedStore in memory that behaves as Envoy's: a version
// of 0 writes unconditionally. conflicts > 0 makes that many Sets fail as
// if another VM had written first; beforeSet, when set, runs at the start
// of every Set (another VM's update sneaking in, say).
type memStore struct {
	data      map[string][]byte
	cas       map[string]uint32
	conflicts int
	sets      int
	beforeSet func()
}

func newMemStore() *memStore {
	return &memStore{data: map[string][]byte{}, cas: map[string]uint32{}}
}

func (m *memStore) Get(key string) ([]byte, uint32, error) {
	v, ok := m.data[key]
	if !ok {
		return nil, 0, types.ErrorStatusNotFound
	}
	return append([]byte(nil), v...), m.cas[key], nil
}

func (m *memStore) Set(key string, value []byte, cas uint32) error {
	if hook := m.beforeSet; hook != nil {
		m.beforeSet = nil
		hook()
	}
	m.sets++
	if m.conflicts > 0 {
		m.conflicts--
		m.cas[key]++
		return types.ErrorStatusCasMismatch
	}
	if cas != 0 && cas != m.cas[key] {
		return types.ErrorStatusCasMismatch
	}
	m.data[key] = append([]byte(nil), value...)
	m.cas[key]++
	return nil
}

// created is a lease list in a fresh store, created as at plugin start.
func created(t *testing.T) (*memStore, Leases) {
	t.Helper()
	s := newMemStore()
	l := Leases{Store: s, Key: "k"}
	require.NoError(t, l.Create())
	return s, l
}

func TestLeasesHoldTheLimit(t *testing.T) {
	_, l := created(t)
	later := t0.Add(time.Minute)
	for id := uint64(1); id <= 3; id++ {
		require.NoError(t, l.Acquire(id, later, 3, t0))
	}
	assert.ErrorIs(t, l.Acquire(4, later, 3, t0), ErrLimit)
	assert.Equal(t, 3, l.Live(t0))

	require.NoError(t, l.Release(2, t0))
	assert.Equal(t, 2, l.Live(t0))
	require.NoError(t, l.Acquire(4, later, 3, t0))
	assert.ErrorIs(t, l.Acquire(5, later, 3, t0), ErrLimit)
}

func TestLeasesNeedTheListCreatedFirst(t *testing.T) {
	s := newMemStore()
	l := Leases{Store: s, Key: "k"}
	assert.ErrorIs(t, l.Acquire(1, t0.Add(time.Minute), 3, t0), ErrNotCreated,
		"a first write at version 0 would be unconditional: refused")
	assert.NoError(t, l.Release(1, t0), "nothing to release")
	assert.Zero(t, s.sets, "nothing written")
	assert.Zero(t, l.Live(t0))
}

func TestLeasesCreateKeepsAnExistingList(t *testing.T) {
	_, l := created(t)
	require.NoError(t, l.Acquire(1, t0.Add(time.Minute), 3, t0))
	require.NoError(t, l.Create(), "a second VM starting")
	assert.Equal(t, 1, l.Live(t0))
}

func TestLeasesExpire(t *testing.T) {
	s, l := created(t)
	require.NoError(t, l.Acquire(1, t0.Add(10*time.Second), 1, t0))
	assert.ErrorIs(t, l.Acquire(2, t0.Add(time.Minute), 1, t0.Add(10*time.Second-1)), ErrLimit)
	assert.Equal(t, 1, l.Live(t0.Add(10*time.Second-1)))

	assert.Equal(t, 0, l.Live(t0.Add(10*time.Second)), "expired: its holder never released it")
	require.NoError(t, l.Acquire(2, t0.Add(time.Minute), 1, t0.Add(10*time.Second)), "the expired lease is dropped")
	assert.Len(t, s.data["k"], 1+leaseSize, "only the new lease is stored")
	require.NoError(t, l.Release(1, t0.Add(10*time.Second)), "releasing a dropped lease is no error")
	assert.Equal(t, 1, l.Live(t0.Add(10*time.Second)))
}

func TestLeasesAcquireAgainRenews(t *testing.T) {
	_, l := created(t)
	require.NoError(t, l.Acquire(7, t0.Add(time.Second), 2, t0))
	require.NoError(t, l.Acquire(7, t0.Add(time.Minute), 2, t0))
	assert.Equal(t, 1, l.Live(t0.Add(time.Second)), "one lease, now expiring later")
}

func TestLeasesReleaseWritesOnlyWhenSomethingChanged(t *testing.T) {
	s, l := created(t)
	require.NoError(t, l.Acquire(1, t0.Add(time.Minute), 3, t0))
	sets := s.sets
	require.NoError(t, l.Release(2, t0))
	assert.Equal(t, sets, s.sets, "an unknown id: no write")
	require.NoError(t, l.Release(1, t0))
	assert.Equal(t, sets+1, s.sets)
	assert.Equal(t, 0, l.Live(t0))
}

// TestLeasesCompareAndSwapKeepsTheLimit has another VM take the last slot
// between this VM's read and write: the write fails, the retry reads the
// other VM's lease and finds the list full.
func TestLeasesCompareAndSwapKeepsTheLimit(t *testing.T) {
	s, l := created(t)
	later := t0.Add(time.Minute)
	require.NoError(t, l.Acquire(1, later, 2, t0))
	s.beforeSet = func() { require.NoError(t, l.Acquire(2, later, 2, t0)) }

	assert.ErrorIs(t, l.Acquire(3, later, 2, t0), ErrLimit)
	assert.Equal(t, 2, l.Live(t0))
}

func TestLeasesGiveUpUnderContention(t *testing.T) {
	s, l := created(t)
	s.conflicts = DefaultCASAttempts - 1
	require.NoError(t, l.Acquire(1, t0.Add(time.Minute), 10, t0))
	assert.Equal(t, 1, l.Live(t0))

	s.conflicts = DefaultCASAttempts
	assert.ErrorIs(t, l.Acquire(2, t0.Add(time.Minute), 10, t0), ErrContention)
	assert.Equal(t, 1, l.Live(t0), "a contended update is not applied")
	s.conflicts = DefaultCASAttempts
	assert.ErrorIs(t, l.Release(1, t0), ErrContention)
}

func TestLeasesAreBounded(t *testing.T) {
	for _, limit := range []int{0, -1, MaxLeases + 1} {
		s, l := created(t)
		for id := range uint64(MaxLeases) {
			require.NoError(t, l.Acquire(id+1, t0.Add(time.Minute), limit, t0))
		}
		assert.ErrorIs(t, l.Acquire(MaxLeases+1, t0.Add(time.Minute), limit, t0), ErrLimit, "limit %d", limit)
		assert.Len(t, s.data["k"], 1+MaxLeases*leaseSize)
	}
}

func TestLeasesObserveTheCountTheyWrite(t *testing.T) {
	s, l := created(t)
	var seen []int
	l.Observe = func(n int) { seen = append(seen, n) }
	later := t0.Add(time.Minute)

	require.NoError(t, l.Acquire(1, later, 2, t0))
	require.NoError(t, l.Acquire(2, later, 2, t0))
	require.ErrorIs(t, l.Acquire(3, later, 2, t0), ErrLimit)
	require.NoError(t, l.Release(9, t0))
	s.conflicts = 1
	require.NoError(t, l.Release(1, t0))
	require.NoError(t, l.Acquire(3, t0.Add(time.Second), 2, t0.Add(time.Second)))
	require.NoError(t, l.Release(3, later))

	assert.Equal(t, []int{1, 2, 1, 1, 2, 0}, seen,
		"once per write attempt (a conflict retried), none when nothing is written; expired leases are not counted")
}

func TestLeasesReadGarbageAsEmpty(t *testing.T) {
	s, l := created(t)
	s.data["k"] = binary.BigEndian.AppendUint64(nil, 3) // an old counter, say
	assert.Equal(t, 0, l.Live(t0))
	require.NoError(t, l.Acquire(1, t0.Add(time.Minute), 1, t0))
	assert.Equal(t, 1, l.Live(t0), "the next write replaces it")
}
