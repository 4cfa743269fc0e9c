package istio

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// What istiod generates from the shipped manifests is what Envoy 1.40
// accepts: every ECDS resource of the generator test, with a local module
// in place of its oci:// url (and istio-agent's own settings removed, as
// it does when it has fetched the module), is served to Envoy through
// ECDS, accepted, and answers requests. The module is suite.wasm, which
// serves every root_id, so that Envoy compiles one module, not four (that
// each image holds its own module is TestImagePushPullLoad's part).
func TestGeneratedConfigsLoadInEnvoy(t *testing.T) {
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{ConfigString: manifests(t)})
	gateway := &model.Proxy{
		Type: model.Router, ID: "istio-ingressgateway.istio-system", ConfigNamespace: "istio-system",
		IPAddresses: []string{"10.0.0.10"}, Labels: map[string]string{"istio": "ingressgateway"},
		Metadata: &model.NodeMetadata{Labels: map[string]string{"istio": "ingressgateway"}, Namespace: "istio-system"},
	}
	extensions := map[string]*core.TypedExtensionConfig{}
	for _, p := range []*model.Proxy{
		sidecar("reviews-v2", "bookinfo", "10.0.0.2", map[string]string{"app": "reviews", "version": "v2"}),
		sidecar("productpage-v1", "bookinfo", "10.0.0.1", map[string]string{"app": "productpage"}),
		sidecar("payments-v1", "payments", "10.0.0.3", map[string]string{"app": "payments"}),
		gateway,
	} {
		for resource, pc := range generate(t, s, p).extensions {
			pc = proto.Clone(pc).(*wasmv3.PluginConfig)
			uri := pc.GetVmConfig().GetCode().GetRemote().GetHttpUri().GetUri()
			require.True(t, strings.HasPrefix(uri, "oci://"), "%s: %s", resource, uri)
			asFetched(pc, module(t, "suite"))
			filter, err := anypb.New(&wasmfilter.Wasm{Config: pc})
			require.NoError(t, err)
			extensions[resource] = &core.TypedExtensionConfig{Name: resource, TypedConfig: filter}
		}
	}
	require.Len(t, extensions, 5)

	// Each on a listener of its own; what GET / gets there shows the
	// filter runs with the configuration istiod generated.
	want := map[string]int{
		"faults":      http.StatusOK,           // no rule for "/"
		"breaker":     http.StatusOK,           // a closed circuit
		"retry":       http.StatusOK,           // nothing to retry
		"webhookauth": http.StatusUnauthorized, // not a signed delivery
		"suite":       http.StatusUnauthorized, // verified by default
	}
	cp := startControlPlane(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range extensions {
			if !yield(n) {
				return
			}
		}
	})
	configs := make([]*core.TypedExtensionConfig, 0, len(names))
	up := harness.NewUpstream(t, nil)
	cfg := harness.Config{
		Clusters: []harness.Cluster{up.Cluster("app"), cp.cluster()},
		Env: map[string]string{
			"FAULTS_TOKEN":          "generated-config-token",
			"STRIPE_WEBHOOK_SECRET": "whsec_generated-config-secret",
			"GITHUB_WEBHOOK_SECRET": "generated-config-secret",
		},
		StatsTags: statsTags(t),
	}
	listenerName := regexp.MustCompile(`[^a-z]+`)
	for _, n := range names {
		configs = append(configs, extensions[n])
		cfg.Listeners = append(cfg.Listeners, harness.Listener{
			Name:    listenerName.ReplaceAllString(n, "_"),
			Filters: []harness.HTTPFilter{ecdsFilter(n)},
		})
	}
	v := cp.set(t, configs...)
	envoy := harness.Start(t, cfg)
	cp.waitAck(t, v)
	for _, n := range names {
		var pc wasmfilter.Wasm
		require.NoError(t, extensions[n].GetTypedConfig().UnmarshalTo(&pc))
		root := pc.GetConfig().GetRootId()
		got := harness.Get(t, envoy.ListenerURL(listenerName.ReplaceAllString(n, "_"), "/")).Status
		assert.Equal(t, want[root], got, "%s (root_id %s)", n, root)
	}
}

// asFetched does to pc what istio-agent does when it has fetched the
// module of its oci:// url: the code becomes the local file, and the
// agent's own settings leave the VM's environment.
func asFetched(pc *wasmv3.PluginConfig, file string) {
	vm := pc.GetVmConfig()
	vm.Code = &core.AsyncDataSource{Specifier: &core.AsyncDataSource_Local{
		Local: &core.DataSource{Specifier: &core.DataSource_Filename{Filename: file}},
	}}
	if env := vm.GetEnvironmentVariables(); env != nil {
		for key := range env.GetKeyValues() {
			if strings.HasPrefix(key, "ISTIO_META_WASM_") {
				delete(env.KeyValues, key)
			}
		}
	}
}
