package fetch

import (
	"net/netip"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// ParseResolve reads a resolver override such as
// "a.test=127.0.0.2:8080,b.test=127.0.0.3:80" (ROOST_FEDERATION_RESOLVE).
// Host names are lower-cased; each needs an ip:port with a non-zero port.
// An empty string is an empty map.
func ParseResolve(s string) (map[string]string, error) {
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for entry := range strings.SplitSeq(s, ",") {
		host, addr, ok := strings.Cut(strings.TrimSpace(entry), "=")
		host, addr = strings.ToLower(strings.TrimSpace(host)), strings.TrimSpace(addr)
		if !ok || !validHostname(host) {
			return nil, errs.E(errs.Invalid, "resolve entry %q must be host=ip:port with a DNS host name", entry)
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
			return nil, errs.E(errs.Invalid, "resolve entry %q must map to ip:port", entry)
		}
		if _, dup := m[host]; dup {
			return nil, errs.E(errs.Invalid, "resolve lists %q twice", host)
		}
		m[host] = ap.String()
	}
	return m, nil
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
