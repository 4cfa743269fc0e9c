package retry

import (
	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// The configuration read from JSON field by field (pipeline.Fields): each
// DecodeJSON reads every field its struct declares with a json tag.

// DecodeJSON implements pipeline.Decoder.
func (c *Config) DecodeJSON(f *pipeline.Fields) {
	f.IntPtr("max_attempts", &c.MaxAttempts)
	pipeline.ObjectPtr(f, "retry_on", &c.RetryOn)
	f.Strings("methods", &c.Methods)
	f.StringPtr("idempotency_key_header", &c.IdempotencyKeyHeader)
	f.IntPtr("body_limit", &c.BodyLimit)
	pipeline.ObjectPtr(f, "backoff", &c.Backoff)
	pipeline.ObjectPtr(f, "pushback", &c.Pushback)
	f.DurationPtr("per_try_timeout", &c.PerTryTimeout)
	f.DurationPtr("deadline", &c.Deadline)
	f.BoolPtr("deadline_from_request", &c.DeadlineFromRequest)
	pipeline.ObjectPtr(f, "budget", &c.Budget)
	f.String("breaker_key", &c.BreakerKey)
	f.StringPtr("attempt_header", &c.AttemptHeader)
	f.String("retries_header", &c.RetriesHeader)
}

// DecodeJSON implements pipeline.Decoder.
func (r *RetryOnSpec) DecodeJSON(f *pipeline.Fields) {
	breaker.StatusRanges(f, "statuses", &r.Statuses)
	breaker.GRPCCodes(f, "grpc_statuses", &r.GRPCStatuses)
	f.BoolPtr("connection_failures", &r.ConnectionFailures)
	f.String("response_header", &r.ResponseHeader)
	f.String("no_retry_header", &r.NoRetryHeader)
}

// DecodeJSON implements pipeline.Decoder.
func (b *BackoffSpec) DecodeJSON(f *pipeline.Fields) {
	f.DurationPtr("base", &b.Base)
	f.DurationPtr("max", &b.Max)
	f.FloatPtr("multiplier", &b.Multiplier)
	f.String("jitter", &b.Jitter)
	f.FloatPtr("proportion", &b.Proportion)
}

// DecodeJSON implements pipeline.Decoder.
func (p *PushbackSpec) DecodeJSON(f *pipeline.Fields) {
	f.BoolPtr("enabled", &p.Enabled)
	f.DurationPtr("max", &p.Max)
}

// DecodeJSON implements pipeline.Decoder.
func (b *BudgetSpec) DecodeJSON(f *pipeline.Fields) {
	f.BoolPtr("enabled", &b.Enabled)
	f.PercentPtr("percent", &b.Percent)
	f.DurationPtr("window", &b.Window)
	f.FloatPtr("min_per_second", &b.MinPerSecond)
	f.String("key", &b.Key)
}
