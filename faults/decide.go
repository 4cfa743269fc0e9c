package faults

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/steadfast-proxy/steadfast/internal/ipaddr"
)

// Request gives the decision logic what it needs, lazily (each call may be a host call).
type Request interface {
	// Header returns the value of a request header, by lower-case name;
	// pseudo-headers such as ":method" and ":path" included.
	Header(name string) (string, bool)
	// Cluster is the upstream cluster name; called only if match.clusters
	// is set.
	Cluster() string
	// SourceIP is the downstream address; called only if match.source_cidrs
	// is set.
	SourceIP() (ipaddr.Addr, bool)
	// HeaderCount is how many times a request header, by lower-case name,
	// is given. It may read every header, so it is called only on the rare
	// path of a request that presents the right token.
	HeaderCount(name string) int
}

// RequestIDHeader is the header request_id sampling hashes.
const RequestIDHeader = "x-request-id"

// Abort is a local answer. Plans share the Abort of their Config: callers
// must not modify it (copy Headers before appending).
type Abort struct {
	HTTPStatus int
	// GRPCStatus is the grpc-status to answer a gRPC request with.
	GRPCStatus int
	Body       string
	// Headers to add, sorted by name, names lower-case.
	Headers [][2]string
}

// Plan is what Decide chose for one request.
type Plan struct {
	Abort         *Abort        // answer locally instead of going upstream
	Delay         time.Duration // hold the request this long first (0: none)
	ResponseAbort *Abort        // replace the upstream answer's status/body
	ResponseDelay time.Duration // hold response headers this long
	FromHeaders   bool          // the plan came from honoured control headers
	// TokenRejected: the request presented a header control token that was
	// refused (wrong, or the token header given more than once); its
	// control headers were ignored.
	TokenRejected bool
}

// Fault kinds, as Plan.Kinds and Plan.HeaderValue name them.
const (
	KindAbort         = "abort"
	KindDelay         = "delay"
	KindResponseAbort = "response_abort"
	KindResponseDelay = "response_delay"
)

// Empty reports whether the plan injects nothing.
func (p Plan) Empty() bool {
	return p.Abort == nil && p.Delay == 0 && p.ResponseAbort == nil && p.ResponseDelay == 0
}

// Kinds lists the planned fault kinds in the order abort, delay,
// response_abort, response_delay.
func (p Plan) Kinds() []string {
	out := make([]string, 0, 4)
	if p.Abort != nil {
		out = append(out, KindAbort)
	}
	if p.Delay > 0 {
		out = append(out, KindDelay)
	}
	if p.ResponseAbort != nil {
		out = append(out, KindResponseAbort)
	}
	if p.ResponseDelay > 0 {
		out = append(out, KindResponseDelay)
	}
	return out
}

// HeaderValue is the value of the fault header: the planned faults in
// Kinds order with their status or delay, such as "abort=503" or
// "delay=200ms,response_abort=500". Empty for an empty plan.
func (p Plan) HeaderValue() string {
	var b strings.Builder
	add := func(kind, value string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kind)
		b.WriteByte('=')
		b.WriteString(value)
	}
	if p.Abort != nil {
		add(KindAbort, strconv.Itoa(p.Abort.HTTPStatus))
	}
	if p.Delay > 0 {
		add(KindDelay, p.Delay.String())
	}
	if p.ResponseAbort != nil {
		add(KindResponseAbort, strconv.Itoa(p.ResponseAbort.HTTPStatus))
	}
	if p.ResponseDelay > 0 {
		add(KindResponseDelay, p.ResponseDelay.String())
	}
	return b.String()
}

// Salts keep the draws of request_id sampling independent: each kind, and
// each delay's sample, hashes the id with its own salt.
const (
	saltAbort              = KindAbort
	saltDelay              = KindDelay
	saltDelaySample        = KindDelay + "/sample"
	saltResponseAbort      = KindResponseAbort
	saltResponseDelay      = KindResponseDelay
	saltResponseDelayValue = KindResponseDelay + "/sample"
)

// Decide chooses the faults for one request at time now. It returns the
// empty Plan when nothing is configured, outside the active windows (UTC)
// or when the match selector does not match, asking req only for what
// these tests need. rnd returns uniform values in [0, 1); nil means
// math/rand/v2. Decide does not allocate unless it honours control headers.
//
// Each configured kind is sampled on its own, in the order abort, delay,
// response abort, response delay, each delay drawing a second value for its
// distribution. With a valid header control token the control headers
// replace the configured request faults (abort and delay); the configured
// response faults still apply.
func (c *Config) Decide(req Request, now time.Time, rnd func() float64) Plan {
	if c == nil || !c.live || !c.ActiveWindows.Active(now) || !c.match.matches(req) {
		return Plan{}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	s := sampler{req: req, rnd: rnd, byID: c.byRequestID}
	var p Plan
	ctl, token := c.controlled(req)
	p.TokenRejected = token == tokenRejected
	if token == tokenHonoured {
		p.FromHeaders = true
		if ctl.Abort != nil && ctl.AbortPercentage.Hits(s.draw(saltAbort)) {
			p.Abort = ctl.Abort
		}
		if ctl.Delay > 0 && ctl.DelayPercentage.Hits(s.draw(saltDelay)) {
			p.Delay = ctl.Delay
		}
	} else {
		p.Abort, p.Delay = c.req.decide(&s, saltAbort, saltDelay, saltDelaySample)
	}
	p.ResponseAbort, p.ResponseDelay = c.resp.decide(&s, saltResponseAbort, saltResponseDelay, saltResponseDelayValue)
	return p
}

func (f *faultSet) decide(s *sampler, abortSalt, delaySalt, sampleSalt string) (*Abort, time.Duration) {
	var (
		abort *Abort
		delay time.Duration
	)
	if f.abort != nil && f.abortPct > 0 && f.abortPct.Hits(s.draw(abortSalt)) {
		abort = f.abort
	}
	if f.delay != nil && f.delayPct > 0 && f.delayPct.Hits(s.draw(delaySalt)) {
		if f.delay.kind == distFixed {
			delay = f.delay.base
		} else {
			delay = f.delay.sample(s.draw(sampleSalt))
		}
	}
	return abort, delay
}

// tokenCheck is what became of a request's header control token.
type tokenCheck uint8

const (
	tokenAbsent   tokenCheck = iota // header control off, or no token header
	tokenRejected                   // a wrong token, or the header given twice
	tokenHonoured
)

// controlled returns the request's control headers when header control is
// on and the request carries the token, once. Envoy hands a filter only the
// first value of a repeated header, so a second token header is looked for
// (reading every header) only once the first value has matched.
func (c *Config) controlled(req Request) (Control, tokenCheck) {
	if c.control == nil || c.control.token == nil {
		return Control{}, tokenAbsent
	}
	got, ok := req.Header(c.control.header)
	switch {
	case !ok:
		return Control{}, tokenAbsent
	case !c.control.token.matches(got), req.HeaderCount(c.control.header) != 1:
		return Control{}, tokenRejected
	}
	// Malformed values drop their fault; the glue may parse again to log why.
	ctl, _ := ParseControl(req.Header)
	return ctl, tokenHonoured
}

// sampler hands out the uniform values decisions are made with: from the
// random source, or from the request id when sampling by it.
type sampler struct {
	req    Request
	rnd    func() float64
	byID   bool
	looked bool // the request id was read
	id     string
}

func (s *sampler) draw(salt string) float64 {
	if s.byID {
		if !s.looked {
			s.id, _ = s.req.Header(RequestIDHeader)
			s.looked = true
		}
		if s.id != "" {
			return hashUnit(salt, s.id)
		}
	}
	return s.rnd()
}

// hashUnit maps (salt, id) to [0, 1): FNV-1a over both, then a finaliser
// that spreads FNV's weak high bits, whose top 53 bits make the fraction.
func hashUnit(salt, id string) float64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(salt); i++ {
		h = (h ^ uint64(salt[i])) * prime
	}
	h *= prime // a zero byte between salt and id
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return float64(h>>11) / (1 << 53)
}
