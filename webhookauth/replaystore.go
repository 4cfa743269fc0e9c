package webhookauth

import (
	"errors"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/steadfast-proxy/steadfast/plugins"
)

// Replay cache layout in shared data. Every accepted delivery copies its
// shard out of the host, rewrites it and copies it back, so a shard stays
// small: at most maxShardEntries entries of 24 bytes (1.5 KiB). Smaller
// shards cost less per request (measured under wazero, 64 entries instead
// of 256 take 14% off the 1 KiB request path); more of them only cost
// shared-data keys, created once at plugin start. The shard count is part
// of the key, so configurations with different counts never share a shard.
const (
	replayKeyPrefix = "steadfast.webhookauth.replay."
	maxShardEntries = 64
)

// errReplay ends a replay-cache update that found the key.
var errReplay = errors.New("webhookauth: replay")

// replayCache is the replay cache of the configurations whose shard count
// it has, in shared data where every worker VM sees it.
type replayCache struct {
	shards   int
	capacity int      // entries per shard
	keys     []string // the shared-data key of each shard, built once
}

// replayShards is the shard count for a cache of cacheSize deliveries: at
// least DefaultShards, and enough that no shard holds more than
// maxShardEntries.
func replayShards(cacheSize int) int {
	return max(DefaultShards, (cacheSize+maxShardEntries-1)/maxShardEntries)
}

// replayCaches maps every configuration with replay protection to its
// cache. Configurations with the same shard count share one cache whose
// shards hold as much as the largest of them asks for: a shard is evicted
// by every route writing to it, so a smaller capacity would shrink the
// others' protection.
func replayCaches(routes *plugins.Routes[Config]) map[*Config]*replayCache {
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
			rc = &replayCache{shards: n, keys: make([]string, n)}
			prefix := replayKeyPrefix + strconv.Itoa(n) + "."
			for i := range rc.keys {
				rc.keys[i] = prefix + strconv.Itoa(i)
			}
			byShards[n] = rc
		}
		rc.capacity = max(rc.capacity, ShardCapacity(s.ReplayCacheSize, n))
		out[c] = rc
		return nil
	})
	return out
}

// create stores an empty shard under every key that has none yet. Envoy
// treats a compare-and-swap value of 0, which is what a read of an absent
// key returns, as "write unconditionally": two workers inserting into the
// same absent shard at once would overwrite each other, and a replay sent
// to both could pass. A shard that exists has a non-zero version.
func (rc *replayCache) create(store plugins.SharedStore) {
	for _, key := range rc.keys {
		_, _, err := store.Get(key)
		if !errors.Is(err, types.ErrorStatusNotFound) {
			continue
		}
		if err := store.Set(key, []byte{shardVersion}, 0); err != nil {
			proxywasm.LogWarnf("steadfast %s: cannot create replay cache shard %s: %v", RootID, key, err)
			return
		}
	}
}

// checkAndInsert records an accepted delivery in its shard, or reports it
// as a replay. A store that fails or stays contended refuses the delivery.
func (rc *replayCache) checkAndInsert(store plugins.SharedStore, replayKey [16]byte, expires, now time.Time) Reason {
	key := rc.keys[ShardOf(replayKey, rc.shards)]
	err := plugins.Update(store, key, func(cur []byte) ([]byte, error) {
		next, replay := CheckAndInsert(cur, replayKey, expires, now, rc.capacity)
		switch {
		case replay:
			return nil, errReplay
		case next == nil:
			return nil, plugins.ErrUnchanged
		}
		return next, nil
	})
	switch {
	case err == nil:
		return ReasonNone
	case errors.Is(err, errReplay):
		return ReasonReplay
	}
	proxywasm.LogWarnf("steadfast %s: replay cache shard %s: %v; the delivery is refused with 503", RootID, key, err)
	return ReasonReplayCheckUnavailable
}
