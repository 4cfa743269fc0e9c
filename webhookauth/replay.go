package webhookauth

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"time"
)

// The replay cache remembers the ReplayKey of every accepted delivery until
// its Expires. The glue keeps it in proxy-wasm shared data, split into
// shards so that one request reads and writes one small value, updated
// with compare-and-swap. This file is the pure part: which shard a key
// lives in, and one shard's next value.
//
// A shard is one version byte (shardVersion) and then entries of
// entrySize bytes: the 16-byte key and its expiry as big-endian Unix
// nanoseconds, in order of expiry.

// DefaultShards is how many shared-data values the cache is split into.
const DefaultShards = 64

const (
	shardVersion = 1
	entrySize    = 16 + 8
)

// ShardOf returns the shard, from 0 to shards-1, that holds key.
func ShardOf(key [16]byte, shards int) int {
	if shards <= 1 {
		return 0
	}
	return int(binary.BigEndian.Uint64(key[:8]) % uint64(shards))
}

// ShardCapacity is how many entries each of shards shards holds so that
// the cache as a whole holds cacheSize: at least 1.
func ShardCapacity(cacheSize, shards int) int {
	if shards < 1 {
		shards = 1
	}
	return max(1, cacheSize/shards)
}

// CheckAndInsert looks key up in shard at time now. When it is there and
// unexpired (now is not after its expiry, the last instant Verify accepts
// its timestamp) the delivery is a replay: replay is true and next nil.
// Else next is the shard without its expired entries and with key added
// until expires; past capacity, the entries that expire soonest are evicted
// (never key itself, which would let its replay through). next is nil, and
// nothing need be written, when expires is before now.
//
// Shard bytes that do not decode are treated as an empty shard: a corrupted
// cache forgets what it held (fails open for replays) rather than refusing
// every delivery.
func CheckAndInsert(shard []byte, key [16]byte, expires, now time.Time, capacity int) (next []byte, replay bool) {
	capacity = max(1, capacity)
	nowNS, expNS := now.UnixNano(), expires.UnixNano()
	stored := shardEntries(shard)
	live, at, sorted, last := 0, -1, true, int64(math.MinInt64)
	for i := 0; i < len(stored); i += entrySize {
		e := stored[i : i+entrySize]
		exp := entryExpiry(e)
		if exp < nowNS {
			continue
		}
		if [16]byte(e[:16]) == key {
			return nil, true
		}
		sorted = sorted && exp >= last
		last = exp
		if at < 0 && exp > expNS {
			at = live
		}
		live++
	}
	if expNS < nowNS {
		return nil, false
	}
	if !sorted { // not written by this function: order it once
		return CheckAndInsert(sortShard(stored), key, expires, now, capacity)
	}
	if at < 0 {
		at = live
	}
	// Evict the drop live entries that expire soonest, but never key: when
	// its place is among them it goes first instead.
	drop := max(0, live+1-capacity)
	insert := max(at, drop)
	next = make([]byte, 1, 1+(live+1-drop)*entrySize)
	next[0] = shardVersion
	j := 0
	for i := 0; i < len(stored); i += entrySize {
		e := stored[i : i+entrySize]
		if entryExpiry(e) < nowNS {
			continue
		}
		if j == insert {
			next = appendEntry(next, key, expNS)
		}
		if j >= drop {
			next = append(next, e...)
		}
		j++
	}
	if insert == live {
		next = appendEntry(next, key, expNS)
	}
	return next, false
}

func entryExpiry(e []byte) int64 { return int64(binary.BigEndian.Uint64(e[16:entrySize])) }

func appendEntry(b []byte, key [16]byte, expires int64) []byte {
	b = append(b, key[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(expires))
}

// sortShard encodes the entries of stored in order of expiry.
func sortShard(stored []byte) []byte {
	entries := make([][]byte, 0, len(stored)/entrySize)
	for i := 0; i < len(stored); i += entrySize {
		entries = append(entries, stored[i:i+entrySize])
	}
	slices.SortStableFunc(entries, func(a, b []byte) int { return cmp.Compare(entryExpiry(a), entryExpiry(b)) })
	out := make([]byte, 1, 1+len(stored))
	out[0] = shardVersion
	for _, e := range entries {
		out = append(out, e...)
	}
	return out
}

// shardEntries returns the entry bytes of an encoded shard, or nil when it
// is empty or does not decode.
func shardEntries(shard []byte) []byte {
	if len(shard) == 0 || shard[0] != shardVersion || (len(shard)-1)%entrySize != 0 {
		return nil
	}
	return shard[1:]
}
