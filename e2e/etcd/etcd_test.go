// Package etcd tests webhookauth's etcd replay store end to end: an etcd
// server in the test process and Envoy "replicas" in front of it. It is a
// module of its own so that etcd's server and its dependencies stay out of
// the main module.
package etcd

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

const (
	secretEnv = "ETCD_E2E_GITHUB_SECRET"
	secret    = "etcd-e2e-secret"
	// etcdCluster is the Envoy cluster of etcd in every replica.
	etcdCluster = "etcd"
	// keyPrefix is where the replicas keep replay keys.
	keyPrefix = "e2e/replay/"
)

// replayConfig is a github webhookauth configuration on the etcd store,
// with extra replay and etcd fields.
func replayConfig(replay, etcd string) string {
	return `{"scheme": "github", "secrets": [{"env": "` + secretEnv + `"}],
		"replay": {"store": "etcd"` + replay + `, "etcd": {"cluster": "` + etcdCluster + `", "key_prefix": "` + keyPrefix + `"` + etcd + `}}}`
}

// freePort returns a loopback port nobody listens on (a short race with
// other processes, which loopback tests accept).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// etcdServer is a one-member etcd in the test process, on loopback ports,
// with its data in a temporary directory.
type etcdServer struct {
	addr string // host:port of the client URL, where the JSON gateway is
	e    *embed.Etcd
	once sync.Once
}

// stop stops etcd, once: embed.Etcd's Close panics the second time.
func (s *etcdServer) stop() { s.once.Do(s.e.Close) }

func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	client := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	require.NoError(t, err)
	s := &etcdServer{addr: client.Host, e: e}
	t.Cleanup(s.stop)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		t.Fatal("etcd was not ready within 20s")
	}
	return s
}

// client is an etcd client for what the test checks in etcd.
func (s *etcdServer) client(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + s.addr}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// keys returns the replay keys in etcd and their leases' remaining TTLs.
func (s *etcdServer) keys(t *testing.T, c *clientv3.Client) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, keyPrefix, clientv3.WithPrefix())
	require.NoError(t, err)
	out := map[string]int64{}
	for _, kv := range resp.Kvs {
		ttl, err := c.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
		require.NoError(t, err)
		out[string(kv.Key)] = ttl.TTL
	}
	return out
}

// repoFile is a file of the repository, two directories up from this
// module's.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", rel))
	require.NoError(t, err)
	_, err = os.Stat(path)
	require.NoError(t, err, "run `make build` first")
	return path
}

// replica is one Envoy in front of the application and etcd.
type replica struct {
	*harness.Envoy
	up *harness.Upstream
}

// route is one route of a replica: its name and path prefix.
type route struct{ name, prefix string }

// startReplica starts an Envoy with webhookauth on config, talking to etcd
// at etcdAddr, with a route per entry of routes (one catch-all if none).
func startReplica(t *testing.T, etcdAddr, config string, routes ...route) *replica {
	t.Helper()
	tags, err := os.ReadFile(repoFile(t, "envoy/stats_tags.yaml"))
	require.NoError(t, err)
	up := harness.NewUpstream(t, nil)
	if len(routes) == 0 {
		routes = []route{{"hooks", "/"}}
	}
	var rs []harness.Route
	for _, r := range routes {
		rs = append(rs, harness.Route{Name: r.name, Prefix: r.prefix, Cluster: "app"})
	}
	envoy := harness.Start(t, harness.Config{
		StatsTags: string(tags),
		Clusters:  []harness.Cluster{up.Cluster("app"), {Name: etcdCluster, Address: etcdAddr}},
		Listeners: []harness.Listener{{Routes: rs, Filters: []harness.HTTPFilter{harness.Wasm{
			RootID:                      "webhookauth",
			Module:                      repoFile(t, "build/webhookauth.wasm"),
			Configuration:               config,
			Env:                         map[string]string{secretEnv: secret},
			AllowOnHeadersStopIteration: true,
		}}}},
	})
	return &replica{Envoy: envoy, up: up}
}

// stopReplica ends an Envoy process now, as a crash or a rollout would.
func stopReplica(t *testing.T, r *replica) {
	t.Helper()
	require.NoError(t, syscall.Kill(r.PID(), syscall.SIGKILL))
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(r.PID(), 0) == nil {
		require.True(t, time.Now().Before(deadline), "Envoy did not exit")
		time.Sleep(20 * time.Millisecond)
	}
}

// delivery is GitHub delivery number n of a test: its body is what makes
// it distinct.
func delivery(t *testing.T, n int) string {
	return fmt.Sprintf(`{"test":%q,"number":%d}`, t.Name(), n)
}

// post POSTs a signed GitHub delivery on a new connection and returns the
// status. It never fails the test, so goroutines may call it.
func post(url, body string) (int, error) {
	return send(harness.Client(), url, body, true)
}

// postWith POSTs a signed GitHub delivery with c, on a kept-alive
// connection.
func postWith(c *http.Client, url, body string) (int, error) { return send(c, url, body, false) }

func send(c *http.Client, url, body string, newConnection bool) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Close = newConnection
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func mustPost(t *testing.T, url, body string) int {
	t.Helper()
	status, err := post(url, body)
	require.NoError(t, err)
	return status
}

func storeCalls(r *replica, outcome string) uint64 {
	return r.Stat("wasmcustom.steadfast_webhookauth_replay_store_calls_total.store.etcd.outcome." + outcome)
}

// TestSameDeliveryToBothReplicas: the replica that sees a delivery first
// accepts it; the other refuses its copy, and so does the first.
func TestSameDeliveryToBothReplicas(t *testing.T) {
	etcd := startEtcd(t)
	a := startReplica(t, etcd.addr, replayConfig("", ""))
	b := startReplica(t, etcd.addr, replayConfig("", ""))

	d := delivery(t, 1)
	assert.Equal(t, 200, mustPost(t, a.URL("/hooks"), d))
	assert.Equal(t, 401, mustPost(t, b.URL("/hooks"), d), "the other replica")
	assert.Equal(t, 401, mustPost(t, a.URL("/hooks"), d), "the same replica")
	assert.Equal(t, 200, mustPost(t, b.URL("/hooks"), delivery(t, 2)), "another delivery")

	assert.Equal(t, 1, a.up.Count())
	assert.Equal(t, 1, b.up.Count())
	assert.Equal(t, uint64(1), storeCalls(a, "inserted"))
	assert.Equal(t, uint64(1), storeCalls(b, "inserted"))
	assert.Equal(t, uint64(1), storeCalls(b, "replay"))
	assert.Zero(t, storeCalls(a, "replay"), "a's replay never left the proxy")
	assert.Len(t, etcd.keys(t, etcd.client(t)), 2)
	assert.Regexp(t, `(?m)^steadfast_webhookauth_replay_store_calls_total\{(store="etcd",outcome="inserted"|outcome="inserted",store="etcd")\} 1$`,
		a.Prometheus(), "labelled by envoy/stats_tags.yaml")
}

// TestConcurrentCopiesOverBothReplicas: 40 copies of one delivery at once,
// each on a connection of its own, over both replicas and both workers of
// each: exactly one is accepted.
func TestConcurrentCopiesOverBothReplicas(t *testing.T) {
	etcd := startEtcd(t)
	replicas := []*replica{
		startReplica(t, etcd.addr, replayConfig("", "")),
		startReplica(t, etcd.addr, replayConfig("", "")),
	}
	for n := range 3 {
		d := delivery(t, n)
		statuses := make([]int, 40)
		errs := make([]error, 40)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() { statuses[i], errs[i] = post(replicas[i%2].URL("/hooks"), d) })
		}
		wg.Wait()
		count := map[int]int{}
		for i, s := range statuses {
			require.NoError(t, errs[i])
			count[s]++
		}
		assert.Equal(t, map[int]int{200: 1, 401: 39}, count, "delivery %d", n)
	}
	assert.Equal(t, 3, replicas[0].up.Count()+replicas[1].up.Count(), "one copy of each reached the app")
	for i, r := range replicas {
		workers := 0
		for name, v := range r.Stats() {
			if strings.HasPrefix(name, "listener.") && strings.HasSuffix(name, ".downstream_cx_total") && strings.Contains(name, ".worker_") && v > 0 {
				workers++
			}
		}
		assert.Equal(t, 2, workers, "both workers of replica %d took copies", i)
	}
}

// TestReplicaRestartedStillRefusesTheReplay: a restart forgets the local
// cache, not what etcd holds.
func TestReplicaRestartedStillRefusesTheReplay(t *testing.T) {
	etcd := startEtcd(t)
	a := startReplica(t, etcd.addr, replayConfig("", ""))
	d := delivery(t, 1)
	require.Equal(t, 200, mustPost(t, a.URL("/hooks"), d))

	stopReplica(t, a)
	restarted := startReplica(t, etcd.addr, replayConfig("", ""))
	assert.Equal(t, 401, mustPost(t, restarted.URL("/hooks"), d))
	assert.Equal(t, 0, restarted.up.Count())
	assert.Equal(t, uint64(1), storeCalls(restarted, "replay"))
}

// TestKeysExpireWithTheirLease: with a 2 s window, a key lives on a lease
// of a few seconds and is gone with it; the delivery is then new again
// everywhere, as it is for the local store after its window.
func TestKeysExpireWithTheirLease(t *testing.T) {
	etcd := startEtcd(t)
	c := etcd.client(t)
	a := startReplica(t, etcd.addr, replayConfig(`, "window": "2s"`, ""))
	b := startReplica(t, etcd.addr, replayConfig(`, "window": "2s"`, ""))
	d := delivery(t, 1)
	require.Equal(t, 200, mustPost(t, a.URL("/hooks"), d))
	accepted := time.Now()

	keys := etcd.keys(t, c)
	require.Len(t, keys, 1)
	for key, ttl := range keys {
		assert.Regexp(t, `^`+keyPrefix+`[0-9a-f]{32}$`, key)
		// Expires 2 s from now, in a bucket of 1 s, plus 2 s of slack.
		assert.True(t, ttl >= 2 && ttl <= 5, "lease TTL %d s", ttl)
	}
	assert.Equal(t, 401, mustPost(t, b.URL("/hooks"), d), "within the window")

	for len(etcd.keys(t, c)) > 0 {
		require.Less(t, time.Since(accepted), 10*time.Second, "the key outlived its lease")
		time.Sleep(200 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, time.Since(accepted), 2*time.Second, "not before the window ended")
	assert.Equal(t, 200, mustPost(t, b.URL("/hooks"), d), "forgotten after the window")
}

// forwarder passes TCP connections on to etcd, so that the test can cut
// them all at once: etcd's Close waits for its clients to go, and Envoy
// keeps its connections to etcd open.
type forwarder struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func forward(t *testing.T, target string) *forwarder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &forwarder{l: l}
	t.Cleanup(f.Close)
	f.wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			f.wg.Go(func() { _, _ = io.Copy(out, in); out.Close() })
			f.wg.Go(func() { _, _ = io.Copy(in, out); in.Close() })
		}
	})
	return f
}

func (f *forwarder) addr() string { return f.l.Addr().String() }

// Close refuses new connections and cuts the open ones.
func (f *forwarder) Close() {
	f.l.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// blackhole accepts connections on addr and never answers: an etcd that
// hangs.
func blackhole(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
}

// TestEtcdDown: etcd stops, then hangs. fail_closed answers 503 within
// the call's timeout and never hangs; local_only goes on verifying, and
// refuses replays to the same replica.
func TestEtcdDown(t *testing.T) {
	etcd := startEtcd(t)
	const timeout = 300 * time.Millisecond
	config := `{"scheme": "github", "secrets": [{"env": "` + secretEnv + `"}],
		"replay": {"store": "etcd", "etcd": {"cluster": "etcd", "key_prefix": "` + keyPrefix + `", "timeout": "300ms"}},
		"routes": [{"name": "open", "replay": {"etcd": {"failure_policy": "local_only"}}}]}`
	front := forward(t, etcd.addr)
	r := startReplica(t, front.addr(), config, route{"open", "/open"}, route{"closed", "/closed"})
	require.Equal(t, 200, mustPost(t, r.URL("/closed"), delivery(t, 0)), "etcd up")

	timed := func(path, body string) (int, time.Duration) {
		start := time.Now()
		status := mustPost(t, r.URL(path), body)
		return status, time.Since(start)
	}
	n := 1
	check := func(phase string, minElapsed time.Duration) {
		for range 4 {
			status, took := timed("/closed", delivery(t, n))
			assert.Equal(t, 503, status, "%s: fail_closed", phase)
			assert.Less(t, took, timeout+700*time.Millisecond, "%s: answered within the timeout", phase)
			assert.GreaterOrEqual(t, took, minElapsed, phase)
			n++

			d := delivery(t, n)
			status, took = timed("/open", d)
			assert.Equal(t, 200, status, "%s: local_only verifies", phase)
			assert.Less(t, took, timeout+700*time.Millisecond, phase)
			assert.Equal(t, 401, mustPost(t, r.URL("/open"), d), "%s: and refuses the replay", phase)
			n++
		}
	}

	front.Close()
	stopped := make(chan struct{})
	go func() { etcd.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("etcd did not stop")
	}
	check("etcd stopped", 0)
	assert.Positive(t, storeCalls(r, "error"))

	blackhole(t, front.addr())
	check("etcd hanging", timeout*9/10)
	assert.Positive(t, storeCalls(r, "timeout"))
	assert.Equal(t, uint64(8), r.Stat("wasmcustom.steadfast_webhookauth_replay_store_fallbacks_total.store.etcd"))
	assert.Contains(t, r.Log(), "the local cache decides (local_only)")
	assert.Contains(t, r.Log(), "refused with 503 (fail_closed)")
}
