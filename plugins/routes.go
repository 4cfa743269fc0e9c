package plugins

import (
	"encoding/json"
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

// Routes is a filter configuration resolved per Envoy route: a top-level
// default plus a list of route entries matched by name (exact or glob) in
// order, first match wins. A route that resolves to nil has the filter
// disabled.
type Routes[C any] struct {
	// Default applies to requests whose route matches no entry.
	Default *C
	entries []routeEntry[C]
	cache   map[string]*C
}

type routeEntry[C any] struct {
	name string
	cfg  *C // nil: the filter is disabled on matching routes
}

// Names lists the route entries' name patterns in order.
func (r *Routes[C]) Names() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.name
	}
	return out
}

// Resolve returns the configuration for an Envoy route name, or nil when
// the filter is disabled on that route. Results are cached per VM.
func (r *Routes[C]) Resolve(routeName string) *C {
	if len(r.entries) == 0 {
		return r.Default
	}
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
}](data []byte) (*Routes[C], error) {
	data, err := checkJSON(data)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, &FieldError{Msg: "configuration must be a JSON object"}
	}
	rawRoutes, hasRoutes := obj["routes"]
	delete(obj, "routes")
	base, _ := json.Marshal(obj)
	top := new(C)
	if err := Decode(base, top); err != nil {
		return nil, err
	}
	if err := PC(top).Validate(); err != nil {
		return nil, err
	}
	out := &Routes[C]{Default: top}
	if !hasRoutes || string(rawRoutes) == "null" {
		return out, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawRoutes, &items); err != nil {
		return nil, Errorf("routes", "must be a list of route entries")
	}
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		e, err := parseRouteEntry[C, PC](base, item, i)
		if err != nil {
			return nil, err
		}
		if seen[e.name] {
			return nil, Errorf(Key("routes", e.name), "duplicate route name")
		}
		seen[e.name] = true
		out.entries = append(out.entries, e)
	}
	return out, nil
}

func parseRouteEntry[C any, PC interface {
	*C
	Validator
}](base, item []byte, i int) (routeEntry[C], error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(item, &obj); err != nil || obj == nil {
		return routeEntry[C]{}, Errorf(Index("routes", i), "must be an object with a name")
	}
	var name string
	if err := json.Unmarshal(obj["name"], &name); err != nil || strings.TrimSpace(name) == "" {
		return routeEntry[C]{}, Errorf(Join(Index("routes", i), "name"), "is required: the Envoy route name, exact or a glob such as \"api-*\"")
	}
	path := Key("routes", name)
	delete(obj, "name")
	disabled := false
	if raw, ok := obj["disabled"]; ok {
		if err := json.Unmarshal(raw, &disabled); err != nil {
			return routeEntry[C]{}, Errorf(Join(path, "disabled"), "must be true or false")
		}
		delete(obj, "disabled")
	}
	if disabled {
		if len(obj) > 0 {
			return routeEntry[C]{}, Errorf(path, "a disabled route takes no other fields")
		}
		return routeEntry[C]{name: name}, nil
	}
	cfg := new(C)
	_ = Decode(base, cfg) // base already decoded cleanly as the top level
	if len(obj) > 0 {
		override, _ := json.Marshal(obj)
		if err := Decode(override, cfg); err != nil {
			return routeEntry[C]{}, prefixError(path, err)
		}
	}
	if err := PC(cfg).Validate(); err != nil {
		return routeEntry[C]{}, prefixError(path, err)
	}
	return routeEntry[C]{name: name, cfg: cfg}, nil
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
			return prefixError(Key("routes", e.name), err)
		}
	}
	return nil
}
