package rfc2136_test

import (
	"context"
	"slices"
	"testing"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/rfc2136"
	"github.com/roost-social/roost/internal/rfc2136/zonetest"
)

const secret = "c2VjcmV0IHNoYXJlZCB3aXRoIHRoZSBETlMgc2VydmVyIQ=="

// The provider adds and removes DNS-01 TXT records with TSIG-signed
// updates on a real (in-process) authoritative server: two values at one
// name (a wildcard and its base are validated at the same name), then one
// removed; a wrong key, another zone and other record types are refused.
func TestIssue20RFC2136ProviderUpdatesZone(t *testing.T) {
	ctx := context.Background()
	zone := zonetest.Start(t, "roost.test", "roost-acme", secret, dns.HmacSHA256, "")
	p := &rfc2136.Provider{Server: zone.Addr, KeyName: "roost-acme", Secret: secret, Algorithm: "hmac-sha256", Zone: "roost.test"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	txt := func(v string) []libdns.Record {
		return []libdns.Record{libdns.RR{Name: "_acme-challenge", Type: "TXT", Data: v}}
	}
	for _, v := range []string{"token-one", "token-two"} {
		got, err := p.AppendRecords(ctx, "roost.test.", txt(v))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].RR().Data != v || got[0].RR().Name != "_acme-challenge" {
			t.Fatalf("append returned %+v", got)
		}
	}
	values := zone.TXT("_acme-challenge.roost.test")
	slices.Sort(values)
	if !slices.Equal(values, []string{"token-one", "token-two"}) {
		t.Fatalf("zone holds %q", values)
	}
	if _, err := p.DeleteRecords(ctx, "roost.test.", txt("token-one")); err != nil {
		t.Fatal(err)
	}
	if values := zone.TXT("_acme-challenge.roost.test"); !slices.Equal(values, []string{"token-two"}) {
		t.Fatalf("after deleting one value the zone holds %q", values)
	}

	// A wrong secret: the server refuses, the caller gets an error, the
	// zone is unchanged.
	bad := *p
	bad.Secret = "d3Jvbmcgc2VjcmV0"
	if _, err := bad.AppendRecords(ctx, "roost.test.", txt("intruder")); err == nil {
		t.Fatal("update with a wrong TSIG secret succeeded")
	}
	if _, refused := zone.Updates(); refused != 1 || len(zone.TXT("_acme-challenge.roost.test")) != 1 {
		t.Fatal("the bad update changed the zone")
	}
	// Refused before sending: another zone, another type, no data, a name outside the zone.
	applied, _ := zone.Updates()
	for name, call := range map[string]func() error{
		"other zone": func() error { _, err := p.AppendRecords(ctx, "example.test.", txt("x")); return err },
		"A record": func() error {
			_, err := p.AppendRecords(ctx, "roost.test.", []libdns.Record{libdns.RR{Name: "www", Type: "A", Data: "192.0.2.1"}})
			return err
		},
		"empty TXT":  func() error { _, err := p.AppendRecords(ctx, "roost.test.", txt("")); return err },
		"no records": func() error { _, err := p.AppendRecords(ctx, "roost.test.", nil); return err },
		"outside zone": func() error {
			_, err := p.AppendRecords(ctx, "roost.test.", []libdns.Record{libdns.RR{Name: "x.example.test.", Type: "TXT", Data: "x"}})
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if now, _ := zone.Updates(); now != applied {
		t.Fatalf("refused calls sent %d updates", now-applied)
	}
	for _, bad := range []rfc2136.Provider{
		{Server: "nohost", KeyName: "k", Secret: secret, Algorithm: "hmac-sha256"},
		{Server: zone.Addr, Secret: secret, Algorithm: "hmac-sha256"},
		{Server: zone.Addr, KeyName: "k", Secret: "not base64!", Algorithm: "hmac-sha256"},
		{Server: zone.Addr, KeyName: "k", Secret: secret, Algorithm: "hmac-md5"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}
