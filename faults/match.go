package faults

import (
	"slices"
	"strings"

	"github.com/steadfast-proxy/steadfast/internal/ipaddr"
	"github.com/steadfast-proxy/steadfast/internal/pipeline"
	"github.com/steadfast-proxy/steadfast/internal/rx"
)

// Match selects the requests faults apply to; a request must pass every
// selector given. Absent selectors pass everything.
type Match struct {
	// Methods lists the upper-case request methods that match.
	Methods []string `json:"methods"`
	// Path matches the request path, without its query string.
	Path *PathMatch `json:"path"`
	// Headers must all match.
	Headers []HeaderMatch `json:"headers"`
	// Clusters lists the upstream cluster names that match.
	Clusters []string `json:"clusters"`
	// SourceCIDRs lists the networks of the downstream addresses that match,
	// such as "10.0.0.0/8" or "fd00::/8".
	SourceCIDRs []string `json:"source_cidrs"`
}

// DecodeJSON implements pipeline.Decoder.
func (m *Match) DecodeJSON(f *pipeline.Fields) {
	f.Strings("methods", &m.Methods)
	pipeline.ObjectPtr(f, "path", &m.Path)
	pipeline.List(f, "headers", &m.Headers)
	f.Strings("clusters", &m.Clusters)
	f.Strings("source_cidrs", &m.SourceCIDRs)
}

// PathMatch matches the request path in exactly one way.
type PathMatch struct {
	// Exact matches the whole path.
	Exact *string `json:"exact"`
	// Prefix matches the start of the path.
	Prefix *string `json:"prefix"`
	// Regex is an RE2 expression that must match somewhere in the path:
	// anchor it with ^ and $ to match the whole path.
	Regex *string `json:"regex"`
}

// DecodeJSON implements pipeline.Decoder.
func (p *PathMatch) DecodeJSON(f *pipeline.Fields) {
	f.StringPtr("exact", &p.Exact)
	f.StringPtr("prefix", &p.Prefix)
	f.StringPtr("regex", &p.Regex)
}

// HeaderMatch matches one request header in exactly one way.
type HeaderMatch struct {
	// Name of the header, any case; pseudo-headers such as ":authority"
	// are allowed.
	Name string `json:"name"`
	// Exact requires the header with exactly this value.
	Exact *string `json:"exact"`
	// Regex requires the header with a value this RE2 expression matches
	// somewhere.
	Regex *string `json:"regex"`
	// Present requires the header (true) or its absence (false).
	Present *bool `json:"present"`
}

// DecodeJSON implements pipeline.Decoder.
func (h *HeaderMatch) DecodeJSON(f *pipeline.Fields) {
	f.String("name", &h.Name)
	f.StringPtr("exact", &h.Exact)
	f.StringPtr("regex", &h.Regex)
	f.BoolPtr("present", &h.Present)
}

type ruleKind uint8

const (
	ruleNone ruleKind = iota
	ruleExact
	rulePrefix
	ruleRegex
	rulePresent
	ruleAbsent
)

// rule is a prepared test of one string: a path or a header value.
type rule struct {
	kind  ruleKind
	value string
	re    *rx.Regexp
}

// test reports whether v, which is present when ok, passes the rule.
func (r *rule) test(v string, ok bool) bool {
	switch r.kind {
	case ruleExact:
		return ok && v == r.value
	case rulePrefix:
		return ok && strings.HasPrefix(v, r.value)
	case ruleRegex:
		return ok && r.re.MatchString(v)
	case rulePresent:
		return ok
	case ruleAbsent:
		return !ok
	}
	return true
}

type headerRule struct {
	name string
	rule
}

// matcher is a prepared Match.
type matcher struct {
	methods  []string
	path     rule
	headers  []headerRule
	clusters []string
	cidrs    []ipaddr.Prefix
}

func (m *Match) prepare(path string) (matcher, error) {
	var out matcher
	if m == nil {
		return out, nil
	}
	for i, method := range m.Methods {
		if !pipeline.IsToken(method) || strings.ToUpper(method) != method {
			return out, pipeline.Errorf(pipeline.Index(pipeline.Join(path, "methods"), i), "%q is not an upper-case method such as GET", method)
		}
	}
	out.methods = m.Methods
	if p := m.Path; p != nil {
		at := pipeline.Join(path, "path")
		if count(p.Exact != nil, p.Prefix != nil, p.Regex != nil) != 1 {
			return out, pipeline.Errorf(at, "give exactly one of exact, prefix or regex")
		}
		var err error
		switch {
		case p.Exact != nil:
			out.path, err = nonEmpty(pipeline.Join(at, "exact"), ruleExact, *p.Exact)
		case p.Prefix != nil:
			out.path, err = nonEmpty(pipeline.Join(at, "prefix"), rulePrefix, *p.Prefix)
		default:
			out.path, err = compile(pipeline.Join(at, "regex"), *p.Regex)
		}
		if err != nil {
			return out, err
		}
	}
	for i, h := range m.Headers {
		at := pipeline.Index(pipeline.Join(path, "headers"), i)
		name, err := matchHeaderName(pipeline.Join(at, "name"), h.Name)
		if err != nil {
			return out, err
		}
		if count(h.Exact != nil, h.Regex != nil, h.Present != nil) != 1 {
			return out, pipeline.Errorf(at, "give exactly one of exact, regex or present")
		}
		r := headerRule{name: name}
		switch {
		case h.Exact != nil:
			r.rule = rule{kind: ruleExact, value: *h.Exact}
		case h.Regex != nil:
			if r.rule, err = compile(pipeline.Join(at, "regex"), *h.Regex); err != nil {
				return out, err
			}
		case *h.Present:
			r.rule = rule{kind: rulePresent}
		default:
			r.rule = rule{kind: ruleAbsent}
		}
		out.headers = append(out.headers, r)
	}
	for i, cluster := range m.Clusters {
		if cluster == "" {
			return out, pipeline.Errorf(pipeline.Index(pipeline.Join(path, "clusters"), i), "must not be empty")
		}
	}
	out.clusters = m.Clusters
	for i, cidr := range m.SourceCIDRs {
		p, err := ipaddr.ParsePrefix(cidr) // masked
		if err != nil {
			return out, pipeline.Errorf(pipeline.Index(pipeline.Join(path, "source_cidrs"), i), "%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", cidr)
		}
		out.cidrs = append(out.cidrs, p)
	}
	return out, nil
}

// matches runs the cheap selectors first and stops at the first miss, so a
// request that fails the method test costs one host call.
func (m *matcher) matches(req Request) bool {
	if len(m.methods) > 0 {
		method, ok := req.Header(":method")
		if !ok || !slices.Contains(m.methods, method) {
			return false
		}
	}
	if m.path.kind != ruleNone {
		p, ok := req.Header(":path")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if !m.path.test(p, ok) {
			return false
		}
	}
	for i := range m.headers {
		h := &m.headers[i]
		if v, ok := req.Header(h.name); !h.test(v, ok) {
			return false
		}
	}
	if len(m.clusters) > 0 && !slices.Contains(m.clusters, req.Cluster()) {
		return false
	}
	if len(m.cidrs) > 0 {
		ip, ok := req.SourceIP()
		if !ok {
			return false
		}
		ip = ip.Unmap() // ipaddr drops zones
		return slices.ContainsFunc(m.cidrs, func(p ipaddr.Prefix) bool { return p.Contains(ip) })
	}
	return true
}

// matchHeaderName checks the name of a header to match and lower-cases it;
// unlike headers the filter sets, pseudo-headers are allowed.
func matchHeaderName(path, name string) (string, error) {
	if name == "" {
		return "", pipeline.Errorf(path, "is required")
	}
	lower := strings.ToLower(name)
	if !pipeline.IsToken(strings.TrimPrefix(lower, ":")) {
		return "", pipeline.Errorf(path, "%q is not a valid header name", name)
	}
	return lower, nil
}

func nonEmpty(path string, kind ruleKind, value string) (rule, error) {
	if value == "" {
		return rule{}, pipeline.Errorf(path, "must not be empty")
	}
	return rule{kind: kind, value: value}, nil
}

func compile(path, expr string) (rule, error) {
	re, err := rx.Compile(expr)
	if err != nil {
		return rule{}, pipeline.Errorf(path, "invalid regular expression: %v", err)
	}
	return rule{kind: ruleRegex, re: re}, nil
}

func count(set ...bool) int {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	return n
}
