package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatName(t *testing.T) {
	m := NewMetrics("faults")
	assert.Equal(t, "steadfast_faults_requests_total", m.StatName("requests_total"))
	assert.Equal(t, "steadfast_faults_aborts_injected_total.route.reviews_v1-match.kind.request",
		m.StatName("aborts_injected_total", "route", "reviews.v1-match", "kind", "request"))
	assert.Equal(t, "steadfast_faults_requests_total.route.none", m.StatName("requests_total", "route", ""))
}

func TestLabelValue(t *testing.T) {
	for given, want := range map[string]string{
		"api":          "api",
		"api-v1_x":     "api-v1_x",
		"vs.match":     "vs_match",
		"a b/c{d}":     "a_b_c_d_",
		"":             "none",
		"ünïcode":      "__n__code",
		"route.with.2": "route_with_2",
	} {
		assert.Equal(t, want, LabelValue(given), given)
	}
}
