// Package dnstest runs a real DNS server on loopback (miekg/dns, UDP) that
// answers authoritatively from records a test adds and removes, so domain
// checks are tested over the wire, from this package's tests and from
// processes such as `roost serve` (ROOST_DNS_SERVER).
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	// Addr is its "127.0.0.1:port".
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	failing map[string]bool
	srv     *dns.Server
}

// Start runs a server until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: pc.LocalAddr().String(), records: map[string][]dns.RR{}, failing: map[string]bool{}}
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	go s.srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { s.srv.Shutdown() })
	return s
}

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// Add adds records in zone-file syntax, such as
// `_roost-challenge.alice.test. 60 IN TXT "roost-ABC"` (a bare name gets
// its trailing dot).
func (s *Server) Add(t testing.TB, zoneLines ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range zoneLines {
		if f := strings.Fields(l); len(f) > 0 && !strings.HasSuffix(f[0], ".") {
			l = f[0] + "." + l[len(f[0]):]
		}
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("dnstest: %q: %v", l, err)
		}
		k := key(rr.Header().Name)
		s.records[k] = append(s.records[k], rr)
	}
}

// Remove deletes name's records of type rtype ("TXT", "A"...).
func (s *Server) Remove(name, rtype string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, qt := key(name), dns.StringToType[rtype]
	var keep []dns.RR
	for _, rr := range s.records[k] {
		if rr.Header().Rrtype != qt {
			keep = append(keep, rr)
		}
	}
	s.records[k] = keep
}

// Fail makes every query for name answer SERVFAIL (or, with false,
// answer normally again).
func (s *Server) Fail(name string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[key(name)] = fail
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	name := key(q.Name)
	if s.failing[name] {
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	// Follow CNAMEs within the zone, as a resolver would.
	for hops := 0; hops < 8; hops++ {
		var cname *dns.CNAME
		for _, rr := range s.records[name] {
			switch {
			case rr.Header().Rrtype == q.Qtype:
				m.Answer = append(m.Answer, rr)
			case rr.Header().Rrtype == dns.TypeCNAME:
				cname = rr.(*dns.CNAME)
			}
		}
		if cname == nil || q.Qtype == dns.TypeCNAME {
			break
		}
		m.Answer = append(m.Answer, cname)
		name = key(cname.Target)
	}
	if len(m.Answer) == 0 && !s.exists(key(q.Name)) {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

// exists reports whether name has records or names under it.
func (s *Server) exists(name string) bool {
	for k, rrs := range s.records {
		if len(rrs) > 0 && (k == name || strings.HasSuffix(k, "."+name)) {
			return true
		}
	}
	return false
}
