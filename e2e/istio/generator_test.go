package istio

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/retry"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

// This file feeds the shipped manifests (envoy/istio/*.yaml) and a small
// mesh (testdata/mesh.yaml) to istiod's own config generator, the
// in-process discovery server of Istio's tests, and checks what it gives
// a sidecar's inbound and outbound listeners and an ingress gateway.

// generated is what istiod gives one proxy.
type generated struct {
	chains     []chain
	extensions map[string]*wasmv3.PluginConfig        // ECDS, by resource name
	discovery  map[string]*core.ExtensionConfigSource // how each filter fetches it
}

// chain is one HTTP connection manager: its listener and filter chain,
// its HTTP filters in order, and the names of its routes.
type chain struct {
	listener string
	inbound  bool
	filters  []string
	routes   []string
}

func (g generated) with(filter string) []chain {
	var out []chain
	for _, c := range g.chains {
		if slices.Contains(c.filters, filter) {
			out = append(out, c)
		}
	}
	return out
}

// manifests returns the shipped Istio manifests and the test's mesh as one
// YAML stream.
func manifests(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "envoy", "istio", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	files = append(files, filepath.Join("testdata", "mesh.yaml"))
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "\n---\n")
}

func generate(t *testing.T, s *xds.FakeDiscoveryServer, p *model.Proxy) generated {
	t.Helper()
	p = s.SetupProxy(p)
	out := generated{extensions: map[string]*wasmv3.PluginConfig{}, discovery: map[string]*core.ExtensionConfigSource{}}
	rds := map[string][]string{}
	for _, rc := range s.Routes(p) {
		for _, vh := range rc.GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				rds[rc.GetName()] = append(rds[rc.GetName()], r.GetName())
			}
		}
	}
	var names []string
	for _, l := range s.Listeners(p) {
		for _, fc := range append(slices.Clone(l.GetFilterChains()), l.GetDefaultFilterChain()) {
			for _, f := range fc.GetFilters() {
				m := &hcm.HttpConnectionManager{}
				if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(m) != nil {
					continue
				}
				c := chain{listener: l.GetName() + "/" + fc.GetName(), inbound: l.GetName() == "virtualInbound"}
				for _, hf := range m.GetHttpFilters() {
					c.filters = append(c.filters, hf.GetName())
					if hf.GetConfigDiscovery() != nil && !slices.Contains(names, hf.GetName()) {
						names = append(names, hf.GetName())
						out.discovery[hf.GetName()] = hf.GetConfigDiscovery()
					}
				}
				if rc := m.GetRouteConfig(); rc != nil {
					for _, vh := range rc.GetVirtualHosts() {
						for _, r := range vh.GetRoutes() {
							c.routes = append(c.routes, r.GetName())
						}
					}
				} else {
					c.routes = rds[m.GetRds().GetRouteConfigName()]
				}
				out.chains = append(out.chains, c)
			}
		}
	}
	for _, ec := range s.ConfigGen.BuildExtensionConfiguration(p, s.PushContext(), names, nil) {
		w := &wasmfilter.Wasm{}
		require.NoError(t, ec.GetTypedConfig().UnmarshalTo(w), "ECDS %s is no Wasm filter", ec.GetName())
		out.extensions[ec.GetName()] = w.GetConfig()
	}
	for _, name := range names {
		require.Contains(t, out.extensions, name, "an HTTP filter refers to ECDS resource %s, which istiod does not serve", name)
	}
	return out
}

// parseDelivered parses the configuration as the proxy receives it (istiod
// re-encodes a WasmPlugin's pluginConfig) with the filter's own parser.
func parseDelivered(t *testing.T, pc *wasmv3.PluginConfig) map[string]any {
	t.Helper()
	s := &wrapperspb.StringValue{}
	require.NoError(t, pc.GetConfiguration().UnmarshalTo(s))
	raw := []byte(s.GetValue())
	sections := map[string]json.RawMessage{}
	if pc.GetRootId() == pipeline.SuiteRootID {
		require.NoError(t, json.Unmarshal(raw, &sections))
	} else {
		sections[pc.GetRootId()] = raw
	}
	out := map[string]any{}
	for name, section := range sections {
		var err error
		switch name {
		case faults.RootID:
			_, err = faults.Parse(section)
		case webhookauth.RootID:
			_, err = webhookauth.Parse(section)
		case breaker.RootID:
			_, err = breaker.Parse(section)
		case retry.RootID:
			_, err = retry.Parse(section)
		default:
			err = fmt.Errorf("no filter %q", name)
		}
		require.NoError(t, err, "%s: configuration as delivered", name)
		var v any
		require.NoError(t, json.Unmarshal(section, &v))
		out[name] = v
	}
	return out
}

// routeNames returns the "name" of each routes entry of a configuration.
func routeNames(config any) []string {
	m, _ := config.(map[string]any)
	list, _ := m["routes"].([]any)
	var out []string
	for _, r := range list {
		if entry, ok := r.(map[string]any); ok {
			if name, ok := entry["name"].(string); ok {
				out = append(out, name)
			}
		}
	}
	return out
}

func sidecar(id, ns, ip string, labels map[string]string) *model.Proxy {
	return &model.Proxy{
		ID: id + "." + ns, ConfigNamespace: ns, IPAddresses: []string{ip}, Labels: labels,
		Metadata: &model.NodeMetadata{Labels: labels, Namespace: ns},
	}
}

// before reports whether a comes before b in filters.
func before(filters []string, a, b string) bool {
	i, j := slices.Index(filters, a), slices.Index(filters, b)
	return i >= 0 && j >= 0 && i < j
}

const router = "envoy.filters.http.router"

func TestGenerator(t *testing.T) {
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{ConfigString: manifests(t)})
	// How istiod has a WasmPlugin's filter fetch its configuration; the
	// EnvoyFilters' filters must do the same.
	var wasmPluginDiscovery *core.ExtensionConfigSource

	t.Run("faults: WasmPlugin, sidecar inbound", func(t *testing.T) {
		g := generate(t, s, sidecar("reviews-v2", "bookinfo", "10.0.0.2", map[string]string{"app": "reviews", "version": "v2"}))
		require.Len(t, g.extensions, 1)
		var name string
		for name = range g.extensions {
		}
		t.Logf("ECDS resource name: %s", name)
		chains := g.with(name)
		require.NotEmpty(t, chains)
		for _, c := range chains {
			assert.True(t, c.inbound, "%s: mode SERVER keeps it off outbound listeners", c.listener)
			assert.Equal(t, []string{"default"}, c.routes, "%s: every inbound route is named default", c.listener)
			assert.True(t, before(c.filters, "istio.metadata_exchange", name) && before(c.filters, name, router), "%s: %v", c.listener, c.filters)
			t.Logf("%s: %v", c.listener, c.filters)
		}
		wasmPluginDiscovery = g.discovery[name]
		t.Logf("config_discovery of a WasmPlugin: %v", wasmPluginDiscovery)
		pc := g.extensions[name]
		assert.Equal(t, faults.RootID, pc.GetRootId())
		assert.Equal(t, wasmv3.FailurePolicy_FAIL_OPEN, pc.GetFailurePolicy())
		assert.Nil(t, pc.GetAllowOnHeadersStopIteration(), "a WasmPlugin cannot set allow_on_headers_stop_iteration")
		assert.Empty(t, pc.GetVmConfig().GetVmId(), "istiod gives a WasmPlugin no vm_id")
		assert.Equal(t, []string{"FAULTS_TOKEN"}, pc.GetVmConfig().GetEnvironmentVariables().GetHostEnvKeys(), "vmConfig.env valueFrom HOST")
		for key := range pc.GetVmConfig().GetEnvironmentVariables().GetKeyValues() {
			assert.True(t, strings.HasPrefix(key, "ISTIO_META_WASM_"), "only istio-agent's own settings are given values: %s", key)
		}
		assert.Equal(t, "oci://registry.example.com/steadfast/faults:v0.1.0", pc.GetVmConfig().GetCode().GetRemote().GetHttpUri().GetUri())
		config := parseDelivered(t, pc)
		assert.Empty(t, routeNames(config[faults.RootID]), "inbound rules select by match")
	})

	// breaker and retry both sit on productpage's outbound calls.
	for _, f := range []struct{ rootID, host string }{{breaker.RootID, "reviews"}, {retry.RootID, "details"}} {
		t.Run(f.rootID+": WasmPlugin, sidecar outbound", func(t *testing.T) {
			g := generate(t, s, sidecar("productpage-v1", "bookinfo", "10.0.0.1", map[string]string{"app": "productpage"}))
			require.Len(t, g.extensions, 2, "breaker and retry")
			name := ""
			for n, pc := range g.extensions {
				if pc.GetRootId() == f.rootID {
					name = n
				}
			}
			require.NotEmpty(t, name, "no ECDS resource with root_id %s", f.rootID)
			chains := g.with(name)
			require.NotEmpty(t, chains)
			var routes []string
			for _, c := range chains {
				assert.False(t, c.inbound, "%s: mode CLIENT keeps it off the inbound listener", c.listener)
				assert.True(t, before(c.filters, name, router), "%s: %v", c.listener, c.filters)
				routes = append(routes, c.routes...)
				t.Logf("%s: routes %v, filters %v", c.listener, c.routes, c.filters)
			}
			pc := g.extensions[name]
			assert.Equal(t, wasmv3.FailurePolicy_FAIL_OPEN, pc.GetFailurePolicy())
			config := parseDelivered(t, pc)
			names := routeNames(config[f.rootID])
			require.NotEmpty(t, names)
			for _, n := range names {
				matched := slices.ContainsFunc(routes, func(r string) bool { return pipeline.Glob(n, r) })
				assert.True(t, matched, "rule %q matches a route istiod generates from the %s VirtualService: %v", n, f.host, routes)
			}
		})
	}

	t.Run("webhookauth: EnvoyFilter, sidecar inbound", func(t *testing.T) {
		g := generate(t, s, sidecar("payments-v1", "payments", "10.0.0.3", map[string]string{"app": "payments"}))
		const name = "payments.steadfast-webhookauth"
		require.Contains(t, g.extensions, name)
		chains := g.with(name)
		require.NotEmpty(t, chains)
		for _, c := range chains {
			assert.True(t, c.inbound, c.listener)
			assert.Equal(t, []string{"default"}, c.routes, c.listener)
			assert.Equal(t, router, c.filters[slices.Index(c.filters, name)+1], "%s: just before the router: %v", c.listener, c.filters)
			t.Logf("%s: %v", c.listener, c.filters)
		}
		require.NotNil(t, wasmPluginDiscovery)
		assert.Empty(t, cmp.Diff(wasmPluginDiscovery, g.discovery[name], protocmp.Transform()), "config_discovery as a WasmPlugin's")
		pc := g.extensions[name]
		assert.Equal(t, webhookauth.RootID, pc.GetRootId())
		assert.True(t, pc.GetAllowOnHeadersStopIteration().GetValue(), "allow_on_headers_stop_iteration reaches the proxy")
		assert.Equal(t, wasmv3.FailurePolicy_FAIL_CLOSED, pc.GetFailurePolicy())
		assert.Equal(t, "steadfast", pc.GetVmConfig().GetVmId())
		assert.Empty(t, pc.GetVmConfig().GetEnvironmentVariables().GetKeyValues())
		config := parseDelivered(t, pc)
		assert.Empty(t, routeNames(config[webhookauth.RootID]), "inbound rules select by match")
	})

	t.Run("suite: EnvoyFilter, ingress gateway", func(t *testing.T) {
		p := &model.Proxy{
			Type: model.Router, ID: "istio-ingressgateway.istio-system", ConfigNamespace: "istio-system",
			IPAddresses: []string{"10.0.0.10"}, Labels: map[string]string{"istio": "ingressgateway"},
			Metadata: &model.NodeMetadata{Labels: map[string]string{"istio": "ingressgateway"}, Namespace: "istio-system"},
		}
		g := generate(t, s, p)
		const name = "istio-system.steadfast-suite"
		require.Contains(t, g.extensions, name)
		chains := g.with(name)
		require.Len(t, chains, 1)
		c := chains[0]
		t.Logf("%s: routes %v, filters %v", c.listener, c.routes, c.filters)
		assert.Equal(t, []string{"webhooks-stripe", "webhooks-github", "shop.reviews", "shop"}, c.routes,
			"a gateway's routes are named after the VirtualService's http[].name, .<match name> for a named match")
		assert.Equal(t, router, c.filters[slices.Index(c.filters, name)+1], "just before the router: %v", c.filters)
		require.NotNil(t, wasmPluginDiscovery)
		assert.Empty(t, cmp.Diff(wasmPluginDiscovery, g.discovery[name], protocmp.Transform()), "config_discovery as a WasmPlugin's")
		pc := g.extensions[name]
		assert.Equal(t, pipeline.SuiteRootID, pc.GetRootId())
		assert.True(t, pc.GetAllowOnHeadersStopIteration().GetValue())
		assert.Equal(t, wasmv3.FailurePolicy_FAIL_CLOSED, pc.GetFailurePolicy())
		for filter, section := range parseDelivered(t, pc) {
			for _, n := range routeNames(section) {
				matched := slices.ContainsFunc(c.routes, func(r string) bool { return pipeline.Glob(n, r) })
				assert.True(t, matched, "%s: rule %q matches no route of the gateway", filter, n)
			}
		}
	})
}

// The shape the manifests used before, a WasmPlugin plus an EnvoyFilter
// that MERGEs allow_on_headers_stop_iteration into its extension config,
// does not deliver the setting: istiod applies only ADD there. And that
// WasmPlugin, with a selector and no match, ran on outbound calls too.
func TestGeneratorDropsExtensionConfigMerge(t *testing.T) {
	const config = `
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: steadfast-webhookauth, namespace: payments}
spec:
  selector: {matchLabels: {app: payments}}
  url: oci://registry.example.com/steadfast/webhookauth:v0.1.0
  pluginName: webhookauth
  pluginConfig: {scheme: github, secrets: [{env: GITHUB_WEBHOOK_SECRET}]}
  vmConfig: {env: [{name: GITHUB_WEBHOOK_SECRET, valueFrom: HOST}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: merge, namespace: payments}
spec:
  workloadSelector: {labels: {app: payments}}
  configPatches:
  - applyTo: EXTENSION_CONFIG
    patch:
      operation: MERGE
      value:
        name: payments.steadfast-webhookauth
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
          config: {allow_on_headers_stop_iteration: true}
`
	mesh, err := os.ReadFile(filepath.Join("testdata", "mesh.yaml"))
	require.NoError(t, err)
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{ConfigString: config + "---\n" + string(mesh)})
	g := generate(t, s, sidecar("payments-v1", "payments", "10.0.0.3", map[string]string{"app": "payments"}))
	require.Len(t, g.extensions, 1)
	for name, pc := range g.extensions {
		t.Logf("ECDS resource %s", name)
		assert.Equal(t, webhookauth.RootID, pc.GetRootId())
		assert.Nil(t, pc.GetAllowOnHeadersStopIteration(), "the MERGE never arrives")

		// And a WasmPlugin with a selector but no match runs both ways.
		var inbound, outbound int
		for _, c := range g.with(name) {
			if c.inbound {
				inbound++
			} else {
				outbound++
			}
		}
		assert.Positive(t, inbound, "without match: on the inbound listener")
		assert.Positive(t, outbound, "without match: on the outbound listeners too")
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "envoy", "istio"))
	require.NoError(t, err, "run from e2e/istio of the repository")
	return root
}
