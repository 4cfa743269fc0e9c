package ipaddr

// A Prefix is an IP network in CIDR form: an address whose bits after the
// prefix length are zero, and that length. The zero Prefix contains no
// address.
type Prefix struct {
	addr Addr
	bits uint8 // 0-32 for IPv4, 0-128 for IPv6
}

// ParsePrefix parses a CIDR such as "10.0.0.0/8" or "fd00::/8" with the
// rules of net/netip.ParsePrefix, and returns it masked: "10.1.2.3/8" is
// 10.0.0.0/8. The length is decimal without a sign or leading zeros, at
// most 32 for IPv4 and 128 for IPv6. IPv6 zones are rejected.
func ParsePrefix(s string) (Prefix, error) {
	slash := lastIndexByte(s, '/')
	if slash < 0 {
		return Prefix{}, errNoSlash
	}
	addrText, bitsText := s[:slash], s[slash+1:]
	a, err := ParseAddr(addrText)
	if err != nil {
		return Prefix{}, err
	}
	if a.family == ipv6 && indexByte(addrText, '%') >= 0 {
		return Prefix{}, errZoneInPrefix
	}
	maxBits := 32
	if a.family == ipv6 {
		maxBits = 128
	}
	bits, ok := parseCanonicalDecimal(bitsText, maxBits)
	if !ok {
		return Prefix{}, errPrefixLength
	}
	p := Prefix{addr: a, bits: uint8(bits)}
	hiMask, loMask := p.masks()
	p.addr.hi &= hiMask
	p.addr.lo &= loMask
	return p, nil
}

// masks returns the bits of the 128-bit form of an address that p fixes.
// An IPv4 prefix fixes the 96 bits of ::ffff: as well as its own.
func (p Prefix) masks() (hi, lo uint64) {
	n := uint(p.bits)
	if p.addr.family == ipv4 {
		n += 96
	}
	hiBits := min(n, 64)
	// A shift by 64 or more yields 0 in Go, so /0 and /64 need no case.
	return ^uint64(0) << (64 - hiBits), ^uint64(0) << (64 - (n - hiBits))
}

// Contains reports whether a is in p. As with net/netip, an IPv4 prefix
// contains only IPv4 addresses and an IPv6 prefix only IPv6 ones: an
// IPv4-mapped IPv6 address is in no IPv4 prefix until it is Unmapped.
func (p Prefix) Contains(a Addr) bool {
	if a.family != p.addr.family || a.family == invalid {
		return false
	}
	hiMask, loMask := p.masks()
	return (a.hi^p.addr.hi)&hiMask|(a.lo^p.addr.lo)&loMask == 0
}

// Addr returns p's address, with the bits after the prefix length zero.
func (p Prefix) Addr() Addr { return p.addr }

// Bits returns p's prefix length, or -1 for the zero Prefix.
func (p Prefix) Bits() int {
	if p.addr.family == invalid {
		return -1
	}
	return int(p.bits)
}

// IsValid reports whether p is a prefix rather than the zero Prefix.
func (p Prefix) IsValid() bool { return p.addr.family != invalid }

// String returns p in CIDR form, such as "10.0.0.0/8" or "fd00::/8", or
// "invalid Prefix" for the zero Prefix, as net/netip.Prefix.String does.
func (p Prefix) String() string {
	if p.addr.family == invalid {
		return "invalid Prefix"
	}
	var t text
	t.addr(p.addr)
	t.put('/')
	t.decimal(p.bits)
	return string(t.buf[:t.n])
}
