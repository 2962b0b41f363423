package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/portal"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

// domainCheckEvery is how often `roost work` looks for due domain checks.
const domainCheckEvery = 30 * time.Second

// newResolver answers domain checks: ROOST_DNS_SERVER when set, else the
// system resolver.
func newResolver(cfg *config.Config) verify.Resolver {
	if cfg.DNSServer != "" {
		return &verify.Server{Addr: cfg.DNSServer}
	}
	return &verify.System{}
}

// newChecker wires domain verification; web (federation/fetch) checks a
// split setup's redirects.
func newChecker(cfg *config.Config, log *slog.Logger, svc *services, store *tenantpg.SignupStore, redirects verify.Redirects) *verify.Checker {
	return &verify.Checker{
		DNS: newResolver(cfg), Web: redirects, Store: store, Hosts: svc.tenantSv, Log: log,
		Target: verify.Target{IPv4: cfg.PublicIPv4, IPv6: cfg.PublicIPv6, Hostname: cfg.PublicHostname,
			Scheme: cfg.URLScheme, Port: cfg.PublicPort},
	}
}

// newPortal builds the signup portal, or returns nil when
// ROOST_PORTAL_HOST is unset.
func newPortal(cfg *config.Config, log *slog.Logger, svc *services, redirects verify.Redirects) api.Router {
	if cfg.PortalHost == "" {
		return nil
	}
	store := tenantpg.NewSignupStore(svc.db)
	log.Info("signup portal enabled", "host", cfg.PortalHost, "signups", cfg.Signups, "base_domain", cfg.BaseDomain)
	return &portal.Handler{
		Signups: &verify.Signups{Store: store, Checker: newChecker(cfg, log, svc, store, redirects), Hosts: svc.tenantSv,
			Mode: verify.Mode(cfg.Signups), BaseDomain: cfg.BaseDomain, PortalHost: cfg.PortalHost, Log: log,
			Reserved: reservedHosts(cfg)}, // the instance's own names (signin.go)
		Accounts: portalAccounts{svc},
		Host:     cfg.PortalHost,
		URL:      httpx.URLConfig{Scheme: cfg.URLScheme, Port: cfg.PublicPort},
		Log:      log,
		Billing:  newPortalBilling(cfg, svc), // plans, payment, usage, open books (billing.go)
		SignIn:   svc.signin,                 // throttled password checks (signin.go)
	}
}

// portalAccounts creates the portal's first accounts the way `roost
// account create` does.
type portalAccounts struct{ svc *services }

func (a portalAccounts) CreateAccount(ctx context.Context, domain, username, email, password string) (*federation.Account, error) {
	return newAccounts(a.svc).Create(ctx, account.New{Domain: domain, Username: username, Email: email, Password: password})
}

// runTenantApprove is `roost tenant approve --id N`.
func runTenantApprove(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant approve", flag.ContinueOnError)
	id := fs.Int64("id", 0, "id of the tenant waiting for approval (see roost tenant list)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id <= 0 {
		return errs.E(errs.Invalid, "--id is required")
	}
	svc, err := connect(ctx, cfg, log, cfg.RedisURL != "")
	if err != nil {
		return err
	}
	defer svc.close()
	if err := svc.tenantSv.Approve(ctx, *id); err != nil {
		return err
	}
	fmt.Printf("tenant %d approved\n", *id)
	return nil
}

// runTenantInvite is `roost tenant invite [--count N] [--expires D]`.
func runTenantInvite(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant invite", flag.ContinueOnError)
	count := fs.Int("count", 1, "how many one-time codes to print")
	expires := fs.Duration("expires", 0, "how long the codes stay valid (0: until used)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *count > verify.MaxInvites { // before connecting
		return errs.E(errs.Invalid, "--count must be 1 to %d", verify.MaxInvites)
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	var until *time.Time
	if *expires > 0 {
		t := time.Now().Add(*expires)
		until = &t
	}
	codes, err := verify.CreateInvites(ctx, tenantpg.NewSignupStore(svc.db), *count, until)
	for _, code := range codes { // the codes kept, even when a later one failed
		fmt.Println(code)
	}
	return err
}

// printFlagged lists verified domains whose TXT proof disappeared.
func printFlagged(ctx context.Context, w io.Writer, svc *services) error {
	flagged, err := tenantpg.NewSignupStore(svc.db).FlaggedClaims(ctx)
	if err != nil || len(flagged) == 0 {
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAGGED DOMAIN\tTENANT\tFLAGGED SINCE\tLAST CHECK")
	for _, c := range flagged {
		last := ""
		for _, ch := range c.Checks {
			if ch.Record.Type == "TXT" {
				last = ch.Status
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.Domain, c.TenantID, c.FlaggedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}
