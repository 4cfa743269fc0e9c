package ipaddr

import "errors"

// Why an address, a port or a prefix was rejected. The messages name the
// rule; callers name the input.
var (
	errEmpty          = errors.New("ipaddr: empty address")
	errNotIP          = errors.New("ipaddr: neither an IPv4 nor an IPv6 address")
	errZoneOnly       = errors.New("ipaddr: zone without an IPv6 address")
	errEmptyZone      = errors.New("ipaddr: empty zone after %")
	errV4Field        = errors.New("ipaddr: IPv4 field is not a decimal number from 0 to 255 without leading zeros")
	errV4Fields       = errors.New("ipaddr: IPv4 address needs exactly four fields")
	errV6Group        = errors.New("ipaddr: IPv6 group is not 1 to 4 hex digits")
	errV6Colon        = errors.New("ipaddr: IPv6 groups must be separated by single colons, with at most one ::")
	errV6Length       = errors.New("ipaddr: IPv6 address needs eight groups, or fewer and one :: that stands for at least one")
	errV6EmbeddedV4   = errors.New("ipaddr: embedded IPv4 address must replace the last two groups of an IPv6 address")
	errNoPort         = errors.New("ipaddr: no :port after the address")
	errPort           = errors.New("ipaddr: port is not a decimal number from 0 to 65535")
	errBrackets       = errors.New("ipaddr: an IPv6 address with a port needs square brackets, and only IPv6 addresses may have them")
	errUnclosedSquare = errors.New("ipaddr: [ without a closing ] before the port")
	errNoSlash        = errors.New("ipaddr: prefix has no /")
	errZoneInPrefix   = errors.New("ipaddr: IPv6 zones are not allowed in a prefix")
	errPrefixLength   = errors.New("ipaddr: prefix length is not a decimal number without leading zeros from 0 to 32 for IPv4 or 128 for IPv6")
)

// An Addr is an IPv4 or IPv6 address without a zone. The zero Addr is not a
// valid address: it is what a failed parse returns, and no Prefix contains
// it. Addrs are comparable with ==; an IPv4 address never equals its
// IPv4-mapped IPv6 form (see Unmap).
type Addr struct {
	// hi and lo are the 128 bits of the IPv6 address, most significant
	// first; an IPv4 address a.b.c.d is kept as ::ffff:a.b.c.d so that a
	// Prefix compares both families the same way.
	hi, lo uint64
	family family
}

type family uint8

const (
	invalid family = iota
	ipv4
	ipv6
)

// v4InV6 is the lo word of ::ffff:0.0.0.0, the IPv4-mapped IPv6 range.
const v4InV6 = 0xffff << 32

// ParseAddr parses an IPv4 address in dotted-quad form ("192.0.2.1") or an
// IPv6 address ("2001:db8::1", "::ffff:192.0.2.1"), with the rules of
// net/netip.ParseAddr. An IPv6 zone ("fe80::1%eth0") is accepted and
// dropped.
func ParseAddr(s string) (Addr, error) {
	// Like net/netip, the first '.' or ':' says which family s claims to be.
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			v4, err := parseIPv4(s)
			if err != nil {
				return Addr{}, err
			}
			return Addr{lo: v4InV6 | uint64(v4), family: ipv4}, nil
		case ':':
			return parseIPv6(s)
		case '%':
			return Addr{}, errZoneOnly
		}
	}
	if s == "" {
		return Addr{}, errEmpty
	}
	return Addr{}, errNotIP
}

// parseIPv4 parses exactly four decimal fields from 0 to 255, separated by
// dots, each without leading zeros. It reads s once: most source addresses
// are IPv4.
func parseIPv4(s string) (uint32, error) {
	var v4, field uint32
	fields, digits := 0, 0 // fields before this one, digits in this one
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if digits == 1 && field == 0 {
				return 0, errV4Field // a leading zero
			}
			field = field*10 + uint32(c-'0')
			digits++
			if field > 255 {
				return 0, errV4Field
			}
		case c == '.' && digits > 0 && fields < 3:
			v4 = v4<<8 | field
			fields++
			field, digits = 0, 0
		case c == '.' && digits > 0:
			return 0, errV4Fields
		default:
			return 0, errV4Field
		}
	}
	if digits == 0 {
		return 0, errV4Field
	}
	if fields < 3 {
		return 0, errV4Fields
	}
	return v4<<8 | field, nil
}

// parseIPv6 parses up to eight colon-separated groups of one to four hex
// digits, with at most one "::" standing for one or more zero groups, and
// an optional IPv4 address in place of the last two groups.
func parseIPv6(s string) (Addr, error) {
	if i := indexByte(s, '%'); i >= 0 {
		if i == len(s)-1 {
			return Addr{}, errEmptyZone
		}
		s = s[:i]
	}
	var groups [8]uint16
	n := 0         // groups parsed
	ellipsis := -1 // index in groups where "::" stands
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
	}
	for s != "" {
		if n == 8 {
			return Addr{}, errV6Length
		}
		digits := 0
		var g uint16
		for ; digits < len(s); digits++ {
			h, ok := hexDigit(s[digits])
			if !ok {
				break
			}
			if digits == 4 {
				return Addr{}, errV6Group
			}
			g = g<<4 | h
		}
		if digits < len(s) && s[digits] == '.' {
			// The group was the first field of an IPv4 address, which
			// must end the string.
			if (ellipsis < 0 && n != 6) || n > 6 {
				return Addr{}, errV6EmbeddedV4
			}
			v4, err := parseIPv4(s)
			if err != nil {
				return Addr{}, err
			}
			groups[n], groups[n+1] = uint16(v4>>16), uint16(v4)
			n += 2
			s = ""
			break
		}
		if digits == 0 {
			return Addr{}, errV6Group
		}
		groups[n] = g
		n++
		s = s[digits:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return Addr{}, errV6Colon
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return Addr{}, errV6Colon
			}
			ellipsis = n
			s = s[1:]
		}
	}
	switch {
	case ellipsis < 0 && n != 8:
		return Addr{}, errV6Length
	case ellipsis >= 0 && n == 8:
		return Addr{}, errV6Length
	case ellipsis >= 0:
		// Move the groups after "::" to the end.
		shift := 8 - n
		for i := n - 1; i >= ellipsis; i-- {
			groups[i+shift] = groups[i]
			groups[i] = 0
		}
	}
	var a Addr
	for i := range 4 {
		a.hi = a.hi<<16 | uint64(groups[i])
		a.lo = a.lo<<16 | uint64(groups[i+4])
	}
	a.family = ipv6
	return a, nil
}

func hexDigit(c byte) (uint16, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint16(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint16(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return uint16(c - 'A' + 10), true
	}
	return 0, false
}

// ParseAddrPort parses an address and a port as net/netip.ParseAddrPort
// does: "192.0.2.1:80" or "[2001:db8::1]:443". An IPv6 address must be in
// square brackets and an IPv4 address must not; the port is decimal, from
// 0 to 65535 (leading zeros allowed). A zone inside the brackets is
// accepted and dropped.
func ParseAddrPort(s string) (Addr, uint16, error) {
	colon := lastIndexByte(s, ':')
	if colon < 0 {
		return Addr{}, 0, errNoPort
	}
	host, portText := s[:colon], s[colon+1:]
	if host == "" {
		return Addr{}, 0, errEmpty
	}
	port, ok := parseDecimal(portText, 0xffff)
	if !ok {
		return Addr{}, 0, errPort
	}
	bracketed := host[0] == '['
	if bracketed {
		if len(host) < 2 || host[len(host)-1] != ']' {
			return Addr{}, 0, errUnclosedSquare
		}
		host = host[1 : len(host)-1]
	}
	a, err := ParseAddr(host)
	if err != nil {
		return Addr{}, 0, err
	}
	if bracketed != (a.family == ipv6) {
		return Addr{}, 0, errBrackets
	}
	return a, uint16(port), nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// parseDecimal parses one or more decimal digits, leading zeros allowed, as
// a number no greater than max.
func parseDecimal(s string, max int) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v = v*10 + int(c-'0'); v > max {
			return 0, false
		}
	}
	return v, true
}

// parseCanonicalDecimal is parseDecimal without leading zeros, as prefix
// lengths are written.
func parseCanonicalDecimal(s string, max int) (int, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	return parseDecimal(s, max)
}

// IsValid reports whether a is an address rather than the zero Addr.
func (a Addr) IsValid() bool { return a.family != invalid }

// Is4 reports whether a is an IPv4 address. An IPv4-mapped IPv6 address
// such as ::ffff:192.0.2.1 is not; Unmap it first.
func (a Addr) Is4() bool { return a.family == ipv4 }

// Is6 reports whether a is an IPv6 address, IPv4-mapped ones included.
func (a Addr) Is6() bool { return a.family == ipv6 }

// Unmap returns the IPv4 address that an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) stands for, and any other address unchanged. Envoy
// reports a client of a dual-stack listener that connected over IPv4 in
// the mapped form; Unmap it before testing it against IPv4 prefixes.
func (a Addr) Unmap() Addr {
	if a.family == ipv6 && a.hi == 0 && a.lo>>32 == 0xffff {
		a.family = ipv4
	}
	return a
}

// As16 returns the address as 16 bytes, an IPv4 address in its
// IPv4-mapped IPv6 form, like net/netip.Addr.As16.
func (a Addr) As16() [16]byte {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(a.hi >> (56 - 8*i))
		b[i+8] = byte(a.lo >> (56 - 8*i))
	}
	return b
}

// String returns the address in the form net/netip.Addr.String uses:
// dotted quad for IPv4; for IPv6, lower-case hex with the longest run of
// two or more zero groups written as "::" (RFC 5952), and ::ffff:a.b.c.d
// for IPv4-mapped addresses. The zero Addr is "invalid IP".
func (a Addr) String() string {
	var t text
	t.addr(a)
	return string(t.buf[:t.n])
}

// text is where the String methods write; it holds the longest address
// and prefix length. Writing into a fixed array rather than appending to a
// slice keeps the code small in Wasm.
type text struct {
	buf [len("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")]byte
	n   int
}

func (t *text) put(c byte) {
	t.buf[t.n] = c
	t.n++
}

func (t *text) addr(a Addr) {
	switch {
	case a.family == ipv4:
		t.ipv4(uint32(a.lo))
		return
	case a.family == invalid:
		t.n += copy(t.buf[t.n:], "invalid IP")
		return
	case a.hi == 0 && a.lo>>32 == 0xffff:
		t.n += copy(t.buf[t.n:], "::ffff:")
		t.ipv4(uint32(a.lo))
		return
	}
	// The first longest run of at least two zero groups becomes "::".
	runStart, runEnd := 8, 8
	for i, zeros := 0, 0; i <= 8; i++ {
		if i < 8 && a.group(i) == 0 {
			zeros++
			continue
		}
		if zeros >= 2 && zeros > runEnd-runStart {
			runStart, runEnd = i-zeros, i
		}
		zeros = 0
	}
	for i := 0; i < 8; i++ {
		if i == runStart {
			t.put(':')
			t.put(':')
			i = runEnd - 1
			continue
		}
		if i > 0 && i != runEnd {
			t.put(':')
		}
		t.hex(a.group(i))
	}
}

func (t *text) ipv4(v4 uint32) {
	for shift := 24; shift >= 0; shift -= 8 {
		t.decimal(uint8(v4 >> shift))
		if shift > 0 {
			t.put('.')
		}
	}
}

func (t *text) decimal(v uint8) {
	if v >= 100 {
		t.put('0' + v/100)
	}
	if v >= 10 {
		t.put('0' + v/10%10)
	}
	t.put('0' + v%10)
}

func (t *text) hex(g uint16) {
	const digits = "0123456789abcdef"
	for shift := 12; shift >= 0; shift -= 4 {
		if g>>shift != 0 || shift == 0 {
			t.put(digits[g>>shift&0xf])
		}
	}
}

// group returns the i-th 16-bit group of the IPv6 form of a, from 0 to 7.
func (a Addr) group(i int) uint16 {
	w := a.hi
	if i >= 4 {
		w = a.lo
	}
	return uint16(w >> (48 - 16*(i%4)))
}
