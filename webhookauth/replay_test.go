package webhookauth

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entry is a replay cache entry as the tests write it.
type entry struct {
	key     byte // the replay key is 16 copies of this byte
	expires time.Time
}

func k(b byte) [16]byte {
	var key [16]byte
	for i := range key {
		key[i] = b
	}
	return key
}

// shard encodes entries in the shard format: a version byte, then the
// 16-byte key and big-endian Unix nanoseconds of each entry.
func shard(entries ...entry) []byte {
	out := []byte{shardVersion}
	for _, e := range entries {
		key := k(e.key)
		out = append(out, key[:]...)
		out = binary.BigEndian.AppendUint64(out, uint64(e.expires.UnixNano()))
	}
	return out
}

func TestCheckAndInsert(t *testing.T) {
	t0 := now
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type given struct {
		shard    []byte
		key      byte
		expires  time.Time
		capacity int
	}
	type want struct {
		next   []byte
		replay bool
	}
	tests := []struct {
		name  string
		given given
		want  want
	}{
		{"empty shard: key added",
			given{nil, 1, at(300), 10},
			want{shard(entry{1, at(300)}), false}},
		{"key present: replay, nothing to write",
			given{shard(entry{2, at(100)}, entry{1, at(300)}), 1, at(400), 10},
			want{nil, true}},
		{"key present until the instant it expires",
			given{shard(entry{1, at(0)}), 1, at(300), 10},
			want{nil, true}},
		{"key present but expired: accepted again",
			given{shard(entry{1, at(-1)}, entry{2, at(100)}), 1, at(300), 10},
			want{shard(entry{2, at(100)}, entry{1, at(300)}), false}},
		{"expired entries dropped",
			given{shard(entry{2, at(-5)}, entry{3, at(-1)}, entry{4, at(50)}), 1, at(300), 10},
			want{shard(entry{4, at(50)}, entry{1, at(300)}), false}},
		{"entries kept in order of expiry",
			given{shard(entry{2, at(100)}, entry{3, at(500)}), 1, at(300), 10},
			want{shard(entry{2, at(100)}, entry{1, at(300)}, entry{3, at(500)}), false}},
		{"at capacity: the entry expiring soonest is evicted",
			given{shard(entry{2, at(100)}, entry{3, at(200)}, entry{4, at(400)}), 1, at(300), 3},
			want{shard(entry{3, at(200)}, entry{1, at(300)}, entry{4, at(400)}), false}},
		{"at capacity: the new key is kept even when it expires soonest",
			given{shard(entry{2, at(100)}, entry{3, at(200)}, entry{4, at(400)}), 1, at(50), 3},
			want{shard(entry{1, at(50)}, entry{3, at(200)}, entry{4, at(400)}), false}},
		{"over capacity (cache shrunk): evicted down to capacity",
			given{shard(entry{2, at(100)}, entry{3, at(200)}, entry{4, at(400)}, entry{5, at(500)}), 1, at(300), 2},
			want{shard(entry{1, at(300)}, entry{5, at(500)}), false}},
		{"capacity below 1 counts as 1",
			given{shard(entry{2, at(100)}), 1, at(300), 0},
			want{shard(entry{1, at(300)}), false}},
		{"already expired: nothing to remember",
			given{shard(entry{2, at(100)}), 1, at(-1), 10},
			want{nil, false}},
		{"corrupted: unknown version, read as empty",
			given{append([]byte{9}, shard(entry{1, at(100)})[1:]...), 1, at(300), 10},
			want{shard(entry{1, at(300)}), false}},
		{"corrupted: truncated entry, read as empty",
			given{shard(entry{1, at(100)}, entry{2, at(100)})[:40], 1, at(300), 10},
			want{shard(entry{1, at(300)}), false}},
		{"corrupted: garbage, read as empty",
			given{[]byte("not a shard"), 1, at(300), 10},
			want{shard(entry{1, at(300)}), false}},
		{"unsorted but well-formed: sorted again",
			given{shard(entry{3, at(500)}, entry{2, at(100)}), 1, at(300), 10},
			want{shard(entry{2, at(100)}, entry{1, at(300)}, entry{3, at(500)}), false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, replay := CheckAndInsert(tt.given.shard, k(tt.given.key), tt.given.expires, t0, tt.given.capacity)
			assert.Equal(t, tt.want, want{next, replay})
		})
	}
}

func TestCheckAndInsertDoesNotModifyItsInput(t *testing.T) {
	given := shard(entry{2, now.Add(time.Second)}, entry{3, now.Add(time.Minute)})
	before := append([]byte(nil), given...)

	CheckAndInsert(given, k(1), now.Add(time.Hour), now, 2)

	assert.Equal(t, before, given)
}

// TestReplayCacheWithVerify runs deliveries through Verify and a shard,
// as the glue does.
func TestReplayCacheWithVerify(t *testing.T) {
	c := parseConfig(t, `{"scheme": "stripe", "secrets": [{"env": "A"}]}`, map[string]string{"A": "a"})
	first := stripeRequest("a", nowTS, "{}")
	redelivery := stripeRequest("a", "1700000060", "{}")
	var s []byte
	accept := func(r request, at time.Time) Reason {
		v := c.Verify(r.delivery(), at)
		if !v.OK() {
			return v.Reason
		}
		next, replay := CheckAndInsert(s, v.ReplayKey, v.Expires, at, 10)
		if replay {
			return ReasonReplay
		}
		s = next
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

func TestShardCapacity(t *testing.T) {
	tests := []struct {
		name         string
		size, shards int
		wantPerShard int
	}{
		{"default", DefaultReplayCacheSize, DefaultShards, 156},
		{"small cache, at least one", 10, DefaultShards, 1},
		{"no shards count as one", 500, 0, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantPerShard, ShardCapacity(tt.size, tt.shards))
		})
	}
}
