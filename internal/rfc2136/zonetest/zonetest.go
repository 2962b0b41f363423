// Package zonetest is an in-process authoritative DNS server for tests:
// one zone held in memory that accepts RFC 2136 dynamic updates signed
// with a TSIG key (refusing unsigned or badly signed ones), and answers
// SOA, TXT and A queries over TCP and UDP on 127.0.0.1. It stands in for
// an operator's BIND or Knot when a test obtains a certificate by ACME
// DNS-01 from a real test CA.
package zonetest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is one running zone.
type Server struct {
	// Addr is host:port, the same for TCP and UDP.
	Addr string
	zone string
	// A answers every A query in the zone (empty: none).
	a string

	mu                           sync.Mutex
	records                      map[string][]dns.RR // fqdn -> records (TXT only)
	updates, refused, txtQueries int
}

// Start serves zone, accepting updates signed with key (a TSIG key name),
// secret (base64) and algorithm (a miekg/dns name, e.g. dns.HmacSHA256).
// a, when set, is the address every A query in the zone gets. The server
// stops when the test ends.
func Start(t testing.TB, zone, key, secret, algorithm, a string) *Server {
	t.Helper()
	s := &Server{zone: dns.Fqdn(strings.ToLower(zone)), a: a, records: map[string][]dns.RR{}}
	secrets := map[string]string{dns.Fqdn(key): secret}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serve(w, r, algorithm) })
	servers := []*dns.Server{{Listener: l, Handler: handler, TsigSecret: secrets, MsgAcceptFunc: acceptUpdates}}
	if pc, err := net.ListenPacket("udp", s.Addr); err == nil {
		servers = append(servers, &dns.Server{PacketConn: pc, Handler: handler, TsigSecret: secrets, MsgAcceptFunc: acceptUpdates})
	}
	for _, srv := range servers {
		// It returns when Shutdown closes it; a failure to serve shows as
		// the test's queries failing.
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// acceptUpdates lets UPDATE messages through (miekg/dns's default
// refuses every opcode but QUERY and NOTIFY).
func acceptUpdates(h dns.Header) dns.MsgAcceptAction {
	if int(h.Bits>>11)&0xF == dns.OpcodeUpdate {
		return dns.MsgAccept
	}
	return dns.DefaultMsgAcceptFunc(h)
}

// Updates counts the updates applied; Refused those refused.
func (s *Server) Updates() (applied, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates, s.refused
}

// TXTQueries counts TXT queries answered (the CA's validations, the
// solver's propagation checks).
func (s *Server) TXTQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txtQueries
}

// TXT returns the TXT values now held at name.
func (s *Server) TXT(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, rr := range s.records[dns.Fqdn(strings.ToLower(name))] {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg, algorithm string) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if r.Opcode == dns.OpcodeUpdate {
		m.Rcode = s.update(w, r)
		if t := r.IsTsig(); t != nil && w.TsigStatus() == nil {
			m.SetTsig(t.Hdr.Name, algorithm, 300, int64(t.TimeSigned))
		}
		_ = w.WriteMsg(m) // a client gone is the client's problem
		return
	}
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		if !dns.IsSubDomain(s.zone, name) {
			m.Rcode = dns.RcodeRefused
			break
		}
		switch q.Qtype {
		case dns.TypeSOA:
			if name == s.zone {
				m.Answer = append(m.Answer, s.soa())
			} else {
				m.Ns = append(m.Ns, s.soa())
			}
		case dns.TypeTXT:
			s.mu.Lock()
			s.txtQueries++
			for _, rr := range s.records[name] {
				c := dns.Copy(rr)
				c.Header().Name = q.Name
				m.Answer = append(m.Answer, c)
			}
			s.mu.Unlock()
		case dns.TypeA:
			if s.a != "" {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(s.a)})
			}
		}
	}
	_ = w.WriteMsg(m)
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: s.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
		Ns: "ns1." + s.zone, Mbox: "hostmaster." + s.zone, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60}
}

// update applies an UPDATE (RFC 2136 section 3.4: add, delete one RR,
// delete an RRset, TXT records only) if it is signed with the key and
// names this zone; it returns the response code.
func (s *Server) update(w dns.ResponseWriter, r *dns.Msg) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.IsTsig() == nil || w.TsigStatus() != nil {
		s.refused++
		return dns.RcodeNotAuth
	}
	if len(r.Question) != 1 || strings.ToLower(r.Question[0].Name) != s.zone || r.Question[0].Qtype != dns.TypeSOA {
		s.refused++
		return dns.RcodeNotZone
	}
	for _, rr := range r.Ns {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		if !dns.IsSubDomain(s.zone, name) {
			s.refused++
			return dns.RcodeNotZone
		}
		if h.Rrtype != dns.TypeTXT && h.Rrtype != dns.TypeANY {
			s.refused++
			return dns.RcodeRefused
		}
	}
	for _, rr := range r.Ns {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		switch h.Class {
		case dns.ClassINET:
			if !s.has(name, rr) {
				c := dns.Copy(rr)
				c.Header().Name = name
				s.records[name] = append(s.records[name], c)
			}
		case dns.ClassNONE:
			kept := s.records[name][:0]
			for _, old := range s.records[name] {
				if !sameData(old, rr) {
					kept = append(kept, old)
				}
			}
			s.records[name] = kept
		case dns.ClassANY:
			delete(s.records, name)
		}
	}
	s.updates++
	return dns.RcodeSuccess
}

func (s *Server) has(name string, rr dns.RR) bool {
	for _, old := range s.records[name] {
		if sameData(old, rr) {
			return true
		}
	}
	return false
}

func sameData(a, b dns.RR) bool {
	ta, ok1 := a.(*dns.TXT)
	tb, ok2 := b.(*dns.TXT)
	return ok1 && ok2 && strings.Join(ta.Txt, "") == strings.Join(tb.Txt, "")
}
