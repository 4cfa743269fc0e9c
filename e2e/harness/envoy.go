package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts of the Envoy lifecycle.
const (
	// ReadyTimeout bounds the wait for /ready and the listeners' ports.
	// V8 compiles every module eagerly (TurboFan, no Liftoff), once per
	// Envoy: the suite's takes seconds on an idle 2-core machine and has
	// taken over 30 s on a loaded one.
	ReadyTimeout = 90 * time.Second
	// StopTimeout is how long Envoy gets to exit after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
	// FailureLogLines is how much of Envoy's log a failed test prints.
	FailureLogLines = 200
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ is 100
// on every Linux architecture Envoy ships for.
const userHZ = 100

// TB is the part of testing.TB the harness uses. *testing.T and *testing.B
// satisfy it; a program such as a demo can supply its own, whose Cleanup
// functions it runs on exit and whose Fatal ends the program.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	TempDir() string
	Log(args ...any)
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// Envoy is a running Envoy process, stopped and reaped when its test ends.
type Envoy struct {
	// AdminURL is the admin API, such as "http://127.0.0.1:40123".
	AdminURL string
	// Ports maps listener names to their ports on 127.0.0.1.
	Ports map[string]int
	// ConfigPath and LogPath are the rendered bootstrap and Envoy's
	// stdout and stderr, in the test's temporary directory.
	ConfigPath string
	cfg        Config
	LogPath    string
	// Concurrency is the number of worker threads.
	Concurrency int

	t         TB
	listeners []string
	cmd       *exec.Cmd
	logFile   *os.File
	done      chan struct{} // closed when the process has been reaped
	waitErr   error         // valid after done
	admin     *http.Client
}

// Start renders cfg, starts Envoy and waits until it is ready; it fails the
// test when Envoy is missing, rejects the configuration or is not ready
// within ReadyTimeout.
func Start(t TB, cfg Config) *Envoy {
	t.Helper()
	e, err := TryStart(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TryStart is Start for tests that expect Envoy to refuse a configuration
// (a filter whose OnPluginStart fails): it returns the error instead of
// failing the test, and, when the process was started, the Envoy whose Log
// says why it exited. Envoy missing is still an error, never a skip.
func TryStart(t TB, cfg Config) (*Envoy, error) {
	t.Helper()
	bin, err := EnvoyPath()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	cfg.logDir = dir
	yaml, err := Render(cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering the Envoy config: %w", err)
	}
	e := &Envoy{
		ConfigPath:  filepath.Join(dir, "envoy.yaml"),
		cfg:         cfg,
		LogPath:     filepath.Join(dir, "envoy.log"),
		Concurrency: cfg.Concurrency,
		t:           t,
		listeners:   listenerNames(cfg),
		done:        make(chan struct{}),
		admin:       &http.Client{Timeout: ClientTimeout, Transport: &http.Transport{Proxy: nil}},
	}
	if e.Concurrency <= 0 {
		e.Concurrency = DefaultConcurrency
	}
	if err := os.WriteFile(e.ConfigPath, yaml, 0o600); err != nil {
		return nil, err
	}
	if e.logFile, err = os.Create(e.LogPath); err != nil {
		return nil, err
	}
	adminPath := filepath.Join(dir, "admin-address")
	logLevel := cfg.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}
	args := []string{
		"-c", e.ConfigPath,
		"--admin-address-path", adminPath,
		"--concurrency", strconv.Itoa(e.Concurrency),
		// Parallel Envoys must not share hot-restart shared memory.
		"--use-dynamic-base-id",
		"-l", logLevel,
		// Access log lines reach their file within 100ms, not 10s.
		"--file-flush-interval-msec", "100",
	}
	if cfg.WasmDebug {
		args = append(args, "--component-log-level", "wasm:debug")
	}
	e.cmd = exec.Command(bin, args...)
	e.cmd.Dir = dir
	if len(cfg.Env) > 0 {
		e.cmd.Env = os.Environ()
		for _, name := range slices.Sorted(maps.Keys(cfg.Env)) {
			e.cmd.Env = append(e.cmd.Env, name+"="+cfg.Env[name])
		}
	}
	e.cmd.Stdout = e.logFile
	e.cmd.Stderr = e.logFile
	e.cmd.SysProcAttr = ChildProcAttr()
	if err := e.cmd.Start(); err != nil {
		e.logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.done)
	}()
	t.Cleanup(e.stop)
	if err := e.waitReady(adminPath); err != nil {
		return e, err
	}
	return e, nil
}

// waitReady polls the admin address file, /ready and /listeners until every
// listener has its port, Envoy exits, or ReadyTimeout passes.
func (e *Envoy) waitReady(adminPath string) error {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return fmt.Errorf("Envoy exited before it was ready (%v):\n%s", e.waitErr, e.errorLines())
		default:
		}
		last = e.probe(adminPath)
		if last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("Envoy not ready after %v: %v", ReadyTimeout, last)
}

func (e *Envoy) probe(adminPath string) error {
	if e.AdminURL == "" {
		b, err := os.ReadFile(adminPath)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			return errors.New("no admin address yet")
		}
		e.AdminURL = "http://" + strings.TrimSpace(string(b))
	}
	status, body, err := e.get("/ready")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("/ready: %d %s", status, strings.TrimSpace(body))
	}
	status, body, err = e.get("/listeners?format=json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("/listeners: %d", status)
	}
	var ls struct {
		ListenerStatuses []struct {
			Name         string
			LocalAddress struct {
				SocketAddress struct {
					PortValue int `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal([]byte(body), &ls); err != nil {
		return fmt.Errorf("/listeners: %w", err)
	}
	ports := map[string]int{}
	for _, l := range ls.ListenerStatuses {
		if p := l.LocalAddress.SocketAddress.PortValue; p != 0 {
			ports[l.Name] = p
		}
	}
	for _, name := range e.listeners {
		if ports[name] == 0 {
			return fmt.Errorf("listener %q has no port yet", name)
		}
	}
	e.Ports = ports
	return nil
}

// stop prints diagnostics when the test failed, then ends Envoy: SIGTERM,
// SIGKILL after StopTimeout, and always waits for the process.
func (e *Envoy) stop() {
	if e.t.Failed() {
		e.t.Log(e.Diagnostics())
	}
	select {
	case <-e.done:
	default:
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(StopTimeout):
			e.t.Logf("Envoy did not exit %v after SIGTERM; killing it", StopTimeout)
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	}
	e.admin.CloseIdleConnections()
	e.logFile.Close()
}

// Diagnostics is what a failed test prints: the end of Envoy's log, its
// /config_dump and its non-zero stats (these two only while Envoy runs).
func (e *Envoy) Diagnostics() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---- Envoy log (last %d lines of %s) ----\n%s\n", FailureLogLines, e.LogPath, e.tail(FailureLogLines))
	select {
	case <-e.done:
		fmt.Fprintf(&b, "---- Envoy exited: %v ----\n", e.waitErr)
		return b.String()
	default:
	}
	if e.AdminURL == "" {
		b.WriteString("---- no admin address: Envoy never started its admin API ----\n")
		return b.String()
	}
	if _, dump, err := e.get("/config_dump"); err != nil {
		fmt.Fprintf(&b, "---- /config_dump: %v ----\n", err)
	} else {
		fmt.Fprintf(&b, "---- /config_dump ----\n%s\n", dump)
	}
	if _, stats, err := e.get("/stats"); err != nil {
		fmt.Fprintf(&b, "---- /stats: %v ----\n", err)
	} else {
		b.WriteString("---- /stats (non-zero) ----\n")
		for line := range strings.Lines(stats) {
			_, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
			if !ok || value == "0" || value == "No recorded values" {
				continue
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

// Log returns Envoy's output so far.
func (e *Envoy) Log() string {
	b, err := os.ReadFile(e.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", e.LogPath, err)
	}
	return string(b)
}

func (e *Envoy) tail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errorLines returns the log's error and critical lines, where Envoy and
// the filters say why a configuration was refused, or else its last lines.
func (e *Envoy) errorLines() string {
	const most = 20
	var out []string
	for line := range strings.Lines(e.Log()) {
		if strings.Contains(line, "][critical][") || strings.Contains(line, "][error][") {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	if len(out) == 0 {
		return e.tail(5)
	}
	return strings.Join(out[max(0, len(out)-most):], "\n")
}

// URL is path on the first listener, such as "http://127.0.0.1:40124/api".
func (e *Envoy) URL(path string) string {
	return e.ListenerURL(e.listeners[0], path)
}

// ListenerURL is path on the named listener.
func (e *Envoy) ListenerURL(listener, path string) string {
	port, ok := e.Ports[listener]
	if !ok {
		e.t.Fatalf("no listener %q (have %v)", listener, e.Ports)
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
}

// Admin GETs path from the admin API and returns the body, failing the test
// unless the answer is 200.
func (e *Envoy) Admin(path string) string {
	e.t.Helper()
	status, body, err := e.get(path)
	if err != nil {
		e.t.Fatalf("admin %s: %v", path, err)
	}
	if status != http.StatusOK {
		e.t.Fatalf("admin %s: status %d: %s", path, status, body)
	}
	return body
}

func (e *Envoy) get(path string) (int, string, error) {
	resp, err := e.admin.Get(e.AdminURL + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Stats returns Envoy's counters and gauges by name. Wasm metrics carry
// Envoy's "wasmcustom." prefix here, and their labels are still part of the
// name: wasmcustom.steadfast_faults_requests_total.route.demo.kind.abort.
func (e *Envoy) Stats() map[string]uint64 {
	e.t.Helper()
	var doc struct {
		Stats []struct {
			Name  string
			Value json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(e.Admin("/stats?format=json")), &doc); err != nil {
		e.t.Fatalf("admin /stats: %v", err)
	}
	out := make(map[string]uint64, len(doc.Stats))
	for _, s := range doc.Stats {
		// Histograms have no name and text readouts a string value.
		if v, err := strconv.ParseUint(string(s.Value), 10, 64); s.Name != "" && err == nil {
			out[s.Name] = v
		}
	}
	return out
}

// Stat returns one counter or gauge; a stat Envoy does not have reads 0, as
// a Wasm counter does before the filter first defines it.
func (e *Envoy) Stat(name string) uint64 {
	e.t.Helper()
	return e.Stats()[name]
}

// Prometheus returns /stats/prometheus, where the stats_tags have turned
// the labels encoded in Wasm metric names into Prometheus labels.
func (e *Envoy) Prometheus() string {
	e.t.Helper()
	return e.Admin("/stats/prometheus")
}

// PID is Envoy's process ID.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// CPUTime is the CPU time Envoy has used so far, user plus system, all
// threads, from /proc/<pid>/stat (10ms resolution: measure over enough
// requests).
func (e *Envoy) CPUTime() time.Duration {
	e.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.PID()))
	if err != nil {
		e.t.Fatalf("Envoy CPU time: %v", err)
	}
	// The command name may contain spaces; the fields after it do not.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the name: state(0) ... utime(11) stime(12).
	if len(fields) < 13 {
		e.t.Fatalf("Envoy CPU time: short /proc stat line %q", s)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		e.t.Fatalf("Envoy CPU time: %v", err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ
}

// RSS is Envoy's resident memory in bytes (VmRSS of /proc/<pid>/status).
func (e *Envoy) RSS() uint64 {
	e.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.PID()))
	if err != nil {
		e.t.Fatalf("Envoy RSS: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				e.t.Fatalf("Envoy RSS: %q: %v", line, err)
			}
			return kb * 1024
		}
	}
	e.t.Fatalf("Envoy RSS: no VmRSS in /proc/%d/status", e.PID())
	return 0
}

// AccessLog returns the access log lines the listener wrote so far (see
// Listener.AccessLog); "" names the first listener. Envoy flushes access
// logs about once a second: poll for lines you expect.
func (e *Envoy) AccessLog(listener string) []string {
	if listener == "" {
		listener = e.listeners[0]
	}
	b, err := os.ReadFile(accessLogPath(e.cfg, listener))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
