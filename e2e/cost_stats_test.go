package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// threadsCPU is the CPU time process pid has had so far: the sum over its
// threads of the first field of /proc/<pid>/task/<tid>/schedstat, in
// nanoseconds. Unlike utime and stime, which advance in 10 ms ticks, it
// resolves a batch of a few thousand requests. A thread that exits takes
// its time with it; Envoy's threads live as long as Envoy.
func threadsCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread ended after ReadDir
		}
		if err != nil {
			return 0, err
		}
		onCPU, _, _ := strings.Cut(string(b), " ")
		ns, err := strconv.ParseInt(onCPU, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %q: %w", dir, task.Name(), b, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// estimate is a mean and its standard error (sample standard deviation
// over √n).
type estimate struct{ mean, se float64 }

func (e estimate) String() string { return fmt.Sprintf("%+.1f ± %.1f", e.mean, e.se) }

func estimateOf(xs []float64) estimate {
	n := float64(len(xs))
	if n == 0 {
		return estimate{mean: math.NaN(), se: math.NaN()}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / n
	if n < 2 {
		return estimate{mean: mean, se: math.NaN()}
	}
	var squares float64
	for _, x := range xs {
		squares += (x - mean) * (x - mean)
	}
	return estimate{mean: mean, se: math.Sqrt(squares/(n-1)) / math.Sqrt(n)}
}

// pairedDifference estimates the mean of x[i] - y[i], where x[i] and y[i]
// were measured in the same round: what the two have in common in a round
// (the machine's load at that moment) cancels out.
func pairedDifference(x, y []float64) estimate {
	d := make([]float64, len(x))
	for i := range x {
		d[i] = x[i] - y[i]
	}
	return estimateOf(d)
}

func TestPairedDifference(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		want estimate
	}{
		{
			name: "a constant difference has no error, however much the rounds move",
			x:    []float64{57, 49, 63},
			y:    []float64{50, 42, 56},
			want: estimate{mean: 7, se: 0},
		},
		{
			name: "differences 1 to 4",
			x:    []float64{11, 22, 33, 44},
			y:    []float64{10, 20, 30, 40},
			want: estimate{mean: 2.5, se: math.Sqrt(5.0/3) / 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pairedDifference(tt.x, tt.y)
			assert.InDelta(t, tt.want.mean, got.mean, 1e-9)
			assert.InDelta(t, tt.want.se, got.se, 1e-9)
		})
	}
}

func TestEstimateOfOneRoundHasNoError(t *testing.T) {
	got := estimateOf([]float64{3})
	assert.Equal(t, 3.0, got.mean)
	assert.True(t, math.IsNaN(got.se))
}

// TestThreadsCPUCountsThisProcess burns CPU in this process until
// getrusage says 30 ms went by, and expects schedstat to have seen them.
func TestThreadsCPUCountsThisProcess(t *testing.T) {
	rusage := func() time.Duration {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := threadsCPU(os.Getpid())
	require.NoError(t, err)
	start := rusage()
	for rusage()-start < 30*time.Millisecond {
	}
	after, err := threadsCPU(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after-before, 25*time.Millisecond)
}

func TestWithSection(t *testing.T) {
	const section = "## Cost\n\nnew\n"
	tests := []struct {
		name, doc, want string
	}{
		{name: "into nothing", doc: "", want: section},
		{name: "appended", doc: "# Bench\n\ntable\n", want: "# Bench\n\ntable\n\n" + section},
		{name: "replaces the last section", doc: "# Bench\n\n## Cost\n\nold\n", want: "# Bench\n\n" + section},
		{
			name: "replaces a section in the middle",
			doc:  "# Bench\n\n## Cost\n\nold\nolder\n\n## Every run\n\nrows\n",
			want: "# Bench\n\n" + section + "\n## Every run\n\nrows\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, withSection(tt.doc, section))
		})
	}
}
