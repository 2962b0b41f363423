package httpx

import (
	"net/netip"

	"github.com/gofiber/fiber/v2"
)

// SetClientIP records the request's client address, computed once by the
// app from the peer and its trusted proxies (api's observe).
func SetClientIP(c *fiber.Ctx, ip netip.Addr) { c.Locals(clientIPKey, ip) }

// ClientIP is the address of the client a request came from, for limits
// kept per address. fiber's c.IP() is not it: behind a trusted proxy it
// returns X-Forwarded-For as written, whose leftmost entries are whatever
// the client sent. Without a recorded address (an app built without
// api's middleware) it is the peer's.
func ClientIP(c *fiber.Ctx) netip.Addr {
	if ip, ok := c.Locals(clientIPKey).(netip.Addr); ok {
		return ip
	}
	return PeerIP(c)
}

// PeerIP is the address of the connection's other end (IPv4 unmapped).
func PeerIP(c *fiber.Ctx) netip.Addr {
	ip, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return ip.Unmap()
}
