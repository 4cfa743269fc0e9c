package pipeline

// DefaultGCPercent is the Go GC target of every steadfast module: the heap
// may grow by 25% of what the last collection kept before the next one
// starts, not the runtime's 100%. A filter's live heap is small and its
// garbage is per request, so this keeps each VM's linear memory (one per
// Envoy worker, and a Wasm memory never shrinks) lower at no measurable
// CPU cost per request (README, "Memory"). GOGC in the VM's environment
// (vm_config.environment_variables) overrides it.
const DefaultGCPercent = 25

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
