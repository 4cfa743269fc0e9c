package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
	"github.com/steadfast-proxy/steadfast/faults"
	"github.com/steadfast-proxy/steadfast/webhookauth"
)

// parsers check a filter configuration as the plugin does at start.
var parsers = map[string]func([]byte) error{
	faults.RootID:      func(b []byte) error { _, err := faults.Parse(b); return err },
	webhookauth.RootID: func(b []byte) error { _, err := webhookauth.Parse(b); return err },
}

// TestIstioManifestsCarryValidConfigs parses the pluginConfig of every
// shipped WasmPlugin with the filter its pluginName selects.
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
			}
			assert.Equal(t, 1, plugins, "one WasmPlugin per manifest")
		})
	}
}
