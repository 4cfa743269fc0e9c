package webhookauth

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entry is a replay cache entry as the tests write it.
type entry struct {
	key     byte // the replay key is 16 copies of this byte
	expires time.Time
	seq     uint64
}

func k(b byte) [16]byte {
	var key [16]byte
	for i := range key {
		key[i] = b
	}
	return key
}

// shard encodes entries in the shard format: a version byte, then the
// 16-byte key, big-endian Unix nanoseconds and sequence number of each.
func shard(entries ...entry) []byte {
	out := []byte{shardVersion}
	for _, e := range entries {
		out = appendEntry(out, k(e.key), e.expires.UnixNano(), e.seq)
	}
	return out
}

// shardV1 encodes entries in the format of version 1: no sequence numbers.
func shardV1(entries ...entry) []byte {
	out := []byte{1}
	for _, e := range entries {
		key := k(e.key)
		out = binary.BigEndian.AppendUint64(append(out, key[:]...), uint64(e.expires.UnixNano()))
	}
	return out
}

// run is n entries of consecutive keys from key, all with one expiry and
// sequence number.
func run(key byte, n int, expires time.Time, seq uint64) []entry {
	out := make([]entry, n)
	for i := range out {
		out[i] = entry{key + byte(i), expires, seq}
	}
	return out
}

func TestCheckAndInsert(t *testing.T) {
	t0 := now
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type given struct {
		shard   []byte
		key     byte
		expires time.Time
		counted uint64
		size    int
	}
	type want struct {
		next    []byte
		replay  bool
		evicted int
	}
	tests := []struct {
		name  string
		given given
		want  want
	}{
		{"empty shard: key added under the next sequence number",
			given{nil, 1, at(300), 100, 10},
			want{shard(entry{1, at(300), 101}), false, 0}},
		{"key remembered: replay, nothing to write",
			given{shard(entry{2, at(100), 95}, entry{1, at(300), 99}), 1, at(400), 100, 10},
			want{nil, true, 0}},
		{"key remembered until the instant it expires",
			given{shard(entry{1, at(0), 100}), 1, at(300), 100, 10},
			want{nil, true, 0}},
		{"key remembered while fewer than cache_size were counted after it",
			given{shard(entry{1, at(300), 91}), 1, at(400), 100, 10},
			want{nil, true, 0}},
		{"key forgotten once cache_size were counted after it: accepted again, an eviction",
			given{shard(entry{1, at(300), 90}), 1, at(400), 100, 10},
			want{shard(entry{1, at(400), 101}), false, 1}},
		{"key expired: accepted again, not an eviction",
			given{shard(entry{1, at(-1), 99}, entry{2, at(100), 100}), 1, at(300), 100, 10},
			want{shard(entry{2, at(100), 100}, entry{1, at(300), 101}), false, 0}},
		{"entries forgotten by sequence dropped and counted",
			given{shard(entry{2, at(50), 85}, entry{3, at(50), 90}, entry{4, at(50), 91}), 1, at(300), 100, 10},
			want{shard(entry{4, at(50), 91}, entry{1, at(300), 101}), false, 2}},
		{"expired entries dropped, not counted",
			given{shard(entry{2, at(-5), 95}, entry{3, at(-1), 99}, entry{4, at(50), 100}), 1, at(300), 100, 10},
			want{shard(entry{4, at(50), 100}, entry{1, at(300), 101}), false, 0}},
		{"kept in order of sequence: a concurrent writer's later number stays after",
			given{shard(entry{2, at(500), 99}, entry{3, at(50), 102}), 1, at(300), 100, 10},
			want{shard(entry{2, at(500), 99}, entry{1, at(300), 101}, entry{3, at(50), 102}), false, 0}},
		{"a sequence number shared with a concurrent writer: the new entry goes after",
			given{shard(entry{2, at(100), 101}), 1, at(300), 100, 10},
			want{shard(entry{2, at(100), 101}, entry{1, at(300), 101}), false, 0}},
		{"beyond the bound: the oldest by sequence goes first, counted",
			given{shard(append(run(10, 64, at(100), 100), entry{2, at(100), 101})...), 1, at(300), 100, 1},
			want{shard(append(run(11, 63, at(100), 100), entry{2, at(100), 101}, entry{1, at(300), 101})...), false, 1}},
		{"beyond the bound: the new key is kept even when it is the oldest",
			given{shard(run(10, 65, at(100), 200)...), 1, at(300), 100, 1},
			want{shard(append([]entry{{1, at(300), 101}}, run(11, 64, at(100), 200)...)...), false, 1}},
		{"cache size below 1 counts as 1",
			given{shard(entry{2, at(100), 100}, entry{3, at(100), 99}), 1, at(300), 100, 0},
			want{shard(entry{2, at(100), 100}, entry{1, at(300), 101}), false, 1}},
		{"a counter behind the entries (it went back): they are remembered",
			given{shard(entry{1, at(300), 500}), 1, at(400), 3, 10},
			want{nil, true, 0}},
		{"a sequence number near 2^64 does not overflow",
			given{shard(entry{2, at(300), math.MaxUint64}), 1, at(400), math.MaxUint64 - 1, 10},
			want{shard(entry{2, at(300), math.MaxUint64}, entry{1, at(400), math.MaxUint64}), false, 0}},
		{"already expired: nothing to remember",
			given{shard(entry{2, at(100), 100}), 1, at(-1), 100, 10},
			want{nil, false, 0}},
		{"old version, without sequence numbers: read as empty",
			given{shardV1(entry{1, at(100), 0}, entry{2, at(100), 0}), 1, at(300), 100, 10},
			want{shard(entry{1, at(300), 101}), false, 0}},
		{"corrupted: unknown version, read as empty",
			given{append([]byte{9}, shard(entry{1, at(100), 100})[1:]...), 1, at(300), 100, 10},
			want{shard(entry{1, at(300), 101}), false, 0}},
		{"corrupted: truncated entry, read as empty",
			given{shard(entry{1, at(100), 100}, entry{2, at(100), 100})[:50], 1, at(300), 100, 10},
			want{shard(entry{1, at(300), 101}), false, 0}},
		{"corrupted: garbage, read as empty",
			given{[]byte("not a shard"), 1, at(300), 100, 10},
			want{shard(entry{1, at(300), 101}), false, 0}},
		{"unsorted but well-formed: sorted again",
			given{shard(entry{3, at(500), 100}, entry{2, at(100), 98}), 1, at(300), 100, 10},
			want{shard(entry{2, at(100), 98}, entry{3, at(500), 100}, entry{1, at(300), 101}), false, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, replay, evicted := CheckAndInsert(nil, tt.given.shard, Insertion{
				Key: k(tt.given.key), Expires: tt.given.expires, Now: t0, Counted: tt.given.counted, CacheSize: tt.given.size,
			})
			assert.Equal(t, tt.want, want{next, replay, evicted})
		})
	}
}

func TestCheckAndInsertDoesNotModifyItsInput(t *testing.T) {
	given := shard(entry{2, now.Add(time.Second), 1}, entry{3, now.Add(time.Minute), 2})
	before := append([]byte(nil), given...)

	CheckAndInsert(nil, given, Insertion{Key: k(1), Expires: now.Add(time.Hour), Now: now, Counted: 2, CacheSize: 1})

	assert.Equal(t, before, given)
}

func TestCheckAndInsertWritesIntoDst(t *testing.T) {
	given := shard(run(10, 63, now.Add(time.Hour), 5)...)
	in := Insertion{Key: k(1), Expires: now.Add(time.Hour), Now: now, Counted: 9, CacheSize: 100}
	dst := make([]byte, 0, len(given)+entrySize)

	allocs := testing.AllocsPerRun(10, func() { CheckAndInsert(dst, given, in) })

	assert.Zero(t, allocs)
	next, _, _ := CheckAndInsert(dst, given, in)
	assert.Same(t, &dst[:1][0], &next[0])
}

// TestReplayCacheWithVerify runs deliveries through Verify and a shard,
// as the glue does.
func TestReplayCacheWithVerify(t *testing.T) {
	c := parseConfig(t, `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, map[string]string{"A": "a"})
	first := stripeRequest("a", nowTS, "{}")
	redelivery := stripeRequest("a", "1700000060", "{}")
	var s []byte
	var counted uint64
	accept := func(r request, at time.Time) Reason {
		v := c.Verify(r.delivery(), at)
		if !v.OK() {
			return v.Reason
		}
		next, replay, _ := CheckAndInsert(nil, s, Insertion{Key: v.ReplayKey, Expires: v.Expires, Now: at, Counted: counted, CacheSize: 100})
		if replay {
			return ReasonReplay
		}
		s = next
		counted++
		return ReasonNone
	}

	assert.Equal(t, ReasonNone, accept(first, now))
	assert.Equal(t, ReasonReplay, accept(first, now.Add(time.Second)))
	assert.Equal(t, ReasonNone, accept(redelivery, now.Add(70*time.Second)), "Stripe's retry is signed afresh")
	assert.Equal(t, ReasonReplay, accept(first, now.Add(DefaultTolerance)), "remembered up to the end of the tolerance")
	assert.Equal(t, ReasonStale, accept(first, now.Add(DefaultTolerance+time.Second)), "after which it is stale")
}

func TestShardOf(t *testing.T) {
	counts := make([]int, DefaultShards)
	for i := range 64 * 1000 {
		var key [16]byte
		binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
		s := ShardOf(key, DefaultShards)
		require.GreaterOrEqual(t, s, 0)
		require.Less(t, s, DefaultShards)
		counts[s]++
	}
	for shard, n := range counts {
		assert.InDelta(t, 1000, n, 200, "shard %d", shard)
	}
	assert.Equal(t, 0, ShardOf(k(0xff), 1))
	assert.Equal(t, 0, ShardOf(k(0xff), 0))
}

func TestShardBound(t *testing.T) {
	tests := []struct {
		name      string
		cacheSize int
		want      int
	}{
		{"every remembered delivery fits in one shard, with slack", DefaultReplayCacheSize, DefaultReplayCacheSize + shardSlack},
		{"the smallest cache", MinReplayCacheSize, MinReplayCacheSize + shardSlack},
		{"a size below 1 counts as 1", 0, 1 + shardSlack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ShardBound(tt.cacheSize))
		})
	}
}

func TestAcceptanceCount(t *testing.T) {
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 1, 2}, encodeCount(nil, 258))
	assert.Equal(t, uint64(258), decodeCount(encodeCount(nil, 258)))
	assert.Equal(t, uint64(0), decodeCount([]byte{1, 2, 3}), "a value that does not decode reads as 0: remember longer")
	assert.Equal(t, uint64(0), decodeCount(nil))
	assert.Equal(t, uint64(0), decodeCount(encodeCount(nil, 1<<63)), "nor does one no counter reaches")
	assert.Equal(t, uint64(1<<63-1), decodeCount(encodeCount(nil, 1<<63-1)))
}
