package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/e2e/harness"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/retry"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

// filterParsers check a filter configuration as the plugin does at start.
var filterParsers = map[string]func([]byte) error{
	faults.RootID:      func(b []byte) error { _, err := faults.Parse(b); return err },
	webhookauth.RootID: func(b []byte) error { _, err := webhookauth.Parse(b); return err },
	breaker.RootID:     func(b []byte) error { _, err := breaker.Parse(b); return err },
	retry.RootID:       func(b []byte) error { _, err := retry.Parse(b); return err },
}

// parse checks the configuration of root_id rootID, a filter or the suite.
func parse(rootID string, config []byte) error {
	if rootID == "suite" {
		return parseSuite(config)
	}
	p, ok := filterParsers[rootID]
	if !ok {
		return fmt.Errorf("root_id %q is no steadfast filter", rootID)
	}
	return p(config)
}

// parseSuite checks a suite configuration: each section with its filter's
// parser, an unknown section an error.
func parseSuite(b []byte) error {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(b, &sections); err != nil {
		return err
	}
	for name, section := range sections {
		p, ok := filterParsers[name]
		if !ok {
			return fmt.Errorf("%s: no such filter", name)
		}
		if err := p(section); err != nil {
			return fmt.Errorf("%s.%w", name, err)
		}
	}
	return nil
}

// plugin is a steadfast filter as a manifest attaches it: a WasmPlugin, or
// the Wasm extension config an EnvoyFilter adds.
type plugin struct {
	rootID string
	config []byte
	// mode is the WasmPlugin's match mode (SERVER, CLIENT), or the
	// EnvoyFilter's patch context (SIDECAR_INBOUND, GATEWAY, ...).
	modes []string
	// env are the variables the VM reads, and whether from the proxy's
	// own environment (never a value in the manifest).
	env           map[string]bool
	stopIteration bool
	wasmPlugin    bool
}

// TestIstioManifests checks every shipped Istio manifest: one steadfast
// plugin each, its configuration accepted by the filter's own parser,
// secrets read from the proxy's environment only, and the traps of Istio
// avoided (see the README's Istio section).
func TestIstioManifests(t *testing.T) {
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, "envoy", "istio", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			plugins := readPlugins(t, file)
			require.Len(t, plugins, 1, "one steadfast plugin per manifest")
			p := plugins[0]
			require.NoError(t, parse(p.rootID, p.config))
			require.NotEmpty(t, p.modes, "attached to SERVER, CLIENT or a patch context explicitly")

			var config map[string]any
			require.NoError(t, json.Unmarshal(p.config, &config))
			for _, name := range variablesNamed(config) {
				assert.True(t, p.env[name], "%s is named in the configuration but not read from the proxy's environment", name)
			}
			sections := map[string]any{p.rootID: config}
			if p.rootID == "suite" {
				sections = config
			}
			if section, ok := sections[webhookauth.RootID]; ok {
				assert.True(t, p.stopIteration, "webhookauth needs allow_on_headers_stop_iteration")
				assert.False(t, p.wasmPlugin, "a WasmPlugin cannot carry allow_on_headers_stop_iteration")
				assert.NotEmpty(t, variablesNamed(section), "webhookauth reads its secrets from the environment")
				for _, r := range routeEntries(section) {
					if name, _ := r["name"].(string); strings.ContainsAny(name, "*?") {
						assert.NotEqual(t, true, r["disabled"], "verification switched off by a catch-all %q", name)
					}
				}
			}
			if slices.Contains(p.modes, "SERVER") || slices.Contains(p.modes, "SIDECAR_INBOUND") {
				for filter, section := range sections {
					for _, r := range routeEntries(section) {
						assert.Nil(t, r["name"], "%s: in a sidecar's inbound listener every route is named \"default\": select by match", filter)
					}
				}
			}
		})
	}
}

// readPlugins decodes the steadfast plugins of a manifest.
func readPlugins(t *testing.T, file string) []plugin {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []plugin
	for dec := yaml.NewDecoder(f); ; {
		var doc struct {
			Kind string
			Spec yaml.Node
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return out
		} else {
			require.NoError(t, err)
		}
		switch doc.Kind {
		case "WasmPlugin":
			out = append(out, wasmPlugin(t, &doc.Spec))
		case "EnvoyFilter":
			out = append(out, envoyFilterPlugins(t, &doc.Spec)...)
		}
	}
}

func wasmPlugin(t *testing.T, spec *yaml.Node) plugin {
	t.Helper()
	var s struct {
		PluginName   string         `yaml:"pluginName"`
		PluginConfig map[string]any `yaml:"pluginConfig"`
		Match        []struct{ Mode string }
		VMConfig     struct {
			Env []struct {
				Name      string
				ValueFrom string `yaml:"valueFrom"`
				Value     *string
			}
		} `yaml:"vmConfig"`
	}
	require.NoError(t, spec.Decode(&s))
	p := plugin{rootID: s.PluginName, env: map[string]bool{}, wasmPlugin: true}
	var err error
	p.config, err = json.Marshal(s.PluginConfig)
	require.NoError(t, err)
	for _, m := range s.Match {
		p.modes = append(p.modes, m.Mode)
	}
	for _, e := range s.VMConfig.Env {
		assert.Equal(t, "HOST", e.ValueFrom, "vmConfig.env %s", e.Name)
		assert.Nil(t, e.Value, "vmConfig.env %s has a value in the manifest", e.Name)
		p.env[e.Name] = true
	}
	return p
}

// envoyFilterPlugins returns the Wasm extension configs an EnvoyFilter
// adds, each with the contexts of the HTTP filters that use it.
func envoyFilterPlugins(t *testing.T, spec *yaml.Node) []plugin {
	t.Helper()
	var s struct {
		ConfigPatches []struct {
			ApplyTo string `yaml:"applyTo"`
			Match   struct{ Context string }
			Patch   struct {
				Operation string
				Value     struct {
					Name            string
					ConfigDiscovery *struct{} `yaml:"config_discovery"`
					TypedConfig     struct {
						Type   string `yaml:"@type"`
						Config struct {
							RootID        string `yaml:"root_id"`
							StopIteration bool   `yaml:"allow_on_headers_stop_iteration"`
							VMConfig      struct {
								EnvironmentVariables struct {
									HostEnvKeys []string          `yaml:"host_env_keys"`
									KeyValues   map[string]string `yaml:"key_values"`
								} `yaml:"environment_variables"`
							} `yaml:"vm_config"`
							Configuration struct{ Value string }
						}
					} `yaml:"typed_config"`
				}
			}
		} `yaml:"configPatches"`
	}
	require.NoError(t, spec.Decode(&s))
	contexts := map[string][]string{}
	for _, cp := range s.ConfigPatches {
		if cp.ApplyTo == "HTTP_FILTER" && cp.Patch.Value.ConfigDiscovery != nil {
			contexts[cp.Patch.Value.Name] = append(contexts[cp.Patch.Value.Name], cp.Match.Context)
		}
	}
	var out []plugin
	for _, cp := range s.ConfigPatches {
		if cp.ApplyTo != "EXTENSION_CONFIG" {
			continue
		}
		// istiod applies only ADD to EXTENSION_CONFIG.
		require.Equal(t, "ADD", cp.Patch.Operation, "EXTENSION_CONFIG %s", cp.Patch.Value.Name)
		tc := cp.Patch.Value.TypedConfig
		if tc.Type != "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm" {
			continue
		}
		env := tc.Config.VMConfig.EnvironmentVariables
		assert.Empty(t, env.KeyValues, "%s: key_values puts values in the config dump", cp.Patch.Value.Name)
		p := plugin{
			rootID:        tc.Config.RootID,
			config:        []byte(tc.Config.Configuration.Value),
			modes:         contexts[cp.Patch.Value.Name],
			env:           map[string]bool{},
			stopIteration: tc.Config.StopIteration,
		}
		for _, name := range env.HostEnvKeys {
			p.env[name] = true
		}
		out = append(out, p)
	}
	return out
}

// routeEntries returns the "routes" list of a filter configuration.
func routeEntries(config any) []map[string]any {
	m, _ := config.(map[string]any)
	list, _ := m["routes"].([]any)
	var out []map[string]any
	for _, r := range list {
		if entry, ok := r.(map[string]any); ok {
			out = append(out, entry)
		}
	}
	return out
}

// variablesNamed collects the environment variables a filter configuration
// names: the string values of its "env" and "*_env" fields, at any depth.
func variablesNamed(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for key, value := range v {
			if name, ok := value.(string); ok && (key == "env" || strings.HasSuffix(key, "_env")) {
				out = append(out, name)
				continue
			}
			out = append(out, variablesNamed(value)...)
		}
	case []any:
		for _, item := range v {
			out = append(out, variablesNamed(item)...)
		}
	}
	return out
}

// TestEnvoyConfigsValidate runs `envoy --mode validate` on every Envoy
// configuration shipped under envoy/: whole bootstraps as they are, the
// stats_tags fragment as an override of a minimal bootstrap
// (--config-yaml, which is how istio-agent applies Istio's
// sidecar.istio.io/bootstrapOverride).
func TestEnvoyConfigsValidate(t *testing.T) {
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	bin, err := harness.EnvoyPath()
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, "envoy", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			args := []string{"--mode", "validate", "-c", file, "-l", "error", "--use-dynamic-base-id"}
			var top map[string]any
			require.NoError(t, yaml.Unmarshal(b, &top))
			if _, ok := top["static_resources"]; !ok {
				// A fragment: merged into a bootstrap with nothing else.
				path := filepath.Join(t.TempDir(), "bootstrap.yaml")
				bootstrap := "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
				require.NoError(t, os.WriteFile(path, []byte(bootstrap), 0o600))
				args = []string{"--mode", "validate", "-c", path, "--config-yaml", string(b), "-l", "error", "--use-dynamic-base-id"}
			}
			if strings.Contains(string(b), "build/") {
				// Modules are named relative to the repository.
				module := filepath.Join(root, "build", "suite.wasm")
				require.FileExists(t, module, "run `make build` first")
			}
			cmd := exec.Command(bin, args...)
			cmd.Dir = root
			cmd.Env = os.Environ()
			for _, name := range []string{"DEMO_FAULT_TOKEN", "DEMO_GITHUB_SECRET"} {
				cmd.Env = append(cmd.Env, name+"=validate-only-value-0123456789")
			}
			done := make(chan struct{})
			var out []byte
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("envoy --mode validate did not finish within a minute")
			}
			require.NoError(t, err, "envoy --mode validate %s:\n%s", file, out)
			assert.Contains(t, string(out), "OK")
		})
	}
}
