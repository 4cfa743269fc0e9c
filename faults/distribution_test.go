package faults

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// almostOne is the largest float64 below 1, the top of a random source.
var almostOne = math.Nextafter(1, 0)

func TestDistributionSample(t *testing.T) {
	const ms = time.Millisecond
	fixed := `{"fixed": "200ms"}`
	uniform := `{"uniform": {"min": "100ms", "max": "500ms"}}`
	point := `{"uniform": {"min": "100ms", "max": "100ms"}}`
	lognormal := `{"lognormal": {"median": "100ms", "p99": "1s"}}`
	clamped := `{"lognormal": {"median": "100ms", "p99": "1s", "max": "2s"}}`
	flat := `{"lognormal": {"median": "100ms", "p99": "100ms"}}`
	tests := []struct {
		name  string
		delay string
		given float64
		want  time.Duration
	}{
		{name: "fixed at 0", delay: fixed, given: 0, want: 200 * ms},
		{name: "fixed near 1", delay: fixed, given: almostOne, want: 200 * ms},
		{name: "uniform at 0 is min", delay: uniform, given: 0, want: 100 * ms},
		{name: "uniform at 0.25", delay: uniform, given: 0.25, want: 200 * ms},
		{name: "uniform at 0.5", delay: uniform, given: 0.5, want: 300 * ms},
		{name: "uniform near 1 stays below max", delay: uniform, given: almostOne, want: 500*ms - 1},
		{name: "uniform with min equal to max", delay: point, given: 0.7, want: 100 * ms},
		{name: "lognormal at 0 is zero", delay: lognormal, given: 0, want: 0},
		{name: "lognormal at 0.5 is the median", delay: lognormal, given: 0.5, want: 100 * ms},
		{name: "lognormal near 1 is clamped to 10 times p99", delay: lognormal, given: almostOne, want: 10 * time.Second},
		{name: "lognormal clamped to its max", delay: clamped, given: 0.999, want: 2 * time.Second},
		{name: "lognormal near 1 clamped to its max", delay: clamped, given: almostOne, want: 2 * time.Second},
		{name: "lognormal with p99 equal to median is constant", delay: flat, given: 0, want: 100 * ms},
		{name: "below 0 counts as 0", delay: uniform, given: -1, want: 100 * ms},
		{name: "1 counts as just below 1", delay: lognormal, given: 1, want: 10 * time.Second},
		{name: "NaN counts as 0", delay: uniform, given: math.NaN(), want: 100 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDelay(t, tt.delay)
			assert.Equal(t, tt.want, d.sample(tt.given))
		})
	}
}

func TestLogNormalPercentiles(t *testing.T) {
	d := parseDelay(t, `{"lognormal": {"median": "100ms", "p99": "1s"}}`)
	assert.InDelta(t, float64(time.Second), float64(d.sample(0.99)), float64(time.Microsecond), "p99")
	assert.InDelta(t, float64(10*time.Millisecond), float64(d.sample(0.01)), float64(time.Microsecond), "p1 mirrors p99")
}

func TestLogNormalDefaultMaxIsCutToMaxDelay(t *testing.T) {
	d := parseDelay(t, `{"lognormal": {"median": "10m", "p99": "30m"}}`)
	assert.Equal(t, MaxDelay, d.sample(almostOne), "10 × p99 would be 5h")

	d = parseDelay(t, `{"lognormal": {"median": "1m", "p99": "1h", "max": "1h"}}`)
	assert.Equal(t, MaxDelay, d.sample(almostOne), "the longest a configuration can ask for")
}

func parseDelay(t *testing.T, dist string) distribution {
	t.Helper()
	c := parseDefault(t, `{"delay": `+dist[:len(dist)-1]+`, "percentage": 100}}`)
	require.NotNil(t, c.req.delay)
	return *c.req.delay
}
