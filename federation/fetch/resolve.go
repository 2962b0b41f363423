package fetch

import (
	"net"
	"net/netip"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// ParseResolve reads a resolver override (ROOST_FEDERATION_RESOLVE) such
// as "a.test=https://127.0.0.2:443,b.test=http://127.0.0.3:8080": each host
// is sent to that address, over the scheme given. The scheme decides how
// Roost itself starts requests to the host (WebFinger, NodeInfo), and URLs
// of the other scheme are refused with a message naming the override,
// rather than dialled with or without TLS against what listens there. The
// older "host=ip:port" syntax still works: plain http for discovery, as it
// was documented, and URLs of either scheme. Host names are lower-cased;
// each needs an IP address with a non-zero port. An empty string is an
// empty map; values keep their scheme ("https://ip:port") or, in the older
// syntax, none.
func ParseResolve(s string) (map[string]string, error) {
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for entry := range strings.SplitSeq(s, ",") {
		host, addr, ok := strings.Cut(strings.TrimSpace(entry), "=")
		host, addr = strings.ToLower(strings.TrimSpace(host)), strings.TrimSpace(addr)
		if !ok || !validHostname(host) {
			return nil, errs.E(errs.Invalid, "resolve entry %q must be host=https://ip:port or host=http://ip:port with a DNS host name", entry)
		}
		scheme, rest, explicit := strings.Cut(addr, "://")
		if explicit {
			scheme, addr = strings.ToLower(scheme), rest
			if scheme != "https" && scheme != "http" {
				return nil, errs.E(errs.Invalid, "resolve entry %q: the scheme must be https:// or http://", entry)
			}
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
			return nil, errs.E(errs.Invalid, "resolve entry %q must map to https://ip:port or http://ip:port", entry)
		}
		if _, dup := m[host]; dup {
			return nil, errs.E(errs.Invalid, "resolve lists %q twice", host)
		}
		m[host] = ap.String()
		if explicit {
			m[host] = scheme + "://" + ap.String()
		}
	}
	return m, nil
}

// DiscoveryURL is the URL of pathQuery ("/.well-known/webfinger?...") on
// host, for requests Roost starts itself rather than following a URL a
// document gave: https, unless a resolve override says otherwise for host
// (plain http for the older bare ip:port syntax). The instance's own URL
// scheme plays no part: it says how Roost is reached, not how others are.
func (c *Client) DiscoveryURL(host, pathQuery string) string {
	scheme := "https"
	h := strings.ToLower(host)
	if hn, _, err := net.SplitHostPort(h); err == nil {
		h = hn
	}
	if _, ok := c.resolve[h]; ok {
		scheme = c.schemes[h]
		if scheme == "" {
			scheme = "http"
		}
	}
	return scheme + "://" + host + pathQuery
}

// validHostname accepts lower-case DNS names (LDH labels), not IP literals:
// the override names hosts as they appear in URLs.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
