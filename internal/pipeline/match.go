package pipeline

import "strings"

// Match selects requests by what they carry, for rules that cannot go by
// the route name: in an Istio sidecar's inbound listener every route is
// named "default". Every list given must hold (one of its values matches);
// an empty Match matches every request.
type Match struct {
	// Hosts are globs (* and ?) on the :authority, compared without case,
	// with and without its port: "api.example.com", "*.svc.cluster.local",
	// "reviews:9080".
	Hosts []string `json:"hosts"`
	// Paths are prefixes of the path, query string excluded.
	Paths []string `json:"paths"`
	// Methods are request methods, such as "POST".
	Methods []string `json:"methods"`
	// Clusters are Envoy upstream cluster names (globs).
	Clusters []string `json:"clusters"`
}

// DecodeJSON implements Decoder.
func (m *Match) DecodeJSON(f *Fields) {
	f.Strings("hosts", &m.Hosts)
	f.Strings("paths", &m.Paths)
	f.Strings("methods", &m.Methods)
	f.Strings("clusters", &m.Clusters)
}

// Validate checks the lists and lower-cases the hosts; errors name path.
func (m *Match) Validate(path string) error {
	if m == nil {
		return nil
	}
	for i, h := range m.Hosts {
		if h == "" {
			return Errorf(Index(Join(path, "hosts"), i), "must not be empty")
		}
		m.Hosts[i] = strings.ToLower(h)
	}
	for i, p := range m.Paths {
		if !strings.HasPrefix(p, "/") {
			return Errorf(Index(Join(path, "paths"), i), "%q must start with /", p)
		}
	}
	for i, v := range m.Methods {
		if !IsToken(v) {
			return Errorf(Index(Join(path, "methods"), i), "%q is not a method", v)
		}
	}
	for i, c := range m.Clusters {
		if c == "" {
			return Errorf(Index(Join(path, "clusters"), i), "must not be empty")
		}
	}
	return nil
}

// Matches reports whether the stream's request is selected, reading only
// what the lists given need.
func (m *Match) Matches(s Request) bool {
	if m == nil {
		return true
	}
	if len(m.Methods) > 0 && !contains(m.Methods, s.Method()) {
		return false
	}
	if len(m.Paths) > 0 && !hasAnyPrefix(stripQuery(s.Path()), m.Paths) {
		return false
	}
	if len(m.Hosts) > 0 && !matchesHost(m.Hosts, s.Authority()) {
		return false
	}
	if len(m.Clusters) > 0 && !anyGlob(m.Clusters, s.Cluster()) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func stripQuery(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

func anyGlob(patterns []string, name string) bool {
	for _, p := range patterns {
		if Glob(p, name) {
			return true
		}
	}
	return false
}

// matchesHost matches an authority, with and without its port.
func matchesHost(patterns []string, authority string) bool {
	host := strings.ToLower(authority)
	bare := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		bare = host[:i]
	}
	for _, p := range patterns {
		if Glob(p, host) || bare != host && Glob(p, bare) {
			return true
		}
	}
	return false
}
