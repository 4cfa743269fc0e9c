package plugins

import (
	"sort"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// registry maps a root_id to the factory of its filter's plugin context.
var registry = map[string]types.PluginContextFactory{}

// Register makes a filter available under rootID and installs the VM
// context that dispatches to it. Entry points call it from init().
func Register(rootID string, factory types.PluginContextFactory) {
	registry[rootID] = factory
	proxywasm.SetVMContext(&VM{})
}

// Registered lists the root_ids this module serves.
func Registered() []string {
	out := make([]string, 0, len(registry))
	for id := range registry {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// VM is the module's VM context: every plugin (root context) it creates
// picks its filter by the plugin's root_id when the plugin starts.
type VM struct{ types.DefaultVMContext }

// NewPluginContext implements types.VMContext.
func (VM) NewPluginContext(contextID uint32) types.PluginContext {
	return &dispatcher{id: contextID}
}

// dispatcher defers the choice of filter to OnPluginStart, where the
// plugin_root_id property is readable.
type dispatcher struct {
	id    uint32
	inner types.PluginContext
}

var _ types.PluginContext = (*dispatcher)(nil)

func (d *dispatcher) OnPluginStart(size int) types.OnPluginStartStatus {
	rootID := ""
	if b, err := proxywasm.GetProperty([]string{"plugin_root_id"}); err == nil {
		rootID = string(b)
	}
	factory, ok := registry[rootID]
	if !ok && rootID == "" && len(registry) == 1 {
		for _, f := range registry {
			factory, ok = f, true
		}
	}
	if !ok {
		proxywasm.LogCriticalf("steadfast: this module has no filter with root_id %q; it serves: %s",
			rootID, strings.Join(Registered(), ", "))
		return types.OnPluginStartStatusFailed
	}
	d.inner = factory(d.id)
	return d.inner.OnPluginStart(size)
}

func (d *dispatcher) OnPluginDone() bool {
	if d.inner == nil {
		return true
	}
	return d.inner.OnPluginDone()
}

func (d *dispatcher) OnQueueReady(queueID uint32) {
	if d.inner != nil {
		d.inner.OnQueueReady(queueID)
	}
}

func (d *dispatcher) OnTick() {
	if d.inner != nil {
		d.inner.OnTick()
	}
}

func (d *dispatcher) NewTcpContext(uint32) types.TcpContext { return nil }

func (d *dispatcher) NewHttpContext(contextID uint32) types.HttpContext {
	if d.inner == nil {
		return &types.DefaultHttpContext{}
	}
	return d.inner.NewHttpContext(contextID)
}

// LoadRoutes reads the plugin configuration for OnPluginStart: it parses
// it with parse, then prepares every enabled route's configuration with
// prepare (secrets from the environment, say). On failure it logs one
// critical line naming the filter and the field, for the caller to fail
// the plugin start, which makes Envoy reject the configuration.
func LoadRoutes[C any](filter string, parse func([]byte) (*Routes[C], error), prepare func(*C) error) (*Routes[C], bool) {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("steadfast %s: cannot read the plugin configuration: %v", filter, err)
		return nil, false
	}
	routes, err := parse(data)
	if err == nil {
		err = routes.Each(prepare)
	}
	if err != nil {
		proxywasm.LogCriticalf("steadfast %s: invalid configuration: %v", filter, err)
		return nil, false
	}
	return routes, true
}

// NewHostScheduler returns a Scheduler on the plugin context's tick timer:
// the plugin forwards OnTick to its Tick.
func NewHostScheduler(now func() time.Time) *Scheduler {
	return NewScheduler(now, proxywasm.SetTickPeriodMilliSeconds, proxywasm.SetEffectiveContext)
}

// RouteName returns the Envoy route name of the current stream (the
// xds.route_name property), or "" when the route has none.
func RouteName() string {
	b, err := proxywasm.GetProperty([]string{"xds", "route_name"})
	if err != nil {
		return ""
	}
	return string(b)
}
