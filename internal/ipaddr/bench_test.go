package ipaddr

import (
	"go/parser"
	"go/token"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sourceAddresses are values of Envoy's source.address property, and a
// bare address that fails ParseAddrPort first.
var sourceAddresses = []struct{ name, addr string }{
	{name: "v4", addr: "10.1.2.3:54321"},
	{name: "v6", addr: "[2001:db8:85a3::8a2e:370:7334]:443"},
	{name: "mapped", addr: "[::ffff:10.1.2.3]:54321"},
	{name: "bare", addr: "10.1.2.3"},
}

var benchPrefixes = []string{"192.168.0.0/16", "172.16.0.0/12", "fd00::/8", "10.0.0.0/8"}

// sourceIP parses a source address as the faults filter does: with a port
// or without, unmapped.
func sourceIP(s string) (Addr, bool) {
	if a, _, err := ParseAddrPort(s); err == nil {
		return a.Unmap(), true
	}
	a, err := ParseAddr(s)
	return a.Unmap(), err == nil
}

func netipSourceIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil
}

// matchesAny is what the faults filter does per request with the
// source_cidrs it was given.
func matchesAny(prefixes []Prefix, s string) bool {
	a, ok := sourceIP(s)
	return ok && slices.ContainsFunc(prefixes, func(p Prefix) bool { return p.Contains(a) })
}

func netipMatchesAny(prefixes []netip.Prefix, s string) bool {
	a, ok := netipSourceIP(s)
	return ok && slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}

func parsePrefixes(tb testing.TB) ([]Prefix, []netip.Prefix) {
	var got []Prefix
	var want []netip.Prefix
	for _, s := range benchPrefixes {
		p, err := ParsePrefix(s)
		if err != nil {
			tb.Fatal(err)
		}
		got = append(got, p)
		want = append(want, netip.MustParsePrefix(s).Masked())
	}
	return got, want
}

// TestPerRequestNoAllocs holds the promise of the package comment: what a
// filter runs per request allocates nothing, also when the input is bad.
func TestPerRequestNoAllocs(t *testing.T) {
	prefixes, _ := parsePrefixes(t)
	inputs := []string{"10.1.2.3:54321", "[2001:db8::1%eth0]:443", "[::ffff:10.1.2.3]:80", "10.1.2.3", "fd00::1", "not an address", "1.2.3.4:99999", "[1.2.3.4]:80"}
	for _, s := range inputs {
		if n := testing.AllocsPerRun(100, func() { matchesAny(prefixes, s) }); n != 0 {
			t.Errorf("matching %q: %v allocations, want 0", s, n)
		}
	}
}

// TestImports keeps the package free of net/netip and of the other
// packages that would cost a Wasm module the code it exists to save.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path != "errors" {
				t.Errorf("%s imports %s; only errors is allowed", name, path)
			}
		}
	}
}

// benchBoth runs the same work done by this package and by net/netip.
func benchBoth(b *testing.B, name string, ours, theirs func()) {
	b.Run("ipaddr/"+name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ours()
		}
	})
	b.Run("netip/"+name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			theirs()
		}
	})
}

// BenchmarkSourceMatch is the faults filter's per-request work: parse the
// source address, unmap it, test it against four prefixes.
func BenchmarkSourceMatch(b *testing.B) {
	prefixes, netipPrefixes := parsePrefixes(b)
	for _, tt := range sourceAddresses {
		benchBoth(b, tt.name,
			func() { matchesAny(prefixes, tt.addr) },
			func() { netipMatchesAny(netipPrefixes, tt.addr) })
	}
}

func BenchmarkParseAddrPort(b *testing.B) {
	for _, tt := range sourceAddresses[:3] {
		benchBoth(b, tt.name,
			func() { _, _, _ = ParseAddrPort(tt.addr) },
			func() { _, _ = netip.ParseAddrPort(tt.addr) })
	}
}

func BenchmarkParseAddr(b *testing.B) {
	for _, tt := range []struct{ name, addr string }{{"v4", "10.1.2.3"}, {"v6", "2001:db8:85a3::8a2e:370:7334"}, {"mapped", "::ffff:10.1.2.3"}} {
		benchBoth(b, tt.name,
			func() { _, _ = ParseAddr(tt.addr) },
			func() { _, _ = netip.ParseAddr(tt.addr) })
	}
}

func BenchmarkUnmap(b *testing.B) {
	a := mustAddr(b, "::ffff:10.1.2.3")
	na := netip.MustParseAddr("::ffff:10.1.2.3")
	var sinkA Addr
	var sinkNA netip.Addr
	benchBoth(b, "mapped", func() { sinkA = a.Unmap() }, func() { sinkNA = na.Unmap() })
	_, _ = sinkA, sinkNA
}

func BenchmarkContains(b *testing.B) {
	for _, tt := range []struct{ name, prefix, addr string }{{"v4", "10.0.0.0/8", "10.1.2.3"}, {"v6", "2001:db8::/33", "2001:db8:85a3::8a2e:370:7334"}} {
		p, err := ParsePrefix(tt.prefix)
		if err != nil {
			b.Fatal(err)
		}
		a := mustAddr(b, tt.addr)
		np, na := netip.MustParsePrefix(tt.prefix), netip.MustParseAddr(tt.addr)
		var sink bool
		benchBoth(b, tt.name, func() { sink = p.Contains(a) }, func() { sink = np.Contains(na) })
		_ = sink
	}
}
