package verify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roost-social/roost/tenant"
)

// Store keeps claims and their checks. Implementations MUST be safe for
// concurrent use; every time comes from the caller's clock.
type Store interface {
	// Claim returns the claim on domain, or errs.NotFound.
	Claim(ctx context.Context, domain string) (*Claim, error)
	// DueClaims returns up to limit claims whose next check is due at now,
	// moving their next check to now+lease so that other checkers skip
	// them meanwhile (a crashed checker's claims come back after lease).
	DueClaims(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claim, error)
	// SaveCheck records a check of the claim on domain, which was in
	// state from. Moving from Pending to Verified also marks the domain
	// verified, so it is served. It reports false, changing nothing, when
	// the claim is gone or no longer in state from.
	SaveCheck(ctx context.Context, domain string, from State, u Update) (bool, error)
	// Expire deletes the pending claim on domain if it expired by now,
	// with its (never verified) domain, freeing the names, and leaves a
	// notice for the signup. It reports whether it did.
	Expire(ctx context.Context, domain string, now time.Time) (bool, error)
}

// Update is a claim's state after a check.
type Update struct {
	State       State
	Checks      []Check
	Attempts    int
	CheckedAt   time.Time
	NextCheckAt time.Time
	FlaggedAt   *time.Time
}

// Checker runs the checks and moves claims between states.
type Checker struct {
	DNS Resolver
	// Web checks a split setup's redirects; nil cannot check them.
	Web    Redirects
	Store  Store
	Target Target
	// Hosts is told when a domain becomes served (tenant.Service, which
	// invalidates every node's host cache); nil tells nobody.
	Hosts tenant.Invalidator
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

func (k *Checker) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Checker) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.Default()
}

// CheckNow checks the claim on domain at once ("Check now" on the
// portal) and returns it as it stands after: verified when every record
// is right, or errs.NotFound when it had expired. A manual check does not
// move the background schedule.
func (k *Checker) CheckNow(ctx context.Context, domain string) (*Claim, error) {
	c, err := k.Store.Claim(ctx, domain)
	if err != nil {
		return nil, err
	}
	if err := k.check(ctx, c, true); err != nil {
		return nil, err
	}
	return k.Store.Claim(ctx, domain)
}

// txtState summarises checks: whether all passed, and whether the TXT
// proof was found or definitely absent.
func txtState(checks []Check) (all, txtFound, txtGone bool) {
	all = true
	for _, c := range checks {
		all = all && c.OK
		if c.Record.Type == "TXT" {
			txtFound, txtGone = c.OK, !c.OK && !c.Transient
		}
	}
	return all, txtFound, txtGone
}

// check inspects c and applies the outcome:
//   - pending: every record right → verified (and served); past its
//     expiry → expired, the names freed; else the next background check
//     backs off (1 min doubling to 1 h, never past the expiry);
//   - verified: re-checked daily; a TXT record definitely gone → flagged;
//   - flagged: re-checked daily; the TXT record back → verified.
func (k *Checker) check(ctx context.Context, c *Claim, manual bool) error {
	if c.Kind == Subdomain {
		return nil
	}
	checks := k.Inspect(ctx, c)
	now := k.now()
	all, txtFound, txtGone := txtState(checks)
	u := Update{State: c.State, Checks: checks, Attempts: c.Attempts, CheckedAt: now, FlaggedAt: c.FlaggedAt,
		NextCheckAt: now.Add(RecheckEvery)}
	log := k.log().With("domain", c.Domain, "tenant", c.TenantID)
	switch c.State {
	case Pending:
		switch {
		case all:
			u.State, u.Attempts = Verified, 0
		case !now.Before(c.ExpiresAt):
			expired, err := k.Store.Expire(ctx, c.Domain, now)
			if expired {
				log.InfoContext(ctx, "domain claim expired without its DNS records; the name is free again")
			}
			return err
		case manual && c.NextCheckAt != nil:
			u.NextCheckAt = *c.NextCheckAt
		default:
			u.Attempts++
			u.NextCheckAt = now.Add(Backoff(c.Attempts))
			if u.NextCheckAt.After(c.ExpiresAt) {
				u.NextCheckAt = c.ExpiresAt
			}
		}
	case Verified:
		if txtGone {
			u.State, u.FlaggedAt = Flagged, &now
		}
	case Flagged:
		if txtFound {
			u.State, u.FlaggedAt = Verified, nil
		}
	}
	saved, err := k.Store.SaveCheck(ctx, c.Domain, c.State, u)
	if err != nil || !saved {
		return err
	}
	switch {
	case c.State == Pending && u.State == Verified:
		log.InfoContext(ctx, "domain verified")
		k.hostsChanged(ctx, c.Domain, c.ServiceDomain)
	case u.State == Flagged && c.State != Flagged:
		log.WarnContext(ctx, "verified domain lost its TXT proof; flagged for the operator (still served)",
			"txt", ChallengeName(c.Domain))
	case c.State == Flagged && u.State == Verified:
		log.InfoContext(ctx, "flagged domain has its TXT proof again")
	}
	return nil
}

func (k *Checker) hostsChanged(ctx context.Context, hosts ...string) {
	if k.Hosts != nil {
		k.Hosts.HostsChanged(ctx, hosts...)
	}
}

// Background checking limits.
const (
	batchSize   = 50
	parallel    = 8
	leaseLength = 5 * time.Minute
	// claimTimeout bounds one claim's checks (a few lookups and fetches).
	claimTimeout = 30 * time.Second
)

// RunDue checks the claims due now, a few at a time, and returns how
// many it took.
func (k *Checker) RunDue(ctx context.Context) (int, error) {
	claims, err := k.Store.DueClaims(ctx, k.now(), leaseLength, batchSize)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range claims {
		sem <- struct{}{}
		wg.Add(1)
		go func(c *Claim) {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, claimTimeout)
			defer cancel()
			if err := k.check(cctx, c, false); err != nil && ctx.Err() == nil {
				k.log().WarnContext(ctx, "domain check failed", "domain", c.Domain, "err", err)
			}
		}(&claims[i])
	}
	wg.Wait()
	return len(claims), nil
}
