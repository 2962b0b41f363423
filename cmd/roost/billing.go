package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/admin/model"
	apibilling "github.com/roost-social/roost/api/billing"
	"github.com/roost-social/roost/billing"
	billingpg "github.com/roost-social/roost/billing/postgres"
	billingstripe "github.com/roost-social/roost/billing/stripe"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// billingEvery is how often `roost work` enforces the grace period.
const billingEvery = 5 * time.Minute

// billingActor is who the audit log names for billing's own actions.
var billingActor = model.Actor{Email: "billing"}

// tenantSuspender suspends through the operator dashboard's path: the
// status change and its audit entry in one transaction, then every node's
// host cache is told.
type tenantSuspender struct {
	admin  *tenantpg.AdminStore
	notify tenant.Notifier
	log    *slog.Logger
}

func (s tenantSuspender) Suspend(ctx context.Context, id int64, reason string) error {
	return s.set(ctx, id, tenant.Active, tenant.Suspended, "billing.suspend")
}

func (s tenantSuspender) Unsuspend(ctx context.Context, id int64, reason string) error {
	return s.set(ctx, id, tenant.Suspended, tenant.Active, "billing.unsuspend")
}

func (s tenantSuspender) set(ctx context.Context, id int64, from, to tenant.Status, action string) error {
	hosts, err := s.admin.SetTenantStatus(ctx, billingActor, id, string(from), string(to), action)
	if err != nil {
		return err
	}
	if s.notify != nil && len(hosts) > 0 {
		if err := s.notify.HostsChanged(ctx, hosts...); err != nil && s.log != nil {
			s.log.WarnContext(ctx, "publishing host invalidation failed; caches will expire", "hosts", hosts, "err", err)
		}
	}
	return nil
}

func newEnforcer(cfg *config.Config, log *slog.Logger, svc *services) *billing.Enforcer {
	return &billing.Enforcer{Store: billingpg.NewStore(svc.db), Grace: cfg.BillingGrace, Log: log,
		Tenants: tenantSuspender{admin: tenantpg.NewAdminStore(svc.db), notify: svc.tenantSv.Notify, log: log}}
}

// runBillingEnforcer suspends tenants past due beyond the grace period and
// reactivates those paying again, in `roost work`.
func runBillingEnforcer(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services) {
	newEnforcer(cfg, log, svc).Run(ctx, billingEvery)
}

// newBillingWebhook serves POST /billing/webhooks/stripe on the portal
// host, or returns nil when ROOST_PORTAL_HOST or
// ROOST_STRIPE_WEBHOOK_SECRET is unset.
func newBillingWebhook(cfg *config.Config, log *slog.Logger, svc *services) api.Router {
	if cfg.StripeWebhookSecret == "" {
		return nil
	}
	if cfg.PortalHost == "" {
		log.Warn("ROOST_STRIPE_WEBHOOK_SECRET is set but ROOST_PORTAL_HOST is not: the Stripe webhook lives on the portal host and is not served")
		return nil
	}
	bs := &billing.Service{Store: billingpg.NewStore(svc.db), Log: log}
	if cfg.StripeSecretKey != "" {
		bs.Stripe = billingstripe.New(cfg.StripeSecretKey, cfg.StripeAPIURL)
	} else {
		log.Warn("ROOST_STRIPE_SECRET_KEY is unset: Stripe events naming a subscription will be refused (and retried by Stripe)")
	}
	log.Info("stripe webhook enabled", "url", cfg.URLScheme+"://"+cfg.PortalHost+apibilling.Path)
	return &apibilling.Handler{Host: cfg.PortalHost, Secret: cfg.StripeWebhookSecret, Service: bs, Log: log}
}

// runBilling is `roost billing`: the manual provider (bank transfer,
// OpenCollective, friends) and a tenant's billing record.
func runBilling(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "usage: roost billing mark-paid|comp|show|enforce")
	}
	fs := flag.NewFlagSet("billing "+args[0], flag.ContinueOnError)
	id := fs.Int64("tenant", 0, "tenant id (see roost tenant list)")
	until := fs.String("until", "", "mark-paid: paid up to this date (YYYY-MM-DD)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] != "enforce" && *id <= 0 {
		return errs.E(errs.Invalid, "--tenant is required")
	}
	ch := &billing.Change{TenantID: *id, Provider: "manual", Now: time.Now()}
	switch args[0] {
	case "mark-paid":
		t, err := time.Parse("2006-01-02", *until)
		if err != nil {
			return errs.E(errs.Invalid, "--until must be a date like 2027-01-31")
		}
		t = t.Add(24*time.Hour - time.Second) // through the end of that day (UTC)
		ch.State, ch.PaidUntil = billing.Active, &t
	case "comp":
		ch.State = billing.Comped
	case "show", "enforce":
	default:
		return errs.E(errs.Invalid, "usage: roost billing mark-paid|comp|show|enforce")
	}
	svc, err := connect(ctx, cfg, log, cfg.RedisURL != "")
	if err != nil {
		return err
	}
	defer svc.close()
	store := billingpg.NewStore(svc.db)
	if args[0] == "enforce" { // one pass of the `roost work` job
		r, err := newEnforcer(cfg, log, svc).RunOnce(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("suspended %d, reactivated %d\n", r.Suspended, r.Reactivated)
		return nil
	}
	if ch.State != "" {
		var exists bool
		if err := svc.db.QueryRow(ctx, `select exists (select 1 from tenants where id = $1)`, *id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errs.E(errs.NotFound, "no tenant %d", *id)
		}
		b := make([]byte, 8)
		rand.Read(b)
		if _, err := store.ApplyEvent(ctx, "manual", "manual_"+hex.EncodeToString(b), "billing."+args[0], ch); err != nil {
			return err
		}
		detail := string(ch.State)
		if ch.PaidUntil != nil {
			detail += " until " + ch.PaidUntil.Format("2006-01-02")
		}
		action := "billing.mark_paid"
		if args[0] == "comp" {
			action = "billing.comp"
		}
		if err := tenantpg.NewAdminStore(svc.db).Record(ctx, model.Actor{}, action, fmt.Sprintf("tenant %d", *id), id, detail+" (command line)"); err != nil {
			return err
		}
	}
	a, err := store.Account(ctx, *id)
	if err != nil {
		return err
	}
	fmt.Printf("tenant %d: %s (%s)", a.TenantID, a.State, a.Provider)
	if a.PaidUntil != nil {
		fmt.Printf(", paid until %s", a.PaidUntil.UTC().Format("2006-01-02"))
	}
	if a.PastDueSince != nil {
		fmt.Printf(", past due since %s", a.PastDueSince.UTC().Format("2006-01-02"))
	}
	if a.BillingSuspended {
		fmt.Print(", suspended for non-payment")
	}
	fmt.Println()
	return nil
}
