package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCachedBuildsOnceAndStaysBounded(t *testing.T) {
	var m map[string]int
	builds := 0
	get := func(key string) int {
		return Cached(&m, key, 2, func() int { builds++; return len(key) })
	}
	assert.Equal(t, 1, get("a"))
	assert.Equal(t, 1, get("a"))
	assert.Equal(t, 2, get("bb"))
	assert.Equal(t, 2, builds, "each key built once")
	assert.Equal(t, 3, get("ccc"))
	assert.Len(t, m, 1, "at the limit the map starts afresh")
	assert.Equal(t, 1, get("a"))
	assert.Equal(t, 4, builds, "a dropped entry is built again")
}
