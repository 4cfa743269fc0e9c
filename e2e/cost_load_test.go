package e2e

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"fortio.org/fortio/fhttp"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// costClients are the paired benchmark's connections: fortio's standard
// clients, one keep-alive connection each, opened once and used for every
// route. Envoy hands each connection to one worker for its lifetime; with
// connections opened per batch their split over the workers changes from
// batch to batch, and with it Envoy's CPU per request (a worker with one
// connection wakes up for every request, one with seven for a few), by
// ±10 µs on its own. Over the same connections every batch of the run has
// the same split.
type costClients []*fhttp.Client

// openCostClients opens n connections to url that Envoy's workers share
// evenly (4 and 4 for 8 connections on 2 workers), so that runs are
// comparable too: the kernel spreads connections over the workers at
// random, so the connections are opened again until the split is even.
func openCostClients(t *testing.T, envoy *harness.Envoy, url string, n int) costClients {
	t.Helper()
	const attempts = 50
	for range attempts {
		before := perWorker(envoy.Stats(), "downstream_cx_total")
		cs := make(costClients, n)
		for i := range cs {
			o := &fhttp.HTTPOptions{URL: url, DisableFastClient: true, HTTPReqTimeOut: harness.ClientTimeout}
			o.ID = i
			c, err := fhttp.NewStdClient(o)
			require.NoError(t, err)
			t.Cleanup(c.Close)
			code, _, _ := c.StreamFetch(context.Background())
			require.Equal(t, http.StatusOK, code, "%s: the first request of connection %d", url, i)
			cs[i] = c
		}
		opened := perWorker(envoy.Stats(), "downstream_cx_total")
		least, most := n, 0
		for w, total := range opened {
			least, most = min(least, int(total-before[w])), max(most, int(total-before[w]))
		}
		require.Len(t, opened, envoy.Concurrency, "per-worker listener stats")
		if most-least <= n%envoy.Concurrency {
			return cs
		}
		for _, c := range cs {
			c.Close()
		}
	}
	t.Fatalf("%d connections did not split evenly over %d workers in %d attempts", n, envoy.Concurrency, attempts)
	return nil
}

// batch sends requests GETs to url as fast as Envoy answers, each client
// sending its next request when its last one is answered, and returns how
// many were answered want. Any other answer fails the test.
func (cs costClients) batch(t *testing.T, url string, requests, want int) int {
	t.Helper()
	for _, c := range cs {
		require.NoError(t, c.ChangeURL(url))
	}
	var (
		next, ok atomic.Int64
		mu       sync.Mutex
		bad      = map[int]int{}
		wg       sync.WaitGroup
	)
	for _, c := range cs {
		wg.Go(func() {
			for next.Add(1) <= int64(requests) {
				code, _, _ := c.StreamFetch(context.Background())
				if code != want {
					mu.Lock()
					bad[code]++ // -1: no answer
					mu.Unlock()
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	require.Empty(t, bad, "%s: answers other than %d by status, after %d of them", url, want, ok.Load())
	return int(ok.Load())
}

// perWorker reads a per-worker listener stat, such as
// listener.127.0.0.1_<port>.worker_0.downstream_cx_active, by worker.
func perWorker(stats map[string]uint64, stat string) map[string]uint64 {
	out := map[string]uint64{}
	for name, v := range stats {
		if !strings.HasPrefix(name, "listener.127.0.0.1_") || !strings.HasSuffix(name, "."+stat) {
			continue
		}
		parts := strings.Split(name, ".")
		if w := parts[len(parts)-2]; strings.HasPrefix(w, "worker_") {
			out[w] += v
		}
	}
	return out
}

// workerSplit is how many connections each worker holds, such as "4/4".
func workerSplit(stats map[string]uint64) string {
	active := perWorker(stats, "downstream_cx_active")
	workers := slices.Sorted(maps.Keys(active))
	counts := make([]string, len(workers))
	for i, w := range workers {
		counts[i] = strconv.FormatUint(active[w], 10)
	}
	return strings.Join(counts, "/")
}
