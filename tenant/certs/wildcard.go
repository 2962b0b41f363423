package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/roost-social/roost/internal/errs"
)

// Subdomain tenants (alice.BASE) would each cost an ACME order on demand:
// at 100,000 of them that alone exceeds a CA's per-account limits. With a
// Wildcard configured, one certificate for *.BASE and one for BASE are
// obtained by DNS-01 (the only challenge a CA accepts for a wildcard) and
// kept up by certmagic's maintenance like any managed certificate; names
// they cover never reach the on-demand path, so they cost no order and no
// database lookup. Tenants' own domains keep on-demand HTTP-01/TLS-ALPN-01.

// Wildcard configures the DNS-01 certificate for a base domain.
type Wildcard struct {
	// Base is ROOST_BASE_DOMAIN (lower case, no trailing dot).
	Base string
	// DNS adds and removes the challenge's TXT records (a libdns
	// provider, e.g. internal/rfc2136).
	DNS certmagic.DNSProvider
	// Resolvers are asked for the zone's SOA and for the TXT record's
	// propagation (host:port); empty: the system's resolvers and then the
	// zone's authoritative servers.
	Resolvers []string
	// PropagationTimeout bounds the wait for the record to be visible
	// (0: certmagic's two minutes; -1: no check).
	PropagationTimeout time.Duration
}

var errCoveredByWildcard = errs.E(errs.NotFound, "served by the base domain's wildcard certificate, never on demand")

// wildcardNames are the names the DNS-01 configuration manages.
func (w *Wildcard) names() []string { return []string{"*." + w.Base, w.Base} }

// covers says whether name (normalized) is served by the wildcard
// configuration: the base itself or one label under it (a wildcard
// matches exactly one label).
func (m *Manager) covers(name string) bool {
	if m.base == "" {
		return false
	}
	if name == m.base {
		return true
	}
	label, ok := strings.CutSuffix(name, "."+m.base)
	return ok && label != "" && !strings.Contains(label, ".")
}

// newWildcardConfig builds the certmagic configuration of the base
// domain: its own cache (a handful of certificates, never evicted by the
// tenants' churn) and an ACME issuer with only the DNS-01 challenge.
func (m *Manager) newWildcardConfig(w *Wildcard, tmpl certmagic.ACMEIssuer, storage certmagic.Storage) error {
	if w.DNS == nil || w.Base == "" {
		return errors.New("a wildcard certificate needs a base domain and a DNS provider")
	}
	var wcfg *certmagic.Config
	m.wcache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return wcfg, nil },
		Capacity:         0, // unbounded: it holds two certificates
		Logger:           tmpl.Logger,
	})
	wcfg = certmagic.New(m.wcache, certmagic.Config{
		// The renewal sweep renews these by the CA's ARI window (or the
		// spread fallback), as every on-demand certificate; certmagic's
		// own maintenance would renew at the ratio (two-thirds of the
		// lifetime) whatever the CA says, so it keeps only the emergency
		// end of the lifetime, as renewAt caps it.
		RenewalWindowRatio: emergencyRatio,
		Storage:            storage,
		OnEvent:            m.onEvent,
		ShouldEmitFunc: func(event string) bool {
			return event == "cert_obtaining" || event == "cert_obtained" || event == "cert_failed"
		},
		Logger: tmpl.Logger,
	})
	tmpl.DisableHTTPChallenge, tmpl.DisableTLSALPNChallenge = true, true
	tmpl.DNS01Solver = &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
		DNSProvider:        w.DNS,
		Resolvers:          w.Resolvers,
		PropagationTimeout: w.PropagationTimeout,
		Logger:             tmpl.Logger,
	}}
	wcfg.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(wcfg, tmpl)}
	m.wcfg, m.wildcard, m.base = wcfg, w, w.Base
	return nil
}

// emergencyRatio is the end of a lifetime where renewal no longer waits
// for any schedule (renewAt's cap; certmagic's ARI override too).
const emergencyRatio = 1.0 / 20

// StartWildcard loads the base domain's certificates from storage, or
// obtains them in the background (one node at a time: certmagic locks in
// shared storage). Run calls it first; the renewal sweep then renews them
// in the CA's window. Without a wildcard it does nothing.
func (m *Manager) StartWildcard(ctx context.Context) {
	if m.wcfg == nil {
		return
	}
	if err := m.wcfg.ManageAsync(ctx, m.wildcard.names()); err != nil {
		m.log.Error("managing the base domain's wildcard certificate failed", "base", m.base, "err", err)
	}
}

// WildcardLeaf returns the certificate now served for *.BASE (nil when
// there is none yet, or no wildcard is configured).
func (m *Manager) WildcardLeaf() *x509.Certificate {
	if m.wcfg == nil {
		return nil
	}
	for _, c := range m.wcache.AllMatchingCertificates("*." + m.base) {
		if c.Leaf != nil {
			return c.Leaf
		}
	}
	return nil
}

// wildcardName says whether name is one of the base domain's own
// certificates (the wildcard or the base), which the sweep renews through
// the DNS-01 configuration.
func (m *Manager) wildcardName(name string) bool {
	return m.base != "" && (name == m.base || name == "*."+m.base)
}

// reloadWildcard puts name's certificate from storage in the base
// domain's cache and then drops the copies it replaces, so a handshake
// never finds none.
func (m *Manager) reloadWildcard(ctx context.Context, name string) {
	fresh, err := m.wcfg.CacheManagedCertificate(ctx, name)
	if err != nil {
		m.log.Warn("loading the renewed base domain certificate failed; the old one is served until certmagic reloads it", "name", name, "err", err)
		return
	}
	var stale []string
	for _, c := range m.wcache.AllMatchingCertificates(name) {
		if c.Hash() != fresh.Hash() && (c.Leaf == nil || !c.Leaf.NotAfter.After(fresh.Leaf.NotAfter)) {
			stale = append(stale, c.Hash())
		}
	}
	m.wcache.Remove(stale)
}

// refreshWildcard reloads the base domain's certificates that another
// node renewed: a stored certificate newer than the one in memory.
func (m *Manager) refreshWildcard(ctx context.Context) {
	if m.wcfg == nil {
		return
	}
	issuerKey := m.wcfg.Issuers[0].IssuerKey()
	for _, name := range m.wildcard.names() {
		s, err := m.loadStored(ctx, issuerKey, name)
		if err != nil {
			continue
		}
		current := m.wcache.AllMatchingCertificates(name)
		if len(current) == 0 || (current[0].Leaf != nil && s.leaf.NotAfter.After(current[0].Leaf.NotAfter)) {
			m.reloadWildcard(ctx, name)
		}
	}
}
