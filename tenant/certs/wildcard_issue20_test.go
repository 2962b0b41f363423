package certs

import (
	"context"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/rfc2136"
)

// With a wildcard configured, the base and every name one label under it
// are served by the DNS-01 configuration and refused by the on-demand
// DecisionFunc (so they can never cost an order of their own); deeper
// names, other domains and look-alikes stay on demand. The wildcard
// needs ACME.
func TestIssue20WildcardCoversOneLabelUnderTheBase(t *testing.T) {
	dns := &rfc2136.Provider{Server: "127.0.0.1:53", KeyName: "k", Secret: "c2VjcmV0", Algorithm: "hmac-sha256"}
	m, err := New(Options{Mode: ACME, CA: "https://127.0.0.1:1/dir", HTTP01: true, Storage: NewStorage(nil),
		Decider: NewDecider(nil), Wildcard: &Wildcard{Base: "roost.test", DNS: dns}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for name, want := range map[string]bool{
		"roost.test": true, "alice.roost.test": true, "portal.roost.test": true,
		"a.b.roost.test": false, "roost.test.evil": false, "xroost.test": false, "evilroost.test": false,
		".roost.test": false, "example.test": false,
	} {
		if got := m.covers(name); got != want {
			t.Errorf("covers(%q) = %v, want %v", name, got, want)
		}
		if want && !errs.Is(m.decide(context.Background(), name), errs.NotFound) {
			t.Errorf("on-demand decision allowed %q, which the wildcard serves", name)
		}
	}
	if !m.wildcardManaged("*.roost.test") || !m.wildcardManaged("wildcard_.roost.test") || m.wildcardManaged("a.test") {
		t.Error("wildcardManaged: the sweep would renew the wildcard's names, or skip an own domain")
	}
	if _, err := New(Options{Mode: SelfSigned, Storage: NewStorage(nil), Decider: NewDecider(nil),
		Wildcard: &Wildcard{Base: "roost.test", DNS: dns}}); err == nil {
		t.Error("a wildcard without ACME was accepted")
	}
	if _, err := New(Options{Mode: ACME, CA: "https://127.0.0.1:1/dir", HTTP01: true, Storage: NewStorage(nil),
		Decider: NewDecider(nil), Wildcard: &Wildcard{Base: "roost.test"}}); err == nil {
		t.Error("a wildcard without a DNS provider was accepted")
	}
}
