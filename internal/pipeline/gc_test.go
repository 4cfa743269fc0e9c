package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanGC(t *testing.T) {
	tests := []struct {
		name             string
		gogc, gomemlimit string
		want             gcPlan
	}{
		{name: "nothing set: the module's target", want: gcPlan{percent: DefaultGCPercent}},
		{name: "a memory limit alone keeps the module's target", gomemlimit: "32MiB", want: gcPlan{percent: DefaultGCPercent}},
		{name: "GOGC set: the operator's", gogc: "100", want: gcPlan{}},
		{name: "GOGC off: bounded by the module's limit", gogc: "off", want: gcPlan{limit: OffMemoryLimit}},
		{name: "GOGC off with a limit: the operator's", gogc: "off", gomemlimit: "32MiB", want: gcPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, planGC(tt.gogc, tt.gomemlimit))
		})
	}
}
