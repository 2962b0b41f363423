package fetch

import "net/netip"

// refused4 are IPv4 ranges that are not the public internet (RFC 6890 and
// friends). Contacting them would let a remote document reach Roost's own
// network: loopback services, cloud metadata, the database.
var refused4 = prefixes(
	"0.0.0.0/8",       // "this network", including unspecified 0.0.0.0
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // carrier-grade NAT
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, cloud metadata
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // deprecated 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, including broadcast 255.255.255.255
)

// refused6 are carve-outs of global unicast 2000::/3, the only IPv6 space
// allowed at all; everything outside it (::, ::1, fc00::/7, fe80::/10,
// ff00::/8, ...) is refused by the 2000::/3 rule.
var refused6 = prefixes(
	"2001::/32",     // Teredo: tunnels to an obfuscated, unchecked IPv4
	"2001:2::/48",   // benchmarking
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
)

var (
	global6 = netip.MustParsePrefix("2000::/3")
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
)

// Allowed reports whether ip may be contacted: only public unicast addresses
// are. IPv4-mapped IPv6 is judged as the IPv4 it carries, and so are NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) addresses, which a gateway would
// forward to their embedded IPv4.
func Allowed(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return allowed4(ip)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return allowed4(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(ip):
		return allowed4(netip.AddrFrom4([4]byte(b[2:6])))
	case !global6.Contains(ip):
		return false
	}
	return !inAny(refused6, ip)
}

func allowed4(ip netip.Addr) bool { return !inAny(refused4, ip) }

func inAny(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}
