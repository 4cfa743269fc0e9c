package webhookauth

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/strfmt"
)

// This file is the pure part of the etcd replay store: the requests the
// filter sends to etcd's HTTP/JSON gateway (grpc-gateway, /v3/...), what it
// makes of the answers, and the table of leases it shares across workers.
// The stage's glue (etcdstore.go) sends and receives them.
//
// One delivery is one transaction: if the key's create revision is 0 (the
// key does not exist), put it attached to the lease of its time bucket.
// "succeeded": true means this delivery is the first; an answer without it
// means the key exists, a replay. Leases are granted per bucket and shared,
// so a delivery costs one round trip, two for the first of a bucket.

// Paths of the etcd v3 JSON gateway the store calls.
const (
	etcdTxnPath   = "/v3/kv/txn"
	etcdGrantPath = "/v3/lease/grant"
)

// txnOutcome is what etcd answered to a check-and-insert transaction.
type txnOutcome uint8

const (
	// txnInserted: the key did not exist and is now stored.
	txnInserted txnOutcome = iota + 1
	// txnExists: the key exists: the delivery is a replay.
	txnExists
	// txnLeaseNotFound: the lease the put named has expired or is unknown
	// to etcd (revoked, or etcd lost its data): grant another.
	txnLeaseNotFound
)

// Errors of the answers that do not decide anything.
var (
	// errEtcdAnswer is an answer that is not what etcd sends: not JSON,
	// truncated, or missing the fields that decide.
	errEtcdAnswer = errors.New("etcd answer malformed")
	// errEtcdRefused is an error etcd reported itself.
	errEtcdRefused = errors.New("etcd refused the request")
)

// etcdKey is the etcd key of a replay key: the configured prefix and the
// replay key (already a hash of what the provider signed) in hex.
func etcdKey(prefix string, replayKey [16]byte) []byte {
	key := make([]byte, 0, len(prefix)+32)
	key = append(key, prefix...)
	return hex.AppendEncode(key, replayKey[:])
}

// appendTxnRequest appends the JSON body of the transaction that stores
// key, with value, attached to lease, unless key exists. Keys and values
// are base64 in the JSON gateway; 64-bit integers are decimal strings.
func appendTxnRequest(dst, key, value []byte, lease int64) []byte {
	dst = append(dst, `{"compare":[{"key":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, key)
	dst = append(dst, `","result":"EQUAL","target":"CREATE","create_revision":"0"}],"success":[{"request_put":{"key":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, key)
	dst = append(dst, `","value":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, value)
	dst = append(dst, `","lease":"`...)
	dst = strconv.AppendInt(dst, lease, 10)
	return append(dst, `"}}]}`...)
}

// appendGrantRequest appends the JSON body of a lease grant of ttl seconds.
func appendGrantRequest(dst []byte, ttl int64) []byte {
	dst = append(dst, `{"TTL":"`...)
	dst = strconv.AppendInt(dst, ttl, 10)
	return append(dst, `"}`...)
}

// etcdInt is a 64-bit integer as the gateway writes it: a decimal string,
// or a bare number from other encoders.
type etcdInt int64

// DecodeValue reads a decimal string or a whole number.
func (n *etcdInt) DecodeValue(v pipeline.Value) error {
	text, ok := v.Text()
	if !ok && v.Kind() == pipeline.Number {
		text, ok = v.Literal(), true
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if !ok || err != nil {
		return errEtcdAnswer
	}
	*n = etcdInt(i)
	return nil
}

// etcdAnswer holds the fields of every answer the store reads: a
// transaction's, a lease grant's, and the gateway's error object. Other
// fields are ignored.
type etcdAnswer struct {
	Header    bool // an object "header" is present
	Succeeded bool
	// Responses tells, for each of "responses", whether it holds a
	// "response_put" object.
	Responses []bool
	ID        etcdInt
	TTL       etcdInt
	// Error is set on a grant etcd refused; Code and Message are the
	// gateway's error object (a gRPC status).
	Error   string
	Code    *int
	Message string
}

// decode reads the fields of a parsed answer. A field of the wrong type
// is an error; null leaves a field as it is, but for the integers, which
// are never null.
func (a *etcdAnswer) decode(v pipeline.Value) error {
	if v.IsNull() {
		return nil
	}
	if v.Kind() != pipeline.Object {
		return errors.New("not an object")
	}
	for _, k := range v.Keys() {
		f, _ := v.Get(k)
		if f.IsNull() && k != "ID" && k != "TTL" {
			continue
		}
		var err error
		switch k {
		case "header":
			a.Header, err = isObject(f)
		case "succeeded":
			a.Succeeded, err = f.Boolean()
		case "responses":
			err = a.decodeResponses(f)
		case "ID":
			err = a.ID.DecodeValue(f)
		case "TTL":
			err = a.TTL.DecodeValue(f)
		case "error":
			a.Error, err = f.Str()
		case "code":
			var code int
			if code, err = f.Int(); err == nil {
				a.Code = &code
			}
		case "message":
			a.Message, err = f.Str()
		}
		if err != nil {
			return errors.New(k + ": " + err.Error())
		}
	}
	return nil
}

func (a *etcdAnswer) decodeResponses(v pipeline.Value) error {
	items, err := v.List()
	if err != nil {
		return err
	}
	a.Responses = make([]bool, len(items))
	for i, item := range items {
		if item.IsNull() {
			continue
		}
		if item.Kind() != pipeline.Object {
			return errors.New("must be a list of objects")
		}
		put, ok := item.Get("response_put")
		if ok && !put.IsNull() {
			if a.Responses[i], err = isObject(put); err != nil {
				return err
			}
		}
	}
	return nil
}

// isObject reports true for an object and an error for anything else
// but null.
func isObject(v pipeline.Value) (bool, error) {
	switch v.Kind() {
	case pipeline.Object:
		return true, nil
	case pipeline.Null:
		return false, nil
	}
	return false, errors.New("must be an object")
}

func decodeEtcdAnswer(status int, body []byte) (etcdAnswer, error) {
	var a etcdAnswer
	v, err := pipeline.ParseJSON(body)
	if err == nil {
		err = a.decode(v)
	} else if len(bytes.TrimSpace(body)) == 0 {
		err = errors.New("empty answer")
	}
	if err != nil {
		if status != 200 {
			return a, strfmt.Errorf("%w: status %d", errEtcdRefused, status)
		}
		return a, strfmt.Errorf("%w: %v", errEtcdAnswer, err)
	}
	switch {
	case a.Code != nil && *a.Code != 0 || a.Error != "":
		return a, strfmt.Errorf("%w: status %d, code %d: %s", errEtcdRefused, status, a.code(), a.message())
	case status != 200:
		return a, strfmt.Errorf("%w: status %d", errEtcdRefused, status)
	case !a.Header:
		return a, strfmt.Errorf("%w: no header", errEtcdAnswer)
	}
	return a, nil
}

func (a etcdAnswer) code() int {
	if a.Code == nil {
		return 0
	}
	return *a.Code
}

func (a etcdAnswer) message() string {
	m := a.Message
	if m == "" {
		m = a.Error
	}
	const maxMessage = 200 // etcd's messages are short; the log line stays so
	if len(m) > maxMessage {
		m = m[:maxMessage]
	}
	return strconv.Quote(m)
}

// grpcNotFound is the gRPC status code etcd answers an unknown lease with.
const grpcNotFound = 5

// parseTxnAnswer reads the answer to a check-and-insert transaction: its
// HTTP status and body.
func parseTxnAnswer(status int, body []byte) (txnOutcome, error) {
	a, err := decodeEtcdAnswer(status, body)
	switch {
	case err != nil && a.code() == grpcNotFound && strings.Contains(a.Message+a.Error, "lease not found"):
		return txnLeaseNotFound, err
	case err != nil:
		return 0, err
	case !a.Succeeded:
		// The compare failed: the key exists. etcd omits "succeeded"
		// when false, and runs no request of the empty failure branch.
		if len(a.Responses) != 0 {
			return 0, strfmt.Errorf("%w: a failed comparison with responses", errEtcdAnswer)
		}
		return txnExists, nil
	case len(a.Responses) != 1 || !a.Responses[0]:
		return 0, strfmt.Errorf("%w: a transaction that succeeded without its put", errEtcdAnswer)
	}
	return txnInserted, nil
}

// parseGrantAnswer reads the answer to a lease grant: the lease id and
// the TTL etcd granted (at least what was asked, etcd's minimum else).
func parseGrantAnswer(status int, body []byte) (id int64, ttl time.Duration, err error) {
	a, err := decodeEtcdAnswer(status, body)
	switch {
	case err != nil:
		return 0, 0, err
	case a.ID == 0:
		return 0, 0, strfmt.Errorf("%w: a grant without a lease id", errEtcdAnswer)
	case a.TTL <= 0 || a.TTL > etcdInt(maxLeaseTTL/time.Second):
		return 0, 0, strfmt.Errorf("%w: a grant with TTL %d", errEtcdAnswer, int64(a.TTL))
	}
	return int64(a.ID), time.Duration(a.TTL) * time.Second, nil
}

// Leases by time bucket. A delivery must stay in etcd until its Expires;
// the deliveries whose Expires fall in one bucket share a lease that lives
// until the bucket's end and a little more (leaseSlack), so a key lives at
// most one bucket width plus the slack beyond its delivery's Expires.
const (
	// leaseBuckets is how many buckets one replay window spans: more
	// leases for keys that outlive their Expires less.
	leaseBuckets = 4
	// minBucketWidth is the shortest bucket: etcd counts TTLs in seconds.
	minBucketWidth = time.Second
	// leaseSlack is added to every lease's TTL, for the time the grant
	// takes to reach etcd and a clock of etcd's that runs a little ahead.
	leaseSlack = 2 * time.Second
	// maxLeaseTTL bounds the TTL of a grant's answer: twice the longest
	// window, with room for the bucket and the slack.
	maxLeaseTTL = 3 * MaxReplayWindow
)

// bucketWidth is the width of the lease buckets of a replay window.
func bucketWidth(window time.Duration) time.Duration {
	return max(minBucketWidth, (window / leaseBuckets).Truncate(time.Second))
}

// bucketOf is the bucket whose lease a delivery that expires at expires
// is attached to.
func bucketOf(expires time.Time, width time.Duration) int64 {
	return expires.UnixNano() / int64(width)
}

// bucketEnd is when bucket b ends: its lease is asked to outlive it.
func bucketEnd(b int64, width time.Duration) time.Time {
	return time.Unix(0, (b+1)*int64(width))
}

// leaseTTL is the TTL, in whole seconds, to ask for bucket b's lease at
// now: until the bucket's end, and leaseSlack more.
func leaseTTL(b int64, width time.Duration, now time.Time) int64 {
	d := bucketEnd(b, width).Sub(now) + leaseSlack
	return int64((max(d, time.Second) + time.Second - 1) / time.Second)
}

// The lease table, in shared data so every worker uses the lease one of
// them was granted: a format byte, then entries of the bucket, the lease
// id and when the entry stops being used (the bucket's end, or earlier if
// etcd granted less), each 8 bytes, big-endian. Expired entries are
// dropped on every write; past maxLeaseEntries the oldest go.
const (
	leaseTableFormat = 1
	leaseEntrySize   = 24
	maxLeaseEntries  = 64
)

// leaseFor finds bucket b's lease in table, unless it is no longer used
// at now.
func leaseFor(table []byte, b int64, now time.Time) (int64, bool) {
	if !validLeaseTable(table) {
		return 0, false
	}
	for i := 1; i < len(table); i += leaseEntrySize {
		e := table[i : i+leaseEntrySize]
		if int64(binary.BigEndian.Uint64(e)) == b && int64(binary.BigEndian.Uint64(e[16:])) > now.UnixNano() {
			return int64(binary.BigEndian.Uint64(e[8:])), true
		}
	}
	return 0, false
}

// withLease returns table with bucket b's lease set to id, used until
// until, and without the entries unused at now (and the oldest past
// maxLeaseEntries). A table that does not decode is replaced.
func withLease(table []byte, b, id int64, until, now time.Time) []byte {
	out := withoutLease(table, b, 0, now)
	if n := (len(out) - 1) / leaseEntrySize; n >= maxLeaseEntries {
		out = append(out[:1], out[1+(n-maxLeaseEntries+1)*leaseEntrySize:]...)
	}
	out = binary.BigEndian.AppendUint64(out, uint64(b))
	out = binary.BigEndian.AppendUint64(out, uint64(id))
	return binary.BigEndian.AppendUint64(out, uint64(until.UnixNano()))
}

// withoutLease returns a new table without bucket b's entry (only if its
// lease is id, when id is not 0) and without the entries unused at now.
func withoutLease(table []byte, b, id int64, now time.Time) []byte {
	out := make([]byte, 1, len(table)+leaseEntrySize)
	out[0] = leaseTableFormat
	if !validLeaseTable(table) {
		return out
	}
	for i := 1; i < len(table); i += leaseEntrySize {
		e := table[i : i+leaseEntrySize]
		match := int64(binary.BigEndian.Uint64(e)) == b && (id == 0 || int64(binary.BigEndian.Uint64(e[8:])) == id)
		if match || int64(binary.BigEndian.Uint64(e[16:])) <= now.UnixNano() {
			continue
		}
		out = append(out, e...)
	}
	return out
}

func validLeaseTable(t []byte) bool {
	return len(t) >= 1 && t[0] == leaseTableFormat && (len(t)-1)%leaseEntrySize == 0
}
