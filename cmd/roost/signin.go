package main

import (
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
)

// newSignInGuard throttles every password and code check of this node
// (ROOST_SIGNIN_*), counting in Redis so the limits hold across nodes.
func newSignInGuard(cfg *config.Config, log *slog.Logger, rdb *goredis.Client) *ratelimit.Guard {
	pw, codes := ratelimit.DefaultPasswords, ratelimit.DefaultCodes
	pw.PerIP, pw.PerLogin = cfg.SignInPerIP, cfg.SignInPerLogin
	codes.PerIP, codes.PerLogin = cfg.SignInPerIP, cfg.SignInCodes
	slots := cfg.SignInSlots
	if slots == 0 {
		slots = ratelimit.DefaultSlots()
	}
	// With Redis down the limits are counted per node instead (a logged
	// warning), so signing in neither stops nor goes unthrottled.
	store := &ratelimit.Fallback{Shared: ratelimitredis.New(rdb), Local: &ratelimit.Memory{}, Log: log}
	return ratelimit.NewGuard(store, cfg.RedisPrefix, pw, codes, slots)
}

// reservedHosts are the names the instance serves or calls itself, which
// no tenant may claim (issue 14 finding 9).
func reservedHosts(cfg *config.Config) verify.Reserved {
	hosts := []string{cfg.OperatorHost, cfg.PortalHost, cfg.PublicHostname, cfg.MetricsAddr, cfg.MediaS3Endpoint, cfg.StripeAPIURL}
	if strings.HasPrefix(cfg.ACMECA, "https://") {
		hosts = append(hosts, cfg.ACMECA)
	}
	return verify.NewReserved(cfg.BaseDomain, hosts...)
}

// checkNotReserved refuses a tenant domain (handle or service) that is one
// of the instance's own names: `roost tenant create` and `add-domain`.
func checkNotReserved(cfg *config.Config, names ...string) error {
	r := reservedHosts(cfg)
	for _, n := range names {
		if n == "" {
			continue
		}
		name, err := tenant.NormalizeDomain(strings.TrimSpace(n))
		if err != nil {
			continue // not a name: the command refuses it itself
		}
		if err := r.Check(name); err != nil {
			return errs.E(errs.Invalid, "%s (ROOST_*_HOST, ROOST_PUBLIC_HOSTNAME and the configured services are reserved)", errs.MessageOf(err))
		}
	}
	return nil
}
