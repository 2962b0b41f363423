package main

import (
	"fmt"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/rfc2136"
	"github.com/roost-social/roost/tenant/certs"
)

// dns01Wildcard wires ROOST_DNS01_RFC2136_*: the base domain's wildcard
// certificate by DNS-01 through the operator's DNS server (nil when the
// server is not set).
func dns01Wildcard(cfg *config.Config) (*certs.Wildcard, error) {
	d := cfg.DNS01
	if d.Server == "" {
		return nil, nil
	}
	switch {
	case cfg.TLS != "acme":
		return nil, fmt.Errorf("ROOST_DNS01_RFC2136_SERVER is set: it needs ROOST_TLS=acme")
	case cfg.BaseDomain == "":
		return nil, fmt.Errorf("ROOST_DNS01_RFC2136_SERVER is set: it needs ROOST_BASE_DOMAIN (the domain of the wildcard certificate)")
	case d.KeyName == "" || d.Secret == "":
		return nil, fmt.Errorf("ROOST_DNS01_RFC2136_SERVER is set: it needs ROOST_DNS01_RFC2136_TSIG_KEY and ROOST_DNS01_RFC2136_TSIG_SECRET")
	}
	p := &rfc2136.Provider{Server: d.Server, Zone: d.Zone, KeyName: d.KeyName, Secret: d.Secret, Algorithm: d.Algorithm}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("ROOST_DNS01_RFC2136_*: %w", err)
	}
	// The update server is authoritative for the zone: it answers the SOA
	// query that finds the zone and the propagation check.
	return &certs.Wildcard{Base: cfg.BaseDomain, DNS: p, Resolvers: []string{d.Server}}, nil
}
