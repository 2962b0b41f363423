package verify

import (
	"context"
	"errors"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// Redirects asks a URL once, without following a redirect, and returns
// the status and the Location header (as sent). federation/fetch's Client
// implements it: every outbound request goes through that client.
type Redirects interface {
	Redirect(ctx context.Context, rawURL string) (status int, location string, err error)
}

// Inspect looks for every record claim c needs and says, per record, what
// it found. It changes nothing.
func (k *Checker) Inspect(ctx context.Context, c *Claim) []Check {
	recs := k.Target.Records(c)
	out := make([]Check, len(recs))
	for i, r := range recs {
		out[i] = k.inspect(ctx, c, r)
		out[i].Record = r
	}
	return out
}

func (k *Checker) inspect(ctx context.Context, c *Claim, r Record) Check {
	switch r.Type {
	case "TXT":
		return k.inspectTXT(ctx, r)
	case "A", "AAAA":
		return k.inspectAddr(ctx, r)
	case "CNAME":
		return k.inspectCNAME(ctx, r)
	case "Redirect":
		return k.inspectRedirect(ctx, c, r)
	}
	return Check{Status: "Unknown record type " + r.Type}
}

// lookupFailed tells the tenant which lookup failed and how, never the
// resolver's own text: that names the DNS server asked and this node's
// address (issue 14, finding 6).
func lookupFailed(what string, err error) Check {
	return Check{Transient: true, Status: fmt.Sprintf("Could not look up %s: %s. This is checked again later.", what, lookupReason(err))}
}

func lookupReason(err error) string {
	var rc *rcodeError
	var ne net.Error
	switch {
	case errors.As(err, &rc):
		return "the DNS server answered " + rc.rcode
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the DNS query timed out"
	}
	return "the DNS query failed"
}

func (k *Checker) inspectTXT(ctx context.Context, r Record) Check {
	vals, err := k.DNS.TXT(ctx, r.Name)
	if err != nil {
		return lookupFailed("the TXT record at "+r.Name, err)
	}
	if slices.Contains(vals, r.Value) {
		return Check{OK: true, Status: "TXT record found"}
	}
	if len(vals) == 0 {
		return Check{Status: "No TXT record found at " + r.Name}
	}
	return Check{Status: fmt.Sprintf("TXT record at %s holds %q, expected %q", r.Name, text.Clip(vals[0], 80), r.Value)}
}

// family keeps the addresses of r's type (A: IPv4, AAAA: IPv6).
func family(addrs []netip.Addr, typ string) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.Is4() == (typ == "A") {
			out = append(out, a)
		}
	}
	return out
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " and ")
}

func (k *Checker) inspectAddr(ctx context.Context, r Record) Check {
	addrs, err := k.DNS.Addrs(ctx, r.Name)
	if err != nil {
		return lookupFailed("the "+r.Type+" record of "+r.Name, err)
	}
	got := family(addrs, r.Type)
	want, _ := netip.ParseAddr(r.Value)
	if len(got) == 0 {
		if r.Optional {
			return Check{OK: true, Status: fmt.Sprintf("No %s record (optional: %s adds IPv6)", r.Type, r.Value)}
		}
		return Check{Status: fmt.Sprintf("No %s record found for %s", r.Type, r.Name)}
	}
	var others []netip.Addr
	for _, a := range got {
		if a != want {
			others = append(others, a)
		}
	}
	switch {
	case len(others) == 0:
		return Check{OK: true, Status: fmt.Sprintf("%s record points to %s", r.Type, want)}
	case len(others) < len(got):
		return Check{Status: fmt.Sprintf("%s records point to %s; remove %s", r.Type, joinAddrs(got), joinAddrs(others))}
	case len(got) == 1:
		return Check{Status: fmt.Sprintf("%s record points to %s, expected %s", r.Type, got[0], want)}
	}
	return Check{Status: fmt.Sprintf("%s records point to %s, expected %s", r.Type, joinAddrs(got), want)}
}

// inspectCNAME accepts the CNAME, or, without one, address records that
// all point at this instance (they work as well).
func (k *Checker) inspectCNAME(ctx context.Context, r Record) Check {
	cname, err := k.DNS.CNAME(ctx, r.Name)
	if err != nil {
		return lookupFailed("the CNAME record of "+r.Name, err)
	}
	switch {
	case cname == canonical(r.Value):
		return Check{OK: true, Status: "CNAME record points to " + r.Value}
	case cname != "":
		return Check{Status: fmt.Sprintf("CNAME record points to %s, expected %s", cname, r.Value)}
	}
	addrs, err := k.DNS.Addrs(ctx, r.Name)
	if err != nil {
		return lookupFailed("the addresses of "+r.Name, err)
	}
	if len(addrs) == 0 {
		return Check{Status: "No CNAME record found for " + r.Name}
	}
	for _, a := range addrs {
		if a != k.Target.IPv4 && a != k.Target.IPv6 {
			return Check{Status: fmt.Sprintf("No CNAME record for %s, and its address %s is not this server's; expected a CNAME to %s", r.Name, a, r.Value)}
		}
	}
	return Check{OK: true, Status: fmt.Sprintf("No CNAME record, but %s points to this server (%s)", r.Name, joinAddrs(addrs))}
}

// probe is the URL asked for a redirect record: WebFinger gets a query,
// as real lookups have one.
func probe(c *Claim, r Record) string {
	if strings.HasSuffix(r.Name, "/.well-known/webfinger") {
		return r.Name + "?resource=" + url.QueryEscape("acct:"+c.Domain+"@"+c.Domain)
	}
	return r.Name
}

func (k *Checker) inspectRedirect(ctx context.Context, c *Claim, r Record) Check {
	if k.Web == nil {
		return Check{Transient: true, Status: "This server cannot check redirects"}
	}
	asked := probe(c, r)
	status, loc, err := k.Web.Redirect(ctx, asked)
	if err != nil {
		// The fetch client's safe message names at most the host asked
		// for, never the address it resolved to.
		return Check{Transient: true, Status: fmt.Sprintf("Could not fetch %s: %s", r.Name, text.Clip(errs.MessageOf(err), 200))}
	}
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return Check{Status: fmt.Sprintf("%s answered %d instead of redirecting to %s", r.Name, status, r.Value)}
	}
	from, _ := url.Parse(asked)
	to, err := from.Parse(loc)
	want, _ := url.Parse(r.Value)
	if err != nil || want == nil {
		return Check{Status: fmt.Sprintf("%s redirects to a malformed address", r.Name)}
	}
	if !strings.EqualFold(to.Scheme, want.Scheme) || !strings.EqualFold(to.Host, want.Host) || to.Path != want.Path {
		shown := to.Scheme + "://" + to.Host + to.Path
		return Check{Status: fmt.Sprintf("%s redirects to %s, expected %s", r.Name, text.Clip(shown, 200), r.Value)}
	}
	return Check{OK: true, Status: fmt.Sprintf("%s redirects to %s", r.Name, r.Value)}
}
