package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// unavailableHealth answers every health check UNAVAILABLE after sending
// its response headers, so that the status travels in the trailers.
type unavailableHealth struct {
	grpc_health_v1.UnimplementedHealthServer
}

func (unavailableHealth) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	if err := grpc.SendHeader(ctx, metadata.Pairs("x-upstream", "health")); err != nil {
		return nil, err
	}
	return nil, status.Error(codes.Unavailable, "upstream unavailable")
}

// A gRPC status in the trailers is the call's outcome: UNAVAILABLE there
// counts as a failure, though the response headers said 200.
func TestBreakerCountsGRPCStatusInTrailers(t *testing.T) {
	server := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(server, unavailableHealth{})
	envoy, up := breakerEnvoy{
		Config:   `{"trip":{"consecutive_failures":3},"open":{"base":"30s","jitter":0}}`,
		Upstream: server,
		HTTP2:    true,
	}.start(t)
	conn, err := grpc.NewClient(strings.TrimPrefix(envoy.URL(""), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	check := func() (metadata.MD, error) {
		ctx, cancel := context.WithTimeout(context.Background(), harness.ClientTimeout)
		defer cancel()
		var header metadata.MD
		_, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header))
		return header, err
	}

	for i := range 3 {
		header, err := check()
		require.Equal(t, codes.Unavailable, status.Code(err), "call %d: %v", i+1, err)
		require.Equal(t, "upstream unavailable", status.Convert(err).Message(), "call %d", i+1)
		require.Equal(t, []string{"health"}, header.Get("x-upstream"), "call %d: headers first, the status in the trailers", i+1)
	}
	_, err = check()
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	assert.Equal(t, circuitOpen, status.Convert(err).Message(), "the breaker's own answer")
	assert.Equal(t, 3, up.Count())
	assertStats(t, envoy, map[string]uint64{
		"outcomes_total.key.app.outcome.failure":  3,
		"requests_total.key.app.verdict.rejected": 1,
	})
}
