package webhookauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplayShards(t *testing.T) {
	tests := []struct {
		cacheSize, shards, capacity int
	}{
		{MinReplayCacheSize, DefaultShards, 1},
		{4096, DefaultShards, 64},
		{DefaultReplayCacheSize, 157, 63},
		{MaxReplayCacheSize, 15625, 64},
	}
	for _, tt := range tests {
		n := replayShards(tt.cacheSize)
		assert.Equal(t, [2]int{tt.shards, tt.capacity}, [2]int{n, ShardCapacity(tt.cacheSize, n)}, "cache_size %d", tt.cacheSize)
	}
}

func TestRoutesSharingShardsKeepTheLargestCapacity(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"value": "s"}], "replay": {"cache_size": 100},
		"routes": [{"name": "big", "replay": {"cache_size": 4000}}, {"name": "huge", "replay": {"cache_size": 100000}},
		{"name": "off", "replay": {"enabled": false}}]}`))
	require.NoError(t, err)
	caches := replayCaches(routes)
	small, big, huge := caches[routes.Resolve("x")], caches[routes.Resolve("big")], caches[routes.Resolve("huge")]
	assert.Same(t, small, big)
	assert.Equal(t, 62, small.capacity)
	assert.Equal(t, "steadfast.webhookauth.replay.64.63", small.keys[63])
	assert.Equal(t, 1563, huge.shards)
	assert.Nil(t, caches[routes.Resolve("off")])
}
