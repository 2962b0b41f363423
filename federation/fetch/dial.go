package fetch

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// refusedError is returned by the dialer for an address Allowed refuses.
// It carries the address for logs; messages to clients leave it out.
type refusedError struct{ addr string }

func (e *refusedError) Error() string { return fmt.Sprintf("address %s is not allowed", e.addr) }

// dial connects to addr ("host:port" from the URL). Hosts in Resolve go to
// their mapped address unchecked: that map is the explicit, test-only
// allowlist. Everything else is checked in Control, which sees the IP the
// socket is about to connect to after DNS resolution, so a name that
// resolves (or re-resolves, DNS rebinding) to an internal address is caught
// whatever the name looked like.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	if mapped, ok := c.resolve[strings.ToLower(host)]; ok {
		return d.DialContext(ctx, "tcp", mapped)
	}
	d.ControlContext = checkAddress
	return d.DialContext(ctx, network, addr)
}

// checkAddress is a net.Dialer ControlContext: it runs before connect(2)
// for every address the dialer tries.
func checkAddress(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !Allowed(ap.Addr()) {
		return &refusedError{addr: address}
	}
	return nil
}
