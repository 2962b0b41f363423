package verify_test

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/tenant/verify"
)

// address matches an IPv4 address or a port: what a check shown to a
// tenant must never contain.
var address = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|:\d+\b|\[[0-9a-fA-F:]+\]`)

// Issue 14, finding 6 (the class): domain checks shown to tenants say
// which lookup or fetch failed and how, never the DNS server's or the
// resolved address (a handle domain resolving to loopback, a SERVFAIL, a
// server that refuses the query).
func TestIssue14Finding6DomainChecksShowNoAddresses(t *testing.T) {
	c := pendingClaim("localhost", "social.localhost", verify.Split)
	f := setup(t, c)
	f.checker.Web = fetch.New(fetch.Config{Timeout: 2 * time.Second})
	f.dns.Fail("_roost-challenge.localhost", true)
	dead, _ := net.ListenPacket("udp", "127.0.0.1:0") // answers nothing
	defer dead.Close()
	checks := f.checker.Inspect(context.Background(), &c)
	want := map[string]string{
		"TXT":      "the DNS server answered SERVFAIL",
		"Redirect": "the address of localhost is not allowed",
	}
	for _, ch := range checks {
		if address.MatchString(strings.ReplaceAll(ch.Status, ch.Record.Name, "NAME")) {
			t.Errorf("%s check shows an address: %q", ch.Record.Type, ch.Status)
		}
		if w, ok := want[ch.Record.Type]; ok && !strings.Contains(ch.Status, w) {
			t.Errorf("%s check %q, want it to say %q", ch.Record.Type, ch.Status, w)
		}
	}
	f.checker.DNS = &verify.Server{Addr: dead.LocalAddr().String(), Timeout: 200 * time.Millisecond}
	for _, ch := range f.checker.Inspect(context.Background(), &c) {
		if ch.Record.Type == "TXT" && (address.MatchString(ch.Status) || !strings.Contains(ch.Status, "the DNS query timed out")) {
			t.Errorf("unanswered DNS: %q", ch.Status)
		}
	}
}
