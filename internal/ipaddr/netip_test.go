package ipaddr

// Differential tests: every input must be accepted or rejected as net/netip
// does, and parse to the same address, port or masked prefix. The one
// difference, by design, is that an Addr has no zone: an accepted zone is
// compared as netip's address without it.

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// handInputs are the forms of each syntax and the ways to get them wrong.
var handInputs = []string{
	"", " ", "0", "1", "localhost", "%", "%eth0", ":", "::", ":::", ".", "/", "[", "]", "[]",
	"0.0.0.0", "1.2.3.4", "10.1.2.3", "255.255.255.255", "256.0.0.0", "1.2.3.256",
	"01.2.3.4", "1.02.3.4", "1.2.3.00", "1.2.3.0", "00.0.0.0", "1.2.3", "1.2.3.4.5",
	"1..3.4", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\x00", "1.2.3.4%eth0",
	"1.2.3.1000", "1.2.3.-1", "+1.2.3.4", "1.2.3.4:", "0x1.2.3.4", "1.2.3.4e0",
	"::1", "1::", "::ffff:1.2.3.4", "::FFFF:1.2.3.4", "::ffff:01.2.3.4", "::ffff:1.2.3",
	"64:ff9b::1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
	"1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1.2.3.4::", "1:2:3:4:5:1.2.3.4",
	"1::3:4:5:6:7:8:1.2.3.4", "::2:3:4:5:6:7:1.2.3.4", "::3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6:7:8:1.2.3.4",
	"::1.2.3.4%eth0", "::ffff:1a.2.3.4", "::ffff:ffff1.2.3.4", "::ffff:1.2.3.4.5",
	"2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:ff00:0042:8329",
	"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "1:0:0:2:0:0:0:3", "0:0:1:0:0:1:0:0",
	"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
	"::1:2:3:4:5:6:7", "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
	"1::2::3", "1:::2", ":1::2", "1::2:", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7",
	"12345::", "0ffff::", "ffff::", "FFFF::", "fFfF::", "g::", "::g", "1:2:3:4:5:6:7:g",
	"fe80::1%eth0", "fe80::1%", "fe80::1%%", "fe80::1%a%b", "fe80::%25", "::%0", "::1%]",
	"::ffff:1.2.3.4%eth0", "1.2.3.4%", "%1.2.3.4",
	"10.1.2.3:54321", "1.2.3.4:0", "1.2.3.4:65535", "1.2.3.4:65536", "1.2.3.4:0080",
	"1.2.3.4:00000000000000000000080", "1.2.3.4:", "1.2.3.4:+80", "1.2.3.4:-1",
	"1.2.3.4:8_0", "1.2.3.4:0x50", "1.2.3.4:80 ", "1.2.3.4: 80", "1.2.3.4:99999999999999999999",
	"[1.2.3.4]:80", "[2001:db8::1]:443", "[::1]:80", "[::ffff:1.2.3.4]:80", "[fe80::1%eth0]:80",
	"[fe80::1%]:80", "[fe80::1%eth0]0]:80", "[::1:80", "::1]:80", "[::1]", "[::1]:", "[]:80",
	"[:80", "]:80", "::1:80", "2001:db8::1:80", "[[::1]]:80", "[::1]]:80", ":80", "1.2.3.4::80",
	"10.0.0.0/8", "10.1.2.3/8", "10.1.2.3/32", "10.1.2.3/33", "10.1.2.3/0", "10.1.2.3/00",
	"10.1.2.3/08", "10.1.2.3/+8", "10.1.2.3/-8", "10.1.2.3/-0", "10.1.2.3/", "10.1.2.3/8/8",
	"10.1.2.3/ 8", "10.1.2.3/8 ", "10.1.2.3/99999999999999999999", "/8", "10.0.0/8",
	"fd00::/8", "fd00::/128", "fd00::/129", "::/0", "::/00", "::/1", "::ffff:10.0.0.0/104",
	"::ffff:10.1.2.3/95", "fe80::%eth0/64", "fe80::%/64", "2001:db8:ffff:ffff:ffff::/65",
	"2001:db8:ffff:ffff:ffff::/63", "1.2.3.4%eth0/8", "[::1]/8", "::1/64%eth0",
}

// generatedInputs strings together fragments of addresses, ports and
// prefixes at random, from a fixed seed, to reach the corners a list
// written by hand misses.
func generatedInputs(n int) []string {
	fragments := []string{
		"0", "1", "9", "00", "01", "10", "25", "255", "256", "999", "1000", "a", "F", "fF",
		"ffff", "FFFF", "0000", "00000", "12345", "g", ".", ".", ".", ":", ":", ":", "::",
		"%", "%eth0", "[", "]", "/", "/0", "/8", "/32", "/33", "/64", "/128", "/129", "/08",
		"1.2.3.4", "::ffff:", "2001:db8", ":80", ":65535", ":65536", " ", "-", "+",
	}
	r := rand.New(rand.NewPCG(1, 2))
	inputs := make([]string, n)
	for i := range inputs {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(fragments[r.IntN(len(fragments))])
		}
		inputs[i] = b.String()
	}
	return inputs
}

// mutatedInputs writes random valid addresses, in all the forms the syntax
// allows, as themselves, with a port and with a prefix length, and then
// damages half of them with an edit or two.
func mutatedInputs(n int) []string {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := make([]string, n)
	for i := range inputs {
		s := randomAddrText(r)
		bracketed := strings.Contains(s, ":") != (r.IntN(20) == 0)
		switch r.IntN(3) {
		case 1:
			if bracketed {
				s = "[" + s + "]"
			}
			s += ":" + strconv.Itoa(r.IntN(70000))
		case 2:
			s += "/" + strconv.Itoa(r.IntN(130))
		}
		if r.IntN(2) == 0 {
			s = mutate(r, s)
		}
		inputs[i] = s
	}
	return inputs
}

func randomAddrText(r *rand.Rand) string {
	v4 := func() string {
		var fields [4]string
		for i := range fields {
			fields[i] = strconv.Itoa([]int{0, 1, 10, 127, 255, r.IntN(256)}[r.IntN(6)])
		}
		return strings.Join(fields[:], ".")
	}
	if r.IntN(3) == 0 {
		return v4()
	}
	groups := make([]string, 8)
	for i := range groups {
		if r.IntN(2) == 0 {
			groups[i] = strings.Repeat("0", 1+r.IntN(4))
			continue
		}
		g := strconv.FormatUint(uint64(r.IntN(0x10000)), 16)
		g = strings.Repeat("0", r.IntN(5-len(g))) + g
		if r.IntN(3) == 0 {
			g = strings.ToUpper(g)
		}
		groups[i] = g
	}
	if r.IntN(4) == 0 {
		groups = append(groups[:6], v4())
	}
	s := strings.Join(groups, ":")
	if r.IntN(3) > 0 {
		// "::" in place of one or more groups, which need not be zeros.
		start := r.IntN(len(groups))
		end := start + 1 + r.IntN(len(groups)-start)
		s = strings.Join(groups[:start], ":") + "::" + strings.Join(groups[end:], ":")
	}
	if r.IntN(10) == 0 {
		s += "%eth0"
	}
	return s
}

func mutate(r *rand.Rand, s string) string {
	const alphabet = "0123456789aAfFgG.:%[]/+- "
	for range 1 + r.IntN(2) {
		i := r.IntN(len(s) + 1)
		switch r.IntN(3) {
		case 0:
			s = s[:i] + alphabet[r.IntN(len(alphabet)):][:1] + s[i:]
		case 1:
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		case 2:
			if i < len(s) {
				s = s[:i] + alphabet[r.IntN(len(alphabet)):][:1] + s[i+1:]
			}
		}
	}
	return s
}

func allInputs() []string {
	return append(append(append([]string{}, handInputs...), generatedInputs(30000)...), mutatedInputs(30000)...)
}

func TestParseMatchesNetip(t *testing.T) {
	inputs := allInputs()
	for _, tt := range []struct {
		name  string
		check func(*testing.T, string) bool
	}{
		{name: "ParseAddr", check: checkParseAddr},
		{name: "ParseAddrPort", check: checkParseAddrPort},
		{name: "ParsePrefix", check: checkParsePrefix},
	} {
		t.Run(tt.name, func(t *testing.T) {
			accepted := 0
			for _, s := range inputs {
				if tt.check(t, s) {
					accepted++
				}
			}
			t.Logf("%d of %d inputs accepted", accepted, len(inputs))
		})
	}
}

// TestContainsMatchesNetip tests every prefix the inputs hold against the
// addresses just inside and outside it, and against a sample of the
// addresses the inputs hold.
func TestContainsMatchesNetip(t *testing.T) {
	type pair struct {
		got  Addr
		want netip.Addr
	}
	parse := func(s string) pair {
		got, err := ParseAddr(s)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", s, err)
		}
		return pair{got, netip.MustParseAddr(s)}
	}
	var sample []pair
	inputs := allInputs()
	for i, s := range inputs {
		if _, err := netip.ParseAddr(s); err == nil && i%64 == 0 {
			sample = append(sample, parse(s))
		}
	}
	tested := 0
	for _, s := range inputs {
		want, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		got, err := ParsePrefix(s)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", s, err)
		}
		first, last := want.Masked().Addr(), lastAddr(want)
		addrs := append([]pair{parse(first.String()), parse(last.String())}, sample...)
		if first.Prev().IsValid() {
			addrs = append(addrs, parse(first.Prev().String()))
		}
		if last.Next().IsValid() {
			addrs = append(addrs, parse(last.Next().String()))
		}
		for _, a := range addrs {
			compareContains(t, got, want, a.got, a.want)
		}
		tested += len(addrs)
	}
	t.Logf("%d prefix and address pairs", tested)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	skip := 0
	if p.Addr().Is4() {
		skip = 96
	}
	for i := skip + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range handInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseAddr(t, s) })
}

func FuzzParseAddrPort(f *testing.F) {
	for _, s := range handInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseAddrPort(t, s) })
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range handInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParsePrefix(t, s) })
}

func FuzzContains(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3:54321")
	f.Add("10.0.0.0/8", "[::ffff:10.1.2.3]:80")
	f.Add("10.0.0.0/8", "11.0.0.0")
	f.Add("fd00::/8", "[fd12::1%eth0]:443")
	f.Add("fd00::/8", "fe00::")
	f.Add("::ffff:0:0/96", "::ffff:1.2.3.4")
	f.Add("2001:db8::/33", "2001:db8:8000::")
	f.Add("0.0.0.0/0", "::")
	f.Fuzz(checkContains)
}

// checkParseAddr reports whether s is an address, failing t unless ParseAddr
// agrees with netip.ParseAddr on that and on the address.
func checkParseAddr(t *testing.T, s string) bool {
	t.Helper()
	got, err := ParseAddr(s)
	want, wantErr := netip.ParseAddr(s)
	if (err == nil) != (wantErr == nil) {
		t.Errorf("ParseAddr(%q) = %v, %v; netip: %v, %v", s, got, err, want, wantErr)
		return false
	}
	if err == nil {
		checkAddr(t, "ParseAddr("+s+")", got, want)
		checkAddr(t, "ParseAddr("+s+").Unmap()", got.Unmap(), want.Unmap())
	} else if got != (Addr{}) {
		t.Errorf("ParseAddr(%q) = %v with error %v, want the zero Addr", s, got, err)
	}
	return err == nil
}

func checkParseAddrPort(t *testing.T, s string) bool {
	t.Helper()
	got, port, err := ParseAddrPort(s)
	want, wantErr := netip.ParseAddrPort(s)
	if (err == nil) != (wantErr == nil) {
		t.Errorf("ParseAddrPort(%q) = %v, %d, %v; netip: %v, %v", s, got, port, err, want, wantErr)
		return false
	}
	if err == nil {
		checkAddr(t, "ParseAddrPort("+s+")", got, want.Addr())
		if port != want.Port() {
			t.Errorf("ParseAddrPort(%q) port = %d, netip: %d", s, port, want.Port())
		}
	}
	return err == nil
}

func checkParsePrefix(t *testing.T, s string) bool {
	t.Helper()
	got, err := ParsePrefix(s)
	want, wantErr := netip.ParsePrefix(s)
	if (err == nil) != (wantErr == nil) {
		t.Errorf("ParsePrefix(%q) = %v, %v; netip: %v, %v", s, got, err, want, wantErr)
		return false
	}
	if err == nil {
		want = want.Masked()
		checkAddr(t, "ParsePrefix("+s+").Addr()", got.Addr(), want.Addr())
		if got.Bits() != want.Bits() || got.String() != want.String() {
			t.Errorf("ParsePrefix(%q) = %s (%d bits), netip: %s (%d bits)", s, got, got.Bits(), want, want.Bits())
		}
	}
	return err == nil
}

// checkContains parses the address as the faults filter reads Envoy's
// source.address, with or without a port, and tests it against the prefix
// as given and unmapped.
func checkContains(t *testing.T, prefix, addr string) {
	t.Helper()
	p, err := ParsePrefix(prefix)
	wantP, wantErr := netip.ParsePrefix(prefix)
	if err != nil || wantErr != nil {
		return // checkParsePrefix covers the disagreements
	}
	a, _, err := ParseAddrPort(addr)
	if err != nil {
		a, err = ParseAddr(addr)
	}
	wantAP, wantErr := netip.ParseAddrPort(addr)
	wantA := wantAP.Addr()
	if wantErr != nil {
		wantA, wantErr = netip.ParseAddr(addr)
	}
	if (err == nil) != (wantErr == nil) {
		t.Errorf("address %q: %v; netip: %v", addr, err, wantErr)
		return
	}
	compareContains(t, p, wantP, a, wantA)
}

// compareContains tests a and its Unmapped form against p, as netip does
// once its prefix is masked and its address has no zone.
func compareContains(t *testing.T, p Prefix, wantP netip.Prefix, a Addr, wantA netip.Addr) {
	t.Helper()
	wantP, wantA = wantP.Masked(), wantA.WithZone("")
	if got, want := p.Contains(a), wantP.Contains(wantA); got != want {
		t.Errorf("%s.Contains(%s) = %v, netip: %v", p, a, got, want)
	}
	if got, want := p.Contains(a.Unmap()), wantP.Contains(wantA.Unmap()); got != want {
		t.Errorf("%s.Contains(%s.Unmap()) = %v, netip: %v", p, a, got, want)
	}
}

func checkAddr(t *testing.T, what string, got Addr, want netip.Addr) {
	t.Helper()
	want = want.WithZone("")
	if got.As16() != want.As16() || got.Is4() != want.Is4() || got.Is6() != want.Is6() || got.String() != want.String() {
		t.Errorf("%s = %s (%x, Is4 %v), netip: %s (%x, Is4 %v)", what, got, got.As16(), got.Is4(), want, want.As16(), want.Is4())
	}
}
