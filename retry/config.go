package retry

import (
	"slices"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/breaker"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

// Defaults of the optional fields.
const (
	// DefaultMaxAttempts is max_attempts: the first attempt and two retries.
	DefaultMaxAttempts = 3
	// DefaultBodyLimit is body_limit: the largest request body kept to be
	// replayed, in bytes.
	DefaultBodyLimit = 64 << 10
	// DefaultIdempotencyKeyHeader names the request header that makes a
	// POST or PATCH retryable.
	DefaultIdempotencyKeyHeader = "idempotency-key"
	// DefaultAttemptHeader names the request header that tells the
	// upstream which attempt it sees (2 for the first retry).
	DefaultAttemptHeader = "x-steadfast-attempt"
	// DefaultBackoffBase is backoff.base.
	DefaultBackoffBase = 25 * time.Millisecond
	// DefaultBackoffMax is backoff.max.
	DefaultBackoffMax = 250 * time.Millisecond
	// DefaultBackoffMultiplier is backoff.multiplier.
	DefaultBackoffMultiplier = 2.0
	// DefaultJitter is backoff.jitter.
	DefaultJitter = JitterFull
	// DefaultProportion is backoff.proportion, the spread of the
	// proportional jitter (gRPC's ±20%).
	DefaultProportion = 0.2
	// DefaultPushbackMax is pushback.max: the longest wait a server's
	// pushback can ask for.
	DefaultPushbackMax = 10 * time.Second
	// DefaultTryTimeout is the timeout of a retry when neither
	// per_try_timeout nor a deadline gives one (Envoy's route timeout).
	DefaultTryTimeout = 15 * time.Second
	// MinTryTime is the least time a retry must have left, after its
	// backoff and before the deadline, when no per_try_timeout is set.
	MinTryTime = 10 * time.Millisecond
	// DefaultBudgetPercent is budget.percent.
	DefaultBudgetPercent = 20.0
	// DefaultBudgetWindow is budget.window.
	DefaultBudgetWindow = 10 * time.Second
	// DefaultBudgetMinPerSecond is budget.min_per_second.
	DefaultBudgetMinPerSecond = 10.0
	// DefaultKey keys budgets and breaker circuits by upstream cluster.
	DefaultKey = KeyCluster
)

// Default lists when absent.
var (
	DefaultStatuses     = []breaker.StatusRange{{Lo: 502, Hi: 504}}
	DefaultGRPCStatuses = []breaker.GRPCCode{14} // UNAVAILABLE
	DefaultMethods      = []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
)

// Bounds of the configurable values.
const (
	MaxAttemptsLimit = 10
	MaxBodyLimit     = 1 << 20
	MaxDuration      = time.Hour
	MaxMultiplier    = 10.0
	MaxPerSecond     = 100000.0
	maxDurationText  = "1h"
)

// Key kinds.
const (
	KeyCluster = "cluster"
	KeyRoute   = "route"
	// KeyHeaderPrefix starts a key that is a request header's value.
	KeyHeaderPrefix = "header:"
	// KeyOff turns the breaker check off (breaker_key only).
	KeyOff = "off"
)

// Jitters.
const (
	JitterNone         = "none"
	JitterFull         = "full"
	JitterEqual        = "equal"
	JitterDecorrelated = "decorrelated"
	JitterProportional = "proportional"
)

// Config is the retry filter configuration. Its zero value, validated, is
// the default policy: up to 3 attempts of idempotent requests on 502, 503,
// 504, gRPC UNAVAILABLE and connection failures, full jitter from 25ms to
// 250ms, a budget of 20% of requests over 10s plus 10 retries a second per
// cluster.
type Config struct {
	// MaxAttempts counts the first attempt, 1 to MaxAttemptsLimit (1: no
	// retries). Absent: DefaultMaxAttempts.
	MaxAttempts *int `json:"max_attempts"`
	// RetryOn says which answers are retried.
	RetryOn *RetryOnSpec `json:"retry_on"`
	// Methods are the idempotent methods, retried without a key. Absent:
	// DefaultMethods.
	Methods []string `json:"methods"`
	// IdempotencyKeyHeader makes any method retryable when the request
	// carries it. Absent: DefaultIdempotencyKeyHeader; "": off.
	IdempotencyKeyHeader *string `json:"idempotency_key_header"`
	// BodyLimit is the largest request body replayed, 0 to MaxBodyLimit
	// bytes; a larger body is not retried. Absent: DefaultBodyLimit.
	BodyLimit *int `json:"body_limit"`
	// Backoff is the wait before each retry.
	Backoff *BackoffSpec `json:"backoff"`
	// Pushback honours a server's own wait (Retry-After, ...).
	Pushback *PushbackSpec `json:"pushback"`
	// PerTryTimeout bounds each attempt. Absent: none (a retry gets what is
	// left before the deadline, or DefaultTryTimeout).
	PerTryTimeout *pipeline.Duration `json:"per_try_timeout"`
	// Deadline bounds the whole request from its arrival. Absent: none,
	// unless the request gives one.
	Deadline *pipeline.Duration `json:"deadline"`
	// DeadlineFromRequest takes the deadline from grpc-timeout and
	// x-envoy-expected-rq-timeout-ms as well (the shortest wins). Absent:
	// true.
	DeadlineFromRequest *bool `json:"deadline_from_request"`
	// Budget bounds the retries of a key.
	Budget *BudgetSpec `json:"budget"`
	// BreakerKey is the breaker's circuit key for this route: "cluster",
	// "route", "header:<name>", or "off". No retry goes into a circuit the
	// breaker holds open. Absent: DefaultKey.
	BreakerKey string `json:"breaker_key"`
	// AttemptHeader names the request header carrying the attempt number
	// on retries. Absent: DefaultAttemptHeader; "": none.
	AttemptHeader *string `json:"attempt_header"`
	// RetriesHeader names a response header telling the client how many
	// retries were made. Absent or "": none.
	RetriesHeader string `json:"retries_header"`

	p policy // prepared by Validate
}

// RetryOnSpec lists the answers that are retried.
type RetryOnSpec struct {
	// Statuses are HTTP statuses and ranges. Absent: DefaultStatuses.
	Statuses []breaker.StatusRange `json:"statuses"`
	// GRPCStatuses, from headers or trailers. Absent: DefaultGRPCStatuses.
	GRPCStatuses []breaker.GRPCCode `json:"grpc_statuses"`
	// ConnectionFailures retries an upstream never reached (any method)
	// and a reset (idempotent requests only). Absent: true.
	ConnectionFailures *bool `json:"connection_failures"`
	// ResponseHeader retries an answer carrying this header. Absent: off.
	ResponseHeader string `json:"response_header"`
	// NoRetryHeader forbids a retry of an answer carrying this header.
	// Absent: off.
	NoRetryHeader string `json:"no_retry_header"`
}

// BackoffSpec is the wait before retry n: base × multiplier^(n−1), at most
// max, jittered.
type BackoffSpec struct {
	// Base is the first wait, more than 0. Absent: DefaultBackoffBase.
	Base *pipeline.Duration `json:"base"`
	// Max caps the wait, at least Base. Absent: DefaultBackoffMax, or Base
	// when larger.
	Max *pipeline.Duration `json:"max"`
	// Multiplier, 1 to MaxMultiplier. Absent: DefaultBackoffMultiplier.
	Multiplier *float64 `json:"multiplier"`
	// Jitter is none, full, equal, decorrelated or proportional.
	Jitter string `json:"jitter"`
	// Proportion is the proportional jitter's spread, 0 to 1.
	Proportion *float64 `json:"proportion"`
}

// PushbackSpec honours Retry-After, RateLimit-Reset, X-RateLimit-Reset and
// grpc-retry-pushback-ms.
type PushbackSpec struct {
	// Enabled: absent true.
	Enabled *bool `json:"enabled"`
	// Max caps the wait a pushback sets. Absent: DefaultPushbackMax.
	Max *pipeline.Duration `json:"max"`
}

// BudgetSpec is the Finagle retry budget: retries ≤ percent of the
// requests over window + min_per_second × window.
type BudgetSpec struct {
	// Enabled: absent true.
	Enabled      *bool              `json:"enabled"`
	Percent      *pipeline.Percent  `json:"percent"`
	Window       *pipeline.Duration `json:"window"`
	MinPerSecond *float64           `json:"min_per_second"`
	// Key: "cluster", "route" or "header:<name>". Absent: DefaultKey.
	Key string `json:"key"`
}

// policy is the prepared configuration.
type policy struct {
	maxAttempts   int
	statuses      statusSet
	grpc          uint64
	connFailures  bool
	retryHeader   string
	noRetryHeader string
	methods       []string
	keyHeader     string
	bodyLimit     int
	grpcRetryOn   string // x-envoy-retry-grpc-on for the router
	backoff       Backoff
	pushback      bool
	pushbackMax   time.Duration
	perTry        time.Duration
	deadline      time.Duration
	fromRequest   bool
	budget        Budget
	budgetOn      bool
	budgetKey     keySpec
	breakerKey    keySpec
	attemptHeader string
	retriesHeader string
}

// keySpec is a parsed key: kind KeyCluster, KeyRoute, KeyHeaderPrefix
// (with header) or KeyOff.
type keySpec struct{ kind, header string }

// statusSet is a set of HTTP statuses 0 to 639.
type statusSet [10]uint64

func (s *statusSet) add(r breaker.StatusRange) {
	for c := r.Lo; c <= r.Hi; c++ {
		s[c/64] |= 1 << (c % 64)
	}
}

func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 640 && s[code/64]&(1<<(code%64)) != 0
}

// Parse parses a retry configuration with its per-route overrides (a
// "routes" list, see pipeline.ParseRoutes). Every configuration it returns
// is validated.
func Parse(data []byte) (*pipeline.Routes[Config], error) {
	return pipeline.ParseRoutes[Config](data)
}

// Validate checks the configuration and prepares it. Errors are
// pipeline.FieldErrors naming the JSON path of the offending value.
func (c *Config) Validate() error {
	p := policy{
		maxAttempts: DefaultMaxAttempts, connFailures: true, methods: DefaultMethods,
		keyHeader: DefaultIdempotencyKeyHeader, bodyLimit: DefaultBodyLimit,
		pushback: true, pushbackMax: DefaultPushbackMax, fromRequest: true, budgetOn: true,
		attemptHeader: DefaultAttemptHeader,
	}
	if c.MaxAttempts != nil {
		if *c.MaxAttempts < 1 || *c.MaxAttempts > MaxAttemptsLimit {
			return pipeline.Errorf("max_attempts", "must be from 1 to %d", MaxAttemptsLimit)
		}
		p.maxAttempts = *c.MaxAttempts
	}
	if err := c.RetryOn.prepare(&p); err != nil {
		return err
	}
	if c.Methods != nil {
		p.methods = make([]string, len(c.Methods))
		for i, m := range c.Methods {
			if !pipeline.IsToken(m) {
				return pipeline.Errorf(pipeline.Index("methods", i), "%q is not a method", m)
			}
			p.methods[i] = strings.ToUpper(m)
		}
	}
	if c.IdempotencyKeyHeader != nil {
		h, err := headerName("idempotency_key_header", *c.IdempotencyKeyHeader)
		if err != nil {
			return err
		}
		p.keyHeader = h
	}
	if err := byteLimit("body_limit", c.BodyLimit, &p.bodyLimit); err != nil {
		return err
	}
	b, err := c.Backoff.prepare()
	if err != nil {
		return err
	}
	p.backoff = b
	if c.Pushback != nil {
		if c.Pushback.Enabled != nil {
			p.pushback = *c.Pushback.Enabled
		}
		if err := duration("pushback.max", c.Pushback.Max, &p.pushbackMax); err != nil {
			return err
		}
	}
	if err := duration("per_try_timeout", c.PerTryTimeout, &p.perTry); err != nil {
		return err
	}
	if err := duration("deadline", c.Deadline, &p.deadline); err != nil {
		return err
	}
	if c.DeadlineFromRequest != nil {
		p.fromRequest = *c.DeadlineFromRequest
	}
	if err := c.Budget.prepare(&p); err != nil {
		return err
	}
	if p.breakerKey, err = parseKey("breaker_key", c.BreakerKey, true); err != nil {
		return err
	}
	if c.AttemptHeader != nil {
		if p.attemptHeader, err = headerName("attempt_header", *c.AttemptHeader); err != nil {
			return err
		}
	}
	if p.retriesHeader, err = headerName("retries_header", c.RetriesHeader); err != nil {
		return err
	}
	c.p = p
	return nil
}

func (r *RetryOnSpec) prepare(p *policy) error {
	statuses, grpc := DefaultStatuses, DefaultGRPCStatuses
	if r != nil {
		if r.Statuses != nil {
			statuses = r.Statuses
		}
		if r.GRPCStatuses != nil {
			grpc = r.GRPCStatuses
		}
		if r.ConnectionFailures != nil {
			p.connFailures = *r.ConnectionFailures
		}
		var err error
		if p.retryHeader, err = headerName("retry_on.response_header", r.ResponseHeader); err != nil {
			return err
		}
		if p.noRetryHeader, err = headerName("retry_on.no_retry_header", r.NoRetryHeader); err != nil {
			return err
		}
	}
	for _, s := range statuses {
		p.statuses.add(s)
	}
	for i, g := range grpc {
		if routerGRPCNames[g] == "" {
			return pipeline.Errorf(pipeline.Index("retry_on.grpc_statuses", i),
				"gRPC requests are retried by Envoy's router, which retries only CANCELLED, DEADLINE_EXCEEDED, INTERNAL, RESOURCE_EXHAUSTED and UNAVAILABLE")
		}
		p.grpc |= 1 << uint(g)
	}
	var names []string
	for g := range breaker.GRPCCode(32) {
		if p.grpc&(1<<uint(g)) != 0 {
			names = append(names, routerGRPCNames[g])
		}
	}
	p.grpcRetryOn = strings.Join(names, ",")
	return nil
}

// routerGRPCNames are the gRPC statuses Envoy's router retries, as its
// x-envoy-retry-grpc-on header names them.
var routerGRPCNames = map[breaker.GRPCCode]string{
	1: "cancelled", 4: "deadline-exceeded", 8: "resource-exhausted", 13: "internal", 14: "unavailable",
}

// RouterGRPCRetryOn is the x-envoy-retry-grpc-on value of the gRPC
// statuses retried, "" for none.
func (c *Config) RouterGRPCRetryOn() string { return c.p.grpcRetryOn }

func (b *BackoffSpec) prepare() (Backoff, error) {
	out := Backoff{Base: DefaultBackoffBase, Max: DefaultBackoffMax, Multiplier: DefaultBackoffMultiplier,
		Jitter: DefaultJitter, Proportion: DefaultProportion}
	if b == nil {
		return out, nil
	}
	if b.Base != nil {
		if *b.Base <= 0 || b.Base.Std() > MaxDuration {
			return out, pipeline.Errorf("backoff.base", "must be more than 0 and at most %s", maxDurationText)
		}
		out.Base = b.Base.Std()
	}
	if b.Max == nil {
		out.Max = max(out.Max, out.Base) // a base past the default max raises it
	} else {
		out.Max = b.Max.Std()
		if out.Max > MaxDuration {
			return out, pipeline.Errorf("backoff.max", "must be at most %s", maxDurationText)
		}
	}
	if out.Max < out.Base {
		return out, pipeline.Errorf("backoff.max", "must be at least backoff.base (%s)", out.Base)
	}
	if b.Multiplier != nil {
		if !(*b.Multiplier >= 1 && *b.Multiplier <= MaxMultiplier) {
			return out, pipeline.Errorf("backoff.multiplier", "must be from 1 to %g", MaxMultiplier)
		}
		out.Multiplier = *b.Multiplier
	}
	if b.Jitter != "" {
		if !slices.Contains([]string{JitterNone, JitterFull, JitterEqual, JitterDecorrelated, JitterProportional}, b.Jitter) {
			return out, pipeline.Errorf("backoff.jitter", "must be none, full, equal, decorrelated or proportional")
		}
		out.Jitter = b.Jitter
	}
	if b.Proportion != nil {
		if !(*b.Proportion >= 0 && *b.Proportion <= 1) {
			return out, pipeline.Errorf("backoff.proportion", "must be from 0 to 1")
		}
		if out.Jitter != JitterProportional {
			return out, pipeline.Errorf("backoff.proportion", `applies only to "jitter": "proportional"`)
		}
		out.Proportion = *b.Proportion
	}
	return out, nil
}

func (b *BudgetSpec) prepare(p *policy) error {
	p.budget = Budget{Percent: DefaultBudgetPercent, Window: DefaultBudgetWindow, MinPerSecond: DefaultBudgetMinPerSecond}
	var key string
	if b != nil {
		if b.Enabled != nil {
			p.budgetOn = *b.Enabled
		}
		if b.Percent != nil {
			p.budget.Percent = float64(*b.Percent)
		}
		if b.Window != nil {
			w := b.Window.Std()
			if w < BudgetBuckets*time.Millisecond || w > MaxDuration {
				return pipeline.Errorf("budget.window", "must be from %s to %s", BudgetBuckets*time.Millisecond, maxDurationText)
			}
			p.budget.Window = w
		}
		if b.MinPerSecond != nil {
			if !(*b.MinPerSecond >= 0 && *b.MinPerSecond <= MaxPerSecond) {
				return pipeline.Errorf("budget.min_per_second", "must be from 0 to %g", MaxPerSecond)
			}
			p.budget.MinPerSecond = *b.MinPerSecond
		}
		key = b.Key
	}
	var err error
	p.budgetKey, err = parseKey("budget.key", key, false)
	return err
}

// parseKey reads a key: "" is DefaultKey; "off" only where off is allowed.
func parseKey(path, key string, off bool) (keySpec, error) {
	switch {
	case key == "" || key == KeyCluster:
		return keySpec{kind: KeyCluster}, nil
	case key == KeyRoute:
		return keySpec{kind: KeyRoute}, nil
	case key == KeyOff && off:
		return keySpec{kind: KeyOff}, nil
	case strings.HasPrefix(key, KeyHeaderPrefix):
		h := strings.ToLower(strings.TrimPrefix(key, KeyHeaderPrefix))
		if pipeline.IsToken(h) {
			return keySpec{kind: KeyHeaderPrefix, header: h}, nil
		}
	}
	if off {
		return keySpec{}, pipeline.Errorf(path, `must be "cluster", "route", "header:<name>" or "off"`)
	}
	return keySpec{}, pipeline.Errorf(path, `must be "cluster", "route" or "header:<name>"`)
}

// headerName checks an optional header name ("" is none) and lowers it.
func headerName(path, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	lower := strings.ToLower(name)
	if !pipeline.IsToken(lower) {
		return "", pipeline.Errorf(path, "%q is not a valid header name", name)
	}
	return lower, nil
}

func byteLimit(path string, v *int, dst *int) error {
	if v == nil {
		return nil
	}
	if *v < 0 || *v > MaxBodyLimit {
		return pipeline.Errorf(path, "must be from 0 to %d bytes", MaxBodyLimit)
	}
	*dst = *v
	return nil
}

// duration sets *dst to d when given: more than 0, at most MaxDuration.
func duration(path string, d *pipeline.Duration, dst *time.Duration) error {
	if d == nil {
		return nil
	}
	if *d <= 0 || d.Std() > MaxDuration {
		return pipeline.Errorf(path, "must be more than 0 and at most %s", maxDurationText)
	}
	*dst = d.Std()
	return nil
}

// MaxAttemptsAllowed is max_attempts with its default.
func (c *Config) MaxAttemptsAllowed() int { return c.p.maxAttempts }

// BodyLimitBytes is body_limit with its default.
func (c *Config) BodyLimitBytes() int { return c.p.bodyLimit }

// BackoffPolicy is the prepared backoff.
func (c *Config) BackoffPolicy() Backoff { return c.p.backoff }

// BudgetPolicy is the prepared budget and whether it is on.
func (c *Config) BudgetPolicy() (Budget, bool) { return c.p.budget, c.p.budgetOn }
