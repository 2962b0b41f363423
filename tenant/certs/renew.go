package certs

import (
	"context"
	"math/rand/v2"
	"net/netip"
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
	wait := time.Minute + rand.N(time.Minute)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = RenewEvery/2 + rand.N(RenewEvery)
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

// RenewDue renews, one at a time, every stored certificate of the current
// issuer that is in its renewal window and whose name the Decider still
// allows (a suspended tenant's certificate is left to expire). It returns
// how many it renewed; a failure is recorded in the name's status and
// retried at the next sweep.
func (m *Manager) RenewDue(ctx context.Context) (int, error) {
	statuses, err := m.storage.Statuses(ctx)
	if err != nil {
		return 0, err
	}
	issuer := certmagic.StorageKeys.Safe(m.cfg.Issuers[0].IssuerKey())
	renewed := 0
	for _, st := range statuses {
		if ctx.Err() != nil {
			return renewed, ctx.Err()
		}
		if st.NotAfter.IsZero() || certmagic.StorageKeys.Safe(st.Issuer) != issuer || !m.due(st) {
			continue
		}
		if err := m.decider.DecideFor(ctx, st.Name, netip.Addr{}); err != nil {
			continue
		}
		if err := m.cfg.RenewCertSync(ctx, st.Name, false); err != nil {
			m.log.Warn("renewing certificate failed", "name", st.Name, "not_after", st.NotAfter, "err", err)
			continue
		}
		renewed++
	}
	return renewed, nil
}

func (m *Manager) due(st Status) bool {
	lifetime := st.NotAfter.Sub(st.NotBefore)
	return time.Until(st.NotAfter) < time.Duration(float64(lifetime)*m.ratio)
}
