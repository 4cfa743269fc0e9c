package webhookauth

import (
	"errors"
	"strconv"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// Replay cache layout in shared data: an acceptance counter and shards.
// Every accepted delivery copies its shard out of the host, rewrites it and
// copies it back, so shards stay small: with keys spread evenly, about
// maxShardEntries entries of 32 bytes (2 KiB). Smaller shards cost less per
// request (measured under wazero, 64 entries instead of 256 take 14% off
// the 1 KiB request path); more of them only cost shared-data keys, created
// once at plugin start. The shard count is part of the key names, so
// configurations with different counts never share a shard, and so is the
// format version, so a module of another version running beside this one
// (during an upgrade) keeps a cache of its own.
//
// How long a delivery D is remembered. D reads the counter (c), writes its
// shard with sequence number c+1 unless its key is remembered there (a
// replay), then adds one to the counter. Whoever later reads the counter as
// n forgets D when n ≥ c+1+cache_size. The increments after D's read are
// D's own, those of deliveries accepted after D, and those of deliveries
// accepted before D but counted only after D read the counter: the ones in
// flight between their shard write and their increment. So D stays
// remembered (until it expires) while fewer than cache_size − k deliveries
// accepted after it have been counted, k being that number of older
// deliveries in flight on other workers. A worker handles one delivery at a
// time, so k is at most one per other worker (more only if D's worker
// thread stalls between reading the counter and writing the shard for as
// long as another worker takes to accept a whole delivery); with one worker,
// or deliveries that do not overlap in time, k = 0 and D is remembered for
// exactly cache_size newer deliveries. Only an accepted delivery moves the
// counter: a replay, a refused or an already expired delivery does not, so
// replays cannot push a delivery out. Every failure errs towards
// remembering longer: an increment that fails leaves the counter lower, and
// a counter value that does not decode reads as 0.
const (
	replayKeyPrefix = "steadfast.webhookauth.replay.v2."
	maxShardEntries = 64
	// replayEvictionsMetric counts entries dropped unexpired: by sequence
	// (cache_size newer deliveries) or beyond ShardBound.
	replayEvictionsMetric = "replay_evictions_total"
	// createCAS is the compare-and-swap value create writes an absent key
	// with. Envoy writes a key that does not exist whatever the value, and
	// one that exists only when the value matches (or is 0, "write
	// unconditionally"); its values count every write in the process up
	// from 1. So a key another worker created between create's read and
	// write is left alone, unless its version happens to be this one.
	createCAS = 0x7fff_fff1
)

// errNoCAS: the store handed out a key without a compare-and-swap value,
// and writing back with 0 would write unconditionally.
var errNoCAS = errors.New("webhookauth: shared data without a compare-and-swap value")

// replayCache is the replay cache of the configurations whose shard count
// it has, in shared data where every worker VM sees it. One exists per
// plugin context, in one VM: it is never used by two threads at once.
type replayCache struct {
	shards int
	// size is cache_size: the largest of the configurations sharing it,
	// whose guarantee the smaller ones get too.
	size       int
	keys       []string // the shared-data key of each shard, built once
	counterKey string
	evictions  pipeline.Counter // defined in create
	log        pipeline.Logger
	// buf and count hold the values written: the host copies them, so
	// they are reused and the request path does not allocate for them.
	buf   []byte
	count []byte
}

// replayShards is the shard count for a cache of cacheSize deliveries: at
// least DefaultShards, and enough that with keys spread evenly no shard
// holds more than maxShardEntries.
func replayShards(cacheSize int) int {
	return max(DefaultShards, (cacheSize+maxShardEntries-1)/maxShardEntries)
}

// replayCaches maps every configuration with replay protection to its
// cache. Configurations with the same shard count share one cache, which
// remembers as many deliveries as the largest of them asks for: every
// route writing to a shard evicts from it, so a smaller size would shrink
// the others' protection.
func replayCaches(routes *pipeline.Routes[Config]) map[*Config]*replayCache {
	out := map[*Config]*replayCache{}
	byShards := map[int]*replayCache{}
	_ = routes.Each(func(c *Config) error {
		s := c.Settings()
		if !s.Replay {
			return nil
		}
		n := replayShards(s.ReplayCacheSize)
		rc, ok := byShards[n]
		if !ok {
			rc = newReplayCache(n)
			byShards[n] = rc
		}
		rc.size = max(rc.size, s.ReplayCacheSize)
		out[c] = rc
		return nil
	})
	return out
}

// newReplayCache returns the cache of that many shards, with its keys.
func newReplayCache(shards int) *replayCache {
	prefix := replayKeyPrefix + strconv.Itoa(shards) + "."
	rc := &replayCache{shards: shards, keys: make([]string, shards), counterKey: prefix + "accepted"}
	for i := range rc.keys {
		rc.keys[i] = prefix + strconv.Itoa(i)
	}
	return rc
}

// create defines the evictions counter (Envoy hands every VM defining the
// same name the same counter) and stores an empty shard, and a zero
// counter, under every key that has none yet. Envoy treats a
// compare-and-swap value of 0, which is what a read of an absent key
// returns, as "write unconditionally": two workers writing into the same
// absent key at once would overwrite each other, and a replay sent to both
// could pass. So the request path never writes a key it did not find, and
// only this does, with createCAS.
func (rc *replayCache) create(env *pipeline.Env) {
	rc.evictions = env.Metrics.Counter(replayEvictionsMetric)
	rc.log = env.Log
	if key, err := rc.createKeys(env.Shared); err != nil {
		rc.log.Warnf("steadfast %s: cannot create replay cache key %s: %v; deliveries whose shard is missing are refused with 503", RootID, key, err)
	}
}

// createKeys is create's shared-data part: it returns the key it failed on.
func (rc *replayCache) createKeys(store pipeline.SharedStore) (string, error) {
	empty, zero := []byte{shardVersion}, encodeCount(nil, 0)
	for i := -1; i < len(rc.keys); i++ {
		key, value := rc.counterKey, zero
		if i >= 0 {
			key, value = rc.keys[i], empty
		}
		_, _, err := store.Get(key)
		if !errors.Is(err, pipeline.ErrNotFound) {
			continue // there already, or unreadable: never overwritten
		}
		if err := store.Set(key, value, createCAS); err != nil && !errors.Is(err, pipeline.ErrCASMismatch) {
			return key, err
		}
	}
	return "", nil
}

// checkAndInsert records an accepted delivery, or reports it as a replay.
// A store that fails or stays contended refuses the delivery.
func (rc *replayCache) checkAndInsert(store pipeline.SharedStore, replayKey [16]byte, expires, now time.Time) Reason {
	reason, evicted, err := rc.insert(store, replayKey, expires, now)
	if evicted > 0 {
		rc.evictions.Increment(uint64(evicted))
	}
	switch {
	case err == nil:
	case reason == ReasonNone:
		rc.log.Warnf("steadfast %s: replay cache counter %s: %v; the delivery is accepted and older ones are remembered longer", RootID, rc.counterKey, err)
	default:
		rc.log.Warnf("steadfast %s: replay cache: %v; the delivery is refused with 503", RootID, err)
	}
	return reason
}

// insert is checkAndInsert without the host's log and metrics: the reason,
// how many entries it evicted, and what went wrong. With ReasonNone, err
// is a counter increment that failed after the delivery was remembered.
func (rc *replayCache) insert(store pipeline.SharedStore, replayKey [16]byte, expires, now time.Time) (Reason, int, error) {
	key := rc.keys[ShardOf(replayKey, rc.shards)]
	for range pipeline.DefaultCASAttempts {
		cur, cas, err := readCAS(store, key)
		if err != nil {
			return ReasonReplayCheckUnavailable, 0, err
		}
		// Read after the shard, so that as little as possible happens
		// between this read and the shard's write: see k above.
		value, counterCAS, err := readCAS(store, rc.counterKey)
		if err != nil {
			return ReasonReplayCheckUnavailable, 0, err
		}
		counted := decodeCount(value)
		next, replay, evicted := CheckAndInsert(rc.buf, cur, Insertion{
			Key: replayKey, Expires: expires, Now: now, Counted: counted, CacheSize: rc.size,
		})
		switch {
		case replay:
			return ReasonReplay, 0, nil
		case next == nil: // expired already: nothing to remember
			return ReasonNone, 0, nil
		}
		rc.buf = next
		err = store.Set(key, next, cas)
		if err == nil {
			return ReasonNone, evicted, rc.increment(store, counted, counterCAS)
		}
		if !errors.Is(err, pipeline.ErrCASMismatch) {
			return ReasonReplayCheckUnavailable, 0, keyError{key, err}
		}
	}
	return ReasonReplayCheckUnavailable, 0, keyError{key, pipeline.ErrContention}
}

// increment adds one to the counter, first against the value insert read
// (usually still current: no second read), then against fresh reads.
func (rc *replayCache) increment(store pipeline.SharedStore, counted uint64, cas uint32) error {
	for range pipeline.DefaultCASAttempts {
		rc.count = encodeCount(rc.count, counted+1)
		err := store.Set(rc.counterKey, rc.count, cas)
		if !errors.Is(err, pipeline.ErrCASMismatch) {
			return err
		}
		var value []byte
		if value, cas, err = readCAS(store, rc.counterKey); err != nil {
			return err
		}
		counted = decodeCount(value)
	}
	return pipeline.ErrContention
}

// readCAS reads key for a compare-and-swap: a key that is absent, or that
// comes without a compare-and-swap value, is an error (see create).
func readCAS(store pipeline.SharedStore, key string) ([]byte, uint32, error) {
	value, cas, err := store.Get(key)
	switch {
	case err != nil:
		return nil, 0, keyError{key, err}
	case cas == 0:
		return nil, 0, keyError{key, errNoCAS}
	}
	return value, cas, nil
}

// keyError names the shared-data key an error happened on.
type keyError struct {
	key string
	err error
}

func (e keyError) Error() string { return "shared data " + e.key + ": " + e.err.Error() }
func (e keyError) Unwrap() error { return e.err }
