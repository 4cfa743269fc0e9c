package webhookauth

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func TestEtcdKey(t *testing.T) {
	key := [16]byte{0x00, 0x01, 0xab, 0xff, 15: 0x42}
	assert.Equal(t, "p/0001abff000000000000000000000042", string(etcdKey("p/", key)))
}

func TestTxnRequestIsWhatTheGatewayReads(t *testing.T) {
	body := appendTxnRequest([]byte("stale"), []byte("steadfast/k"), []byte("1700000000"), 7587874727455155461)[len("stale"):]

	var got struct {
		Compare []map[string]string `json:"compare"`
		Success []struct {
			RequestPut map[string]string `json:"request_put"`
		} `json:"success"`
	}
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	b64 := base64.StdEncoding.EncodeToString
	assert.Equal(t, []map[string]string{{"key": b64([]byte("steadfast/k")), "result": "EQUAL", "target": "CREATE", "create_revision": "0"}}, got.Compare)
	require.Len(t, got.Success, 1)
	assert.Equal(t, map[string]string{"key": b64([]byte("steadfast/k")), "value": b64([]byte("1700000000")), "lease": "7587874727455155461"}, got.Success[0].RequestPut)
}

func TestGrantRequest(t *testing.T) {
	assert.Equal(t, `{"TTL":"302"}`, string(appendGrantRequest(nil, 302)))
}

// Answers as etcd's gateway writes them (v3.5 and later), and broken ones.
const (
	etcdHeader       = `"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"9","raft_term":"2"}`
	txnInsertedJSON  = `{` + etcdHeader + `,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"9"}}}]}`
	txnExistsJSON    = `{` + etcdHeader + `}`
	leaseMissingJSON = `{"code":5,"message":"etcdserver: requested lease not found","details":[]}`
	grantJSON        = `{` + etcdHeader + `,"ID":"7587874727455155461","TTL":"302"}`
)

func TestParseTxnAnswer(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   txnOutcome
		err    error
	}{
		{"inserted", 200, txnInsertedJSON, txnInserted, nil},
		{"the key exists: etcd omits succeeded", 200, txnExistsJSON, txnExists, nil},
		{"the key exists, succeeded written out", 200, `{` + etcdHeader + `,"succeeded":false}`, txnExists, nil},
		{"lease unknown or expired", 404, leaseMissingJSON, txnLeaseNotFound, errEtcdRefused},
		{"lease unknown, older gateway", 400, `{"error":"etcdserver: requested lease not found","code":5}`, txnLeaseNotFound, errEtcdRefused},
		{"another not found is no lease problem", 404, `{"code":5,"message":"key not found"}`, 0, errEtcdRefused},
		{"etcd unavailable", 503, `{"code":14,"message":"etcdserver: request timed out"}`, 0, errEtcdRefused},
		{"an error object with status 200", 200, `{"code":14,"message":"etcdserver: leader changed"}`, 0, errEtcdRefused},
		{"Envoy's own 503, not JSON", 503, `upstream connect error or disconnect/reset before headers`, 0, errEtcdRefused},
		{"a status that is not 200", 500, `{` + etcdHeader + `}`, 0, errEtcdRefused},
		{"not JSON", 200, `<html>`, 0, errEtcdAnswer},
		{"empty", 200, ``, 0, errEtcdAnswer},
		{"truncated", 200, txnInsertedJSON[:len(txnInsertedJSON)/2], 0, errEtcdAnswer},
		{"trailing bytes", 200, txnExistsJSON + `{}`, 0, errEtcdAnswer},
		{"no header: not etcd's answer", 200, `{}`, 0, errEtcdAnswer},
		{"a list", 200, `[]`, 0, errEtcdAnswer},
		{"succeeded without the put", 200, `{` + etcdHeader + `,"succeeded":true}`, 0, errEtcdAnswer},
		{"succeeded with another response", 200, `{` + etcdHeader + `,"succeeded":true,"responses":[{"response_range":{}}]}`, 0, errEtcdAnswer},
		{"succeeded with two puts", 200, `{` + etcdHeader + `,"succeeded":true,"responses":[{"response_put":{}},{"response_put":{}}]}`, 0, errEtcdAnswer},
		{"failed with responses", 200, `{` + etcdHeader + `,"responses":[{"response_put":{}}]}`, 0, errEtcdAnswer},
		{"succeeded is not a boolean", 200, `{` + etcdHeader + `,"succeeded":"true"}`, 0, errEtcdAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTxnAnswer(tt.status, []byte(tt.body))
			assert.Equal(t, tt.want, got)
			if tt.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.err)
			}
		})
	}
}

func TestParseGrantAnswer(t *testing.T) {
	type grant struct {
		id  int64
		ttl time.Duration
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   grant
		err    error
	}{
		{"granted", 200, grantJSON, grant{7587874727455155461, 302 * time.Second}, nil},
		{"bare numbers", 200, `{` + etcdHeader + `,"ID":42,"TTL":5}`, grant{42, 5 * time.Second}, nil},
		{"refused in the answer", 200, `{` + etcdHeader + `,"ID":"1","TTL":"5","error":"too many leases"}`, grant{}, errEtcdRefused},
		{"gateway error", 503, `{"code":14,"message":"etcdserver: no leader"}`, grant{}, errEtcdRefused},
		{"no id", 200, `{` + etcdHeader + `,"TTL":"5"}`, grant{}, errEtcdAnswer},
		{"no TTL", 200, `{` + etcdHeader + `,"ID":"1"}`, grant{}, errEtcdAnswer},
		{"negative TTL", 200, `{` + etcdHeader + `,"ID":"1","TTL":"-5"}`, grant{}, errEtcdAnswer},
		{"TTL beyond any window", 200, `{` + etcdHeader + `,"ID":"1","TTL":"9999999"}`, grant{}, errEtcdAnswer},
		{"id not a number", 200, `{` + etcdHeader + `,"ID":"x1","TTL":"5"}`, grant{}, errEtcdAnswer},
		{"id out of range", 200, `{` + etcdHeader + `,"ID":"99999999999999999999","TTL":"5"}`, grant{}, errEtcdAnswer},
		{"id null", 200, `{` + etcdHeader + `,"ID":null,"TTL":"5"}`, grant{}, errEtcdAnswer},
		{"no header", 200, `{"ID":"1","TTL":"5"}`, grant{}, errEtcdAnswer},
		{"truncated", 200, grantJSON[:20], grant{}, errEtcdAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ttl, err := parseGrantAnswer(tt.status, []byte(tt.body))
			assert.Equal(t, tt.want, grant{id, ttl})
			if tt.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.err)
			}
		})
	}
}

func TestLeaseBuckets(t *testing.T) {
	at := func(sec float64) time.Time { return time.Unix(0, int64(sec*1e9)) }
	assert.Equal(t, 75*time.Second, bucketWidth(5*time.Minute))
	assert.Equal(t, time.Second, bucketWidth(2*time.Second), "never under a second")
	assert.Equal(t, 2*time.Second, bucketWidth(11*time.Second), "whole seconds")

	width := 75 * time.Second
	b := bucketOf(at(1000), width) // 1000 / 75 = 13.3: bucket 13, from 975 to 1050
	assert.Equal(t, int64(13), b)
	assert.Equal(t, at(1050), bucketEnd(b, width))
	assert.Equal(t, int64(13), bucketOf(at(1049.9), width), "the same lease until the bucket ends")
	assert.Equal(t, int64(14), bucketOf(at(1050), width))
	// Granted 300 s before the bucket starts, for deliveries that expire in
	// it: the lease outlives its last delivery by the slack, rounded up.
	assert.Equal(t, int64(377), leaseTTL(b, width, at(675)))
	assert.Equal(t, int64(3), leaseTTL(b, width, at(1049.5)), "half a second and the slack, rounded up")
	assert.Equal(t, int64(1), leaseTTL(b, width, at(2000)), "at least a second")
}

func TestLeaseTable(t *testing.T) {
	now := time.Unix(1000, 0)
	var table []byte
	_, ok := leaseFor(table, 13, now)
	assert.False(t, ok, "an absent table has no lease")

	table = withLease(table, 13, 101, now.Add(time.Minute), now)
	table = withLease(table, 14, 102, now.Add(2*time.Minute), now)
	id, ok := leaseFor(table, 13, now)
	assert.True(t, ok)
	assert.Equal(t, int64(101), id)

	table = withLease(table, 13, 103, now.Add(time.Minute), now)
	id, _ = leaseFor(table, 13, now)
	assert.Equal(t, int64(103), id, "a new grant replaces the bucket's lease")
	assert.Len(t, table, 1+2*leaseEntrySize)

	_, ok = leaseFor(table, 13, now.Add(time.Minute))
	assert.False(t, ok, "unused once its time is over")
	assert.Len(t, withLease(table, 15, 104, now.Add(3*time.Minute), now.Add(time.Minute)), 1+2*leaseEntrySize, "expired entries are dropped on write")

	assert.Equal(t, table, withoutLease(table, 13, 999, now), "another lease of the bucket stays")
	gone := withoutLease(table, 13, 103, now)
	_, ok = leaseFor(gone, 13, now)
	assert.False(t, ok, "a lease etcd does not know is dropped")
	id, _ = leaseFor(gone, 14, now)
	assert.Equal(t, int64(102), id)

	for _, junk := range [][]byte{{}, {9}, {leaseTableFormat, 1, 2}} {
		_, ok := leaseFor(junk, 13, now)
		assert.False(t, ok, "%x", junk)
		assert.Len(t, withLease(junk, 13, 1, now.Add(time.Second), now), 1+leaseEntrySize, "%x is replaced", junk)
	}

	var full []byte
	for b := range int64(maxLeaseEntries + 5) {
		full = withLease(full, b, b+1, now.Add(time.Hour), now)
	}
	assert.Len(t, full, 1+maxLeaseEntries*leaseEntrySize, "bounded")
	_, ok = leaseFor(full, 0, now)
	assert.False(t, ok, "the oldest went first")
	id, _ = leaseFor(full, maxLeaseEntries+4, now)
	assert.Equal(t, int64(maxLeaseEntries+5), id)
}

// BenchmarkEtcdTxn is the filter's own work for one etcd transaction: the
// key, the request body and the answer's parse.
func BenchmarkEtcdTxn(b *testing.B) {
	var body []byte
	answer := []byte(txnInsertedJSON)
	b.ReportAllocs()
	for b.Loop() {
		body = appendTxnRequest(body[:0], etcdKey(DefaultEtcdKeyPrefix, [16]byte{1}), []byte("1700000000"), 7587874727455155461)
		if outcome, err := parseTxnAnswer(200, answer); outcome != txnInserted {
			b.Fatal(err)
		}
	}
}

// jsonAnswer is how the store read etcd's answers with encoding/json; the
// hand-written reader must agree with it.
type jsonAnswer struct {
	Header    *struct{} `json:"header"`
	Succeeded bool      `json:"succeeded"`
	Responses []struct {
		ResponsePut *struct{} `json:"response_put"`
	} `json:"responses"`
	ID      jsonInt `json:"ID"`
	TTL     jsonInt `json:"TTL"`
	Error   string  `json:"error"`
	Code    *int    `json:"code"`
	Message string  `json:"message"`
}

type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	*n = jsonInt(v)
	return err
}

func TestEtcdAnswerReadAsEncodingJSONDid(t *testing.T) {
	bodies := []string{
		txnInsertedJSON, txnExistsJSON, leaseMissingJSON, grantJSON,
		`{}`, `[]`, `null`, `"x"`, `5`, `{"header":null}`, `{"header":5}`, `{"header":[]}`, `{"header":{}}`,
		`{"header":{},"succeeded":true}`, `{"header":{},"succeeded":null}`, `{"header":{},"succeeded":1}`,
		`{"header":{},"responses":null}`, `{"header":{},"responses":{}}`, `{"header":{},"responses":[null]}`,
		`{"header":{},"responses":[5]}`, `{"header":{},"responses":[{"response_put":null}]}`,
		`{"header":{},"responses":[{"response_put":5}]}`, `{"header":{},"responses":[{"response_range":{}},{"response_put":{"x":[1]}}]}`,
		`{"header":{},"ID":"12","TTL":7}`, `{"header":{},"ID":-3,"TTL":"-7"}`, `{"header":{},"ID":1.5}`, `{"header":{},"ID":"1e3"}`,
		`{"header":{},"ID":true}`, `{"header":{},"ID":{}}`, `{"header":{},"ID":"9223372036854775808"}`, `{"header":{},"TTL":""}`, `{"header":{},"ID":null}`, `{"header":{},"TTL":null}`,
		`{"code":5}`, `{"code":"5"}`, `{"code":5.5}`, `{"code":null,"message":null,"error":null}`, `{"message":7}`, `{"error":[]}`,
		`{"header":{},"unknown":{"deep":[1,2,{"x":null}]},"more":"\u00e9"}`, ` {"header" : {} } `, `{"header":{}} x`, `{"header":{}`,
	}
	for _, body := range bodies {
		var want jsonAnswer
		wantErr := json.Unmarshal([]byte(body), &want)
		var got etcdAnswer
		v, err := pipeline.ParseJSON([]byte(body))
		if err == nil {
			err = got.decode(v)
		}
		if wantErr != nil {
			assert.Error(t, err, "%s", body)
			continue
		}
		require.NoError(t, err, "%s", body)
		puts := []bool{}
		for _, r := range want.Responses {
			puts = append(puts, r.ResponsePut != nil)
		}
		assert.Equal(t, want.Header != nil, got.Header, "%s", body)
		assert.Equal(t, want.Succeeded, got.Succeeded, "%s", body)
		assert.Equal(t, puts, append([]bool{}, got.Responses...), "%s", body)
		assert.Equal(t, int64(want.ID), int64(got.ID), "%s", body)
		assert.Equal(t, int64(want.TTL), int64(got.TTL), "%s", body)
		assert.Equal(t, want.Code, got.Code, "%s", body)
		assert.Equal(t, want.Error+"|"+want.Message, got.Error+"|"+got.Message, "%s", body)
	}
}
