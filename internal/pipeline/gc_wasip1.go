package pipeline

import (
	"os"
	"runtime/debug"
)

func init() {
	plan := planGC(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))
	if plan.percent != 0 {
		debug.SetGCPercent(plan.percent)
	}
	if plan.limit != 0 {
		debug.SetMemoryLimit(plan.limit)
	}
}
