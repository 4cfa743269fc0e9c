// Command demo runs the steadfast suite in a real Envoy with envoy/demo.yaml
// in front of a demo upstream, prints what to try, and stops both cleanly on
// Ctrl-C. `make run` builds the modules, installs Envoy and starts it.
package main

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// Ports of envoy/demo.yaml, replaced when the flags ask for others.
const (
	demoListenPort   = 10000
	demoAdminPort    = 9901
	demoUpstreamPort = 18080
)

// Demo secrets, used when the environment does not set them.
const (
	demoFaultToken   = "demo-fault-token-0123"
	demoGitHubSecret = "demo-secret"
)

// options are the demo's ports.
type options struct {
	listen, admin, upstream int
}

func main() {
	var o options
	flag.IntVar(&o.listen, "port", demoListenPort, "Envoy listener port")
	flag.IntVar(&o.admin, "admin-port", demoAdminPort, "Envoy admin port")
	flag.IntVar(&o.upstream, "upstream-port", demoUpstreamPort, "demo upstream port")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func() { printTryLines(os.Stdout, o) }
	if err := run(ctx, o, os.Stdout, ready); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run starts the upstream and Envoy, calls ready once Envoy serves, and
// returns when ctx ends (stopping both) or Envoy exits.
func run(ctx context.Context, o options, out io.Writer, ready func()) error {
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	envoy, err := harness.EnvoyPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "build", "suite.wasm")); err != nil {
		return errors.New("build/suite.wasm is missing: run `make build` (or just `make run`)")
	}
	config, err := demoConfig(root, o)
	if err != nil {
		return err
	}
	defer os.Remove(config)

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.upstream)))
	if err != nil {
		return fmt.Errorf("demo upstream: %w", err)
	}
	upstream := &http.Server{Handler: demoUpstream(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = upstream.Serve(ln) }()
	defer upstream.Close()

	cmd := exec.Command(envoy, "-c", config, "--concurrency", "2", "-l", "warn",
		"--component-log-level", "wasm:info", "--use-dynamic-base-id")
	cmd.Dir = root // the config names build/suite.wasm relative to the repository
	// The demo secrets go into Envoy's own environment, where the filters
	// read them through host_env_keys: /config_dump shows only their names.
	cmd.Env = append(os.Environ(),
		"DEMO_FAULT_TOKEN="+envOr("DEMO_FAULT_TOKEN", demoFaultToken),
		"DEMO_GITHUB_SECRET="+envOr("DEMO_GITHUB_SECRET", demoGitHubSecret))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = harness.ChildProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting envoy: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	if err := waitReady(ctx, o.admin, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return err
	}
	ready()
	select {
	case err := <-exited:
		return fmt.Errorf("envoy exited: %v", err)
	case <-ctx.Done():
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return nil
}

// How /unstable behaves: down for outageFor from the first request that
// finds it neither down nor in its healthy spell, then up for healthyFor.
const (
	outageFor  = 4 * time.Second
	healthyFor = 30 * time.Second
)

// demoUpstream is Echo, except on /unstable: an upstream that goes through
// outages, for the breaker to open on; and on /retry, one that is busy two
// requests in three, for the retry filter to retry.
func demoUpstream() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", harness.Echo())
	mux.Handle("/unstable", &unstable{})
	mux.Handle("/retry", &busy{})
	return mux
}

// busy answers 503 to two requests in three, 200 to the third.
type busy struct{ n atomic.Int64 }

func (b *busy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.n.Add(1)%3 != 0 {
		http.Error(w, "demo upstream: busy", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "demo upstream: served on attempt "+cmp.Or(r.Header.Get("x-steadfast-attempt"), "1")+"\n")
}

// unstable answers 503 during an outage and 200 otherwise.
type unstable struct {
	mu                      sync.Mutex
	downUntil, healthyUntil time.Time
}

func (u *unstable) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	u.mu.Lock()
	if !now.Before(u.healthyUntil) {
		u.downUntil, u.healthyUntil = now.Add(outageFor), now.Add(outageFor+healthyFor)
	}
	down := now.Before(u.downUntil)
	u.mu.Unlock()
	if down {
		http.Error(w, "demo upstream: outage", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "demo upstream: up\n")
}

// demoConfig writes envoy/demo.yaml with the chosen ports to a temporary
// file and returns its path.
func demoConfig(root string, o options) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "envoy", "demo.yaml"))
	if err != nil {
		return "", err
	}
	s := string(b)
	for from, to := range map[int]int{demoListenPort: o.listen, demoAdminPort: o.admin, demoUpstreamPort: o.upstream} {
		s = strings.ReplaceAll(s, fmt.Sprintf("port_value: %d}", from), fmt.Sprintf("port_value: %d}", to))
	}
	f, err := os.CreateTemp("", "steadfast-demo-*.yaml")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(s)
	return f.Name(), err
}

func waitReady(ctx context.Context, adminPort int, exited <-chan error) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", adminPort)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("envoy exited before it was ready (%v); its log is above", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("envoy was not ready within 30s")
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// githubSignature signs body as GitHub does (X-Hub-Signature-256).
func githubSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func printTryLines(w io.Writer, o options) {
	base := fmt.Sprintf("http://127.0.0.1:%d", o.listen)
	body := `{"action":"opened","number":1}`
	sig := githubSignature(envOr("DEMO_GITHUB_SECRET", demoGitHubSecret), body)
	fmt.Fprintf(w, `
steadfast is running in Envoy on %[1]s (admin http://127.0.0.1:%[2]d), upstream on 127.0.0.1:%[3]d.

Try:
  # faults: about half of these answer 503 from the filter (x-steadfast-fault: abort=503)
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%%{http_code} ' %[1]s/flaky; done; echo
  # faults: a log-normal delay, median 200ms, p99 1s
  curl -s -o /dev/null -w '%%{time_total}s\n' %[1]s/slow
  # breaker: /unstable has a %[7]v outage from its first request, then %[8]v up;
  # after 3 failures the circuit opens for 5s (503 with retry-after, the
  # upstream spared), then one probe finds it up and closes the circuit
  for i in $(seq 1 30); do curl -s -o /dev/null -w '%%{http_code} ' %[1]s/unstable; sleep 0.25; done; echo
  # retry: the upstream behind /retry is busy (503) two requests in three;
  # the filter retries with jittered backoff and every request succeeds
  # (x-steadfast-retries says how many retries it took)
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%%{http_code} ' %[1]s/retry; done; echo
  curl -i %[1]s/retry
  # faults on demand, guarded by a token
  curl -i -H 'x-steadfast-fault-token: %[4]s' -H 'x-steadfast-fault-abort: 418' %[1]s/chaos
  # webhookauth: a GitHub delivery signed with the demo secret passes (run it
  # twice: the second time it is a replay, 401)
  curl -i -H 'x-hub-signature-256: %[5]s' -d '%[6]s' %[1]s/webhooks/github
  # a tampered one does not pass (401)
  curl -i -H 'x-hub-signature-256: %[5]s' -d '%[6]s ' %[1]s/webhooks/github
  # the metrics, labelled
  curl -s http://127.0.0.1:%[2]d/stats/prometheus | grep '^steadfast_'

Access log lines appear below. Ctrl-C stops Envoy and the upstream.
`, base, o.admin, o.upstream, envOr("DEMO_FAULT_TOKEN", demoFaultToken), sig, body, outageFor, healthyFor)
}
