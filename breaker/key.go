package breaker

// MaxKeyBytes bounds a key taken from a request header: a longer value
// shares OverflowKey rather than grow every shared-data key name.
const MaxKeyBytes = 128

// NoHeaderKey is the key of requests without the key header.
const NoHeaderKey = "~none"

// KeyOf is the circuit key of a request: its upstream cluster, its route,
// or the value of the key header (header is that value, present whether
// the request carries it), by the configured key. The stage still caps
// the distinct keys at KeyLimit, sending the rest to OverflowKey.
func (c *Config) KeyOf(cluster, route, header string, present bool) string {
	switch c.p.key {
	case KeyRoute:
		return route
	case KeyHeaderPrefix:
		switch {
		case !present:
			return NoHeaderKey
		case len(header) > MaxKeyBytes:
			return OverflowKey
		}
		return header
	}
	return cluster
}
