package pipeline

import "strings"

// Counter, Gauge and Histogram are the proxy's metric handles. In a module
// they call the proxy-wasm ABI directly rather than through the SDK, whose
// metric calls panic with fmt on a failed call: a metric is never worth a
// failed request, and fmt is 110 KB of Wasm code. A failed call is ignored.
type (
	Counter   uint32
	Gauge     uint32
	Histogram uint32
)

// The ABI's metric types.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// Increment adds offset to the counter.
func (c Counter) Increment(offset uint64) { incrementMetric(uint32(c), int64(offset)) }

// Value reads the counter.
func (c Counter) Value() uint64 { return metricValue(uint32(c)) }

// Add adds offset to the gauge.
func (g Gauge) Add(offset int64) { incrementMetric(uint32(g), offset) }

// Value reads the gauge.
func (g Gauge) Value() int64 { return int64(metricValue(uint32(g))) }

// Record records a value in the histogram.
func (h Histogram) Record(v uint64) { recordMetric(uint32(h), v) }

// Value reads the histogram.
func (h Histogram) Value() uint64 { return metricValue(uint32(h)) }

// Metrics defines a filter's metrics lazily, once per name and label set,
// and caches the handles per VM. Names are steadfast_<filter>_<name>; labels
// are encoded in the stat name as ".<label>.<value>" pairs and pulled back
// out by the stats_tags regexes in envoy/, so /stats/prometheus shows
// steadfast_faults_requests_total{route="api",kind="abort"}.
type Metrics struct {
	prefix     string
	counters   map[string]Counter
	gauges     map[string]Gauge
	histograms map[string]Histogram
}

// NewMetrics returns the metrics of filter.
func NewMetrics(filter string) *Metrics {
	return &Metrics{
		prefix:     "steadfast_" + filter + "_",
		counters:   map[string]Counter{},
		gauges:     map[string]Gauge{},
		histograms: map[string]Histogram{},
	}
}

// Counter returns the counter name{labels}, labels given as key, value pairs.
func (m *Metrics) Counter(name string, labels ...string) Counter {
	full := m.StatName(name, labels...)
	c, ok := m.counters[full]
	if !ok {
		c = Counter(defineMetric(metricCounter, full))
		m.counters[full] = c
	}
	return c
}

// Gauge returns the gauge name{labels}, labels given as key, value pairs.
func (m *Metrics) Gauge(name string, labels ...string) Gauge {
	full := m.StatName(name, labels...)
	g, ok := m.gauges[full]
	if !ok {
		g = Gauge(defineMetric(metricGauge, full))
		m.gauges[full] = g
	}
	return g
}

// Histogram returns the histogram name{labels}, labels given as key, value
// pairs.
func (m *Metrics) Histogram(name string, labels ...string) Histogram {
	full := m.StatName(name, labels...)
	h, ok := m.histograms[full]
	if !ok {
		h = Histogram(defineMetric(metricHistogram, full))
		m.histograms[full] = h
	}
	return h
}

// SetGauge sets a gauge to v. A gauge's Add sums what each VM adds, which
// suits per-VM counts; a gauge that describes state shared by all workers
// is set from the shared value instead. The ABI's record_metric sets a
// gauge (Envoy's Context::recordMetric); the SDK offers it on histograms
// only.
func SetGauge(g Gauge, v uint64) { recordMetric(uint32(g), v) }

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
