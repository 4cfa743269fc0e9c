package pipeline

// Cached returns the entry of key in *m, built by build on first use and
// kept. The map is bounded: once it holds limit entries it starts afresh,
// and entries are built again on their next use, so keys taken from
// requests (routes, tenants) cannot grow a VM's memory without bound.
func Cached[K comparable, V any](m *map[K]V, key K, limit int, build func() V) V {
	if v, ok := (*m)[key]; ok {
		return v
	}
	if *m == nil || len(*m) >= limit {
		*m = make(map[K]V)
	}
	v := build()
	(*m)[key] = v
	return v
}
