// Package plugintest runs a filter test three times: against the filter's
// Go code in process, against its compiled module (build/<name>.wasm) under
// wazero through the SDK's host emulator, and against the suite module
// (build/suite.wasm, root_id "suite") with the configuration as the
// filter's section, so that a filter behaves the same alone and in the
// one-pass chain. Each module is compiled
// once per test binary and its instance reused, so the Wasm half costs
// little more than the native one.
package plugintest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// Filter names what a test runs: the root_id, the filters the native half
// registers for it, and the module file that serves it.
type Filter struct {
	RootID string
	// Filters serve RootID in the native half: the filter itself, or for
	// pipeline.SuiteRootID every filter of the suite.
	Filters []pipeline.Filter
	// Env, when set, adjusts the native half's environment (clock, random
	// source, environment variables, shared data) before the stages are
	// built. The Wasm half runs as Envoy would.
	Env    func(env *pipeline.Env)
	Module string // file name under build/, e.g. "faults.wasm"
}

// Mode says which half of a Run a test body is in.
type Mode string

const (
	Native Mode = "native"
	Wasm   Mode = "wasm"
	// Suite runs build/suite.wasm under root_id "suite", the configuration
	// given as the filter's section.
	Suite Mode = "suite"
)

// Host is an emulated Envoy running one plugin of the filter.
type Host struct {
	proxytest.HostEmulator
	Mode Mode
}

// Run calls body once per mode, as subtests "native", "wasm" and "suite".
func Run(t *testing.T, f Filter, body func(t *testing.T, mode Mode)) {
	t.Helper()
	for _, mode := range []Mode{Native, Wasm, Suite} {
		t.Run(string(mode), func(t *testing.T) { body(t, mode) })
	}
}

// Start starts the filter's plugin with config in the given mode and
// returns the emulated host; it fails the test when the plugin does not
// start. The emulator is released when the test ends.
func Start(t testing.TB, f Filter, mode Mode, config string, props ...Property) *Host {
	t.Helper()
	h, ok, release := start(t, f, mode, config, props)
	t.Cleanup(release)
	if !ok {
		t.Fatalf("plugin %s did not start (%s); its log:\n%v", f.RootID, mode, h.GetCriticalLogs())
	}
	return h
}

// StartFails starts the plugin and returns its critical log lines, failing
// the test if the plugin started.
func StartFails(t testing.TB, f Filter, mode Mode, config string, props ...Property) []string {
	t.Helper()
	h, ok, release := start(t, f, mode, config, props)
	defer release()
	if ok {
		t.Fatalf("plugin %s started with an invalid configuration (%s)", f.RootID, mode)
	}
	return h.GetCriticalLogs()
}

// Property is a host property set before the plugin starts.
type Property struct {
	Path  []string
	Value string
}

// start returns the emulator and whether the plugin started; release frees
// the emulator, which is process-wide: only one exists at a time.
func start(t testing.TB, f Filter, mode Mode, config string, props []Property) (h *Host, started bool, release func()) {
	t.Helper()
	var vm types.VMContext
	rootID := f.RootID
	switch mode {
	case Native:
		if f.RootID == pipeline.SuiteRootID {
			pipeline.RegisterSuite(f.Filters...)
		} else {
			pipeline.Register(f.Filters[0])
		}
		pipeline.EnvHook = func(_ string, env *pipeline.Env) {
			if f.Env != nil {
				f.Env(env)
			}
		}
		vm = pipeline.NewVMContext()
	case Wasm, Suite:
		module := f.Module
		if mode == Suite {
			module, rootID = "suite.wasm", pipeline.SuiteRootID
			config = `{"` + f.RootID + `": ` + config + `}`
		}
		w, err := wasmVM(module)
		if err != nil {
			t.Fatal(err)
		}
		vm = w
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	opt := proxytest.NewEmulatorOption().
		WithVMContext(vm).
		WithPluginConfiguration([]byte(config)).
		WithProperty([]string{"plugin_root_id"}, []byte(rootID))
	for _, p := range props {
		opt = opt.WithProperty(p.Path, []byte(p.Value))
	}
	host, reset := proxytest.NewHostEmulator(opt)
	if host.StartVM() != types.OnVMStartStatusOK {
		reset()
		t.Fatalf("VM did not start (%s)", mode)
	}
	ok := host.StartPlugin() == types.OnPluginStartStatusOK
	return &Host{HostEmulator: host, Mode: mode}, ok, reset
}

var (
	modulesMu sync.Mutex
	modules   = map[string]proxytest.WasmVMContext{}
)

// wasmVM returns the module's VM, compiling and instantiating it on first
// use. The instance is shared by the tests of one binary: each test starts
// a fresh plugin context in it.
func wasmVM(name string) (proxytest.WasmVMContext, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if vm, ok := modules[name]; ok {
		return vm, nil
	}
	path, err := ModulePath(name)
	if err != nil {
		return nil, err
	}
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s is missing: run `make build` first (%v)", path, err)
	}
	if err := checkFresh(path); err != nil {
		return nil, err
	}
	vm, err := proxytest.NewWasmVMContext(code)
	if err != nil {
		return nil, fmt.Errorf("%s does not load: %v", path, err)
	}
	modules[name] = vm
	return vm, nil
}

// checkFresh refuses a module older than any Go source of the repository
// outside e2e/ and this package: a test against a stale module would prove nothing about
// the code beside it.
func checkFresh(module string) error {
	info, err := os.Stat(module)
	if err != nil {
		return err
	}
	root := filepath.Dir(filepath.Dir(module))
	var newer string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || newer != "" {
			return err
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case path != root && (strings.HasPrefix(name, ".") || name == "build" || name == "e2e" || name == "plugintest"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(info.ModTime()) {
			newer = path
		}
		return nil
	})
	if err != nil {
		return err
	}
	if newer != "" {
		rel, _ := filepath.Rel(root, newer)
		return fmt.Errorf("%s is older than %s: run `make build` (or `make unit`, which builds first)", module, rel)
	}
	return nil
}

// ModulePath returns build/<name> at the repository root.
func ModulePath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "build", name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// InvalidConfig is the critical log line's text for a configuration error
// at path (and its message) of filter rootID in mode: under the suite the
// error names the filter's section.
func InvalidConfig(mode Mode, rootID, pathAndMessage string) string {
	if mode == Suite {
		return "steadfast " + pipeline.SuiteRootID + ": invalid configuration: " + rootID + "." + pathAndMessage
	}
	return "steadfast " + rootID + ": invalid configuration: " + pathAndMessage
}
