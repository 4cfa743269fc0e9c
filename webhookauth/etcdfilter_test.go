//go:build !wasm

package webhookauth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/plugins/plugintest"
)

// etcdConfig is githubConfig with the etcd store, and more settings.
func etcdConfig(etcd string) string {
	return `{"scheme": "github", "secrets": [{"value": "It's a Secret to Everybody"}],
		"replay": {"store": "etcd", "etcd": {"cluster": "etcd"` + etcd + `}}}`
}

// etcdCallout is a callout the filter sent to etcd, as the test reads it.
type etcdCallout struct {
	id      uint32
	cluster string
	path    string
	headers [][2]string
	body    string
}

// calloutsOf returns the callouts stream id sent so far.
func calloutsOf(h *plugintest.Host, id uint32) []etcdCallout {
	var out []etcdCallout
	for _, c := range h.GetCalloutAttributesFromContext(id) {
		ec := etcdCallout{id: c.CalloutID, cluster: c.Upstream, headers: c.Headers, body: string(c.Body)}
		for _, kv := range c.Headers {
			if kv[0] == ":path" {
				ec.path = kv[1]
			}
		}
		out = append(out, ec)
	}
	return out
}

// answer answers stream id's newest callout, which must be the n-th (from
// 1) and go to path, with an HTTP status and body; status 0 fails it, as
// Envoy does a callout that was reset.
func answer(t *testing.T, h *plugintest.Host, id uint32, n int, path string, status int, body string) etcdCallout {
	t.Helper()
	calls := calloutsOf(h, id)
	require.Len(t, calls, n, "callouts so far")
	c := calls[n-1]
	require.Equal(t, path, c.path, "callout %d", n)
	var headers [][2]string
	if status != 0 {
		headers = [][2]string{{":status", strconv.Itoa(status)}, {"content-type", "application/json"}}
	}
	h.CallOnHttpCallResponse(c.id, headers, nil, []byte(body))
	return c
}

// txnLease is the lease a transaction's put names.
func txnLease(t *testing.T, body string) string {
	t.Helper()
	var txn struct {
		Success []struct {
			RequestPut struct {
				Key   string `json:"key"`
				Lease string `json:"lease"`
			} `json:"request_put"`
		} `json:"success"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &txn), body)
	require.Len(t, txn.Success, 1, body)
	key, err := base64.StdEncoding.DecodeString(txn.Success[0].RequestPut.Key)
	require.NoError(t, err)
	require.Regexp(t, `^steadfast/webhookauth/replay/[0-9a-f]{32}$`, string(key))
	return txn.Success[0].RequestPut.Lease
}

func storeCalls(t *testing.T, h *plugintest.Host, outcome string) uint64 {
	t.Helper()
	v, err := h.GetCounterMetric("steadfast_webhookauth_replay_store_calls_total.store.etcd.outcome." + outcome)
	require.NoError(t, err)
	return v
}

func etcdCounter(t *testing.T, h *plugintest.Host, name string) uint64 {
	t.Helper()
	v, err := h.GetCounterMetric("steadfast_webhookauth_replay_store_" + name + ".store.etcd")
	require.NoError(t, err)
	return v
}

func grantAnswer(id int64) string {
	return fmt.Sprintf(`{%s,"ID":"%d","TTL":"377"}`, etcdHeader, id)
}

// decided returns what became of a held delivery: 200 when it went on
// upstream, else the status of the local reply, 0 while it is held.
func decided(h *plugintest.Host, id uint32) uint32 {
	if r := h.GetSentLocalResponse(id); r != nil {
		return r.StatusCode
	}
	if h.GetCurrentHttpStreamAction(id) == types.ActionContinue {
		return 200
	}
	return 0
}

// TestEtcdDecidesReplays: the first delivery of a time bucket is granted
// a lease and inserted (two round trips), the next delivery of the bucket
// uses that lease (one), etcd's "exists" is a replay, and a replay the
// local cache remembers never leaves the proxy.
func TestEtcdDecidesReplays(t *testing.T) {
	c := newClock()
	const first, second = `{"n":1}`, `{"n":2}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, etcdConfig(""), routeName("hooks"))

		id, action := send(h, signedGitHub(first), first, 0)
		require.Equal(t, types.ActionPause, action, "held until etcd decides")
		// github remembers a delivery for the 5m window: it expires in the
		// 75 s bucket that starts then, and its lease is asked to outlive
		// the bucket by 2 s: 300 + 75 + 2.
		grant := answer(t, h, id, 1, "/v3/lease/grant", 200, grantAnswer(7587874727455155461))
		assert.Equal(t, "etcd", grant.cluster)
		assert.Equal(t, [][2]string{{":method", "POST"}, {":path", "/v3/lease/grant"}, {":authority", "etcd"}, {"content-type", "application/json"}}, grant.headers)
		assert.Equal(t, `{"TTL":"377"}`, grant.body)
		assert.Zero(t, decided(h, id), "still held: the transaction is in flight")
		txn := answer(t, h, id, 2, "/v3/kv/txn", 200, txnInsertedJSON)
		assert.Equal(t, "7587874727455155461", txnLease(t, txn.body))
		assert.Equal(t, uint32(200), decided(h, id))
		assert.Equal(t, with(signedGitHub(first), "x-steadfast-webhook-verified", "github"), h.GetCurrentRequestHeaders(id))
		h.CompleteHttpContext(id)

		id, _ = send(h, signedGitHub(second), second, 0)
		txn = answer(t, h, id, 1, "/v3/kv/txn", 200, txnExistsJSON)
		assert.Equal(t, "7587874727455155461", txnLease(t, txn.body), "the bucket's lease, from shared data")
		assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "another replica accepted it")
		h.CompleteHttpContext(id)

		id, action = send(h, signedGitHub(first), first, 0)
		assert.Equal(t, types.ActionPause, action)
		assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "a replay seen here")
		assert.Empty(t, calloutsOf(h, id), "never leaves the proxy")
		h.CompleteHttpContext(id)

		assert.Equal(t, uint64(1), storeCalls(t, h, "inserted"))
		assert.Equal(t, uint64(1), storeCalls(t, h, "replay"))
		assert.Equal(t, uint64(1), etcdCounter(t, h, "lease_grants_total"))
		assert.Equal(t, uint64(1), counter(t, h, "hooks", "github", "accepted", "none"))
		assert.Equal(t, uint64(2), counter(t, h, "hooks", "github", "rejected", "replay"))
	})
}

// TestEtcdLeaseUnknownIsGrantedAgain: a lease etcd no longer knows is
// dropped and granted afresh, once per delivery: a second refusal is an
// error, not a loop.
func TestEtcdLeaseUnknownIsGrantedAgain(t *testing.T) {
	c := newClock()
	const first, second = `{"n":1}`, `{"n":2}`
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, etcdConfig(""), routeName("hooks"))

		id, _ := send(h, signedGitHub(first), first, 0)
		answer(t, h, id, 1, "/v3/lease/grant", 200, grantAnswer(1))
		answer(t, h, id, 2, "/v3/kv/txn", 404, leaseMissingJSON)
		answer(t, h, id, 3, "/v3/lease/grant", 200, grantAnswer(2))
		txn := answer(t, h, id, 4, "/v3/kv/txn", 200, txnInsertedJSON)
		assert.Equal(t, "2", txnLease(t, txn.body))
		assert.Equal(t, uint32(200), decided(h, id))
		h.CompleteHttpContext(id)

		id, _ = send(h, signedGitHub(second), second, 0)
		txn = answer(t, h, id, 1, "/v3/kv/txn", 404, leaseMissingJSON)
		assert.Equal(t, "2", txnLease(t, txn.body), "the new lease was shared")
		answer(t, h, id, 2, "/v3/lease/grant", 200, grantAnswer(3))
		answer(t, h, id, 3, "/v3/kv/txn", 404, leaseMissingJSON)
		assert.Len(t, calloutsOf(h, id), 3, "granted again once, not for ever")
		assert.Equal(t, unavailableReply, h.GetSentLocalResponse(id))
		h.CompleteHttpContext(id)

		assert.Equal(t, uint64(1), storeCalls(t, h, "inserted"))
		assert.Equal(t, uint64(1), storeCalls(t, h, "error"))
		assert.Equal(t, uint64(3), etcdCounter(t, h, "lease_grants_total"))
	})
}

// TestEtcdFailurePolicies: whatever goes wrong with etcd ends the held
// request: fail_closed answers 503, local_only lets the local cache
// decide, which still refuses a replay to this proxy.
func TestEtcdFailurePolicies(t *testing.T) {
	type failure struct {
		name    string
		status  int
		body    string
		outcome string
	}
	failures := []failure{
		{"reset", 0, "", "error"},
		{"Envoy's timeout", 504, "upstream request timeout", "timeout"},
		{"no healthy upstream", 503, "no healthy upstream", "error"},
		{"malformed", 200, `{"header":`, "error"},
		{"partial", 200, `{` + etcdHeader + `,"succeeded":true}`, "error"},
		{"etcd error", 503, `{"code":14,"message":"etcdserver: no leader"}`, "error"},
	}
	c := newClock()
	for _, policy := range []string{FailClosed, LocalOnly} {
		t.Run(policy, func(t *testing.T) {
			plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
				h := plugintest.Start(t, testFilter(c, nil, nil), mode, etcdConfig(`, "failure_policy": "`+policy+`"`), routeName("hooks"))
				id, _ := send(h, signedGitHub(`{"lease":1}`), `{"lease":1}`, 0)
				answer(t, h, id, 1, "/v3/lease/grant", 200, grantAnswer(9))
				answer(t, h, id, 2, "/v3/kv/txn", 200, txnInsertedJSON)
				h.CompleteHttpContext(id)

				want := map[string]uint64{}
				for i, f := range failures {
					body := fmt.Sprintf(`{"n":%d}`, i)
					id, _ := send(h, signedGitHub(body), body, 0)
					answer(t, h, id, 1, "/v3/kv/txn", f.status, f.body)
					want[f.outcome]++
					if policy == FailClosed {
						assert.Equal(t, unavailableReply, h.GetSentLocalResponse(id), f.name)
						h.CompleteHttpContext(id)
						continue
					}
					assert.Equal(t, uint32(200), decided(h, id), "%s: the local cache decides", f.name)
					h.CompleteHttpContext(id)
					id, _ = send(h, signedGitHub(body), body, 0)
					assert.Equal(t, refusedReply, h.GetSentLocalResponse(id), "%s: and remembers", f.name)
					assert.Empty(t, calloutsOf(h, id), f.name)
					h.CompleteHttpContext(id)
				}
				assert.Equal(t, want["error"], storeCalls(t, h, "error"))
				assert.Equal(t, want["timeout"], storeCalls(t, h, "timeout"))
				fallbacks := uint64(0)
				if policy == LocalOnly {
					fallbacks = uint64(len(failures))
				}
				assert.Equal(t, fallbacks, etcdCounter(t, h, "fallbacks_total"))
				assert.NotEmpty(t, h.GetWarnLogs(), "logged")
			})
		})
	}
}

// TestEtcdCalloutFailingAfterTheTimeoutIsATimeout tells a failed callout
// that took the whole timeout from one that failed at once. It moves the
// clock, so it runs natively.
func TestEtcdCalloutFailingAfterTheTimeoutIsATimeout(t *testing.T) {
	c := newClock()
	h := plugintest.Start(t, testFilter(c, nil, nil), plugintest.Native, etcdConfig(`, "timeout": "100ms"`), routeName("hooks"))
	const body = `{"n":1}`
	id, _ := send(h, signedGitHub(body), body, 0)
	c.t = c.t.Add(100 * time.Millisecond)
	answer(t, h, id, 1, "/v3/lease/grant", 0, "")
	assert.Equal(t, unavailableReply, h.GetSentLocalResponse(id))
	assert.Equal(t, uint64(1), storeCalls(t, h, "timeout"))
	assert.Equal(t, uint64(0), storeCalls(t, h, "error"))
	histogram, err := h.GetHistogramMetric("steadfast_webhookauth_replay_store_latency_ms.store.etcd")
	require.NoError(t, err)
	assert.Equal(t, uint64(100), histogram, "the latency of the call, in milliseconds")
}

// TestEtcdStreamEndingEarly: a client gone while etcd decides leaves
// nothing behind; the late answer is dropped.
func TestEtcdStreamEndingEarly(t *testing.T) {
	c := newClock()
	plugintest.Run(t, testFilter(c, nil, nil), func(t *testing.T, mode plugintest.Mode) {
		h := plugintest.Start(t, testFilter(c, nil, nil), mode, etcdConfig(""), routeName("hooks"))
		const body = `{"n":1}`
		id, _ := send(h, signedGitHub(body), body, 0)
		h.CompleteHttpContext(id)
		answer(t, h, id, 1, "/v3/lease/grant", 200, grantAnswer(5))
		assert.Len(t, calloutsOf(h, id), 1, "nothing more is sent for a stream that ended")
		assert.Nil(t, h.GetSentLocalResponse(id))
	})
}
