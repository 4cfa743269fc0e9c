package istio

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain points the harness at the repository's Envoy when ENVOY_BIN is
// not set: the harness would look for it beside this module's go.mod.
func TestMain(m *testing.M) {
	if os.Getenv("ENVOY_BIN") == "" {
		if root, err := filepath.Abs(filepath.Join("..", "..")); err == nil {
			os.Setenv("ENVOY_BIN", filepath.Join(root, ".tools", "venv", "bin", "envoy"))
		}
	}
	os.Exit(m.Run())
}
