//go:build wasip1

package pipeline

import (
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// The proxy-wasm ABI's metric calls (0.2.1), imported directly.

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(kind uint32, name *byte, nameSize int32, id *uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func proxyGetMetric(id uint32, value *uint64) uint32

// noMetric is the handle of a metric the proxy refused to define: an id
// it never hands out (its type bits name no metric type), so calls on it
// fail, and are ignored, rather than count into another metric.
const noMetric = ^uint32(0)

func defineMetric(kind uint32, name string) uint32 {
	var id uint32
	if st := proxyDefineMetric(kind, unsafe.StringData(name), int32(len(name)), &id); st != 0 {
		logf(proxywasm.LogWarn, "steadfast: cannot define the metric %s (status %d)", name, st)
		return noMetric
	}
	return id
}

func incrementMetric(id uint32, offset int64) { proxyIncrementMetric(id, offset) }

func recordMetric(id uint32, value uint64) { proxyRecordMetric(id, value) }

func metricValue(id uint32) uint64 {
	var v uint64
	proxyGetMetric(id, &v)
	return v
}
