package api

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
)

// proxies are the trusted proxies (Options.TrustedProxies) as prefixes.
type proxies []netip.Prefix

// parseProxies reads addresses and CIDRs as fiber does; what does not
// parse is not trusted.
func parseProxies(list []string) proxies {
	var ps proxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			ps = append(ps, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return ps
}

func (ps proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the client's address: the peer's, or, when the peer is a
// trusted proxy, the rightmost X-Forwarded-For entry that is not itself a
// trusted proxy. Each proxy appends the address it saw, so entries left
// of that one are the client's own words and never believed: a client
// rotating a fake first entry stays one client to per-address limits.
func (ps proxies) clientIP(c *fiber.Ctx) netip.Addr {
	hop := httpx.PeerIP(c)
	if !ps.trusted(hop) {
		return hop
	}
	var entries []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		entries = append(entries, strings.Split(string(v), ",")...)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseHop(entries[i])
		if !ok {
			return hop // garbage from beyond the last trusted hop: that hop is all we know
		}
		if !ps.trusted(a) {
			return a
		}
		hop = a
	}
	return hop
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port (some proxies add it).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
