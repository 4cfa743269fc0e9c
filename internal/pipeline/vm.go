package pipeline

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

// Filter is a filter as a module registers it.
type Filter struct {
	// Name is the filter's root_id and its section in the suite's
	// configuration.
	Name string
	// New builds the filter's stage from its configuration (Envoy's
	// "configuration", Istio's pluginConfig). Errors name the JSON path of
	// the offending value; env is the plugin's clock, randomness,
	// environment, shared data and timers.
	New func(env *Env, config []byte) (Stage, error)
}

// Order is the order of the stages in a chain, whatever the order of
// registration or configuration: verification first, then faults, then
// the breaker, and retry closest to the upstream.
var Order = []string{"webhookauth", "faults", "breaker", "retry"}

// SuiteRootID is the root_id of the chain of every filter a module holds.
const SuiteRootID = "suite"

// roots maps a root_id to the filters of its chain.
var roots = map[string][]Filter{}

// Register serves f under its own root_id, as a chain of one stage.
func Register(f Filter) {
	roots[f.Name] = []Filter{f}
	proxywasm.SetVMContext(&vm{})
}

// RegisterSuite serves every filter given, each under its own root_id, and
// all of them in one chain under SuiteRootID, configured by sections:
// {"webhookauth": {...}, "faults": {...}}.
func RegisterSuite(filters ...Filter) {
	for _, f := range filters {
		Register(f)
	}
	roots[SuiteRootID] = orderFilters(filters)
}

// orderFilters returns filters in the chain's Order.
func orderFilters(filters []Filter) []Filter {
	out := slices.Clone(filters)
	SortShort(out, func(a, b Filter) bool { return orderOf(a.Name) < orderOf(b.Name) })
	return out
}

func orderOf(name string) int {
	if i := slices.Index(Order, name); i >= 0 {
		return i
	}
	return len(Order)
}

// logf formats a message without package fmt (the SDK's Log*f use it).
func logf(log func(string), format string, args ...any) { log(strfmt.Sprintf(format, args...)) }

// RootIDs lists the root_ids this module serves.
func RootIDs() []string {
	out := make([]string, 0, len(roots))
	for id := range roots {
		out = append(out, id)
	}
	SortStrings(out)
	return out
}

// NewVMContext returns the module's VM context, for tests that run the
// filters natively under the SDK's emulator.
func NewVMContext() types.VMContext { return &vm{} }

// vm is the module's VM context: each plugin picks its chain by root_id
// when it starts.
type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(contextID uint32) types.PluginContext { return &starter{} }

// starter defers the choice of chain to OnPluginStart, where the
// plugin_root_id property is readable.
type starter struct {
	types.DefaultPluginContext
	p *Plugin
}

// Env is what a stage gets from the plugin that runs it.
type Env struct {
	// Now is the clock.
	Now func() time.Time
	// Rand returns uniform values in [0, 1).
	Rand func() float64
	// LookupEnv reads the VM's environment (vm_config.environment_variables).
	LookupEnv func(name string) (string, bool)
	// Shared is the proxy-wasm shared data of the plugin's vm_id.
	Shared SharedStore
	// Log is the plugin's log.
	Log Logger
	// Metrics defines the filter's metrics.
	Metrics *Metrics
	// SetTickPeriod arms the plugin's tick timer, which every deadline of
	// the plugin shares (0 turns it off); the proxy's by default. Tests
	// replace it to see a stage through a proxy that refuses timers.
	SetTickPeriod func(ms uint32) error
	// Queues are the proxy's shared queues, for Broadcast; nil runs
	// every plugin alone.
	Queues QueueHost

	timers *Timers
	// queueReady routes the proxy's news of a queue to its reader.
	queueReady func(id uint32, drain func())
}

// Every runs fn every period in the plugin's context (not a stream's),
// for state shared by streams: window rotation, budget refill.
func (e *Env) Every(period time.Duration, fn func()) error { return e.timers.Every(period, fn) }

// EnvHook, when set, adjusts the Env of every plugin before its stages are
// built; tests use it to inject a clock, a random source or an
// environment.
var EnvHook func(rootID string, env *Env)

func (st *starter) OnPluginStart(int) types.OnPluginStartStatus {
	rootID := ""
	if b, err := proxywasm.GetProperty([]string{"plugin_root_id"}); err == nil {
		rootID = string(b)
	}
	filters, ok := roots[rootID]
	if !ok && rootID == "" && len(roots) == 1 {
		for _, fs := range roots {
			filters, ok = fs, true
		}
	}
	if !ok {
		logf(proxywasm.LogCritical, "steadfast: this module has no filter with root_id %q; it serves: %s",
			rootID, strings.Join(RootIDs(), ", "))
		return types.OnPluginStartStatusFailed
	}
	config, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		logf(proxywasm.LogCritical, "steadfast %s: cannot read the plugin configuration: %v", rootID, err)
		return types.OnPluginStartStatusFailed
	}
	env := &Env{Now: time.Now, Rand: rand.Float64, LookupEnv: os.LookupEnv, Shared: HostShared, Log: proxyLog{},
		SetTickPeriod: proxywasm.SetTickPeriodMilliSeconds, Queues: HostQueues}
	if EnvHook != nil {
		EnvHook(rootID, env)
	}
	p := newPlugin(proxyHost{}, env.Log, env.Now, nil)
	p.timers.setTick = env.SetTickPeriod
	env.timers = p.timers
	env.queueReady = p.onQueue
	stages, err := buildStages(rootID, filters, env, config)
	if err != nil {
		logf(proxywasm.LogCritical, "steadfast %s: invalid configuration: %v", rootID, err)
		return types.OnPluginStartStatusFailed
	}
	p.stages = stages
	st.p = p
	names := make([]string, len(stages))
	failures := make([]Counter, len(stages))
	for i, s := range stages {
		names[i] = s.Name()
		failures[i] = NewMetrics(s.Name()).Counter("stage_failures_total")
	}
	p.countFailure = func(i int) { failures[i].Increment(1) }
	logf(proxywasm.LogInfo, "steadfast %s: started; stages: %s", rootID, strings.Join(names, ", "))
	return types.OnPluginStartStatusOK
}

// buildStages makes the chain's stages from the configuration: the
// filter's own for a single filter, one section per filter for the suite.
func buildStages(rootID string, filters []Filter, env *Env, config []byte) ([]Stage, error) {
	if rootID != SuiteRootID {
		f := filters[0]
		env.Metrics = NewMetrics(f.Name)
		s, err := f.New(env, config)
		if err != nil {
			return nil, err
		}
		return []Stage{s}, nil
	}
	sections, err := ParseJSON(config)
	if err != nil {
		return nil, err
	}
	if sections.Kind() != Object {
		return nil, &FieldError{Msg: "the suite's configuration must be an object with a section per filter"}
	}
	names := make([]string, len(filters))
	for i, f := range filters {
		names[i] = f.Name
	}
	for _, key := range sections.Keys() {
		if !slices.Contains(names, key) {
			return nil, Errorf(key, "unknown section: the suite has %s", strings.Join(names, ", "))
		}
	}
	var stages []Stage
	for _, f := range filters {
		section, ok := sections.Get(f.Name)
		if !ok || section.IsNull() {
			continue
		}
		fenv := *env
		fenv.Metrics = NewMetrics(f.Name)
		s, err := f.New(&fenv, section.AppendJSON(nil))
		if err != nil {
			return nil, prefixError(f.Name, err)
		}
		stages = append(stages, s)
	}
	if len(stages) == 0 {
		return nil, &FieldError{Msg: "configure at least one section: " + strings.Join(names, ", ")}
	}
	return stages, nil
}

func (st *starter) OnTick() {
	if st.p != nil {
		st.p.OnTick()
	}
}

func (st *starter) OnQueueReady(id uint32) {
	if st.p != nil {
		st.p.OnQueueReady(id)
	}
}

func (st *starter) NewHttpContext(contextID uint32) types.HttpContext {
	if st.p == nil {
		return &types.DefaultHttpContext{}
	}
	return st.p.NewHttpContext(contextID)
}
