package plugins

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStore is a SharedStore in memory; conflicts > 0 makes that many Sets
// fail as if another VM had written first.
type memStore struct {
	data      map[string][]byte
	cas       map[string]uint32
	conflicts int
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

func TestTryAcquireHoldsTheLimit(t *testing.T) {
	s := newMemStore()
	for range 3 {
		require.NoError(t, TryAcquire(s, "k", 3))
	}
	assert.ErrorIs(t, TryAcquire(s, "k", 3), ErrLimit)
	assert.Equal(t, int64(3), SharedInt(s, "k"))

	require.NoError(t, Release(s, "k"))
	assert.Equal(t, int64(2), SharedInt(s, "k"))
	require.NoError(t, TryAcquire(s, "k", 3))
}

func TestReleaseNeverGoesBelowZero(t *testing.T) {
	s := newMemStore()
	require.NoError(t, Release(s, "k"))
	assert.Equal(t, int64(0), SharedInt(s, "k"))
}

func TestUpdateRetriesConflictsThenGivesUp(t *testing.T) {
	s := newMemStore()
	s.conflicts = DefaultCASAttempts - 1
	require.NoError(t, TryAcquire(s, "k", 10))
	assert.Equal(t, int64(1), SharedInt(s, "k"))

	s.conflicts = DefaultCASAttempts
	assert.ErrorIs(t, TryAcquire(s, "k", 10), ErrContention)
	assert.Equal(t, int64(1), SharedInt(s, "k"), "a contended update is not applied")
}

func TestSharedIntOfGarbageIsZero(t *testing.T) {
	s := newMemStore()
	s.data["k"] = []byte("xyz")
	assert.Equal(t, int64(0), SharedInt(s, "k"))
	require.NoError(t, TryAcquire(s, "k", 1), "a corrupt counter restarts from zero")
}
