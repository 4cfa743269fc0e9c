package pipeline

import (
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Counter, Gauge and Histogram are the proxy's metric handles; stages use
// them through these names and never call the proxy themselves.
type (
	Counter   = proxywasm.MetricCounter
	Gauge     = proxywasm.MetricGauge
	Histogram = proxywasm.MetricHistogram
)

// Metrics defines a filter's metrics lazily, once per name and label set,
// and caches the handles per VM. Names are steadfast_<filter>_<name>; labels
// are encoded in the stat name as ".<label>.<value>" pairs and pulled back
// out by the stats_tags regexes in envoy/, so /stats/prometheus shows
// steadfast_faults_requests_total{route="api",kind="abort"}.
type Metrics struct {
	prefix     string
	counters   map[string]proxywasm.MetricCounter
	gauges     map[string]proxywasm.MetricGauge
	histograms map[string]proxywasm.MetricHistogram
}

// NewMetrics returns the metrics of filter.
func NewMetrics(filter string) *Metrics {
	return &Metrics{
		prefix:     "steadfast_" + filter + "_",
		counters:   map[string]proxywasm.MetricCounter{},
		gauges:     map[string]proxywasm.MetricGauge{},
		histograms: map[string]proxywasm.MetricHistogram{},
	}
}

// Counter returns the counter name{labels}, labels given as key, value pairs.
func (m *Metrics) Counter(name string, labels ...string) proxywasm.MetricCounter {
	full := m.StatName(name, labels...)
	c, ok := m.counters[full]
	if !ok {
		c = proxywasm.DefineCounterMetric(full)
		m.counters[full] = c
	}
	return c
}

// Gauge returns the gauge name{labels}, labels given as key, value pairs.
func (m *Metrics) Gauge(name string, labels ...string) proxywasm.MetricGauge {
	full := m.StatName(name, labels...)
	g, ok := m.gauges[full]
	if !ok {
		g = proxywasm.DefineGaugeMetric(full)
		m.gauges[full] = g
	}
	return g
}

// Histogram returns the histogram name{labels}, labels given as key, value
// pairs.
func (m *Metrics) Histogram(name string, labels ...string) proxywasm.MetricHistogram {
	full := m.StatName(name, labels...)
	h, ok := m.histograms[full]
	if !ok {
		h = proxywasm.DefineHistogramMetric(full)
		m.histograms[full] = h
	}
	return h
}

// SetGauge sets a gauge to v. A gauge's Add sums what each VM adds, which
// suits per-VM counts; a gauge that describes state shared by all workers
// is set from the shared value instead. The ABI's record_metric sets a
// gauge (Envoy's Context::recordMetric); the SDK offers it on histograms
// only.
func SetGauge(g proxywasm.MetricGauge, v uint64) { proxywasm.MetricHistogram(g).Record(v) }

// StatName is the Envoy stat name of a metric with labels.
func (m *Metrics) StatName(name string, labels ...string) string {
	var b strings.Builder
	b.WriteString(m.prefix)
	b.WriteString(name)
	for i := 0; i+1 < len(labels); i += 2 {
		b.WriteByte('.')
		b.WriteString(labels[i])
		b.WriteByte('.')
		b.WriteString(LabelValue(labels[i+1]))
	}
	return b.String()
}

// LabelValue makes s safe as a label value inside a stat name: characters
// other than letters, digits, '-' and '_' become '_' (so Istio's dotted
// route names keep one segment), and "" becomes "none".
func LabelValue(s string) string {
	if s == "" {
		return "none"
	}
	ok := true
	for i := 0; i < len(s); i++ {
		if !labelByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !labelByte(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
