package breaker

import "github.com/steadfast-proxy/steadfast/internal/pipeline"

// The configuration read from JSON field by field (pipeline.Fields): each
// DecodeJSON reads every field its struct declares with a json tag.

// DecodeJSON implements pipeline.Decoder.
func (c *Config) DecodeJSON(f *pipeline.Fields) {
	f.String("key", &c.Key)
	f.IntPtr("max_keys", &c.MaxKeys)
	pipeline.ObjectPtr(f, "failure", &c.Failure)
	pipeline.ObjectPtr(f, "slow_call", &c.SlowCall)
	pipeline.ObjectPtr(f, "trip", &c.Trip)
	pipeline.ObjectPtr(f, "open", &c.Open)
	pipeline.ObjectPtr(f, "half_open", &c.HalfOpen)
	pipeline.ObjectPtr(f, "server_guided", &c.ServerGuided)
	f.String("mode", &c.Mode)
	pipeline.ObjectPtr(f, "reply", &c.Reply)
	pipeline.List(f, "shadow", &c.Shadow)
}

// DecodeJSON implements pipeline.Decoder.
func (s *FailureSpec) DecodeJSON(f *pipeline.Fields) {
	StatusRanges(f, "statuses", &s.Statuses)
	GRPCCodes(f, "grpc_statuses", &s.GRPCStatuses)
	f.BoolPtr("connection_failures", &s.ConnectionFailures)
	pipeline.ObjectPtr(f, "response_header", &s.ResponseHeader)
}

// DecodeJSON implements pipeline.Decoder.
func (h *HeaderMatch) DecodeJSON(f *pipeline.Fields) {
	f.String("name", &h.Name)
	f.StringPtr("exact", &h.Exact)
	f.StringPtr("regex", &h.Regex)
	f.BoolPtr("present", &h.Present)
}

// DecodeJSON implements pipeline.Decoder.
func (s *SlowCallSpec) DecodeJSON(f *pipeline.Fields) {
	f.DurationPtr("threshold", &s.Threshold)
}

// DecodeJSON implements pipeline.Decoder.
func (t *TripSpec) DecodeJSON(f *pipeline.Fields) {
	f.IntPtr("consecutive_failures", &t.ConsecutiveFailures)
	f.PercentPtr("failure_rate", &t.FailureRate)
	f.PercentPtr("slow_call_rate", &t.SlowCallRate)
	f.IntPtr("minimum_calls", &t.MinimumCalls)
	pipeline.ObjectPtr(f, "window", &t.Window)
}

// DecodeJSON implements pipeline.Decoder.
func (w *WindowSpec) DecodeJSON(f *pipeline.Fields) {
	f.String("type", &w.Type)
	f.Int("size", &w.Size)
	f.DurationPtr("duration", &w.Duration)
	f.IntPtr("buckets", &w.Buckets)
}

// DecodeJSON implements pipeline.Decoder.
func (o *OpenSpec) DecodeJSON(f *pipeline.Fields) {
	f.DurationPtr("base", &o.Base)
	f.DurationPtr("max", &o.Max)
	f.FloatPtr("multiplier", &o.Multiplier)
	f.FloatPtr("jitter", &o.Jitter)
}

// DecodeJSON implements pipeline.Decoder.
func (h *HalfOpenSpec) DecodeJSON(f *pipeline.Fields) {
	f.IntPtr("probes", &h.Probes)
	f.IntPtr("successes", &h.Successes)
	f.DurationPtr("max_wait", &h.MaxWait)
}

// DecodeJSON implements pipeline.Decoder.
func (s *ServerGuidedSpec) DecodeJSON(f *pipeline.Fields) {
	f.Bool("enabled", &s.Enabled)
	StatusRanges(f, "statuses", &s.Statuses)
	f.DurationPtr("max", &s.Max)
}

// DecodeJSON implements pipeline.Decoder.
func (r *ReplySpec) DecodeJSON(f *pipeline.Fields) {
	f.IntPtr("status", &r.Status)
	f.StringPtr("body", &r.Body)
	f.StringMap("headers", &r.Headers)
}

// DecodeJSON implements pipeline.Decoder.
func (s *ShadowSpec) DecodeJSON(f *pipeline.Fields) {
	f.String("name", &s.Name)
	pipeline.ObjectPtr(f, "trip", &s.Trip)
}

// StatusRanges reads a list of statuses and ranges into a new slice; null
// sets dst to nil.
func StatusRanges(f *pipeline.Fields, name string, dst *[]StatusRange) {
	pipeline.ValueList(f, name, dst, func(v pipeline.Value, r *StatusRange) error { return r.DecodeValue(v) })
}

// GRPCCodes reads a list of gRPC statuses into a new slice; null sets dst
// to nil.
func GRPCCodes(f *pipeline.Fields, name string, dst *[]GRPCCode) {
	pipeline.ValueList(f, name, dst, func(v pipeline.Value, g *GRPCCode) error { return g.DecodeValue(v) })
}
