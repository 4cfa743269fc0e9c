package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freePort asks the kernel for a loopback port that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects Envoy's output from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServesWhatItPrints starts the shipped envoy/demo.yaml as `make run`
// does and tries what the demo tells a newcomer to try.
func TestDemoServesWhatItPrints(t *testing.T) {
	const faultToken = "demo-test-fault-token"
	t.Setenv("DEMO_FAULT_TOKEN", faultToken)
	o := options{listen: freePort(t), admin: freePort(t), upstream: freePort(t)}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	isReady := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, out, func() { close(isReady) }) }()
	select {
	case <-isReady:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s", err, out)
	case <-time.After(40 * time.Second):
		t.Fatalf("demo not ready\n%s", out)
	}
	defer func() {
		cancel()
		require.NoError(t, <-done)
		if t.Failed() {
			t.Log(out.String())
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d", o.listen)
	do := func(method, path, body string, headers ...string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header
	}

	status, _ := do("GET", "/", "")
	assert.Equal(t, 200, status, "home has both filters disabled by FilterConfig")

	codes := map[int]int{}
	for range 60 {
		status, h := do("GET", "/flaky", "")
		codes[status]++
		if status == 503 {
			assert.Equal(t, "abort=503", h.Get("x-steadfast-fault"))
		}
	}
	assert.Greater(t, codes[503], 5, "/flaky aborts about half: %v", codes)
	assert.Greater(t, codes[200], 5, "/flaky passes about half: %v", codes)

	// /slow draws a log-normal delay: median 200ms, p99 1s, at most 10s.
	// Each answer must have waited the delay its marker names; the middle
	// of the draws must lie within [50ms, 800ms], the distribution's 2.3rd
	// to 97.7th percentiles (a false alarm about once in 25,000 runs).
	const slowRequests = 8
	var delays []time.Duration
	for range slowRequests {
		start := time.Now()
		status, h := do("GET", "/slow", "")
		waited := time.Since(start)
		require.Equal(t, 200, status)
		marker := h.Get("x-steadfast-fault")
		d, err := time.ParseDuration(strings.TrimPrefix(marker, "delay="))
		require.NoError(t, err, "marker %q", marker)
		assert.GreaterOrEqual(t, waited, d, "the answer came before its delay")
		assert.LessOrEqual(t, d, 10*time.Second, "past the lognormal's max")
		delays = append(delays, d)
	}
	if assert.Len(t, delays, slowRequests) {
		slices.Sort(delays)
		assert.GreaterOrEqual(t, delays[slowRequests/2-1], 50*time.Millisecond, "delays %v", delays)
		assert.LessOrEqual(t, delays[slowRequests/2], 800*time.Millisecond, "delays %v", delays)
	}

	status, _ = do("GET", "/chaos", "", "x-steadfast-fault-token", faultToken, "x-steadfast-fault-abort", "418")
	assert.Equal(t, 418, status)
	status, _ = do("GET", "/chaos", "", "x-steadfast-fault-token", "guess", "x-steadfast-fault-abort", "418")
	assert.Equal(t, 200, status)

	body := `{"action":"opened","number":1}`
	sig := githubSignature(demoGitHubSecret, body)
	status, _ = do("POST", "/webhooks/github", body, "x-hub-signature-256", sig)
	assert.Equal(t, 200, status, "signed delivery")
	status, _ = do("POST", "/webhooks/github", body, "x-hub-signature-256", sig)
	assert.Equal(t, 401, status, "the same delivery again is a replay")
	status, _ = do("POST", "/webhooks/github", body+" ", "x-hub-signature-256", sig)
	assert.Equal(t, 401, status, "tampered body")

	// /unstable starts an outage: three 503s from the upstream open the
	// circuit, and the breaker answers the fourth itself.
	for i := range 3 {
		status, h := do("GET", "/unstable", "")
		assert.Equal(t, 503, status, "call %d during the outage", i+1)
		assert.Empty(t, h.Get("retry-after"), "call %d is the upstream's answer", i+1)
	}
	status, h := do("GET", "/unstable", "")
	assert.Equal(t, 503, status, "the circuit is open")
	assert.Contains(t, []string{"4", "5"}, h.Get("retry-after"), "the breaker's answer, open for 5s")

	// /retry is busy two requests in three: every request succeeds, some
	// after retries.
	retried := 0
	for i := range 6 {
		status, h := do("GET", "/retry", "")
		assert.Equal(t, 200, status, "request %d to /retry", i+1)
		if h.Get("x-steadfast-retries") != "" {
			retried++
		}
	}
	assert.Positive(t, retried, "some requests to /retry were retried")

	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/stats/prometheus", o.admin))
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), `steadfast_faults_aborts_injected_total{route="flaky",kind="request"}`)
	assert.Contains(t, string(metrics), `steadfast_webhookauth_requests_total{`)
	assert.Contains(t, string(metrics), `steadfast_breaker_transitions_total{key="unstable",from="closed",to="open"} 1`)
	assert.Contains(t, string(metrics), `steadfast_retry_retries_total{key="retry"}`)

	var tried bytes.Buffer
	printTryLines(&tried, o)
	assert.Contains(t, tried.String(), sig, "the printed curl line carries a valid signature")
	assert.Contains(t, tried.String(), "/unstable")
	assert.Contains(t, tried.String(), "/retry")
}
