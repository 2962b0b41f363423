package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver looks up the records a claim needs. A name or type with no
// records is an empty answer and a nil error; an error means the lookup
// itself failed (timeout, SERVFAIL) and says nothing about the records.
type Resolver interface {
	// TXT returns the TXT records of name, each one string (a record's
	// character-strings joined).
	TXT(ctx context.Context, name string) ([]string, error)
	// Addrs returns name's A and AAAA addresses, following CNAMEs.
	Addrs(ctx context.Context, name string) ([]netip.Addr, error)
	// CNAME returns the target of name's CNAME record (no trailing dot,
	// lower case), or "" when it has none.
	CNAME(ctx context.Context, name string) (string, error)
}

// lookupTimeout bounds one query.
const lookupTimeout = 5 * time.Second

// System resolves through the operating system's resolver configuration
// (Go's resolver: /etc/resolv.conf, /etc/hosts).
type System struct{ r net.Resolver }

var _ Resolver = (*System)(nil)

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// TXT implements Resolver.
func (s *System) TXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	txt, err := s.r.LookupTXT(ctx, name)
	if notFound(err) {
		return nil, nil
	}
	return txt, err
}

// Addrs implements Resolver.
func (s *System) Addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := s.r.LookupNetIP(ctx, "ip", name)
	if notFound(err) {
		return nil, nil
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, err
}

// CNAME implements Resolver. Go answers a name without a CNAME with the
// name itself; that is "no CNAME" here.
func (s *System) CNAME(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	cname, err := s.r.LookupCNAME(ctx, name)
	if notFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	cname = canonical(cname)
	if cname == canonical(name) {
		return "", nil
	}
	return cname, nil
}

// Server asks one DNS server (ROOST_DNS_SERVER, "ip:port") directly, over
// UDP with a TCP retry for truncated answers.
type Server struct {
	Addr string
	// Timeout bounds each query; zero means five seconds.
	Timeout time.Duration
}

var _ Resolver = (*Server)(nil)

func (s *Server) exchange(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = lookupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: timeout}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, s.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("DNS server %s: %w", s.Addr, err)
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		return r.Answer, nil
	case dns.RcodeNameError: // NXDOMAIN
		return nil, nil
	}
	return nil, &rcodeError{server: s.Addr, rcode: dns.RcodeToString[r.Rcode], name: name}
}

// rcodeError is a DNS server's failure answer (SERVFAIL, REFUSED): the
// code may be shown to tenants, the server's address only logged.
type rcodeError struct{ server, rcode, name string }

func (e *rcodeError) Error() string {
	return fmt.Sprintf("DNS server %s answered %s for %s", e.server, e.rcode, e.name)
}

// TXT implements Resolver.
func (s *Server) TXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := s.exchange(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok && canonical(t.Hdr.Name) == canonical(name) {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, err
}

// Addrs implements Resolver: A and AAAA answers, CNAME chains included.
func (s *Server) Addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := s.exchange(ctx, name, qt)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			var ip net.IP
			switch r := rr.(type) {
			case *dns.A:
				ip = r.A
			case *dns.AAAA:
				ip = r.AAAA
			}
			if a, ok := netip.AddrFromSlice(ip); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, nil
}

// CNAME implements Resolver.
func (s *Server) CNAME(ctx context.Context, name string) (string, error) {
	rrs, err := s.exchange(ctx, name, dns.TypeCNAME)
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && canonical(c.Hdr.Name) == canonical(name) {
			return canonical(c.Target), nil
		}
	}
	return "", err
}

// canonical lower-cases a DNS name and drops its trailing dot.
func canonical(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }
