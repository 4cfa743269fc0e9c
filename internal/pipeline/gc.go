package pipeline

// DefaultGCPercent is the Go GC target of every steadfast module: the heap
// may grow by half of what the last collection kept before the next one
// starts, not the runtime's 100%. Each Envoy worker has a VM of its own,
// and a Wasm memory never shrinks, so the heap's headroom is paid once per
// VM. 50 keeps each worker's linear memory lower without a per-request CPU
// cost the paired measurement resolves; 25 saves a little more memory but
// costs several µs per request in more frequent collections (README,
// "Memory"). GOGC in the VM's environment (vm_config.environment_variables)
// overrides it.
const DefaultGCPercent = 50

// OffMemoryLimit bounds the Go heap of a VM whose environment turns the GC
// target off (GOGC=off) without a GOMEMLIMIT: with neither, the heap and
// the linear memory would grow without bound.
const OffMemoryLimit = 64 << 20

// gcPlan is what a module changes in the Go runtime's GC settings when it
// starts (gc_wasip1.go; native processes such as tests keep theirs); a zero
// field leaves the runtime's, which it read from the VM's
// environment.
type gcPlan struct {
	percent int
	limit   int64
}

// planGC decides the GC settings from the VM's GOGC and GOMEMLIMIT.
func planGC(gogc, gomemlimit string) gcPlan {
	switch {
	case gogc == "":
		return gcPlan{percent: DefaultGCPercent}
	case gogc == "off" && gomemlimit == "":
		return gcPlan{limit: OffMemoryLimit}
	}
	return gcPlan{}
}
