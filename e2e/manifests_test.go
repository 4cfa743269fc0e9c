package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/e2e/harness"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/retry"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

// parsers check a filter configuration as the plugin does at start.
var parsers = map[string]func([]byte) error{
	faults.RootID:      func(b []byte) error { _, err := faults.Parse(b); return err },
	webhookauth.RootID: func(b []byte) error { _, err := webhookauth.Parse(b); return err },
	breaker.RootID:     func(b []byte) error { _, err := breaker.Parse(b); return err },
	retry.RootID:       func(b []byte) error { _, err := retry.Parse(b); return err },
}

// secretless are the filters whose configuration names no secret.
var secretless = map[string]bool{breaker.RootID: true, retry.RootID: true}

// TestIstioManifestsCarryValidConfigs parses the pluginConfig of every
// shipped WasmPlugin with the filter its pluginName selects, and checks
// that every variable it names (a secret) is read from the proxy's own
// environment (valueFrom: HOST), never given a value that Envoy's config
// dump would print.
func TestIstioManifestsCarryValidConfigs(t *testing.T) {
	root, err := harness.RepoRoot()
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, "envoy", "istio", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			plugins := 0
			for dec := yaml.NewDecoder(f); ; {
				var m struct {
					Kind string
					Spec struct {
						PluginName   string         `yaml:"pluginName"`
						PluginConfig map[string]any `yaml:"pluginConfig"`
						VMConfig     struct {
							Env []struct {
								Name      string
								ValueFrom string `yaml:"valueFrom"`
								Value     *string
							}
						} `yaml:"vmConfig"`
					}
				}
				if err := dec.Decode(&m); errors.Is(err, io.EOF) {
					break
				} else {
					require.NoError(t, err)
				}
				if m.Kind != "WasmPlugin" {
					continue
				}
				plugins++
				parse, ok := parsers[m.Spec.PluginName]
				require.True(t, ok, "pluginName %q is no steadfast root_id", m.Spec.PluginName)
				config, err := json.Marshal(m.Spec.PluginConfig)
				require.NoError(t, err)
				assert.NoError(t, parse(config))
				fromHost := map[string]bool{}
				for _, e := range m.Spec.VMConfig.Env {
					assert.Equal(t, "HOST", e.ValueFrom, "vmConfig.env %s", e.Name)
					assert.Nil(t, e.Value, "vmConfig.env %s has a value in the manifest", e.Name)
					fromHost[e.Name] = true
				}
				named := variablesNamed(m.Spec.PluginConfig)
				if !secretless[m.Spec.PluginName] {
					require.NotEmpty(t, named)
				}
				for _, name := range named {
					assert.True(t, fromHost[name], "%s is named in pluginConfig but not read from the proxy's environment", name)
				}
			}
			assert.Equal(t, 1, plugins, "one WasmPlugin per manifest")
		})
	}
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
