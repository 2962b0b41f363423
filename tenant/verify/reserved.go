package verify

import (
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Reserved are the host names the instance serves itself — the operator
// dashboard, the portal, the public host name tenants point DNS at, the
// metrics listener, and the services it is configured to call — which no
// tenant may claim, nor any name under them: a tenant on a subdomain of
// the operator or portal host could toss cookies at it, and one holding
// the name itself would have its routes, certificates and mail go astray.
// Every path that claims a domain checks it: the portal's three choices,
// `roost tenant create` and `roost tenant add-domain`.
//
// The base domain's subdomains stay the instance's to give even when the
// base domain is (or is under) a reserved host, as when it is also the
// public host name: alice.roost.example under roost.example.
type Reserved struct {
	hosts []string
	base  string
}

// NewReserved reserves the names of hosts, each a host name, host:port or
// URL; empty entries and IP addresses (no tenant can claim one) are
// skipped. base is the base domain (ROOST_BASE_DOMAIN), or empty.
func NewReserved(base string, hosts ...string) Reserved {
	r := Reserved{base: hostOf(base)}
	for _, h := range hosts {
		if name := hostOf(h); name != "" {
			r.hosts = append(r.hosts, name)
		}
	}
	return r
}

// Hosts lists the reserved names.
func (r Reserved) Hosts() []string { return append([]string(nil), r.hosts...) }

// Check refuses name when it is a reserved host or a name under one. name
// must already be normalised (tenant.NormalizeDomain).
func (r Reserved) Check(name string) error {
	if h := r.Of(name); h != "" {
		if h == name {
			return errs.E(errs.Invalid, "%s is a host name of this server itself and cannot be a site's domain", name)
		}
		return errs.E(errs.Invalid, "%s is under %s, a host name of this server itself, and cannot be a site's domain", name, h)
	}
	return nil
}

// Of returns the reserved host that name is or is under, or "".
func (r Reserved) Of(name string) string {
	for _, h := range r.hosts {
		offered := name != r.base && under(name, r.base) && under(r.base, h)
		if name == h || (under(name, h) && !offered) {
			return h
		}
	}
	return ""
}

// hostOf reads a host name out of a name, host:port or URL.
func hostOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		s = u.Host
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil || s == "" {
		return ""
	}
	name, err := tenant.NormalizeDomain(s)
	if err != nil {
		return ""
	}
	return name
}
