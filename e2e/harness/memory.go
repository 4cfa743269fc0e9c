package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// wasmReservation is the smallest address range V8 reserves for one Wasm
// memory: a 32-bit memory gets 8 GiB and guard pages, so that bounds checks
// can be left to the MMU.
const wasmReservation = 4 << 30

// WasmMemory returns the size in bytes of each Wasm VM's linear memory in
// Envoy (V8), read from /proc/<pid>/maps: V8 reserves a large inaccessible
// range for every Wasm memory and makes its first pages readable and
// writable as the memory grows, so each linear memory is a read-write
// anonymous mapping directly followed by the rest of its reservation. A
// Wasm memory never shrinks, so this is the most each VM ever needed.
// Envoy runs one VM per worker plus a few of its own (the base VM and the
// main thread's), in no particular order. Linux only.
func (e *Envoy) WasmMemory() []uint64 {
	e.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", e.PID()))
	if err != nil {
		e.t.Fatalf("Wasm memory: %v", err)
	}
	sizes, err := wasmMemories(string(b))
	if err != nil {
		e.t.Fatalf("Wasm memory: %v", err)
	}
	return sizes
}

// mapping is one line of /proc/<pid>/maps.
type mapping struct {
	start, end uint64
	perms      string
	anonymous  bool
}

// wasmMemories finds the linear memories in the text of /proc/<pid>/maps.
func wasmMemories(maps string) ([]uint64, error) {
	var out []uint64
	var prev mapping
	for line := range strings.Lines(maps) {
		m, err := parseMapping(line)
		if err != nil {
			return nil, err
		}
		if prev.perms == "rw-p" && prev.anonymous && prev.end == m.start &&
			m.perms == "---p" && m.anonymous && m.end-m.start >= wasmReservation {
			out = append(out, prev.end-prev.start)
		}
		prev = m
	}
	return out, nil
}

func parseMapping(line string) (mapping, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("unexpected maps line %q", line)
	}
	from, to, ok := strings.Cut(f[0], "-")
	start, err1 := strconv.ParseUint(from, 16, 64)
	end, err2 := strconv.ParseUint(to, 16, 64)
	if !ok || err1 != nil || err2 != nil {
		return mapping{}, fmt.Errorf("unexpected address range in %q", line)
	}
	return mapping{start: start, end: end, perms: f[1], anonymous: f[4] == "0" && len(f) == 5}, nil
}
