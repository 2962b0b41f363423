// Package rfc2136 is a libdns provider that adds and removes the TXT
// records of ACME DNS-01 challenges with RFC 2136 dynamic updates, signed
// with TSIG (RFC 8945), against the operator's own authoritative DNS
// server (BIND, Knot, PowerDNS, ...): the vendor-neutral way to obtain a
// wildcard certificate. github.com/libdns/rfc2136 is not available to this
// project, so this small provider implements the two libdns interfaces
// certmagic's DNS-01 solver needs (RecordAppender, RecordDeleter) over
// github.com/miekg/dns.
package rfc2136

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

// Algorithms maps the TSIG algorithm names an operator writes (as BIND's
// tsig-keygen and Knot's keymgr print them) to miekg/dns's names.
var Algorithms = map[string]string{
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

// DefaultTTL is the TTL of challenge records when the caller gives none:
// short, since they live for one validation.
const DefaultTTL = 60 * time.Second

// maxRecords bounds one update message (DNS-01 needs one or two).
const maxRecords = 16

// Provider sends TSIG-signed dynamic updates to Server. Its fields are
// read-only once in use; it is safe for concurrent use.
type Provider struct {
	// Server is the primary's host:port.
	Server string
	// Zone, when set, is the only zone the provider updates (a record in
	// any other zone is refused before anything is sent).
	Zone string
	// KeyName, Secret (base64) and Algorithm (a key of Algorithms) are
	// the TSIG key the server accepts updates with.
	KeyName, Secret, Algorithm string
	// Timeout bounds one exchange (0: 10 s).
	Timeout time.Duration
}

var (
	_ libdns.RecordAppender = (*Provider)(nil)
	_ libdns.RecordDeleter  = (*Provider)(nil)
)

// Validate reports a missing or malformed setting.
func (p *Provider) Validate() error {
	if _, _, err := net.SplitHostPort(p.Server); err != nil {
		return fmt.Errorf("server %q must be host:port", p.Server)
	}
	if p.KeyName == "" {
		return fmt.Errorf("a TSIG key name is required")
	}
	if _, err := base64.StdEncoding.DecodeString(p.Secret); err != nil || p.Secret == "" {
		return fmt.Errorf("the TSIG secret must be base64 (as tsig-keygen prints it)")
	}
	if _, ok := Algorithms[p.Algorithm]; !ok {
		return fmt.Errorf("unknown TSIG algorithm %q (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224 or hmac-sha1)", p.Algorithm)
	}
	return nil
}

// AppendRecords adds recs (TXT only) to zone in one update.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	rrs, out, err := p.convert(zone, recs, false)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	m.Insert(rrs)
	if err := p.send(ctx, m); err != nil {
		return nil, fmt.Errorf("adding %d record(s) to %s: %w", len(rrs), zone, err)
	}
	return out, nil
}

// DeleteRecords removes recs (TXT only) from zone in one update; a record
// with empty data removes every TXT record of its name. Records that do
// not exist are ignored by the server (RFC 2136 section 3.4.2.4).
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	rrs, out, err := p.convert(zone, recs, true)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	for _, rr := range rrs {
		if len(rr.(*dns.TXT).Txt) == 0 {
			m.RemoveRRset([]dns.RR{rr})
		} else {
			m.Remove([]dns.RR{rr})
		}
	}
	if err := p.send(ctx, m); err != nil {
		return nil, fmt.Errorf("deleting %d record(s) from %s: %w", len(rrs), zone, err)
	}
	return out, nil
}

// convert turns libdns records into TXT RRs of zone, refusing anything
// else before a message is sent.
func (p *Provider) convert(zone string, recs []libdns.Record, deleting bool) ([]dns.RR, []libdns.Record, error) {
	if zone == "" {
		return nil, nil, fmt.Errorf("no zone given")
	}
	if p.Zone != "" && !strings.EqualFold(dns.Fqdn(zone), dns.Fqdn(p.Zone)) {
		return nil, nil, fmt.Errorf("zone %s is not the configured zone %s", dns.Fqdn(zone), dns.Fqdn(p.Zone))
	}
	if len(recs) == 0 || len(recs) > maxRecords {
		return nil, nil, fmt.Errorf("between 1 and %d records per update, got %d", maxRecords, len(recs))
	}
	rrs := make([]dns.RR, 0, len(recs))
	out := make([]libdns.Record, 0, len(recs))
	for _, rec := range recs {
		r := rec.RR()
		if r.Type != "TXT" && !(deleting && r.Type == "") {
			return nil, nil, fmt.Errorf("record type %q is not supported (TXT only, for ACME DNS-01)", r.Type)
		}
		if r.Name == "" {
			return nil, nil, fmt.Errorf("record without a name")
		}
		name := dns.Fqdn(libdns.AbsoluteName(r.Name, dns.Fqdn(zone)))
		if !dns.IsSubDomain(dns.Fqdn(zone), name) {
			return nil, nil, fmt.Errorf("record %s is outside zone %s", name, dns.Fqdn(zone))
		}
		ttl := r.TTL
		if ttl <= 0 {
			ttl = DefaultTTL
		}
		txt := &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: uint32(ttl / time.Second)}}
		if r.Data != "" {
			txt.Txt = chunks(r.Data)
		} else if !deleting {
			return nil, nil, fmt.Errorf("TXT record %s without data", name)
		}
		rrs = append(rrs, txt)
		out = append(out, libdns.TXT{Name: r.Name, TTL: ttl, Text: r.Data})
	}
	return rrs, out, nil
}

// chunks splits a TXT value into the 255-byte strings DNS carries.
func chunks(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// send signs m with the TSIG key and exchanges it over TCP (updates may
// exceed a UDP datagram, and TCP is not spoofable); the reply's signature
// is verified by the client.
func (p *Provider) send(ctx context.Context, m *dns.Msg) error {
	if err := p.Validate(); err != nil {
		return err
	}
	key := dns.Fqdn(strings.ToLower(p.KeyName))
	m.SetTsig(key, Algorithms[p.Algorithm], 300, time.Now().Unix())
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := &dns.Client{Net: "tcp", Timeout: timeout, TsigSecret: map[string]string{key: p.Secret}}
	r, _, err := c.ExchangeContext(ctx, m, p.Server)
	if err != nil {
		return fmt.Errorf("dynamic update to %s: %w", p.Server, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("dynamic update to %s refused: %s (check the TSIG key and the zone's allow-update / acl)", p.Server, dns.RcodeToString[r.Rcode])
	}
	return nil
}
