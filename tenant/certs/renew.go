package certs

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"github.com/caddyserver/certmagic"
)

// certmagic renews on-demand certificates only from handshakes: a domain
// without visitors would let its certificate lapse. The sweep below
// renews every due certificate in storage in the background, once per
// instance at a time (a storage lock), so the first visitor after a quiet
// month gets a valid certificate at once.

// RenewEvery is how often Run sweeps for due certificates.
const RenewEvery = 6 * time.Hour

const sweepLock = "roost_renewal_sweep"

// Run sweeps for due certificates every RenewEvery (jittered, the first a
// minute after start) until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	m.StartWildcard(ctx)
	wait := time.Minute + rand.N(time.Minute)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = RenewEvery/2 + rand.N(RenewEvery)
		// Every node picks up a wildcard another node's sweep renewed.
		m.refreshWildcard(ctx)
		got, err := m.storage.TryLock(ctx, sweepLock)
		if err != nil || !got {
			continue // the database is down, or another node sweeps now
		}
		n, err := m.RenewDue(ctx)
		if uerr := m.storage.Unlock(ctx, sweepLock); uerr != nil {
			// Other nodes sweep again once the lock expires.
			m.log.Warn("releasing the renewal sweep lock failed", "err", uerr)
		}
		if err != nil {
			m.log.Warn("certificate renewal sweep failed", "renewed", n, "err", err)
		} else if n > 0 {
			m.log.Info("certificate renewal sweep", "renewed", n)
		}
	}
}

// RenewDue renews, one at a time and most urgent first, every stored
// certificate of the current issuer whose renewal time has come (see
// renewAt: the CA's ARI window, else a spread-out fallback) and whose
// name the Decider still allows (a suspended tenant's certificate is left
// to expire). It returns how many it renewed; a failure is recorded in
// the name's status and retried at the next sweep, and the sweep stops
// early once the instance's order budget is spent.
func (m *Manager) RenewDue(ctx context.Context) (int, error) {
	statuses, err := m.storage.Statuses(ctx)
	if err != nil {
		return 0, err
	}
	sort.SliceStable(statuses, func(i, j int) bool { return statuses[i].NotAfter.Before(statuses[j].NotAfter) })
	issuerKey := m.cfg.Issuers[0].IssuerKey()
	_, acme := m.cfg.Issuers[0].(certmagic.RenewalInfoGetter)
	now := m.now()
	renewed, fetches := 0, 0
	for _, st := range statuses {
		if ctx.Err() != nil {
			return renewed, ctx.Err()
		}
		wild := m.wildcardName(st.Name)
		if st.NotAfter.IsZero() || certmagic.StorageKeys.Safe(st.Issuer) != certmagic.StorageKeys.Safe(issuerKey) || (!wild && m.wildcardManaged(st.Name)) {
			continue
		}
		// Cheap filter on the status, before any storage read: a young
		// certificate, before the earliest moment renewAt can give (and
		// before the last third, where ARI windows lie), costs no read
		// and no fetch.
		if now.Before(st.NotAfter.Add(-time.Duration(float64(st.NotAfter.Sub(st.NotBefore)) * m.horizon()))) {
			continue
		}
		s, err := m.loadStored(ctx, issuerKey, st.Name)
		if err != nil {
			continue // removed meanwhile, or another issuer's
		}
		if acme && fetches < maxARIFetchesPerSweep && m.needsARI(s, now) {
			fetches++
			if err := m.fetchARI(ctx, s); err != nil {
				m.ariFailed.Add(1)
				m.log.Debug("fetching renewal information failed; the fallback schedule applies", "name", st.Name, "err", err)
			} else {
				m.ariFetched.Add(1)
			}
		}
		if now.Before(m.renewAt(s)) {
			continue
		}
		cfg := m.cfg
		if wild {
			cfg = m.wcfg // the base domain's own names: no tenant to decide on
		} else if err := m.decider.DecideFor(ctx, st.Name, netip.Addr{}); err != nil {
			continue
		}
		// Forced: the schedule above decided, and certmagic's own check
		// (the end of the lifetime by ratio) would refuse an early, spread
		// renewal.
		if err := cfg.RenewCertSync(ctx, st.Name, true); err != nil {
			if errors.Is(err, errOrderBudget) || errors.Is(err, errIssueLimited) {
				m.log.Info("renewal sweep paused: order limit reached", "renewed", renewed, "err", err)
				return renewed, nil
			}
			m.log.Warn("renewing certificate failed", "name", st.Name, "not_after", st.NotAfter, "err", err)
			continue
		}
		if wild {
			m.reloadWildcard(ctx, st.Name)
		}
		renewed++
	}
	return renewed, nil
}

// wildcardManaged says whether name is renewed by the wildcard
// configuration's own maintenance (the wildcard and the base), or no
// longer renewed at all (a subdomain certificate obtained before the
// wildcard was configured: the wildcard serves that name now).
func (m *Manager) wildcardManaged(name string) bool {
	if m.base == "" {
		return false
	}
	return m.covers(name) || name == "*."+m.base || name == certmagic.StorageKeys.Safe("*."+m.base)
}

// horizon is the part of a lifetime, at its end, in which renewAt may
// fall: the ratio window and its spread (a third more), at least the
// last third (ARI windows).
func (m *Manager) horizon() float64 {
	return min(1, max(m.ratio*4/3, 1.0/3))
}
