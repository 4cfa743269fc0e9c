package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWasmMemories(t *testing.T) {
	const maps = `55d0c1a00000-55d0c1c00000 r--p 00000000 103:02 1234 /usr/bin/envoy
7f5675d00000-7f56765c0000 rw-p 00000000 00:00 0 
7f56765c0000-7f5875d00000 ---p 00000000 00:00 0 
7f5875d00000-7f5876180000 rw-p 00000000 00:00 0 
7f5876180000-7f5a75d00000 ---p 00000000 00:00 0 
7f5a80000000-7f5a80021000 rw-p 00000000 00:00 0 
7f5a80021000-7f5a84000000 ---p 00000000 00:00 0 
7f5b00000000-7f5b00100000 rw-p 00000000 103:02 99 /tmp/shared
7f5b00100000-7f5d00100000 ---p 00000000 00:00 0 
`
	got, err := wasmMemories(maps)

	require.NoError(t, err)
	// The small reservation (a thread arena) and the file mapping are no
	// Wasm memories.
	assert.Equal(t, []uint64{0x8c0000, 0x480000}, got)
}

func TestWasmMemoriesRefusesGarbage(t *testing.T) {
	_, err := wasmMemories("not a maps line\n")

	assert.EqualError(t, err, `unexpected maps line "not a maps line\n"`)
}
