package fetch

import (
	"net/netip"
	"testing"
)

func TestAllowed(t *testing.T) {
	refused := []string{
		// IPv4 ranges.
		"0.0.0.0", "0.1.2.3", // unspecified, "this network"
		"10.0.0.1", "10.255.255.255", // private
		"100.64.0.1", "100.127.255.254", // CGNAT
		"127.0.0.1", "127.0.0.2", "127.255.255.255", // loopback
		"169.254.169.254", "169.254.0.1", // link-local, cloud metadata
		"172.16.0.1", "172.31.255.255", // private
		"192.0.0.1", "192.0.0.170", // IETF protocol assignments
		"192.0.2.1",                  // TEST-NET-1
		"192.88.99.1",                // 6to4 relay anycast
		"192.168.0.1", "192.168.1.1", // private
		"198.18.0.1", "198.19.255.255", // benchmarking
		"198.51.100.7",                 // TEST-NET-2
		"203.0.113.9",                  // TEST-NET-3
		"224.0.0.1", "239.255.255.250", // multicast
		"240.0.0.1", "255.255.255.255", // reserved, broadcast
		// IPv6 ranges.
		"::", "::1", // unspecified, loopback
		"::127.0.0.1",      // IPv4-compatible
		"::ffff:127.0.0.1", // IPv4-mapped loopback
		"::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::ffff:100.64.0.1",
		"fc00::1", "fd12:3456::1", // unique local
		"fe80::1", "fe80::1%eth0", // link-local, with a zone
		"fec0::1",            // site-local (deprecated)
		"ff02::1", "ff05::2", // multicast
		"2001:db8::1", "2001:db8:ffff::1", // documentation
		"3fff::1",                        // documentation (RFC 9637)
		"2001::1", "2001:0:4136:e378::1", // Teredo
		"2001:2::1",                  // benchmarking
		"64:ff9b::7f00:1",            // NAT64 of 127.0.0.1
		"64:ff9b::a00:1",             // NAT64 of 10.0.0.1
		"64:ff9b::a9fe:a9fe",         // NAT64 of 169.254.169.254
		"64:ff9b:1::1",               // local-use NAT64
		"2002:7f00:1::1",             // 6to4 of 127.0.0.1
		"2002:c0a8:101::1",           // 6to4 of 192.168.1.1
		"2002:a00:1::",               // 6to4 of 10.0.0.1
		"100::1",                     // discard-only
		"::ffff:0:7f00:1",            // IPv4-translated
		"1::1", "4000::1", "e000::1", // outside global unicast 2000::/3
	}
	for _, s := range refused {
		if Allowed(netip.MustParseAddr(s)) {
			t.Errorf("Allowed(%s) = true, want false", s)
		}
	}
	allowed := []string{
		"1.1.1.1", "8.8.8.8", "9.9.9.9", "93.184.216.34",
		"100.63.255.255", "100.128.0.0", // just outside CGNAT
		"172.15.255.255", "172.32.0.0", // just outside 172.16/12
		"192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", // last before multicast
		"2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1",
		"::ffff:1.1.1.1",   // IPv4-mapped public
		"64:ff9b::101:101", // NAT64 of 1.1.1.1
		"2002:101:101::1",  // 6to4 of 1.1.1.1
		"2001:4::1",        // in 2001::/23 but outside Teredo
	}
	for _, s := range allowed {
		if !Allowed(netip.MustParseAddr(s)) {
			t.Errorf("Allowed(%s) = false, want true", s)
		}
	}
	if Allowed(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}
