package ipaddr

import (
	"errors"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		given string
		want  string // String() of the result
	}{
		{given: "0.0.0.0", want: "0.0.0.0"},
		{given: "10.1.2.3", want: "10.1.2.3"},
		{given: "255.255.255.255", want: "255.255.255.255"},
		{given: "::", want: "::"},
		{given: "::1", want: "::1"},
		{given: "1::", want: "1::"},
		{given: "2001:db8::1", want: "2001:db8::1"},
		{given: "2001:DB8:0:0:0:0:0:1", want: "2001:db8::1"},
		{given: "2001:0db8:0000:0000:0000:ff00:0042:8329", want: "2001:db8::ff00:42:8329"},
		{given: "1:0:0:2:0:0:0:3", want: "1:0:0:2::3"},
		{given: "1:0:2:3:4:5:6:7", want: "1:0:2:3:4:5:6:7"},
		{given: "1:2:3:4:5:6:7:8", want: "1:2:3:4:5:6:7:8"},
		{given: "1:2:3:4:5:6::7", want: "1:2:3:4:5:6:0:7"},
		{given: "::ffff:1.2.3.4", want: "::ffff:1.2.3.4"},
		{given: "::FFFF:c000:0201", want: "::ffff:192.0.2.1"},
		{given: "64:ff9b::1.2.3.4", want: "64:ff9b::102:304"},
		{given: "1:2:3:4:5:6:1.2.3.4", want: "1:2:3:4:5:6:102:304"},
		{given: "::1.2.3.4", want: "::102:304"},
		{given: "fe80::1%eth0", want: "fe80::1"},
		{given: "fe80::1%25", want: "fe80::1"},
		{given: "::ffff:1.2.3.4%x", want: "::ffff:1.2.3.4"},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.given)
		if err != nil {
			t.Errorf("ParseAddr(%q): %v", tt.given, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseAddr(%q) = %s, want %s", tt.given, got, tt.want)
		}
	}
}

func TestParseAddrRejects(t *testing.T) {
	tests := []struct {
		given string
		want  error
	}{
		{given: "", want: errEmpty},
		{given: "localhost", want: errNotIP},
		{given: "%eth0", want: errZoneOnly},
		{given: "01.2.3.4", want: errV4Field},
		{given: "1.2.3.04", want: errV4Field},
		{given: "256.1.1.1", want: errV4Field},
		{given: "1.2.3.1000", want: errV4Field},
		{given: "1..2.3", want: errV4Field},
		{given: "1.2.3.", want: errV4Field},
		{given: ".1.2.3", want: errV4Field},
		{given: "1.2.3.4 ", want: errV4Field},
		{given: "1.2.3.4%eth0", want: errV4Field},
		{given: "-1.2.3.4", want: errV4Field},
		{given: "1.2.3", want: errV4Fields},
		{given: "1.2.3.4.5", want: errV4Fields},
		{given: "fe80::1%", want: errEmptyZone},
		{given: "12345::", want: errV6Group},
		{given: "1:2:3:4:5:6:7:g", want: errV6Group},
		{given: ":1:2:3:4:5:6:7", want: errV6Group},
		{given: "1:::2", want: errV6Group},
		{given: "1::2::3", want: errV6Colon},
		{given: "1:2:3:4:5:6:7:", want: errV6Colon},
		{given: "1:2:3:4:5:6:7", want: errV6Length},
		{given: "1:2:3:4:5:6:7:8:9", want: errV6Length},
		{given: "1:2:3:4::5:6:7:8", want: errV6Length},
		{given: "1:2:3:4:5:6:7:8::", want: errV6Length},
		{given: "1:2:3:4:5:1.2.3.4", want: errV6EmbeddedV4},
		{given: "1:2:3:4:5:6:7:1.2.3.4", want: errV6EmbeddedV4},
		{given: "1::3:4:5:6:7:8:1.2.3.4", want: errV6EmbeddedV4},
		{given: "1:2:3:4:5:6::1.2.3.4", want: errV6Length},
		{given: "::ffff:01.2.3.4", want: errV4Field},
		{given: "::ffff:1.2.3.4.5", want: errV4Fields},
		{given: "::ffff:1a.2.3.4", want: errV4Field},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.given)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want error %q", tt.given, got, err, tt.want)
		}
	}
}

func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		given    string
		wantAddr string
		wantPort uint16
	}{
		{given: "10.1.2.3:54321", wantAddr: "10.1.2.3", wantPort: 54321},
		{given: "0.0.0.0:0", wantAddr: "0.0.0.0", wantPort: 0},
		{given: "[2001:db8::1]:443", wantAddr: "2001:db8::1", wantPort: 443},
		{given: "[::ffff:10.1.2.3]:65535", wantAddr: "::ffff:10.1.2.3", wantPort: 65535},
		{given: "[fe80::1%eth0]:80", wantAddr: "fe80::1", wantPort: 80},
		{given: "1.2.3.4:0080", wantAddr: "1.2.3.4", wantPort: 80},
	}
	for _, tt := range tests {
		addr, port, err := ParseAddrPort(tt.given)
		if err != nil {
			t.Errorf("ParseAddrPort(%q): %v", tt.given, err)
			continue
		}
		if addr.String() != tt.wantAddr || port != tt.wantPort {
			t.Errorf("ParseAddrPort(%q) = %s, %d; want %s, %d", tt.given, addr, port, tt.wantAddr, tt.wantPort)
		}
	}
}

func TestParseAddrPortRejects(t *testing.T) {
	tests := []struct {
		given string
		want  error
	}{
		{given: "1.2.3.4", want: errNoPort},
		{given: ":80", want: errEmpty},
		{given: "1.2.3.4:", want: errPort},
		{given: "1.2.3.4:65536", want: errPort},
		{given: "1.2.3.4:+80", want: errPort},
		{given: "1.2.3.4:8_0", want: errPort},
		{given: "1.2.3.4:0x50", want: errPort},
		{given: "[1.2.3.4]:80", want: errBrackets},
		{given: "::1:80", want: errBrackets},
		{given: "2001:db8::1:80", want: errBrackets},
		{given: "[::1:80", want: errUnclosedSquare},
		{given: "[]:80", want: errEmpty},
		{given: "[:80", want: errUnclosedSquare},
		{given: "[::1]:", want: errPort},
		{given: "[::1]", want: errPort},
		{given: "[::1%]:80", want: errEmptyZone},
		{given: "01.2.3.4:80", want: errV4Field},
	}
	for _, tt := range tests {
		addr, port, err := ParseAddrPort(tt.given)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseAddrPort(%q) = %v, %d, %v; want error %q", tt.given, addr, port, err, tt.want)
		}
	}
}

func TestUnmap(t *testing.T) {
	tests := []struct {
		given string
		want  string
	}{
		{given: "::ffff:10.1.2.3", want: "10.1.2.3"},
		{given: "::ffff:0.0.0.0", want: "0.0.0.0"},
		{given: "10.1.2.3", want: "10.1.2.3"},
		{given: "::1.2.3.4", want: "::102:304"},
		{given: "64:ff9b::1.2.3.4", want: "64:ff9b::102:304"},
		{given: "::fffe:1.2.3.4", want: "::fffe:102:304"},
	}
	for _, tt := range tests {
		a, err := ParseAddr(tt.given)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", tt.given, err)
		}
		if got := a.Unmap().String(); got != tt.want {
			t.Errorf("ParseAddr(%q).Unmap() = %s, want %s", tt.given, got, tt.want)
		}
	}
}

func TestFamilies(t *testing.T) {
	type family struct{ Valid, Is4, Is6 bool }
	tests := []struct {
		given Addr
		want  family
	}{
		{given: Addr{}, want: family{}},
		{given: mustAddr(t, "1.2.3.4"), want: family{Valid: true, Is4: true}},
		{given: mustAddr(t, "::ffff:1.2.3.4"), want: family{Valid: true, Is6: true}},
		{given: mustAddr(t, "::ffff:1.2.3.4").Unmap(), want: family{Valid: true, Is4: true}},
		{given: mustAddr(t, "::"), want: family{Valid: true, Is6: true}},
	}
	for _, tt := range tests {
		got := family{tt.given.IsValid(), tt.given.Is4(), tt.given.Is6()}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.given, got, tt.want)
		}
	}
	if mustAddr(t, "1.2.3.4") == mustAddr(t, "::ffff:1.2.3.4") {
		t.Errorf("1.2.3.4 == ::ffff:1.2.3.4, want the families to differ")
	}
	if mustAddr(t, "1.2.3.4") != mustAddr(t, "::ffff:1.2.3.4").Unmap() {
		t.Errorf("1.2.3.4 != Unmap(::ffff:1.2.3.4)")
	}
}

func TestAs16(t *testing.T) {
	got := mustAddr(t, "2001:db8:1:2:3:4:5:6").As16()
	want := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6}
	if got != want {
		t.Errorf("As16 = %x, want %x", got, want)
	}
	got = mustAddr(t, "192.0.2.1").As16()
	want = [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 1}
	if got != want {
		t.Errorf("As16 = %x, want %x", got, want)
	}
}

func mustAddr(t testing.TB, s string) Addr {
	t.Helper()
	a, err := ParseAddr(s)
	if err != nil {
		t.Fatalf("ParseAddr(%q): %v", s, err)
	}
	return a
}
