package istio

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	extensionservice "github.com/envoyproxy/go-control-plane/envoy/service/extension/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// ecdsNode is the node ID of the Envoy the tests start (the harness's).
const ecdsNode = "steadfast-e2e"

// xdsCluster is the cluster through which Envoy reaches the control plane.
const xdsCluster = "xds"

// controlPlane serves extension configs to Envoy through ECDS, the way
// istiod serves a WasmPlugin, and records what Envoy acknowledges and
// rejects.
type controlPlane struct {
	addr  string
	cache cache.SnapshotCache

	mu      sync.Mutex
	version int
	acked   string   // last version Envoy accepted
	nacks   []string // error details of the rejected versions, in order
	events  []string // every request Envoy sent: version and error
	changed chan struct{}
}

func startControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	cp := &controlPlane{cache: cache.NewSnapshotCache(false, cache.IDHash{}, nil), changed: make(chan struct{}, 1)}
	srv := server.NewServer(context.Background(), cp.cache, server.CallbackFuncs{
		StreamRequestFunc: func(_ int64, req *discovery.DiscoveryRequest) error {
			cp.mu.Lock()
			defer cp.mu.Unlock()
			cp.events = append(cp.events, fmt.Sprintf("version %q nonce %q error %q", req.GetVersionInfo(), req.GetResponseNonce(), req.GetErrorDetail().GetMessage()))
			if req.GetErrorDetail() != nil {
				cp.nacks = append(cp.nacks, req.GetErrorDetail().GetMessage())
			} else if req.GetVersionInfo() != "" {
				cp.acked = req.GetVersionInfo()
			}
			select {
			case cp.changed <- struct{}{}:
			default:
			}
			return nil
		},
	})
	g := grpc.NewServer()
	extensionservice.RegisterExtensionConfigDiscoveryServiceServer(g, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cp.addr = lis.Addr().String()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return cp
}

// set serves configs (by name) as the next version and returns it.
func (cp *controlPlane) set(t *testing.T, configs ...*core.TypedExtensionConfig) string {
	t.Helper()
	cp.mu.Lock()
	cp.version++
	v := strconv.Itoa(cp.version)
	cp.mu.Unlock()
	res := make([]types.Resource, len(configs))
	for i, c := range configs {
		res[i] = c
	}
	snap, err := cache.NewSnapshot(v, map[resource.Type][]types.Resource{resource.ExtensionConfigType: res})
	require.NoError(t, err)
	require.NoError(t, cp.cache.SetSnapshot(context.Background(), ecdsNode, snap))
	return v
}

// waitAck waits until Envoy has accepted version v, failing the test if it
// rejects a version first or does not answer within the timeout.
func (cp *controlPlane) waitAck(t *testing.T, v string) {
	t.Helper()
	cp.wait(t, func() bool { return cp.acked == v }, "Envoy to accept version "+v)
}

// waitNack waits until Envoy has rejected n versions in all and returns
// the last rejection's error detail.
func (cp *controlPlane) waitNack(t *testing.T, n int) string {
	t.Helper()
	cp.wait(t, func() bool { return len(cp.nacks) >= n }, "Envoy to reject a version")
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.nacks[n-1]
}

func (cp *controlPlane) wait(t *testing.T, done func() bool, what string) {
	t.Helper()
	// As long as Envoy gets to start: compiling a module takes seconds on a
	// busy machine.
	deadline := time.After(harness.ReadyTimeout)
	for {
		cp.mu.Lock()
		ok := done()
		cp.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-cp.changed:
		case <-deadline:
			cp.mu.Lock()
			defer cp.mu.Unlock()
			t.Fatalf("timed out waiting for %s: accepted %q, rejections %q", what, cp.acked, cp.nacks)
		}
	}
}

// cluster is the control plane as an Envoy cluster (gRPC, so HTTP/2).
func (cp *controlPlane) cluster() harness.Cluster {
	return harness.Cluster{Name: xdsCluster, Address: cp.addr, HTTP2: true}
}

// ecdsFilter is an HTTP filter whose configuration Envoy fetches from the
// control plane by name, as Istio's sidecars do for every WasmPlugin.
func ecdsFilter(name string) harness.RawFilter {
	return harness.RawFilter(`{"name": "` + name + `", "config_discovery": {
		"config_source": {"resource_api_version": "V3", "initial_fetch_timeout": "0s", "api_config_source": {
			"api_type": "GRPC", "transport_api_version": "V3",
			"grpc_services": [{"envoy_grpc": {"cluster_name": "` + xdsCluster + `"}}]}},
		"type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"]}}`)
}

// wasmExtension is the extension config of a Wasm HTTP filter as Istio
// generates it for a WasmPlugin (a local file where istio-agent would have
// put the module it fetched).
type wasmExtension struct {
	name, rootID, module, config string
	hostEnv                      []string
	// vmConfig is the VM's own configuration (vm_config.configuration),
	// part of what identifies a VM: changing it makes Envoy start new VMs.
	vmConfig           string
	allowStopIteration bool
	// failOpen is failure_policy FAIL_OPEN (failStrategy: FAIL_OPEN);
	// FAIL_CLOSED otherwise.
	failOpen bool
}

func (w wasmExtension) typed(t *testing.T) *core.TypedExtensionConfig {
	t.Helper()
	cfg, err := anypb.New(wrapperspb.String(w.config))
	require.NoError(t, err)
	vm := &wasmv3.VmConfig{
		VmId:    "steadfast",
		Runtime: "envoy.wasm.runtime.v8",
		Code: &core.AsyncDataSource{Specifier: &core.AsyncDataSource_Local{
			Local: &core.DataSource{Specifier: &core.DataSource_Filename{Filename: w.module}},
		}},
	}
	if w.vmConfig != "" {
		vc, err := anypb.New(wrapperspb.String(w.vmConfig))
		require.NoError(t, err)
		vm.Configuration = vc
	}
	if len(w.hostEnv) > 0 {
		vm.EnvironmentVariables = &wasmv3.EnvironmentVariables{HostEnvKeys: w.hostEnv}
	}
	plugin := &wasmv3.PluginConfig{
		Name:          w.name,
		RootId:        w.rootID,
		Vm:            &wasmv3.PluginConfig_VmConfig{VmConfig: vm},
		Configuration: cfg,
		FailurePolicy: wasmv3.FailurePolicy_FAIL_CLOSED,
	}
	if w.failOpen {
		plugin.FailurePolicy = wasmv3.FailurePolicy_FAIL_OPEN
	}
	if w.allowStopIteration {
		plugin.AllowOnHeadersStopIteration = wrapperspb.Bool(true)
	}
	filter, err := anypb.New(&wasmfilter.Wasm{Config: plugin})
	require.NoError(t, err)
	return &core.TypedExtensionConfig{Name: w.name, TypedConfig: filter}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
