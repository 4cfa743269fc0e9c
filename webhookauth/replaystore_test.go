//go:build !wasm

package webhookauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
)

// envoyStore is proxy-wasm shared data as Envoy keeps it: values copied in
// and out, and one compare-and-swap value per write, counted process-wide
// from 1 (0 is never handed out). A write to an absent key always succeeds;
// to a present one when its value matches, or is 0: "write
// unconditionally".
type envoyStore struct {
	values  map[string]storedValue
	version uint32
	// hook, when set, runs before every Get ("get") and Set ("set"); an
	// error it returns is the operation's.
	hook func(op, key string) error
	sets int
}

type storedValue struct {
	data []byte
	cas  uint32
}

func newEnvoyStore() *envoyStore { return &envoyStore{values: map[string]storedValue{}} }

func (s *envoyStore) Get(key string) ([]byte, uint32, error) {
	if s.hook != nil {
		if err := s.hook("get", key); err != nil {
			return nil, 0, err
		}
	}
	v, ok := s.values[key]
	if !ok {
		return nil, 0, types.ErrorStatusNotFound
	}
	return bytes.Clone(v.data), v.cas, nil
}

func (s *envoyStore) Set(key string, value []byte, cas uint32) error {
	s.sets++
	if s.hook != nil {
		if err := s.hook("set", key); err != nil {
			return err
		}
	}
	if v, ok := s.values[key]; ok && cas != 0 && cas != v.cas {
		return types.ErrorStatusCasMismatch
	}
	s.put(key, value)
	return nil
}

// put is a write by someone else: another worker, another module.
func (s *envoyStore) put(key string, value []byte) {
	s.version++
	if s.version == 0 {
		s.version++
	}
	s.values[key] = storedValue{bytes.Clone(value), s.version}
}

// entries decodes the shard under key.
func (s *envoyStore) entries(key string) []entry {
	var out []entry
	stored := shardEntries(s.values[key].data)
	for i := 0; i < len(stored); i += entrySize {
		e := stored[i : i+entrySize]
		out = append(out, entry{e[0], time.Unix(0, entryExpiry(e)), entrySeq(e)})
	}
	return out
}

func (s *envoyStore) counted(rc *replayCache) uint64 {
	return decodeCount(s.values[rc.counterKey].data)
}

// testCache is a cache of cacheSize deliveries over shards shards, created
// in a fresh store.
func testCache(t *testing.T, shards, cacheSize int) (*replayCache, *envoyStore) {
	t.Helper()
	rc := newReplayCache(shards)
	rc.size = cacheSize
	store := newEnvoyStore()
	_, err := rc.createKeys(store)
	require.NoError(t, err)
	return rc, store
}

// accept runs a delivery of key, remembered for an hour, through the cache
// at now, and requires the store to have worked.
func accept(t *testing.T, rc *replayCache, store pipeline.SharedStore, key [16]byte) Reason {
	t.Helper()
	reason, _, err := rc.insert(store, key, now.Add(time.Hour), now)
	require.NoError(t, err)
	return reason
}

// remembered says, without writing anything, whether a replay of key
// would be refused at now.
func remembered(t *testing.T, rc *replayCache, store pipeline.SharedStore, key [16]byte) bool {
	t.Helper()
	shard, _, err := store.Get(rc.keys[ShardOf(key, rc.shards)])
	require.NoError(t, err)
	counter, _, err := store.Get(rc.counterKey)
	require.NoError(t, err)
	_, replay, _ := CheckAndInsert(nil, shard, Insertion{Key: key, Expires: now.Add(time.Hour), Now: now, Counted: decodeCount(counter), CacheSize: rc.size})
	return replay
}

// keyIn returns the i-th of the keys that fall into shard.
func keyIn(rc *replayCache, shard, i int) [16]byte {
	var key [16]byte
	binary.BigEndian.PutUint64(key[:8], uint64(i*rc.shards+shard))
	binary.BigEndian.PutUint64(key[8:], uint64(i))
	return key
}

func randomKey(r *rand.Rand) [16]byte {
	var key [16]byte
	binary.BigEndian.PutUint64(key[:8], r.Uint64())
	binary.BigEndian.PutUint64(key[8:], r.Uint64())
	return key
}

func TestReplayShards(t *testing.T) {
	tests := []struct {
		cacheSize, shards int
	}{
		{MinReplayCacheSize, DefaultShards},
		{4096, DefaultShards},
		{DefaultReplayCacheSize, 157},
		{MaxReplayCacheSize, 15625},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.shards, replayShards(tt.cacheSize), "cache_size %d", tt.cacheSize)
	}
}

func TestRoutesSharingShardsKeepTheLargestSize(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"value": "s"}], "replay": {"cache_size": 100},
		"routes": [{"name": "big", "replay": {"cache_size": 4000}}, {"name": "huge", "replay": {"cache_size": 100000}},
		{"name": "off", "replay": {"enabled": false}}]}`))
	require.NoError(t, err)
	caches := replayCaches(routes)
	small, big, huge := caches[routes.Resolve(pipeline.Named("x"))], caches[routes.Resolve(pipeline.Named("big"))], caches[routes.Resolve(pipeline.Named("huge"))]
	assert.Same(t, small, big)
	assert.Equal(t, 4000, small.size)
	assert.Equal(t, "steadfast.webhookauth.replay.v2.64.63", small.keys[63])
	assert.Equal(t, "steadfast.webhookauth.replay.v2.64.accepted", small.counterKey)
	assert.Equal(t, 1563, huge.shards)
	assert.Equal(t, 100000, huge.size)
	assert.Nil(t, caches[routes.Resolve(pipeline.Named("off"))])
}

func TestDeliveryRememberedUntilCacheSizeNewerAreAccepted(t *testing.T) {
	rc, store := testCache(t, DefaultShards, 100)
	a := keyIn(rc, 7, 0)
	require.Equal(t, ReasonNone, accept(t, rc, store, a))
	for i := range 99 {
		require.Equal(t, ReasonNone, accept(t, rc, store, keyIn(rc, i%DefaultShards, i+1)))
	}

	assert.Equal(t, ReasonReplay, accept(t, rc, store, a), "after cache_size-1 newer deliveries")

	require.Equal(t, ReasonNone, accept(t, rc, store, keyIn(rc, 0, 1000)))
	reason, evicted, err := rc.insert(store, a, now.Add(time.Hour), now)
	require.NoError(t, err)
	assert.Equal(t, ReasonNone, reason, "after cache_size newer deliveries")
	assert.Equal(t, 1, evicted, "its entry was dropped unexpired")
	assert.Equal(t, ReasonReplay, accept(t, rc, store, a), "and it is remembered again")
}

func TestDeliveryForgottenAfterItsWindow(t *testing.T) {
	rc, store := testCache(t, 1, 100)
	reason, _, err := rc.insert(store, k(1), now.Add(time.Minute), now)
	require.NoError(t, err)
	require.Equal(t, ReasonNone, reason)

	reason, _, _ = rc.insert(store, k(1), now.Add(2*time.Minute), now.Add(time.Minute))
	assert.Equal(t, ReasonReplay, reason, "up to the instant it expires")
	reason, evicted, err := rc.insert(store, k(2), now.Add(time.Hour), now.Add(time.Minute+1))
	require.NoError(t, err)
	require.Equal(t, ReasonNone, reason)

	assert.Equal(t, []entry{{2, now.Add(time.Hour), 2}}, store.entries(rc.keys[0]), "the expired entry is dropped")
	assert.Zero(t, evicted, "an expired entry is no eviction")
}

// TestGuaranteeWithManyKeys accepts deliveries one after the other: each
// is remembered for exactly cache_size newer ones, however the keys fall.
func TestGuaranteeWithManyKeys(t *testing.T) {
	const cacheSize, deliveries = 100, 1000
	tests := []struct {
		name string
		key  func(rc *replayCache, r *rand.Rand, i int) [16]byte
	}{
		{"keys spread over the shards", func(_ *replayCache, r *rand.Rand, _ int) [16]byte { return randomKey(r) }},
		{"every key in one shard", func(rc *replayCache, _ *rand.Rand, i int) [16]byte { return keyIn(rc, 5, i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, store := testCache(t, replayShards(cacheSize), cacheSize)
			r := rand.New(rand.NewPCG(1, 2))
			var keys [][16]byte
			evictions := 0
			for i := range deliveries {
				keys = append(keys, tt.key(rc, r, i))
				reason, evicted, err := rc.insert(store, keys[i], now.Add(time.Hour), now)
				require.NoError(t, err)
				require.Equal(t, ReasonNone, reason, "delivery %d", i)
				evictions += evicted
				for j := max(0, i-cacheSize+1); j <= i; j++ {
					require.True(t, remembered(t, rc, store, keys[j]), "delivery %d after %d newer", j, i-j)
				}
				if i >= cacheSize {
					require.False(t, remembered(t, rc, store, keys[i-cacheSize]), "delivery %d after cache_size newer", i-cacheSize)
				}
			}
			stored := 0
			for _, key := range rc.keys {
				n := len(store.entries(key))
				require.LessOrEqual(t, n, ShardBound(cacheSize))
				stored += n
			}
			assert.Equal(t, deliveries, stored+evictions, "every delivery is still stored or counted as evicted")
			assert.Equal(t, uint64(deliveries), store.counted(rc))
		})
	}
}

func TestReplaysDoNotConsumeSequenceNumbers(t *testing.T) {
	rc, store := testCache(t, DefaultShards, 100)
	a := keyIn(rc, 3, 0)
	require.Equal(t, ReasonNone, accept(t, rc, store, a))
	for range 1000 {
		require.Equal(t, ReasonReplay, accept(t, rc, store, a))
	}
	reason, _, err := rc.insert(store, k(9), now.Add(-time.Second), now)
	require.NoError(t, err)
	require.Equal(t, ReasonNone, reason, "expired on arrival: accepted, nothing to remember")

	assert.Equal(t, uint64(1), store.counted(rc))
	for i := range 99 {
		require.Equal(t, ReasonNone, accept(t, rc, store, keyIn(rc, i%DefaultShards, i+1)))
	}
	assert.Equal(t, ReasonReplay, accept(t, rc, store, a))
}

func TestCorruptValuesInTheStore(t *testing.T) {
	t.Run("a shard that does not decode, or of the old format, reads as empty", func(t *testing.T) {
		for _, value := range [][]byte{[]byte("not a shard"), {}, shardV1(entry{1, now.Add(time.Hour), 0})} {
			rc, store := testCache(t, 1, 100)
			store.put(rc.keys[0], value)

			assert.Equal(t, ReasonNone, accept(t, rc, store, k(1)))

			assert.Equal(t, []entry{{1, now.Add(time.Hour), 1}}, store.entries(rc.keys[0]))
		}
	})
	t.Run("a counter that does not decode reads as 0, which remembers longer", func(t *testing.T) {
		rc, store := testCache(t, 1, 100)
		store.put(rc.counterKey, encodeCount(nil, 150))
		require.Equal(t, ReasonNone, accept(t, rc, store, k(1)))
		store.put(rc.counterKey, []byte("garbage"))

		assert.Equal(t, ReasonReplay, accept(t, rc, store, k(1)))
		assert.Equal(t, ReasonNone, accept(t, rc, store, k(2)))
		assert.Equal(t, []entry{{2, now.Add(time.Hour), 1}, {1, now.Add(time.Hour), 151}}, store.entries(rc.keys[0]),
			"entry 1 is remembered until the counter passes 150 again")
		assert.Equal(t, uint64(1), store.counted(rc))
	})
}

func TestReplayStoreFailsClosed(t *testing.T) {
	failure := errors.New("host failure")
	tests := []struct {
		name   string
		create bool
		hook   func(s *envoyStore, rc *replayCache) func(op, key string) error
		want   error
	}{
		{"keys never created: nothing is written", false, nil, types.ErrorStatusNotFound},
		{"shard unreadable", true, func(_ *envoyStore, rc *replayCache) func(op, key string) error {
			return func(op, key string) error { return failIf(op == "get" && key != rc.counterKey, failure) }
		}, failure},
		{"counter unreadable", true, func(_ *envoyStore, rc *replayCache) func(op, key string) error {
			return func(op, key string) error { return failIf(op == "get" && key == rc.counterKey, failure) }
		}, failure},
		{"shard not written", true, func(_ *envoyStore, rc *replayCache) func(op, key string) error {
			return func(op, key string) error { return failIf(op == "set" && key != rc.counterKey, failure) }
		}, failure},
		{"shard handed out without a compare-and-swap value", true, func(s *envoyStore, rc *replayCache) func(op, key string) error {
			return func(op, key string) error {
				if v, ok := s.values[key]; ok && key != rc.counterKey {
					s.values[key] = storedValue{v.data, 0}
				}
				return nil
			}
		}, errNoCAS},
		{"shard contended past the attempts", true, func(s *envoyStore, rc *replayCache) func(op, key string) error {
			return func(op, key string) error {
				if op == "set" && key != rc.counterKey {
					s.put(key, s.values[key].data)
				}
				return nil
			}
		}, pipeline.ErrContention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, store := newReplayCache(1), newEnvoyStore()
			rc.size = 100
			if tt.create {
				_, err := rc.createKeys(store)
				require.NoError(t, err)
			}
			if tt.hook != nil {
				store.hook = tt.hook(store, rc)
			}
			store.sets = 0

			reason, evicted, err := rc.insert(store, k(1), now.Add(time.Hour), now)

			assert.Equal(t, ReasonReplayCheckUnavailable, reason)
			assert.Zero(t, evicted)
			assert.ErrorIs(t, err, tt.want)
			assert.LessOrEqual(t, store.sets, pipeline.DefaultCASAttempts, "bounded")
			if !tt.create {
				assert.Empty(t, store.values)
			}
		})
	}
}

func failIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}

func TestFailedCounterIncrementRemembersLonger(t *testing.T) {
	failure := errors.New("host failure")
	rc, store := testCache(t, DefaultShards, 100)
	store.hook = func(op, key string) error { return failIf(op == "set" && key == rc.counterKey, failure) }
	a := keyIn(rc, 0, 0)

	reason, _, err := rc.insert(store, a, now.Add(time.Hour), now)
	assert.Equal(t, ReasonNone, reason, "the delivery is remembered: accepted")
	assert.ErrorIs(t, err, failure)
	for i := range 300 {
		reason, _, _ := rc.insert(store, keyIn(rc, i%DefaultShards, i+1), now.Add(time.Hour), now)
		require.Equal(t, ReasonNone, reason)
	}

	assert.Equal(t, uint64(0), store.counted(rc))
	assert.True(t, remembered(t, rc, store, a), "after 300 newer deliveries none counted")
}

func TestCounterIncrementRetriesOnContention(t *testing.T) {
	rc, store := testCache(t, 1, 100)
	bumps := 3
	store.hook = func(op, key string) error {
		if op == "set" && key == rc.counterKey && bumps > 0 {
			bumps--
			store.put(key, encodeCount(nil, store.counted(rc)+1)) // another worker's acceptance
		}
		return nil
	}

	require.Equal(t, ReasonNone, accept(t, rc, store, k(1)))

	assert.Equal(t, uint64(4), store.counted(rc), "three other acceptances and this one")
}

func TestCreateKeys(t *testing.T) {
	rc, store := newReplayCache(2), newEnvoyStore()
	store.put(rc.keys[1], []byte("there already"))
	created := false
	store.hook = func(op, key string) error {
		if op == "set" && key == rc.counterKey && !created {
			created = true // another worker, between this one's read and write
			store.put(key, encodeCount(nil, 7))
		}
		return nil
	}

	_, err := rc.createKeys(store)

	require.NoError(t, err)
	assert.Equal(t, []byte{shardVersion}, store.values[rc.keys[0]].data)
	assert.Equal(t, []byte("there already"), store.values[rc.keys[1]].data)
	assert.Equal(t, uint64(7), store.counted(rc), "a key created meanwhile is left alone")
	assert.NotZero(t, store.values[rc.keys[0]].cas)
}

func TestCreateKeysReportsTheKeyItFailedOn(t *testing.T) {
	rc, store := newReplayCache(2), newEnvoyStore()
	failure := errors.New("host failure")
	store.hook = func(op, key string) error { return failIf(op == "set" && key == rc.keys[1], failure) }

	key, err := rc.createKeys(store)

	assert.ErrorIs(t, err, failure)
	assert.Equal(t, rc.keys[1], key)
}

// TestTwoInserters runs two deliveries on two workers (two caches over one
// store) in every order their shared-data operations can interleave.
func TestTwoInserters(t *testing.T) {
	const cacheSize = 4
	setup := func(t *testing.T) (*replayCache, *envoyStore) { return testCache(t, 2, cacheSize) }
	two := func(rc *replayCache, a, b [16]byte) []func(pipeline.SharedStore) Reason {
		insert := func(key [16]byte) func(pipeline.SharedStore) Reason {
			worker := newReplayCache(rc.shards) // each worker VM has its own
			worker.size = rc.size
			return func(s pipeline.SharedStore) Reason {
				reason, _, _ := worker.insert(s, key, now.Add(time.Hour), now)
				return reason
			}
		}
		return []func(pipeline.SharedStore) Reason{insert(a), insert(b)}
	}

	t.Run("distinct keys in one shard: both remembered", func(t *testing.T) {
		n := everyInterleaving(t, setup, func(rc *replayCache) []func(pipeline.SharedStore) Reason {
			return two(rc, keyIn(rc, 0, 1), keyIn(rc, 0, 2))
		}, func(t *testing.T, rc *replayCache, store *envoyStore, got []Reason) {
			assert.Equal(t, []Reason{ReasonNone, ReasonNone}, got)
			assert.Equal(t, uint64(2), store.counted(rc))
			assert.True(t, remembered(t, rc, store, keyIn(rc, 0, 1)))
			assert.True(t, remembered(t, rc, store, keyIn(rc, 0, 2)))
		})
		assert.Greater(t, n, 1)
	})
	t.Run("one delivery and its replay: exactly one accepted", func(t *testing.T) {
		everyInterleaving(t, setup, func(rc *replayCache) []func(pipeline.SharedStore) Reason {
			return two(rc, k(1), k(1))
		}, func(t *testing.T, rc *replayCache, store *envoyStore, got []Reason) {
			slices.Sort(got)
			assert.Equal(t, []Reason{ReasonNone, ReasonReplay}, got)
			assert.Equal(t, uint64(1), store.counted(rc))
		})
	})
	t.Run("concurrent deliveries: remembered for cache_size-1 newer at least", func(t *testing.T) {
		forgot := 0
		n := everyInterleaving(t, setup, func(rc *replayCache) []func(pipeline.SharedStore) Reason {
			return two(rc, keyIn(rc, 0, 1), keyIn(rc, 1, 1))
		}, func(t *testing.T, rc *replayCache, store *envoyStore, got []Reason) {
			require.Equal(t, []Reason{ReasonNone, ReasonNone}, got)
			for i := range cacheSize - 2 {
				require.Equal(t, ReasonNone, accept(t, rc, store, keyIn(rc, i%2, 10+i)))
			}
			assert.True(t, remembered(t, rc, store, keyIn(rc, 0, 1)))
			assert.True(t, remembered(t, rc, store, keyIn(rc, 1, 1)))
			require.Equal(t, ReasonNone, accept(t, rc, store, keyIn(rc, 0, 20)))
			if !remembered(t, rc, store, keyIn(rc, 1, 1)) {
				forgot++
			}
		})
		// The bound is tight: when the other delivery wrote its shard
		// before this one but was counted after this one read the
		// counter, cache_size-1 newer deliveries are enough.
		assert.Greater(t, forgot, 0)
		assert.Less(t, forgot, n)
	})
}

// everyInterleaving runs the inserts of makeInserts, each in a goroutine
// of its own against a fresh store from setup, letting one shared-data
// operation through at a time, once for every order in which they can
// come; check looks at each outcome. It returns how many orders there
// were.
func everyInterleaving(t *testing.T, setup func(*testing.T) (*replayCache, *envoyStore),
	makeInserts func(*replayCache) []func(pipeline.SharedStore) Reason,
	check func(t *testing.T, rc *replayCache, store *envoyStore, got []Reason)) int {
	t.Helper()
	var prefix []int
	for n := 1; ; n++ {
		rc, store := setup(t)
		got, choices := interleave(store, makeInserts(rc), prefix)
		t.Run(strconv.Itoa(n), func(t *testing.T) { check(t, rc, store, got) })
		// The next order: the last choice that has an alternative left
		// takes it.
		prefix = prefix[:0]
		for i := len(choices) - 1; i >= 0; i-- {
			if choices[i].taken+1 < choices[i].of {
				for _, c := range choices[:i] {
					prefix = append(prefix, c.taken)
				}
				prefix = append(prefix, choices[i].taken+1)
				break
			}
		}
		if len(prefix) == 0 {
			return n
		}
	}
}

// choice is one point of an interleaving where several operations could go
// next: the one taken, of how many.
type choice struct{ taken, of int }

// interleave runs inserts together, one store operation at a time: at
// each point where several wait, prefix says which goes (by index among
// the waiting, in insert order; past its end, the first).
func interleave(store *envoyStore, inserts []func(pipeline.SharedStore) Reason, prefix []int) ([]Reason, []choice) {
	g := &gate{store: store, waiting: make(chan int), done: make(chan int), turn: make([]chan struct{}, len(inserts))}
	got := make([]Reason, len(inserts))
	for i, insert := range inserts {
		g.turn[i] = make(chan struct{})
		go func() {
			got[i] = insert(gatedStore{g, i})
			g.done <- i
		}()
	}
	var waiting []int
	var choices []choice
	// next waits for n goroutines each to reach its next operation or
	// its end.
	next := func(n int) {
		for range n {
			select {
			case i := <-g.waiting:
				waiting = append(waiting, i)
			case <-g.done:
			}
		}
	}
	next(len(inserts))
	for len(waiting) > 0 {
		slices.Sort(waiting)
		c := 0
		if len(waiting) > 1 {
			if len(choices) < len(prefix) {
				c = prefix[len(choices)]
			}
			choices = append(choices, choice{c, len(waiting)})
		}
		i := waiting[c]
		waiting = slices.Delete(waiting, c, c+1)
		g.turn[i] <- struct{}{}
		next(1)
	}
	return got, choices
}

type gate struct {
	store         *envoyStore
	waiting, done chan int
	turn          []chan struct{}
}

// gatedStore is the store as one goroutine of interleave sees it.
type gatedStore struct {
	g  *gate
	id int
}

func (s gatedStore) wait() {
	s.g.waiting <- s.id
	<-s.g.turn[s.id]
}

func (s gatedStore) Get(key string) ([]byte, uint32, error) {
	s.wait()
	return s.g.store.Get(key)
}

func (s gatedStore) Set(key string, value []byte, cas uint32) error {
	s.wait()
	return s.g.store.Set(key, value, cas)
}

// TestReplayCacheHoldsCacheSizeDeliveries sends deliveries through the
// filter: the first is refused as a replay after cache_size-1 others, and
// accepted again, one eviction counted, after cache_size.
func TestReplayCacheHoldsCacheSizeDeliveries(t *testing.T) {
	c := newClock()
	const config = `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}], "replay": {"cache_size": 100}}`
	body := func(n int) string { return `{"zen":"Design for failure.","n":` + strconv.Itoa(n) + `}` }
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, config, routeName("hooks"))
		status := func(n int) uint32 {
			id, _ := send(h, signedGitHub(body(n)), body(n), 0)
			defer h.CompleteHttpContext(id)
			if r := h.GetSentLocalResponse(id); r != nil {
				return r.StatusCode
			}
			return 200
		}
		evictions := func() uint64 {
			v, err := h.GetCounterMetric("steadfast_webhookauth_" + replayEvictionsMetric)
			require.NoError(t, err)
			return v
		}

		require.Equal(t, uint32(200), status(0))
		for n := 1; n < 100; n++ {
			require.Equal(t, uint32(200), status(n))
		}
		assert.Equal(t, uint32(401), status(0), "a replay after cache_size-1 newer deliveries")
		require.Equal(t, uint32(200), status(100))
		assert.Zero(t, evictions())
		assert.Equal(t, uint32(200), status(0), "accepted again after cache_size newer deliveries")
		assert.Equal(t, uint64(1), evictions())
		assert.Equal(t, uint32(401), status(0), "and remembered again")
	})
}

// TestReplayCacheNeverCreatedFailsClosed: a store in which the filter could
// not create its keys refuses deliveries with 503 rather than write a key
// it did not find. The store is injected, so this runs natively only.
func TestReplayCacheNeverCreatedFailsClosed(t *testing.T) {
	c := newClock()
	const body = `{"ping":true}`
	store := newEnvoyStore()
	store.hook = func(op, _ string) error { return failIf(op == "set", types.ErrorStatusBadArgument) }
	h := plugintest.Start(t, testFilter(c, nil, store), plugintest.Native, githubConfig, routeName("hooks"))
	require.Len(t, h.GetWarnLogs(), 1)
	assert.Contains(t, h.GetWarnLogs()[0], "cannot create replay cache key steadfast.webhookauth.replay.v2.157.accepted")
	store.hook = nil

	id, _ := send(h, signedGitHub(body), body, 0)

	require.NotNil(t, h.GetSentLocalResponse(id))
	assert.Equal(t, uint32(503), h.GetSentLocalResponse(id).StatusCode)
	assert.Empty(t, store.values)
}
