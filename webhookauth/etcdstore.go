package webhookauth

import (
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

// Replay stores, the values of replay.store.
const (
	// ReplayStoreLocal remembers deliveries in this proxy's shared data:
	// every worker of one Envoy sees them, other replicas do not.
	ReplayStoreLocal = "local"
	// ReplayStoreEtcd remembers deliveries in an etcd cluster that every
	// replica shares, with the local cache in front of it.
	ReplayStoreEtcd = "etcd"
)

// Failure policies of the etcd store, the values of
// replay.etcd.failure_policy.
const (
	// FailClosed refuses a delivery with 503 when etcd does not decide on
	// it in time; providers redeliver on a 5xx.
	FailClosed = "fail_closed"
	// LocalOnly falls back to the local cache: replays to this replica
	// are still refused, replays to another one pass while etcd is down.
	LocalOnly = "local_only"
)

// Defaults and limits of the etcd store.
const (
	DefaultEtcdKeyPrefix     = "steadfast/webhookauth/replay/"
	DefaultEtcdTimeout       = 250 * time.Millisecond
	MinEtcdTimeout           = 10 * time.Millisecond
	MaxEtcdTimeout           = 10 * time.Second
	DefaultEtcdFailurePolicy = FailClosed
	maxEtcdKeyPrefix         = 256
)

// EtcdConfig configures the etcd replay store. The filter reaches etcd's
// HTTP/JSON gateway through an Envoy cluster: TLS, client certificates
// and credentials belong to that cluster's configuration, never to the
// filter's.
type EtcdConfig struct {
	// Cluster is the Envoy cluster of the etcd endpoints. Required.
	Cluster string `json:"cluster"`
	// Authority is the :authority of the calls. Absent: the cluster name.
	Authority string `json:"authority"`
	// KeyPrefix starts every key the store writes. Absent:
	// DefaultEtcdKeyPrefix.
	KeyPrefix *string `json:"key_prefix"`
	// Timeout bounds each call to etcd. Absent: DefaultEtcdTimeout.
	Timeout *pipeline.Duration `json:"timeout"`
	// FailurePolicy is fail_closed (the default) or local_only.
	FailurePolicy string `json:"failure_policy"`
}

// DecodeJSON reads the etcd store's options.
func (e *EtcdConfig) DecodeJSON(f *pipeline.Fields) {
	f.String("cluster", &e.Cluster)
	f.String("authority", &e.Authority)
	f.StringPtr("key_prefix", &e.KeyPrefix)
	f.DurationPtr("timeout", &e.Timeout)
	f.String("failure_policy", &e.FailurePolicy)
}

// EtcdSettings are the effective values of an EtcdConfig.
type EtcdSettings struct {
	Cluster       string
	Authority     string
	KeyPrefix     string
	Timeout       time.Duration
	FailurePolicy string
}

func (r ReplayConfig) validateStore(s *Settings) error {
	switch r.Store {
	case "", ReplayStoreLocal:
		s.Etcd = nil
		if r.Etcd != nil {
			return pipeline.Errorf("replay.etcd", "applies only to replay.store %q", ReplayStoreEtcd)
		}
		return nil
	case ReplayStoreEtcd:
	default:
		return pipeline.Errorf("replay.store", "%q is not a replay store: use %q or %q", r.Store, ReplayStoreLocal, ReplayStoreEtcd)
	}
	e := r.Etcd
	switch {
	case !s.Replay:
		return pipeline.Errorf("replay.store", "%q needs replay protection on (replay.enabled)", ReplayStoreEtcd)
	case e == nil || e.Cluster == "":
		return pipeline.Errorf("replay.etcd.cluster", "is required with replay.store %q: the Envoy cluster of etcd's endpoints", ReplayStoreEtcd)
	case !printable(e.Cluster):
		return pipeline.Errorf("replay.etcd.cluster", "%q is not a cluster name", e.Cluster)
	case e.Authority != "" && !printable(e.Authority):
		return pipeline.Errorf("replay.etcd.authority", "%q is not an authority", e.Authority)
	}
	es := EtcdSettings{Cluster: e.Cluster, Authority: e.Authority, KeyPrefix: DefaultEtcdKeyPrefix,
		Timeout: DefaultEtcdTimeout, FailurePolicy: DefaultEtcdFailurePolicy}
	if es.Authority == "" {
		es.Authority = e.Cluster
	}
	if e.KeyPrefix != nil {
		if *e.KeyPrefix == "" || len(*e.KeyPrefix) > maxEtcdKeyPrefix {
			return pipeline.Errorf("replay.etcd.key_prefix", "must be 1 to %d bytes", maxEtcdKeyPrefix)
		}
		es.KeyPrefix = *e.KeyPrefix
	}
	if e.Timeout != nil {
		es.Timeout = e.Timeout.Std()
		if es.Timeout < MinEtcdTimeout || es.Timeout > MaxEtcdTimeout {
			return pipeline.Errorf("replay.etcd.timeout", "must be between %s and %s", MinEtcdTimeout, MaxEtcdTimeout)
		}
	}
	switch e.FailurePolicy {
	case "":
	case FailClosed, LocalOnly:
		es.FailurePolicy = e.FailurePolicy
	default:
		return pipeline.Errorf("replay.etcd.failure_policy", "%q is not a failure policy: use %q or %q", e.FailurePolicy, FailClosed, LocalOnly)
	}
	s.Etcd = &es
	return nil
}

// printable reports whether s is non-empty visible ASCII, without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// Outcomes of a store call, the outcome label of
// steadfast_webhookauth_replay_store_calls_total.
const (
	storeInserted = "inserted"
	storeReplay   = "replay"
	storeError    = "error"
	storeTimeout  = "timeout"
)

// warnEvery bounds how often one VM logs etcd failures at warn level.
const warnEvery = 10 * time.Second

// etcdStore is the etcd replay store of the configurations with the same
// settings, in one plugin of one worker VM.
type etcdStore struct {
	settings                 EtcdSettings
	width                    time.Duration // of the lease buckets
	leasesKey                string        // the shared-data key of the lease table
	txnHeaders, grantHeaders [][2]string

	calls     map[string]pipeline.Counter
	latency   pipeline.Histogram
	fallbacks pipeline.Counter
	grants    pipeline.Counter
	log       pipeline.Logger
	lastWarn  time.Time
	// body is reused for every request: the host copies it.
	body []byte
}

// etcdStores maps every configuration with the etcd store to its store;
// configurations with the same settings and window share one.
func etcdStores(env *pipeline.Env, routes *pipeline.Routes[Config]) map[*Config]*etcdStore {
	out := map[*Config]*etcdStore{}
	type shape struct {
		settings EtcdSettings
		width    time.Duration
	}
	byShape := map[shape]*etcdStore{}
	_ = routes.Each(func(c *Config) error {
		s := c.Settings()
		if !s.Replay || s.Etcd == nil {
			return nil
		}
		k := shape{*s.Etcd, bucketWidth(s.ReplayWindow)}
		es, ok := byShape[k]
		if !ok {
			es = newEtcdStore(env, k.settings, k.width)
			byShape[k] = es
		}
		out[c] = es
		return nil
	})
	return out
}

func newEtcdStore(env *pipeline.Env, s EtcdSettings, width time.Duration) *etcdStore {
	headers := func(path string) [][2]string {
		return [][2]string{{":method", "POST"}, {":path", path}, {":authority", s.Authority}, {"content-type", "application/json"}}
	}
	es := &etcdStore{
		settings: s, width: width,
		leasesKey:    "steadfast.webhookauth.etcd.leases.v1." + s.Cluster + "." + strconv.Quote(s.KeyPrefix) + "." + width.String(),
		txnHeaders:   headers(etcdTxnPath),
		grantHeaders: headers(etcdGrantPath),
		calls:        map[string]pipeline.Counter{},
		latency:      env.Metrics.Histogram("replay_store_latency_ms", "store", ReplayStoreEtcd),
		fallbacks:    env.Metrics.Counter("replay_store_fallbacks_total", "store", ReplayStoreEtcd),
		grants:       env.Metrics.Counter("replay_store_lease_grants_total", "store", ReplayStoreEtcd),
		log:          env.Log,
	}
	for _, o := range []string{storeInserted, storeReplay, storeError, storeTimeout} {
		es.calls[o] = env.Metrics.Counter("replay_store_calls_total", "store", ReplayStoreEtcd, "outcome", o)
	}
	env.Log.Infof("steadfast %s: replay store: etcd cluster=%s authority=%s key_prefix=%q timeout=%s failure_policy=%s",
		RootID, s.Cluster, s.Authority, s.KeyPrefix, s.Timeout, s.FailurePolicy)
	return es
}

// lease returns the lease of bucket b that a worker was granted, if any.
func (es *etcdStore) lease(store pipeline.SharedStore, b int64, now time.Time) (int64, bool) {
	table, _, err := store.Get(es.leasesKey)
	if err != nil {
		return 0, false
	}
	return leaseFor(table, b, now)
}

// remember shares bucket b's lease with the other workers. A write lost
// to contention or a failing store costs them a grant of their own.
func (es *etcdStore) remember(store pipeline.SharedStore, b, id int64, until, now time.Time) {
	err := pipeline.Update(store, es.leasesKey, func(cur []byte) ([]byte, error) {
		return withLease(cur, b, id, until, now), nil
	})
	if err != nil {
		es.log.Debugf("steadfast %s: etcd lease table: %v", RootID, err)
	}
}

// forget drops bucket b's lease id, which etcd no longer knows.
func (es *etcdStore) forget(store pipeline.SharedStore, b, id int64, now time.Time) {
	err := pipeline.Update(store, es.leasesKey, func(cur []byte) ([]byte, error) {
		return withoutLease(cur, b, id, now), nil
	})
	if err != nil {
		es.log.Debugf("steadfast %s: etcd lease table: %v", RootID, err)
	}
}

// done counts a store call and its latency.
func (es *etcdStore) done(outcome string, started, now time.Time) {
	es.calls[outcome].Increment(1)
	es.latency.Record(uint64(max(0, now.Sub(started).Milliseconds())))
}

// warn logs a failure at warn level at most once per warnEvery, at debug
// level otherwise: an etcd outage must not flood the proxy's log.
func (es *etcdStore) warn(now time.Time, format string, args ...any) {
	if now.Sub(es.lastWarn) >= warnEvery || now.Before(es.lastWarn) {
		es.lastWarn = now
		es.log.Warnf(format, args...)
		return
	}
	es.log.Debugf(format, args...)
}

// etcdCall is where one delivery's store call stands.
type etcdCall struct {
	store     *etcdStore // nil: no call in flight
	key       [16]byte
	expires   time.Time
	bucket    int64
	lease     int64
	granting  bool // the callout in flight is a lease grant
	regranted bool // etcd did not know a lease once already
	started   time.Time
	sent      time.Time // of the callout in flight
}

// checkEtcd decides on a verified delivery with the etcd store: a replay
// the local cache remembers is refused at once; for anything else etcd
// decides, and the request is held until it has.
func (h *handler) checkEtcd(s *pipeline.Stream, es *etcdStore, v Verdict) pipeline.Verdict {
	now := s.Now()
	if rc := h.st.replay[h.cfg]; rc != nil && rc.seen(h.st.env.Shared, v.ReplayKey, v.Expires, now) {
		return h.conclude(s, ReasonReplay)
	}
	h.call = etcdCall{store: es, key: v.ReplayKey, expires: v.Expires, bucket: bucketOf(v.Expires, es.width), started: now}
	if id, ok := es.lease(h.st.env.Shared, h.call.bucket, now); ok {
		h.call.lease = id
		return h.sendTxn(s)
	}
	return h.sendGrant(s)
}

func (h *handler) sendTxn(s *pipeline.Stream) pipeline.Verdict {
	es := h.call.store
	key := etcdKey(es.settings.KeyPrefix, h.call.key)
	value := strconv.AppendInt(make([]byte, 0, 20), h.call.expires.Unix(), 10)
	es.body = appendTxnRequest(es.body[:0], key, value, h.call.lease)
	h.call.granting = false
	return h.dispatch(s, es.txnHeaders)
}

func (h *handler) sendGrant(s *pipeline.Stream) pipeline.Verdict {
	es := h.call.store
	es.body = appendGrantRequest(es.body[:0], leaseTTL(h.call.bucket, es.width, s.Now()))
	h.call.granting = true
	return h.dispatch(s, es.grantHeaders)
}

func (h *handler) dispatch(s *pipeline.Stream, headers [][2]string) pipeline.Verdict {
	es := h.call.store
	h.call.sent = s.Now()
	if err := s.Dispatch(es.settings.Cluster, headers, es.body, es.settings.Timeout); err != nil {
		return h.etcdFailed(s, storeError, strfmt.Errorf("cannot call cluster %q: %v", es.settings.Cluster, err))
	}
	return pipeline.Hold()
}

// Callout takes etcd's answer to the call in flight.
func (h *handler) Callout(s *pipeline.Stream, c *pipeline.Callout) pipeline.Verdict {
	es := h.call.store
	if es == nil {
		return pipeline.Continue // decided already
	}
	now := s.Now()
	path := etcdTxnPath
	if h.call.granting {
		path = etcdGrantPath
	}
	// Envoy answers a callout that ran out of time with a 504 of its own,
	// or fails it.
	if c.Status == 504 || c.Err != nil && now.Sub(h.call.sent) >= es.settings.Timeout-es.settings.Timeout/10 {
		return h.etcdFailed(s, storeTimeout, strfmt.Errorf("%s: no answer within %s", path, es.settings.Timeout))
	}
	if c.Err != nil {
		return h.etcdFailed(s, storeError, strfmt.Errorf("%s: %v", path, c.Err))
	}
	if h.call.granting {
		id, ttl, err := parseGrantAnswer(c.Status, c.Body)
		if err != nil {
			return h.etcdFailed(s, storeError, strfmt.Errorf("%s: %v", path, err))
		}
		es.grants.Increment(1)
		until := bucketEnd(h.call.bucket, es.width)
		if granted := h.call.sent.Add(ttl - leaseSlack); granted.Before(until) {
			until = granted
		}
		es.remember(h.st.env.Shared, h.call.bucket, id, until, now)
		h.call.lease = id
		return h.sendTxn(s)
	}
	outcome, err := parseTxnAnswer(c.Status, c.Body)
	switch outcome {
	case txnInserted:
		es.done(storeInserted, h.call.started, now)
		h.call.store = nil
		if rc := h.st.replay[h.cfg]; rc != nil {
			rc.checkAndInsert(h.st.env.Shared, h.call.key, h.call.expires, now) // etcd decided: only remembered here
		}
		return h.conclude(s, ReasonNone)
	case txnExists:
		es.done(storeReplay, h.call.started, now)
		h.call.store = nil
		return h.conclude(s, ReasonReplay)
	case txnLeaseNotFound:
		es.forget(h.st.env.Shared, h.call.bucket, h.call.lease, now)
		if !h.call.regranted {
			h.call.regranted = true
			return h.sendGrant(s)
		}
	}
	return h.etcdFailed(s, storeError, strfmt.Errorf("%s: %v", path, err))
}

// etcdFailed ends a store call etcd did not decide: by the failure
// policy, the delivery is refused with 503 or the local cache decides.
func (h *handler) etcdFailed(s *pipeline.Stream, outcome string, err error) pipeline.Verdict {
	es := h.call.store
	now := s.Now()
	es.done(outcome, h.call.started, now)
	h.call.store = nil
	if es.settings.FailurePolicy == LocalOnly {
		es.fallbacks.Increment(1)
		es.warn(now, "steadfast %s: route %q: etcd replay store (cluster %s): %s; the local cache decides (local_only)", RootID, h.out.route, es.settings.Cluster, err)
		reason := ReasonReplayCheckUnavailable
		if rc := h.st.replay[h.cfg]; rc != nil {
			reason = rc.checkAndInsert(h.st.env.Shared, h.call.key, h.call.expires, now)
		}
		return h.conclude(s, reason)
	}
	es.warn(now, "steadfast %s: route %q: etcd replay store (cluster %s): %s; the delivery is refused with 503 (fail_closed)", RootID, h.out.route, es.settings.Cluster, err)
	return h.conclude(s, ReasonReplayCheckUnavailable)
}

// seen reports whether the local cache remembers replayKey, without
// recording it. A cache that cannot be read remembers nothing: etcd
// decides then.
func (rc *replayCache) seen(store pipeline.SharedStore, replayKey [16]byte, expires, now time.Time) bool {
	shard, _, err := store.Get(rc.keys[ShardOf(replayKey, rc.shards)])
	if err != nil {
		return false
	}
	counter, _, err := store.Get(rc.counterKey)
	if err != nil {
		return false
	}
	next, replay, _ := CheckAndInsert(rc.buf, shard, Insertion{
		Key: replayKey, Expires: expires, Now: now, Counted: decodeCount(counter), CacheSize: rc.size,
	})
	if next != nil {
		rc.buf = next
	}
	return replay
}

// String names the store for logs.
func (s EtcdSettings) String() string {
	return strings.Join([]string{"etcd cluster " + s.Cluster, "prefix " + strconv.Quote(s.KeyPrefix), "timeout " + s.Timeout.String(), s.FailurePolicy}, ", ")
}
