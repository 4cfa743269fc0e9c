//go:build !wasip1

package pipeline

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// Outside a module (native tests under the SDK's emulator) metrics go
// through the SDK.

func defineMetric(kind uint32, name string) uint32 {
	switch kind {
	case metricCounter:
		return uint32(proxywasm.DefineCounterMetric(name))
	case metricGauge:
		return uint32(proxywasm.DefineGaugeMetric(name))
	default:
		return uint32(proxywasm.DefineHistogramMetric(name))
	}
}

func incrementMetric(id uint32, offset int64) {
	proxywasm.MetricGauge(id).Add(offset)
}

func recordMetric(id uint32, value uint64) { proxywasm.MetricHistogram(id).Record(value) }

func metricValue(id uint32) uint64 { return proxywasm.MetricCounter(id).Value() }
