package ipaddr

import (
	"errors"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		given string
		want  string // String() of the masked prefix
	}{
		{given: "10.0.0.0/8", want: "10.0.0.0/8"},
		{given: "10.1.2.3/8", want: "10.0.0.0/8"},
		{given: "10.1.2.3/32", want: "10.1.2.3/32"},
		{given: "10.1.2.3/0", want: "0.0.0.0/0"},
		{given: "10.255.2.3/9", want: "10.128.0.0/9"},
		{given: "fd00::/8", want: "fd00::/8"},
		{given: "FD12:3456::1/16", want: "fd12::/16"},
		{given: "2001:db8::1/128", want: "2001:db8::1/128"},
		{given: "2001:db8:ffff:ffff:ffff::/63", want: "2001:db8:ffff:fffe::/63"},
		{given: "2001:db8:ffff:ffff:ffff::/65", want: "2001:db8:ffff:ffff:8000::/65"},
		{given: "::/0", want: "::/0"},
		{given: "::ffff:10.1.2.3/104", want: "::ffff:10.0.0.0/104"},
		{given: "::ffff:10.1.2.3/95", want: "::fffe:0:0/95"},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.given)
		if err != nil {
			t.Errorf("ParsePrefix(%q): %v", tt.given, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParsePrefix(%q) = %s, want %s", tt.given, got, tt.want)
		}
	}
}

func TestParsePrefixRejects(t *testing.T) {
	tests := []struct {
		given string
		want  error
	}{
		{given: "10.0.0.0", want: errNoSlash},
		{given: "/8", want: errEmpty},
		{given: "10.0.0/8", want: errV4Fields},
		{given: "10.0.0.0/", want: errPrefixLength},
		{given: "10.0.0.0/08", want: errPrefixLength},
		{given: "10.0.0.0/00", want: errPrefixLength},
		{given: "10.0.0.0/+8", want: errPrefixLength},
		{given: "10.0.0.0/-0", want: errPrefixLength},
		{given: "10.0.0.0/8 ", want: errPrefixLength},
		{given: "10.0.0.0/8/8", want: errV4Field},
		{given: "10.0.0.0/33", want: errPrefixLength},
		{given: "10.0.0.0/99999999999999999999", want: errPrefixLength},
		{given: "::/129", want: errPrefixLength},
		{given: "fe80::%eth0/64", want: errZoneInPrefix},
		{given: "fe80::%/64", want: errEmptyZone},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.given)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParsePrefix(%q) = %v, %v; want error %q", tt.given, got, err, tt.want)
		}
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		prefix string
		in     []string
		out    []string
	}{
		{
			prefix: "10.0.0.0/8",
			in:     []string{"10.0.0.0", "10.1.2.3", "10.255.255.255"},
			out:    []string{"9.255.255.255", "11.0.0.0", "::ffff:10.1.2.3", "::a01:203"},
		},
		{
			prefix: "192.168.1.128/25",
			in:     []string{"192.168.1.128", "192.168.1.255"},
			out:    []string{"192.168.1.127", "192.168.2.128"},
		},
		{
			prefix: "10.1.2.3/32",
			in:     []string{"10.1.2.3"},
			out:    []string{"10.1.2.2", "10.1.2.4"},
		},
		{
			prefix: "0.0.0.0/0",
			in:     []string{"0.0.0.0", "255.255.255.255"},
			out:    []string{"::", "::ffff:1.2.3.4"},
		},
		{
			prefix: "::/0",
			in:     []string{"::", "::ffff:1.2.3.4", "ffff::"},
			out:    []string{"0.0.0.0", "1.2.3.4"},
		},
		{
			prefix: "fd00::/8",
			in:     []string{"fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
			out:    []string{"fc00::", "fe00::", "253.0.0.0"},
		},
		{
			prefix: "2001:db8:0:1::/64",
			in:     []string{"2001:db8:0:1::", "2001:db8:0:1:ffff:ffff:ffff:ffff"},
			out:    []string{"2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8:0:2::"},
		},
		{
			prefix: "2001:db8::1/128",
			in:     []string{"2001:db8::1"},
			out:    []string{"2001:db8::", "2001:db8::2", "2001:db8:0:1::1"},
		},
		{
			prefix: "::ffff:0:0/96",
			in:     []string{"::ffff:1.2.3.4"},
			out:    []string{"1.2.3.4", "::fffe:1.2.3.4"},
		},
	}
	for _, tt := range tests {
		p, err := ParsePrefix(tt.prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", tt.prefix, err)
		}
		for _, s := range tt.in {
			if !p.Contains(mustAddr(t, s)) {
				t.Errorf("%s does not contain %s, want it to", p, s)
			}
		}
		for _, s := range tt.out {
			if p.Contains(mustAddr(t, s)) {
				t.Errorf("%s contains %s, want it not to", p, s)
			}
		}
	}
}

func TestZeroValues(t *testing.T) {
	p, err := ParsePrefix("0.0.0.0/0")
	if err != nil {
		t.Fatal(err)
	}
	if p.Contains(Addr{}) {
		t.Errorf("%s contains the zero Addr", p)
	}
	if (Prefix{}).Contains(Addr{}) || (Prefix{}).Contains(mustAddr(t, "::")) {
		t.Errorf("the zero Prefix contains an address")
	}
	got := []any{Addr{}.String(), Prefix{}.String(), Prefix{}.Bits(), Prefix{}.IsValid()}
	want := []any{"invalid IP", "invalid Prefix", -1, false}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
			break
		}
	}
}
