package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/rfc2136/zonetest"
	"github.com/roost-social/roost/internal/testenv"
)

// A `roost serve` node with ROOST_DNS01_RFC2136_* set obtains one
// certificate for *.BASE (and one for BASE) from a real ACME CA (Pebble)
// by DNS-01: its TXT records go to an authoritative DNS server through
// TSIG-signed RFC 2136 updates, Pebble validates them by asking that
// server, and the records are removed afterwards. Every subdomain tenant
// is then served with the one wildcard certificate, verified against
// Pebble's root, and no further order is made however many subdomains
// handshake.
func TestIssue20WildcardCertificateByDNS01(t *testing.T) {
	t.Parallel()
	const base, key, secret = "roost.test", "roost-acme", "dGhlIHJvb3N0IHRlc3QncyBUU0lHIHNlY3JldCEhIQ=="
	env := []string{"ROOST_DATABASE_URL=" + testenv.DatabaseURL(t), "ROOST_REDIS_URL=" + testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:wildcard:", os.Getpid())}
	cli := func(args ...string) {
		t.Helper()
		if code, _, stderr := roost(t, env, args...); code != 0 {
			t.Fatalf("roost %v: %d %s", args, code, stderr)
		}
	}
	tenants := []string{"alice." + base, "bob." + base, "carol." + base}
	for _, d := range tenants {
		cli("tenant", "create", "--name", d, "--domain", d)
	}

	zone := zonetest.Start(t, base, key, secret, dns.HmacSHA256, "127.0.0.1")
	httpPort, tlsPort := sharedPorts(t, "127.0.0.1")
	ca := startPebble(t, httpPort, tlsPort, zone.Addr)
	env = append(env, "ROOST_TLS=acme", "ROOST_ACME_CA="+ca.dir, "ROOST_ACME_CA_ROOT="+ca.caPEM,
		"ROOST_URL_SCHEME=https", "ROOST_PUBLIC_PORT="+strconv.Itoa(tlsPort), "ROOST_BASE_DOMAIN="+base,
		"ROOST_DNS01_RFC2136_SERVER="+zone.Addr, "ROOST_DNS01_RFC2136_ZONE="+base,
		"ROOST_DNS01_RFC2136_TSIG_KEY="+key, "ROOST_DNS01_RFC2136_TSIG_SECRET="+secret, "ROOST_LOG_LEVEL=debug")
	n := startTLSNode(t, env, "127.0.0.1", httpPort, tlsPort, "http-01")
	roots := ca.issuingRoots(t)

	waitFor(t, "the wildcard certificate served for "+tenants[0], func() bool {
		_, err := n.handshake(tenants[0], "", roots)
		return err == nil
	})
	first, err := n.handshake(tenants[0], "", roots)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(first.DNSNames, "*."+base) {
		t.Fatalf("%s served a certificate for %v, want *.%s", tenants[0], first.DNSNames, base)
	}
	waitFor(t, "the base's certificate", func() bool {
		_, err := n.handshake(base, "", roots)
		return err == nil
	})
	orders := ca.orders()
	if orders != 2 {
		t.Fatalf("%d orders for the wildcard and the base, want 2", orders)
	}
	// Every other subdomain tenant, and names no tenant has yet: the same
	// certificate (the chain verified against Pebble's root by the
	// handshake), no new order, no lookup.
	lookups := n.metric(t, "roost_tls_decision_lookups_total")
	for _, name := range append(tenants[1:], "dave."+base, "erin."+base) {
		leaf, err := n.handshake(name, "", roots)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Fatalf("%s served serial %v, want the wildcard's %v", name, leaf.SerialNumber, first.SerialNumber)
		}
	}
	if got := ca.orders(); got != orders {
		t.Fatalf("subdomain handshakes made %d orders", got-orders)
	}
	if got := n.metric(t, "roost_tls_decision_lookups_total"); got != lookups {
		t.Fatalf("subdomain handshakes made %v host lookups", got-lookups)
	}
	if got := n.metric(t, "roost_tls_orders_total{result=\"obtained\"}"); got != 2 {
		t.Fatalf("the node obtained %v certificates, want 2", got)
	}
	// The challenge records went through TSIG-signed updates and are gone.
	applied, refused := zone.Updates()
	if applied < 4 || refused != 0 {
		t.Fatalf("zone updates: %d applied, %d refused; want 2 additions and 2 removals", applied, refused)
	}
	if left := zone.TXT("_acme-challenge." + base); len(left) != 0 {
		t.Fatalf("challenge records left in the zone: %q", left)
	}
}

// Incomplete or invalid ROOST_DNS01_RFC2136_* settings stop the node with
// an error naming what is missing, before anything is sent; without the
// server set there is no wildcard.
func TestIssue20DNS01SettingsNeedTheirCompanions(t *testing.T) {
	full := map[string]string{"ROOST_TLS": "acme", "ROOST_BASE_DOMAIN": "roost.example",
		"ROOST_DNS01_RFC2136_SERVER": "ns1.roost.example", "ROOST_DNS01_RFC2136_TSIG_KEY": "roost-acme",
		"ROOST_DNS01_RFC2136_TSIG_SECRET": "c2VjcmV0"}
	load := func(change map[string]string) (*config.Config, error) {
		env := maps.Clone(full)
		maps.Copy(env, change)
		return config.Load(func(k string) string { return env[k] })
	}
	cfg, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dns01Wildcard(cfg)
	if err != nil || w == nil || w.Base != "roost.example" || w.Resolvers[0] != "ns1.roost.example:53" {
		t.Fatalf("complete settings: %+v, %v", w, err)
	}
	for _, c := range []struct {
		change map[string]string
		want   string
	}{
		{map[string]string{"ROOST_TLS": "self-signed"}, "ROOST_TLS=acme"},
		{map[string]string{"ROOST_BASE_DOMAIN": ""}, "ROOST_BASE_DOMAIN"},
		{map[string]string{"ROOST_DNS01_RFC2136_TSIG_KEY": ""}, "ROOST_DNS01_RFC2136_TSIG_KEY"},
		{map[string]string{"ROOST_DNS01_RFC2136_TSIG_SECRET": ""}, "ROOST_DNS01_RFC2136_TSIG_SECRET"},
	} {
		cfg, err := load(c.change)
		if err != nil {
			t.Fatalf("%v: %v", c.change, err)
		}
		if _, err := dns01Wildcard(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %s", c.change, err, c.want)
		}
	}
	for _, bad := range []map[string]string{
		{"ROOST_DNS01_RFC2136_TSIG_SECRET": "not base64!"},
		{"ROOST_DNS01_RFC2136_TSIG_ALGORITHM": "hmac-md5"},
		{"ROOST_DNS01_RFC2136_ZONE": "not a zone"},
		{"ROOST_ACME_ORDER_LIMIT": "0"},
	} {
		if _, err := load(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	cfg, _ = load(map[string]string{"ROOST_DNS01_RFC2136_SERVER": ""})
	if w, err := dns01Wildcard(cfg); w != nil || err != nil {
		t.Fatalf("no server: %+v, %v", w, err)
	}
}
