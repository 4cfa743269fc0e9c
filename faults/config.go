package faults

import (
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/sha256wasm"
)

// Defaults of the optional fields.
const (
	// DefaultAbortStatus is the HTTP status of an abort without http_status
	// (503 Service Unavailable).
	DefaultAbortStatus = 503
	// DefaultGRPCStatus is the gRPC status of an abort of a gRPC request
	// without grpc_status (14, UNAVAILABLE).
	DefaultGRPCStatus = 14
	// DefaultAbortBody is the body of an abort without body.
	DefaultAbortBody = "fault injected\n"
	// DefaultFaultHeader names the response header that tells the client
	// which faults were injected; "fault_header": "" turns it off.
	DefaultFaultHeader = "x-steadfast-fault"
	// DefaultTokenHeader is the request header that carries the header
	// control token.
	DefaultTokenHeader = "x-steadfast-fault-token"
	// MinTokenLength is the shortest header control token, in bytes: a
	// token that unlocks faults must not be guessable.
	MinTokenLength = 16
	// DefaultSampling is the sampling mode without sampling.
	DefaultSampling = SamplingRandom
)

// ActiveFaultsLimit is the largest max_active_faults: the size of the shared
// list of active faults' leases (pipeline.MaxLeases), which routes without
// a cap fill too.
const ActiveFaultsLimit = pipeline.MaxLeases

// MaxDelay bounds every configured delay: fixed, uniform max, log-normal
// p99 and max, and the log-normal default max of 10 × p99 is cut to it. A
// longer hold is no latency experiment but a hung request (and it would
// outlast any sensible max_active_faults lease).
const MaxDelay = time.Hour

// maxDelayText is MaxDelay as configuration errors and the README write it.
const maxDelayText = "1h"

// Sampling modes.
const (
	// SamplingRandom draws every decision from the random source.
	SamplingRandom = "random"
	// SamplingRequestID derives every decision from the x-request-id
	// header, so the same request id meets the same faults on every hop and
	// retry; requests without one fall back to the random source.
	SamplingRequestID = "request_id"
)

// Config is the faults filter configuration. Its zero value injects
// nothing. Validate must run before Decide (Parse does it).
type Config struct {
	// Abort answers a share of the requests locally instead of sending them
	// upstream. Absent: no aborts.
	Abort *AbortFault `json:"abort"`
	// Delay holds a share of the requests before they go upstream. Absent:
	// no delays.
	Delay *DelayFault `json:"delay"`
	// Response faults act on the upstream's answer. Absent: none.
	Response *ResponseFaults `json:"response"`
	// Match selects the requests faults apply to. Absent: all requests.
	Match *Match `json:"match"`
	// HeaderControl lets requests that carry a secret token ask for their
	// own faults. Absent: off.
	HeaderControl *HeaderControl `json:"header_control"`
	// MaxActiveFaults bounds the faults in progress at once across all
	// workers and routes, at most ActiveFaultsLimit. 0: no cap.
	MaxActiveFaults int `json:"max_active_faults"`
	// Sampling is SamplingRandom or SamplingRequestID. "": DefaultSampling.
	Sampling string `json:"sampling"`
	// ActiveWindows limits injection to weekly time windows, in UTC.
	// Empty: always active.
	ActiveWindows Windows `json:"active_windows"`
	// Marker is the fault_header field: the response header that lists the
	// injected faults. Absent: DefaultFaultHeader; "": no header.
	Marker *string `json:"fault_header"`
	// RouteMetrics is route_metrics: whether metrics carry the Envoy route
	// name when the configuration has no routes list (with one, the name is
	// read anyway). Reading it costs a host property lookup per request.
	// Absent: true.
	RouteMetrics *bool `json:"route_metrics"`

	// Prepared by Validate.
	req, resp   faultSet
	match       matcher
	byRequestID bool
	control     *control // nil: header control is off
	marker      string
	live        bool // something can be injected at all
}

// DecodeJSON implements pipeline.Decoder.
func (c *Config) DecodeJSON(f *pipeline.Fields) {
	pipeline.ObjectPtr(f, "abort", &c.Abort)
	pipeline.ObjectPtr(f, "delay", &c.Delay)
	pipeline.ObjectPtr(f, "response", &c.Response)
	pipeline.ObjectPtr(f, "match", &c.Match)
	pipeline.ObjectPtr(f, "header_control", &c.HeaderControl)
	f.Int("max_active_faults", &c.MaxActiveFaults)
	f.String("sampling", &c.Sampling)
	pipeline.List(f, "active_windows", (*[]Window)(&c.ActiveWindows))
	f.StringPtr("fault_header", &c.Marker)
	f.BoolPtr("route_metrics", &c.RouteMetrics)
}

// AbortFault is an abort: a local answer instead of the upstream's.
type AbortFault struct {
	// Percentage of the matching requests to abort. Required.
	Percentage *pipeline.Percent `json:"percentage"`
	// HTTPStatus of the answer, 200 to 599. Absent: DefaultAbortStatus.
	HTTPStatus *int `json:"http_status"`
	// GRPCStatus of the answer to a gRPC request, 0 to 16. Absent:
	// DefaultGRPCStatus.
	GRPCStatus *int `json:"grpc_status"`
	// Body of the answer. Absent: DefaultAbortBody.
	Body *string `json:"body"`
	// Headers added to the answer. Pseudo-headers are not allowed.
	Headers map[string]string `json:"headers"`
}

// DecodeJSON implements pipeline.Decoder.
func (a *AbortFault) DecodeJSON(f *pipeline.Fields) {
	f.PercentPtr("percentage", &a.Percentage)
	f.IntPtr("http_status", &a.HTTPStatus)
	f.IntPtr("grpc_status", &a.GRPCStatus)
	f.StringPtr("body", &a.Body)
	f.StringMap("headers", &a.Headers)
}

// DelayFault is a delay, drawn from exactly one of the distributions and
// never longer than MaxDelay.
type DelayFault struct {
	// Percentage of the matching requests to delay. Required.
	Percentage *pipeline.Percent `json:"percentage"`
	// Fixed delays every time by the same amount.
	Fixed *pipeline.Duration `json:"fixed"`
	// Uniform draws evenly between min and max.
	Uniform *UniformDelay `json:"uniform"`
	// LogNormal draws from a log-normal distribution, the usual shape of
	// real latencies: mostly near the median with a long tail.
	LogNormal *LogNormalDelay `json:"lognormal"`
}

// DecodeJSON implements pipeline.Decoder.
func (d *DelayFault) DecodeJSON(f *pipeline.Fields) {
	f.PercentPtr("percentage", &d.Percentage)
	f.DurationPtr("fixed", &d.Fixed)
	pipeline.ObjectPtr(f, "uniform", &d.Uniform)
	pipeline.ObjectPtr(f, "lognormal", &d.LogNormal)
}

// UniformDelay is a delay drawn evenly from [Min, Max).
type UniformDelay struct {
	// Min is the shortest delay. Absent: 0.
	Min pipeline.Duration `json:"min"`
	// Max is the longest delay, at least Min. Required.
	Max *pipeline.Duration `json:"max"`
}

// DecodeJSON implements pipeline.Decoder.
func (u *UniformDelay) DecodeJSON(f *pipeline.Fields) {
	f.Duration("min", &u.Min)
	f.DurationPtr("max", &u.Max)
}

// LogNormalDelay is a log-normal delay given by two percentiles.
type LogNormalDelay struct {
	// Median is the 50th percentile, more than 0. Required.
	Median *pipeline.Duration `json:"median"`
	// P99 is the 99th percentile, at least Median. Required.
	P99 *pipeline.Duration `json:"p99"`
	// Max clamps the long tail; at least P99. Absent: 10 × P99, at most
	// MaxDelay.
	Max *pipeline.Duration `json:"max"`
}

// DecodeJSON implements pipeline.Decoder.
func (l *LogNormalDelay) DecodeJSON(f *pipeline.Fields) {
	f.DurationPtr("median", &l.Median)
	f.DurationPtr("p99", &l.P99)
	f.DurationPtr("max", &l.Max)
}

// ResponseFaults act on the upstream's answer: Abort replaces it, Delay
// holds its headers.
type ResponseFaults struct {
	Abort *AbortFault `json:"abort"`
	Delay *DelayFault `json:"delay"`
}

// DecodeJSON implements pipeline.Decoder.
func (r *ResponseFaults) DecodeJSON(f *pipeline.Fields) {
	pipeline.ObjectPtr(f, "abort", &r.Abort)
	pipeline.ObjectPtr(f, "delay", &r.Delay)
}

// HeaderControl lets a request ask for faults through the control headers
// (ControlHeaders) when it carries the token.
type HeaderControl struct {
	// Enabled turns header control on.
	Enabled bool `json:"enabled"`
	// TokenEnv names the environment variable holding the token. Required
	// when Enabled.
	TokenEnv string `json:"token_env"`
	// TokenHeader is the request header carrying the token. "":
	// DefaultTokenHeader.
	TokenHeader string `json:"token_header"`
}

// DecodeJSON implements pipeline.Decoder.
func (h *HeaderControl) DecodeJSON(f *pipeline.Fields) {
	f.Bool("enabled", &h.Enabled)
	f.String("token_env", &h.TokenEnv)
	f.String("token_header", &h.TokenHeader)
}

// faultSet is one path's prepared faults (request or response).
type faultSet struct {
	abort    *Abort // shared by every plan: callers must not modify it
	abortPct pipeline.Percent
	delay    *distribution
	delayPct pipeline.Percent
}

func (f *faultSet) live() bool {
	return f.abort != nil && f.abortPct > 0 || f.delay != nil && f.delayPct > 0
}

// control is prepared header control. Only the token's SHA-256 digest is
// kept, behind a pointer, so that formatting a Config never prints it.
type control struct {
	header string
	token  *secret // nil until ResolveSecrets
}

// secret is a token's digest. Comparing digests rather than the token
// itself takes the same time whatever the length of the presented value,
// so timing tells a client nothing about the token's length either. The
// digest is sha256wasm's, so that the faults module does not link
// crypto/sha256 and the FIPS code behind it (about 170 KB of .wasm).
type secret struct{ digest [sha256wasm.Size]byte }

func newSecret(token string) *secret { return &secret{digest: sha256wasm.Sum256([]byte(token))} }

// matches compares presented with the token in constant time.
func (s *secret) matches(presented string) bool {
	d := sha256wasm.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(d[:], s.digest[:]) == 1
}

// Parse parses a faults configuration with its per-route overrides (a
// "routes" list, see pipeline.ParseRoutes). Every configuration it returns
// is validated; header control tokens still need ResolveSecrets (or use
// Load).
func Parse(data []byte) (*pipeline.Routes[Config], error) {
	return pipeline.ParseRoutes[Config](data)
}

// Validate checks the configuration and prepares it for Decide. Errors are
// pipeline.FieldErrors naming the JSON path of the offending value.
func (c *Config) Validate() error {
	c.req, c.resp, c.match = faultSet{}, faultSet{}, matcher{}
	c.byRequestID, c.control, c.marker, c.live = false, nil, "", false

	var err error
	if c.req.abort, c.req.abortPct, err = c.Abort.prepare("abort"); err != nil {
		return err
	}
	if c.req.delay, c.req.delayPct, err = c.Delay.prepare("delay"); err != nil {
		return err
	}
	if r := c.Response; r != nil {
		if c.resp.abort, c.resp.abortPct, err = r.Abort.prepare("response.abort"); err != nil {
			return err
		}
		if c.resp.delay, c.resp.delayPct, err = r.Delay.prepare("response.delay"); err != nil {
			return err
		}
	}
	if c.match, err = c.Match.prepare("match"); err != nil {
		return err
	}
	if c.control, err = c.HeaderControl.prepare("header_control"); err != nil {
		return err
	}
	if c.MaxActiveFaults < 0 || c.MaxActiveFaults > ActiveFaultsLimit {
		return pipeline.Errorf("max_active_faults", "must be between 0 (no cap) and %d", ActiveFaultsLimit)
	}
	switch c.Sampling {
	case "", SamplingRandom:
	case SamplingRequestID:
		c.byRequestID = true
	default:
		return pipeline.Errorf("sampling", "%q is not a sampling mode: use %q or %q", c.Sampling, SamplingRandom, SamplingRequestID)
	}
	if err := c.ActiveWindows.prepare("active_windows"); err != nil {
		return err
	}
	c.marker = DefaultFaultHeader
	if c.Marker != nil {
		if c.marker, err = responseHeaderName("fault_header", *c.Marker); err != nil {
			return err
		}
	}
	c.live = c.req.live() || c.resp.live() || c.control != nil
	return nil
}

func (a *AbortFault) prepare(path string) (*Abort, pipeline.Percent, error) {
	if a == nil {
		return nil, 0, nil
	}
	if a.Percentage == nil {
		return nil, 0, pipeline.Errorf(pipeline.Join(path, "percentage"), "is required: the share of requests, from 0 to 100")
	}
	out := &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}
	if a.HTTPStatus != nil {
		if s := *a.HTTPStatus; s < 200 || s > 599 {
			return nil, 0, pipeline.Errorf(pipeline.Join(path, "http_status"), "must be between 200 and 599")
		}
		out.HTTPStatus = *a.HTTPStatus
	}
	if a.GRPCStatus != nil {
		if s := *a.GRPCStatus; s < 0 || s > 16 {
			return nil, 0, pipeline.Errorf(pipeline.Join(path, "grpc_status"), "must be between 0 and 16")
		}
		out.GRPCStatus = *a.GRPCStatus
	}
	if a.Body != nil {
		out.Body = *a.Body
	}
	var err error
	if out.Headers, err = pipeline.ReplyHeaders(pipeline.Join(path, "headers"), a.Headers); err != nil {
		return nil, 0, err
	}
	return out, *a.Percentage, nil
}

func (d *DelayFault) prepare(path string) (*distribution, pipeline.Percent, error) {
	if d == nil {
		return nil, 0, nil
	}
	if d.Percentage == nil {
		return nil, 0, pipeline.Errorf(pipeline.Join(path, "percentage"), "is required: the share of requests, from 0 to 100")
	}
	if count(d.Fixed != nil, d.Uniform != nil, d.LogNormal != nil) != 1 {
		return nil, 0, pipeline.Errorf(path, "give exactly one of fixed, uniform or lognormal")
	}
	var (
		dist distribution
		err  error
	)
	switch {
	case d.Fixed != nil:
		if err := atMostMaxDelay(pipeline.Join(path, "fixed"), *d.Fixed); err != nil {
			return nil, 0, err
		}
		dist = fixed(d.Fixed.Std())
	case d.Uniform != nil:
		dist, err = d.Uniform.prepare(pipeline.Join(path, "uniform"))
	default:
		dist, err = d.LogNormal.prepare(pipeline.Join(path, "lognormal"))
	}
	if err != nil {
		return nil, 0, err
	}
	return &dist, *d.Percentage, nil
}

func (u *UniformDelay) prepare(path string) (distribution, error) {
	if u.Max == nil {
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "max"), "is required")
	}
	if err := atMostMaxDelay(pipeline.Join(path, "max"), *u.Max); err != nil {
		return distribution{}, err
	}
	if *u.Max < u.Min {
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "max"), "must be at least min (%v)", u.Min.Std())
	}
	return uniform(u.Min.Std(), u.Max.Std()), nil
}

func (l *LogNormalDelay) prepare(path string) (distribution, error) {
	switch {
	case l.Median == nil:
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "median"), "is required")
	case *l.Median == 0:
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "median"), "must be more than 0")
	case l.P99 == nil:
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "p99"), "is required")
	case *l.P99 < *l.Median:
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "p99"), "must be at least the median (%v)", l.Median.Std())
	case l.Max != nil && *l.Max < *l.P99:
		return distribution{}, pipeline.Errorf(pipeline.Join(path, "max"), "must be at least p99 (%v)", l.P99.Std())
	}
	if err := atMostMaxDelay(pipeline.Join(path, "p99"), *l.P99); err != nil {
		return distribution{}, err
	}
	clamp := min(10*l.P99.Std(), MaxDelay)
	if l.Max != nil {
		if err := atMostMaxDelay(pipeline.Join(path, "max"), *l.Max); err != nil {
			return distribution{}, err
		}
		clamp = l.Max.Std()
	}
	return logNormal(l.Median.Std(), l.P99.Std(), clamp), nil
}

func atMostMaxDelay(path string, d pipeline.Duration) error {
	if d.Std() > MaxDelay {
		return pipeline.Errorf(path, "must be at most %s", maxDelayText)
	}
	return nil
}

func (h *HeaderControl) prepare(path string) (*control, error) {
	if h == nil {
		return nil, nil
	}
	header := DefaultTokenHeader
	if h.TokenHeader != "" {
		var err error
		if header, err = requestHeaderName(pipeline.Join(path, "token_header"), h.TokenHeader); err != nil {
			return nil, err
		}
	}
	if !h.Enabled {
		return nil, nil
	}
	if h.TokenEnv == "" {
		return nil, pipeline.Errorf(pipeline.Join(path, "token_env"), "is required when header_control.enabled is true")
	}
	return &control{header: header}, nil
}

// ResolveSecrets reads the header control token from the environment
// variable named by token_env, through lookup (os.LookupEnv in the filter),
// and requires at least MinTokenLength bytes of it. It does nothing when
// header control is off. The token's value never appears in errors.
func (c *Config) ResolveSecrets(lookup func(string) (string, bool)) error {
	if c.control == nil {
		return nil
	}
	name := c.HeaderControl.TokenEnv
	v, ok := lookup(name)
	switch {
	case !ok || v == "":
		return pipeline.Errorf("header_control.token_env", "environment variable %s is not set or empty", name)
	case len(v) < MinTokenLength:
		return pipeline.Errorf("header_control.token_env", "the token in environment variable %s is shorter than %d characters", name, MinTokenLength)
	}
	c.control.token = newSecret(v)
	return nil
}

// RouteLabel reports whether metrics are labelled with the Envoy route name
// when no routes list asks for it anyway (route_metrics, default true).
func (c *Config) RouteLabel() bool { return c.RouteMetrics == nil || *c.RouteMetrics }

// MaxActive is max_active_faults: the most faults in progress at once
// across all workers and routes; 0 means no cap.
func (c *Config) MaxActive() int { return c.MaxActiveFaults }

// FaultHeader is the response header that lists the injected faults (see
// Plan.HeaderValue), or "" when it is turned off.
func (c *Config) FaultHeader() string { return c.marker }

// HeaderControlEnabled reports whether requests may ask for faults through
// the control headers.
func (c *Config) HeaderControlEnabled() bool { return c.control != nil }

// StrippedHeaders lists the request headers the filter removes from every
// request it sees, on every route, whether its route has faults, header
// control or neither: ControlHeaders and every token header the
// configuration names, in the top level or any route entry. It is nil when
// no configuration enables header control, and the filter removes nothing.
func StrippedHeaders(routes *pipeline.Routes[Config]) []string {
	enabled := false
	var tokens []string
	_ = routes.Each(func(c *Config) error {
		enabled = enabled || c.HeaderControlEnabled()
		if h := c.HeaderControl; h != nil {
			name := DefaultTokenHeader
			if h.TokenHeader != "" {
				name = strings.ToLower(h.TokenHeader)
			}
			if !slices.Contains(tokens, name) {
				tokens = append(tokens, name)
			}
		}
		return nil
	})
	if !enabled {
		return nil
	}
	return append(slices.Clone(ControlHeaders), tokens...)
}

// requestHeaderName checks a header name the filter reads or writes on
// regular headers and returns it lower-cased.
func requestHeaderName(path, name string) (string, error) {
	if strings.HasPrefix(name, ":") {
		return "", pipeline.Errorf(path, "pseudo-headers cannot be used")
	}
	lower := strings.ToLower(name)
	if !pipeline.IsToken(lower) {
		return "", pipeline.Errorf(path, "%q is not a valid header name", name)
	}
	return lower, nil
}

// responseHeaderName is requestHeaderName where "" means none.
func responseHeaderName(path, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	return requestHeaderName(path, name)
}
