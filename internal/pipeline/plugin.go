package pipeline

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Plugin is one chain of stages in one worker VM: a proxy-wasm plugin
// context whose streams run every stage in one pass.
type Plugin struct {
	types.DefaultPluginContext
	host   Host
	stages []Stage
	timers *Timers
	now    func() time.Time
	log    Logger
	// countFailure counts a failure of stage i (steadfast_<filter>_stage_failures_total).
	countFailure func(i int)
	// queues are the readers of the plugin's shared queues, by queue id.
	queues map[uint32]func()
}

// newPlugin returns a plugin running stages, in order, on host.
func newPlugin(host Host, log Logger, now func() time.Time, stages []Stage) *Plugin {
	p := &Plugin{host: host, stages: stages, now: now, log: log, countFailure: func(int) {}}
	p.timers = NewTimers(now, host.SetTickPeriod, host.SetEffectiveContext)
	return p
}

// OnTick runs the due deadlines of the plugin's streams and jobs.
func (p *Plugin) OnTick() { p.timers.Tick() }

// OnQueueReady drains the plugin's queue id.
func (p *Plugin) OnQueueReady(id uint32) {
	if drain, ok := p.queues[id]; ok {
		drain()
	}
}

// onQueue makes drain the reader of the plugin's queue id.
func (p *Plugin) onQueue(id uint32, drain func()) {
	if p.queues == nil {
		p.queues = map[uint32]func(){}
	}
	p.queues[id] = drain
}

// NewHttpContext starts a stream through the chain.
func (p *Plugin) NewHttpContext(contextID uint32) types.HttpContext {
	return (*httpContext)(newStream(p, contextID))
}

// Logger is where the chain and the stages log.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	Criticalf(format string, args ...any)
}

// proxyLog logs through the proxy.
type proxyLog struct{}

func (proxyLog) Debugf(format string, args ...any)    { logf(proxywasm.LogDebug, format, args...) }
func (proxyLog) Infof(format string, args ...any)     { logf(proxywasm.LogInfo, format, args...) }
func (proxyLog) Warnf(format string, args ...any)     { logf(proxywasm.LogWarn, format, args...) }
func (proxyLog) Errorf(format string, args ...any)    { logf(proxywasm.LogError, format, args...) }
func (proxyLog) Criticalf(format string, args ...any) { logf(proxywasm.LogCritical, format, args...) }
