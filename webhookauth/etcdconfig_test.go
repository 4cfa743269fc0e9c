package webhookauth

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

func TestParseEtcdSettings(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  *EtcdSettings
	}{
		{"the local store by default", `{}`, nil},
		{"the local store named", `{"store": "local"}`, nil},
		{"etcd with defaults", `{"store": "etcd", "etcd": {"cluster": "etcd"}}`,
			&EtcdSettings{Cluster: "etcd", Authority: "etcd", KeyPrefix: DefaultEtcdKeyPrefix, Timeout: DefaultEtcdTimeout, FailurePolicy: FailClosed}},
		{"etcd with every field", `{"store": "etcd", "etcd": {"cluster": "outbound|2379||etcd.infra.svc.cluster.local",
			"authority": "etcd.infra:2379", "key_prefix": "hooks/", "timeout": "100ms", "failure_policy": "local_only"}}`,
			&EtcdSettings{Cluster: "outbound|2379||etcd.infra.svc.cluster.local", Authority: "etcd.infra:2379", KeyPrefix: "hooks/",
				Timeout: 100 * time.Millisecond, FailurePolicy: LocalOnly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"env": "A"}], "replay": ` + tt.given + `}`))
			require.NoError(t, err)
			assert.Equal(t, tt.want, routes.Default.Settings().Etcd)
		})
	}
}

func TestParseEtcdErrors(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  *pipeline.FieldError
	}{
		{"unknown store", `{"store": "redis"}`,
			&pipeline.FieldError{Path: "replay.store", Msg: `"redis" is not a replay store: use "local" or "etcd"`}},
		{"etcd block for the local store", `{"etcd": {"cluster": "etcd"}}`,
			&pipeline.FieldError{Path: "replay.etcd", Msg: `applies only to replay.store "etcd"`}},
		{"no etcd block", `{"store": "etcd"}`,
			&pipeline.FieldError{Path: "replay.etcd.cluster", Msg: `is required with replay.store "etcd": the Envoy cluster of etcd's endpoints`}},
		{"no cluster", `{"store": "etcd", "etcd": {"timeout": "1s"}}`,
			&pipeline.FieldError{Path: "replay.etcd.cluster", Msg: `is required with replay.store "etcd": the Envoy cluster of etcd's endpoints`}},
		{"cluster with a space", `{"store": "etcd", "etcd": {"cluster": "my etcd"}}`,
			&pipeline.FieldError{Path: "replay.etcd.cluster", Msg: `"my etcd" is not a cluster name`}},
		{"authority with a newline", `{"store": "etcd", "etcd": {"cluster": "etcd", "authority": "a\nb"}}`,
			&pipeline.FieldError{Path: "replay.etcd.authority", Msg: `"a\nb" is not an authority`}},
		{"empty key prefix", `{"store": "etcd", "etcd": {"cluster": "etcd", "key_prefix": ""}}`,
			&pipeline.FieldError{Path: "replay.etcd.key_prefix", Msg: "must be 1 to 256 bytes"}},
		{"timeout too short", `{"store": "etcd", "etcd": {"cluster": "etcd", "timeout": "1ms"}}`,
			&pipeline.FieldError{Path: "replay.etcd.timeout", Msg: "must be between 10ms and 10s"}},
		{"timeout not a duration", `{"store": "etcd", "etcd": {"cluster": "etcd", "timeout": 250}}`,
			&pipeline.FieldError{Path: "replay.etcd.timeout", Msg: `must be a duration string such as "250ms" or "5s"`}},
		{"unknown failure policy", `{"store": "etcd", "etcd": {"cluster": "etcd", "failure_policy": "fail_open"}}`,
			&pipeline.FieldError{Path: "replay.etcd.failure_policy", Msg: `"fail_open" is not a failure policy: use "fail_closed" or "local_only"`}},
		{"unknown etcd field", `{"store": "etcd", "etcd": {"cluster": "etcd", "password": "x"}}`,
			&pipeline.FieldError{Path: "replay.etcd.password", Msg: "unknown field"}},
		{"etcd with replay protection off", `{"enabled": false, "store": "etcd", "etcd": {"cluster": "etcd"}}`,
			&pipeline.FieldError{Path: "replay.store", Msg: `"etcd" needs replay protection on (replay.enabled)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(`{"scheme": "github", "secrets": [{"env": "A"}], "replay": ` + tt.given + `}`))
			var got *pipeline.FieldError
			require.True(t, errors.As(err, &got), "want a FieldError, got %v", err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEtcdStoreInRouteOverrides(t *testing.T) {
	routes, err := Parse([]byte(`{"scheme": "github", "secrets": [{"env": "A"}],
		"replay": {"store": "etcd", "etcd": {"cluster": "etcd"}},
		"routes": [{"name": "local", "replay": {"store": "local", "etcd": null}}, {"name": "bad", "replay": {"etcd": {"timeout": "0s"}}}]}`))
	var fe *pipeline.FieldError
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Equal(t, `routes["bad"].replay.etcd.timeout`, fe.Path)
	assert.Nil(t, routes)
}
