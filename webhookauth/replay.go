package webhookauth

import (
	"encoding/binary"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// The replay cache remembers the ReplayKey of every accepted delivery until
// cache_size newer deliveries have been accepted or its Expires has passed,
// whichever comes first. The glue keeps it in proxy-wasm shared data: one
// counter of accepted deliveries, the acceptance sequence, and shards, so
// that one request reads and writes one small value. This file is the pure
// part: which shard a key lives in, which entries a shard still remembers,
// and one shard's next value.
//
// Every entry carries the sequence number it was accepted under: one more
// than the counter its writer read. An entry is remembered while it is
// unexpired and its sequence number is above counted − cache_size, counted
// being the counter as whoever looks at it read it. So a delivery is
// forgotten for the deliveries accepted after it, whichever shards they went
// to, and not because its own shard filled up. An entry no longer
// remembered stays in its shard until the shard is next rewritten (lazy
// eviction); dropped unexpired, it counts as an eviction.
//
// A shard is one version byte (shardVersion) and then entries of entrySize
// bytes: the 16-byte key, its expiry as big-endian Unix nanoseconds and its
// sequence number, big-endian, in order of sequence number.

// DefaultShards is the fewest shared-data values the cache is split into.
const DefaultShards = 64

const (
	// shardVersion 1 had no sequence numbers; its shards read as empty.
	shardVersion = 2
	entrySize    = 16 + 8 + 8
	// shardSlack is how many entries a shard holds beyond cache_size, for
	// deliveries accepted concurrently (they may share a sequence number)
	// and for those a failed counter increment keeps longer.
	shardSlack = 64
)

// ShardOf returns the shard, from 0 to shards-1, that holds key.
func ShardOf(key [16]byte, shards int) int {
	if shards <= 1 {
		return 0
	}
	return int(binary.BigEndian.Uint64(key[:8]) % uint64(shards))
}

// ShardBound is the most entries one shard of a cache of cacheSize holds.
// Keys are spread evenly over the shards, but the guarantee must hold
// however they fall, so one shard can take every remembered delivery; the
// bound is only there so that memory stays bounded whatever happens to the
// counter. Past it the entries with the lowest sequence numbers go first.
func ShardBound(cacheSize int) int { return max(1, cacheSize) + shardSlack }

// Insertion is an accepted delivery to remember, and what decides which
// entries of its shard are still remembered.
type Insertion struct {
	Key [16]byte
	// Expires is the last instant the delivery is remembered: the last
	// instant Verify accepts it.
	Expires time.Time
	Now     time.Time
	// Counted is the acceptance counter as read before the shard: the
	// delivery's sequence number is Counted+1.
	Counted uint64
	// CacheSize is how many newer deliveries an entry outlives (at least 1).
	CacheSize int
}

// remembers says whether an unexpired entry of sequence number seq is
// still remembered: fewer than CacheSize deliveries were counted after the
// counter value it read, seq−1. Entries from a counter that went back (or
// from a corrupted shard) are ahead of Counted and remembered.
func (in Insertion) remembers(seq uint64) bool {
	return seq > in.Counted || in.Counted-seq < uint64(max(1, in.CacheSize))
}

// CheckAndInsert looks in.Key up in shard. When a remembered entry has it,
// the delivery is a replay: replay is true and next nil. Else next is the
// shard, appended to dst[:0], with in.Key added under sequence number
// in.Counted+1 and without the entries no longer remembered. evicted is how
// many of those were dropped unexpired: by sequence, or beyond ShardBound,
// oldest first (never in.Key itself, which would let its replay through).
// next is nil, and nothing need be written, when in.Expires is before
// in.Now.
//
// Shard bytes that do not decode, and shards of an older version, are
// treated as empty: a corrupted cache forgets what it held (fails open for
// replays) rather than refusing every delivery. dst must not overlap shard.
func CheckAndInsert(dst, shard []byte, in Insertion) (next []byte, replay bool, evicted int) {
	nowNS, expNS, seq := in.Now.UnixNano(), in.Expires.UnixNano(), in.Counted+1
	stored := shardEntries(shard)
	kept, at, sorted, last := 0, -1, true, uint64(0)
	for i := 0; i < len(stored); i += entrySize {
		e := stored[i : i+entrySize]
		s := entrySeq(e)
		if entryExpiry(e) < nowNS || !in.remembers(s) {
			continue
		}
		if [16]byte(e[:16]) == in.Key {
			return nil, true, 0
		}
		sorted = sorted && s >= last
		last = s
		if at < 0 && s > seq {
			at = kept
		}
		kept++
	}
	if expNS < nowNS {
		return nil, false, 0
	}
	if !sorted { // not written by this function: order it once
		return CheckAndInsert(dst, sortShard(stored), in)
	}
	if at < 0 {
		at = kept
	}
	// Past the bound, drop the remembered entries with the lowest sequence
	// numbers, but never in.Key: when its place is among them it goes first
	// instead.
	drop := max(0, kept+1-ShardBound(in.CacheSize))
	insert := max(at, drop)
	size := 1 + (kept+1-drop)*entrySize
	if cap(dst) < size {
		dst = make([]byte, 0, size)
	}
	next = append(dst[:0], shardVersion)
	j := 0
	for i := 0; i < len(stored); i += entrySize {
		e := stored[i : i+entrySize]
		switch {
		case entryExpiry(e) < nowNS:
			continue
		case !in.remembers(entrySeq(e)):
			evicted++
			continue
		}
		if j == insert {
			next = appendEntry(next, in.Key, expNS, seq)
		}
		if j >= drop {
			next = append(next, e...)
		} else {
			evicted++
		}
		j++
	}
	if insert == kept {
		next = appendEntry(next, in.Key, expNS, seq)
	}
	return next, false, evicted
}

func entryExpiry(e []byte) int64 { return int64(binary.BigEndian.Uint64(e[16:24])) }
func entrySeq(e []byte) uint64   { return binary.BigEndian.Uint64(e[24:entrySize]) }

func appendEntry(b []byte, key [16]byte, expires int64, seq uint64) []byte {
	b = append(b, key[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires))
	return binary.BigEndian.AppendUint64(b, seq)
}

// sortShard encodes the entries of stored in order of sequence number.
func sortShard(stored []byte) []byte {
	entries := make([][]byte, 0, len(stored)/entrySize)
	for i := 0; i < len(stored); i += entrySize {
		entries = append(entries, stored[i:i+entrySize])
	}
	pipeline.SortStable(entries, func(a, b []byte) bool { return entrySeq(a) < entrySeq(b) })
	out := make([]byte, 1, 1+len(stored))
	out[0] = shardVersion
	for _, e := range entries {
		out = append(out, e...)
	}
	return out
}

// shardEntries returns the entry bytes of an encoded shard, or nil when it
// is empty, of another version or does not decode.
func shardEntries(shard []byte) []byte {
	if len(shard) == 0 || shard[0] != shardVersion || (len(shard)-1)%entrySize != 0 {
		return nil
	}
	return shard[1:]
}

// encodeCount and decodeCount are the acceptance counter's value: eight
// bytes, big-endian. A value that does not decode, or that no counter
// reaches (2^63 and above, where a sequence number could wrap around),
// reads as 0, which keeps every entry longer, never shorter.
func encodeCount(dst []byte, n uint64) []byte { return binary.BigEndian.AppendUint64(dst[:0], n) }

func decodeCount(b []byte) uint64 {
	if len(b) != 8 || b[0] >= 0x80 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
