package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// outcome is one request as the client saw it. Unlike harness.Do, sending
// one never fails the test, so goroutines may send them; the test looks at
// err afterwards.
type outcome struct {
	harness.Response
	Latency time.Duration
	Err     error
}

// keepAliveClient reuses its connections, for runs of many requests; each
// goroutine of a run gets its own, so the run spreads over several
// connections and both Envoy workers.
func keepAliveClient() *http.Client {
	return &http.Client{
		Timeout:   harness.ClientTimeout,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
	}
}

// send makes one request with c (a fresh harness.Client when nil) under ctx
// and reads the whole answer. headers are name, value pairs; a non-empty
// body makes it a POST.
func send(ctx context.Context, c *http.Client, url, body string, headers ...string) outcome {
	if c == nil {
		c = harness.Client()
	}
	method := http.MethodGet
	if body != "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return outcome{Err: err}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return outcome{Latency: time.Since(start), Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return outcome{
		Response: harness.Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)},
		Latency:  time.Since(start),
		Err:      err,
	}
}

// sendTogether runs n requests at once, each in its own goroutine released
// at the same moment, and returns their outcomes in order.
func sendTogether(n int, request func(i int) outcome) []outcome {
	out := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = request(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// sequentially runs n requests one after the other.
func sequentially(n int, request func(i int) outcome) []outcome {
	out := make([]outcome, n)
	for i := range n {
		out[i] = request(i)
	}
	return out
}

// requireNoErrors fails the test at the first request that got no answer.
func requireNoErrors(t *testing.T, outs []outcome) {
	t.Helper()
	for i, o := range outs {
		if o.Err != nil {
			t.Fatalf("request %d of %d: %v", i, len(outs), o.Err)
		}
	}
}

// eventually polls cond every 20ms until it holds or within passes; Envoy
// updates gauges and access logs a moment after the client has its answer.
func eventually(t *testing.T, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{within}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
