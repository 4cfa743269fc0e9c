package pipeline

import (
	"strconv"
	"strings"
)

// Validator is implemented by a filter's configuration type; Validate checks
// the decoded values and returns FieldErrors with paths relative to the
// configuration's root.
type Validator interface {
	Validate() error
}

// maxRouteCache bounds the per-VM cache of route-name resolutions. Route
// names come from the Envoy configuration, so the bound is only a safety net.
const maxRouteCache = 4096

// Routes is a filter configuration resolved per request: a top-level
// default plus a list of route entries tried in order, first match wins.
// An entry matches by name (a glob on the Envoy route name), by match
// (hosts, paths, methods, clusters: see Match), or both. A request that
// resolves to nil has the filter disabled.
type Routes[C any] struct {
	// Default applies to requests that match no entry.
	Default *C
	entries []routeEntry[C]
	// byName: no entry has a match, so a resolution depends on the route
	// name alone and is cached per name.
	byName bool
	cache  map[string]*C
}

type routeEntry[C any] struct {
	name  string // glob on the route name; "": any route
	match *Match // nil: any request
	label string // how logs name the entry: its name, or #<index>
	at    string // the entry's JSON path, for errors
	cfg   *C     // nil: the filter is disabled on matching requests
}

// Request is what route entries read of a request; a *Stream is one.
type Request interface {
	Route() string
	Method() string
	Path() string
	Authority() string
	Cluster() string
}

// Named is a Request known by its route name only.
type Named string

func (n Named) Route() string   { return string(n) }
func (Named) Method() string    { return "" }
func (Named) Path() string      { return "" }
func (Named) Authority() string { return "" }
func (Named) Cluster() string   { return "" }

// Names lists how the entries are known, in order: their name, or their
// index when they match by match alone.
func (r *Routes[C]) Names() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.label
	}
	return out
}

// NeedsRoute reports whether resolving reads the route name.
func (r *Routes[C]) NeedsRoute() bool {
	for _, e := range r.entries {
		if e.name != "" {
			return true
		}
	}
	return false
}

// Resolve returns the configuration for a request, or nil when the filter
// is disabled for it. Entries that go by name alone are resolved once per
// route name and VM.
func (r *Routes[C]) Resolve(req Request) *C {
	if len(r.entries) == 0 {
		return r.Default
	}
	if !r.byName {
		for _, e := range r.entries {
			if (e.name == "" || Glob(e.name, req.Route())) && e.match.Matches(req) {
				return e.cfg
			}
		}
		return r.Default
	}
	routeName := req.Route()
	if c, ok := r.cache[routeName]; ok {
		return c
	}
	c := r.Default
	for _, e := range r.entries {
		if Glob(e.name, routeName) {
			c = e.cfg
			break
		}
	}
	if r.cache == nil || len(r.cache) >= maxRouteCache {
		r.cache = make(map[string]*C)
	}
	r.cache[routeName] = c
	return c
}

// ParseRoutes decodes a filter configuration with an optional "routes" list.
// Each entry has a "name" (exact, or a glob with * and ?) and either
// "disabled": true or fields that override the top-level ones: objects merge
// field by field, lists and scalars replace. Every entry is validated as the
// whole configuration it produces.
func ParseRoutes[C any, PC interface {
	*C
	Validator
	Decoder
}](data []byte) (*Routes[C], error) {
	v, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	return RoutesOf[C, PC](v)
}

// RoutesOf is ParseRoutes for a parsed configuration.
func RoutesOf[C any, PC interface {
	*C
	Validator
	Decoder
}](v Value) (*Routes[C], error) {
	top, entries, byName, err := parseRoutes(v, func() config { return PC(new(C)) })
	if err != nil {
		return nil, err
	}
	out := &Routes[C]{Default: (*C)(top.(PC)), byName: byName}
	for _, e := range entries {
		re := routeEntry[C]{name: e.name, match: e.match, label: e.label, at: e.at}
		if e.cfg != nil {
			re.cfg = (*C)(e.cfg.(PC))
		}
		out.entries = append(out.entries, re)
	}
	return out, nil
}

// config is a filter's configuration as the route parser sees it. The
// parser is not generic: one copy of its code serves every filter.
type config interface {
	Decoder
	Validator
}

// parsedEntry is a route entry before it is typed.
type parsedEntry struct {
	name, label, at string
	match           *Match
	cfg             config // nil: disabled
}

func parseRoutes(v Value, fresh func() config) (top config, entries []parsedEntry, byName bool, err error) {
	if v.Kind() != Object {
		return nil, nil, false, &FieldError{Msg: "configuration must be a JSON object"}
	}
	rawRoutes, hasRoutes := v.Get("routes")
	base := v.Without("routes")
	top = fresh()
	if err := DecodeValue(base, "", top); err != nil {
		return nil, nil, false, err
	}
	if err := top.Validate(); err != nil {
		return nil, nil, false, err
	}
	if !hasRoutes || rawRoutes.IsNull() {
		return top, nil, false, nil
	}
	items, err := rawRoutes.List()
	if err != nil {
		return nil, nil, false, Errorf("routes", "must be a list of route entries")
	}
	seen := make(map[string]bool, len(items))
	byName = true
	for i, item := range items {
		e, err := parseRouteEntry(base, item, i, fresh)
		if err != nil {
			return nil, nil, false, err
		}
		if e.match == nil {
			if seen[e.name] {
				return nil, nil, false, Errorf(Key("routes", e.name), "duplicate route name")
			}
			seen[e.name] = true
		}
		byName = byName && e.match == nil
		entries = append(entries, e)
	}
	return top, entries, byName, nil
}

func parseRouteEntry(base, obj Value, i int, fresh func() config) (parsedEntry, error) {
	if obj.Kind() != Object {
		return parsedEntry{}, Errorf(Index("routes", i), "must be an object with a name or a match")
	}
	e := parsedEntry{label: "#" + strconv.Itoa(i)}
	path := Index("routes", i)
	if raw, ok := obj.Get("name"); ok {
		name, err := raw.Str()
		if err != nil || strings.TrimSpace(name) == "" {
			return parsedEntry{}, Errorf(Join(path, "name"), "must be the Envoy route name, exact or a glob such as \"api-*\"")
		}
		e.name, e.label = name, name
		path = Key("routes", e.name)
		obj = obj.Without("name")
	}
	e.at = path
	if raw, ok := obj.Get("match"); ok {
		e.match = new(Match)
		if err := DecodeValue(raw, Join(path, "match"), e.match); err != nil {
			return parsedEntry{}, err
		}
		if err := e.match.Validate(Join(path, "match")); err != nil {
			return parsedEntry{}, err
		}
		obj = obj.Without("match")
	}
	if e.name == "" && e.match == nil {
		return parsedEntry{}, Errorf(path, "give a name (the Envoy route name, exact or a glob such as \"api-*\") or a match (hosts, paths, methods, clusters)")
	}
	disabled := false
	if raw, ok := obj.Get("disabled"); ok {
		var err error
		if disabled, err = raw.Boolean(); err != nil {
			return parsedEntry{}, Errorf(Join(path, "disabled"), "must be true or false")
		}
		obj = obj.Without("disabled")
	}
	if disabled {
		if obj.Len() > 0 {
			return parsedEntry{}, Errorf(path, "a disabled route takes no other fields")
		}
		return e, nil
	}
	e.cfg = fresh()
	_ = DecodeValue(base, "", e.cfg) // base already decoded cleanly as the top level
	if obj.Len() > 0 {
		if err := DecodeValue(obj, path, e.cfg); err != nil {
			return parsedEntry{}, err
		}
	}
	if err := e.cfg.Validate(); err != nil {
		return parsedEntry{}, prefixError(path, err)
	}
	return e, nil
}

// SecretResolver is a configuration that reads secrets from the
// environment once it is parsed.
type SecretResolver interface {
	ResolveSecrets(lookup func(name string) (string, bool)) error
}

// LoadRoutes parses a filter's configuration (ParseRoutes), then resolves
// the secrets of the top level and of every enabled route entry from the
// plugin's environment. Errors name the JSON path, never a secret.
func LoadRoutes[C any, PC interface {
	*C
	Validator
	Decoder
	SecretResolver
}](env *Env, data []byte) (*Routes[C], error) {
	routes, err := ParseRoutes[C, PC](data)
	if err != nil {
		return nil, err
	}
	if err := routes.Each(func(c *C) error { return PC(c).ResolveSecrets(env.LookupEnv) }); err != nil {
		return nil, err
	}
	return routes, nil
}

// Glob reports whether name matches pattern, where * matches any run of
// characters (also none) and ? matches exactly one.
func Glob(pattern, name string) bool {
	px, nx := 0, 0
	starP, starN := -1, 0
	for nx < len(name) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starP, starN = px, nx
			px++
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == name[nx]):
			px++
			nx++
		case starP >= 0:
			starN++
			px, nx = starP+1, starN
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// Each calls fn with the configuration of the top level and
// of every enabled route entry, in order, for checks and preparation that
// need more than the JSON (secrets from the environment, say). The first
// error stops it, its path prefixed by the entry's.
func (r *Routes[C]) Each(fn func(c *C) error) error {
	if err := fn(r.Default); err != nil {
		return err
	}
	for _, e := range r.entries {
		if e.cfg == nil {
			continue
		}
		if err := fn(e.cfg); err != nil {
			return prefixError(e.at, err)
		}
	}
	return nil
}
