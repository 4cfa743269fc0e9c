// Package ipaddr parses IP addresses, address:port pairs and CIDR prefixes,
// and tests whether a prefix contains an address: the part of net/netip a
// filter needs to match a request's source address against configured
// CIDRs.
//
// A Wasm module pays for its code in every Envoy worker that loads it.
// net/netip, with the unique and weak packages it links for zones, is some
// 65 KB of Wasm code; this package is about 15 KB and imports only errors.
//
// Parsing accepts and rejects exactly what net/netip's ParseAddr,
// ParseAddrPort and ParsePrefix do, and yields the same addresses, ports
// and (masked) prefixes. The differences, all deliberate:
//
//   - An IPv6 zone ("fe80::1%eth0") is accepted by ParseAddr and
//     ParseAddrPort, as net/netip does, but dropped: an Addr has no zone.
//     ParsePrefix rejects zones, as net/netip does. So where net/netip's
//     Prefix.Contains is false for any address with a zone, Contains
//     here tests the address without it, as a caller of net/netip does
//     after Addr.WithZone("").
//   - ParsePrefix returns the masked prefix, as net/netip's ParsePrefix
//     followed by Prefix.Masked does.
//   - Errors say what is wrong but do not repeat the input, so that a
//     rejected per-request address costs no allocation; a caller that
//     reports one names the input (or the config path it came from).
//
// ParseAddr, ParseAddrPort, Addr.Unmap and Prefix.Contains do not allocate,
// whether they succeed or fail.
package ipaddr
