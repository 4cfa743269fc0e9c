package etcd

// TestBenchReplayStores measures what the etcd replay store costs against
// the local one, paired inside one Envoy (see DESIGN.md, "How to measure
// it"): one webhookauth entry whose "local" route keeps replays in shared
// data and whose "etcd" route asks an in-process etcd, alternate batches
// of signed 1 KiB GitHub deliveries (each one new, so each is a store
// call), Envoy's CPU time (all threads, /proc/<pid>/task/*/schedstat)
// around each batch. The etcd timeout is 2s, not the default 250ms: on a
// busy machine a slow fsync would otherwise turn a delivery into a 503 and
// end the run. Then the deliveries per second one etcd node takes:
// through Envoy on the etcd route, and its JSON gateway called directly.
//
//	cd e2e/etcd && STEADFAST_BENCH=1 go test -count=1 -run '^TestBenchReplayStores$' -v .
//
// STEADFAST_COST_ROUNDS (default 8) and STEADFAST_COST_REQUESTS (default
// 1000) size the paired part.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const benchClients = 8

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	return n
}

// schedCPU is the CPU time of every thread of a process, from schedstat
// (nanoseconds, unlike /proc/<pid>/stat's 10 ms ticks).
func schedCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	require.NoError(t, err)
	var sum time.Duration
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		require.NoError(t, err)
		sum += time.Duration(ns)
	}
	return sum
}

// benchBody is a 1 KiB GitHub delivery, distinct for every n.
func benchBody(n int) string {
	head := fmt.Sprintf(`{"bench":%d,"pad":"`, n)
	return head + strings.Repeat("x", 1024-len(head)-2) + `"}`
}

// batch sends deliveries first to first+n-1 to url over benchClients
// keep-alive clients and returns each one's latency; every one must be
// accepted.
func batch(t *testing.T, clients []*http.Client, url string, first, n int) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				status, err := postWith(c, url, benchBody(first+i))
				lat[i] = time.Since(start)
				if err != nil || status != 200 {
					failed.Store(fmt.Sprintf("delivery %d: %d %v", first+i, status, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	return lat
}

type estimate struct{ mean, se float64 }

func (e estimate) String() string { return fmt.Sprintf("%.1f ± %.1f", e.mean, e.se) }

func estimateOf(xs []float64) estimate {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - m) * (x - m)
	}
	return estimate{m, math.Sqrt(sq/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))}
}

func percentile(lat []time.Duration, p float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func TestBenchReplayStores(t *testing.T) {
	if os.Getenv("STEADFAST_BENCH") != "1" {
		t.Skip("benchmark: set STEADFAST_BENCH=1 (make bench does)")
	}
	rounds := max(2, envInt(t, "STEADFAST_COST_ROUNDS", 8))
	requests := envInt(t, "STEADFAST_COST_REQUESTS", 1000)
	etcd := startEtcd(t)
	config := `{"scheme": "github", "secrets": [{"env": "` + secretEnv + `"}], "replay": {"cache_size": 100000,
		"store": "etcd", "etcd": {"cluster": "etcd", "key_prefix": "` + keyPrefix + `", "timeout": "2s"}},
		"routes": [{"name": "local", "replay": {"store": "local", "etcd": null}}]}`
	r := startReplica(t, etcd.addr, config, route{"local", "/local/"}, route{"etcd", "/etcd/"})
	clients := make([]*http.Client, benchClients)
	for i := range clients {
		clients[i] = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	}
	routes := []string{"local", "etcd"}
	n := 0
	for _, rt := range routes { // warm-up: connections, leases, VMs
		batch(t, clients, r.URL("/"+rt+"/"), n, requests/4)
		n += requests / 4
	}
	cpu := map[string][]float64{}
	lat := map[string][]time.Duration{}
	start := time.Now()
	for round := range rounds {
		for _, i := range rand.Perm(len(routes)) {
			rt := routes[i]
			before := schedCPU(t, r.PID())
			l := batch(t, clients, r.URL("/"+rt+"/"), n, requests)
			time.Sleep(50 * time.Millisecond) // Envoy ends each stream after its answer left
			cpu[rt] = append(cpu[rt], float64((schedCPU(t, r.PID())-before).Nanoseconds())/1e3/float64(requests))
			lat[rt] = append(lat[rt], l...)
			n += requests
		}
		t.Logf("round %d: local %.1f µs/req, etcd %.1f µs/req", round+1, cpu["local"][round], cpu["etcd"][round])
	}
	diff := make([]float64, rounds)
	for i := range diff {
		diff[i] = cpu["etcd"][i] - cpu["local"][i]
	}
	require.Equal(t, uint64(rounds*requests+requests/4), storeCalls(r, "inserted"), "every delivery of the etcd route was an etcd call")

	var b strings.Builder
	fmt.Fprintf(&b, "webhookauth replay store, paired in one Envoy (2 workers), %d rounds × %d signed 1 KiB GitHub deliveries per route, "+
		"%d keep-alive clients, %s:\n\n", rounds, requests, benchClients, time.Since(start).Round(time.Second))
	b.WriteString("| store | Envoy CPU µs/delivery ± SE | latency p50 | p99 |\n|---|--:|--:|--:|\n")
	for _, rt := range routes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rt, estimateOf(cpu[rt]), percentile(lat[rt], 0.5).Round(10*time.Microsecond), percentile(lat[rt], 0.99).Round(10*time.Microsecond))
	}
	fmt.Fprintf(&b, "\netcd − local, paired: %s µs of Envoy CPU per delivery\n", estimateOf(diff))
	fmt.Fprintf(&b, "calls to etcd: %d over %d connections\n", r.Stat("cluster.etcd.upstream_rq_total"), r.Stat("cluster.etcd.upstream_cx_total"))

	accepted, shed := sustained(t, 5*time.Second, 16, func(c *http.Client, i int) (int, error) {
		return postWith(c, r.URL("/etcd/"), benchBody(n+1_000_000+i))
	})
	fmt.Fprintf(&b, "through Envoy, etcd route, 16 clients for 5s: %.0f deliveries/s accepted, %d answered 503 (etcd slower than the 2s timeout)\n", accepted, shed)
	direct, _ := sustained(t, 5*time.Second, 16, func(c *http.Client, i int) (int, error) { return gatewayTxn(c, etcd.addr, i) })
	fmt.Fprintf(&b, "etcd's JSON gateway called directly (the same transaction, no lease), 16 clients for 5s: %.0f transactions/s\n", direct)
	t.Log("\n" + b.String())
}

// sustained runs call from clients goroutines for d and returns the calls
// per second answered 200, and how many were answered 503; any other
// answer fails the test.
func sustained(t *testing.T, d time.Duration, clients int, call func(c *http.Client, i int) (int, error)) (float64, int64) {
	t.Helper()
	var next, ok, shed atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				status, err := call(c, int(next.Add(1)))
				switch {
				case err == nil && status == 200:
					ok.Add(1)
				case err == nil && status == 503:
					shed.Add(1)
				default:
					failed.Store(fmt.Sprintf("status %d, %v", status, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	return float64(ok.Load()) / d.Seconds(), shed.Load()
}

// gatewayTxn sends etcd's JSON gateway the transaction webhookauth sends,
// for a new key, without a lease.
func gatewayTxn(c *http.Client, addr string, i int) (int, error) {
	key := base64.StdEncoding.EncodeToString([]byte(keyPrefix + "direct/" + strconv.Itoa(i)))
	body := `{"compare":[{"key":"` + key + `","result":"EQUAL","target":"CREATE","create_revision":"0"}],` +
		`"success":[{"request_put":{"key":"` + key + `","value":"MQ=="}}]}`
	resp, err := c.Post("http://"+addr+"/v3/kv/txn", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode == 200 && !strings.Contains(buf.String(), `"succeeded":true`) {
		return 0, fmt.Errorf("gateway: %s", buf.String())
	}
	return resp.StatusCode, nil
}
