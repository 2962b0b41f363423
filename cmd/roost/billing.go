package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/admin"
	apibilling "github.com/roost-social/roost/api/billing"
	"github.com/roost-social/roost/api/portal"
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

func newEnforcer(cfg *config.Config, log *slog.Logger, svc *services) *billing.Enforcer {
	return &billing.Enforcer{Store: billingpg.NewStore(svc.db), Grace: cfg.BillingGrace, Log: log,
		Tenants: tenant.BillingSuspender{Service: svc.tenantSv}}
}

// newMeter meters usage in `roost work` (the usage-meter job); usage-priced
// plans report to Stripe Billing Meters when ROOST_STRIPE_SECRET_KEY is set.
func newMeter(cfg *config.Config, log *slog.Logger, svc *services) *billing.Meter {
	m := &billing.Meter{Store: billingpg.NewStore(svc.db), Log: log}
	if cfg.StripeSecretKey != "" {
		m.Reporter = billingstripe.New(cfg.StripeSecretKey, cfg.StripeAPIURL)
	}
	return m
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

// newPortalBilling is the portal's plans, payment, usage and open books;
// payment goes through Stripe when ROOST_STRIPE_SECRET_KEY is set, and is
// arranged with the operator (the manual provider) otherwise.
func newPortalBilling(cfg *config.Config, svc *services) *portal.Billing {
	store := billingpg.NewStore(svc.db)
	b := &portal.Billing{Plans: store, Records: store, Usage: store, Books: store,
		Manual: &billing.Manual{Store: store}, Currency: cfg.BooksCurrency, Grace: cfg.BillingGrace}
	if cfg.StripeSecretKey != "" {
		b.Provider = billingstripe.New(cfg.StripeSecretKey, cfg.StripeAPIURL)
	}
	return b
}

// newBillingPages backs the dashboard's billing, plans and open-books
// pages.
func newBillingPages(cfg *config.Config, svc *services) *admin.BillingPages {
	store := billingpg.NewStore(svc.db)
	return &admin.BillingPages{Plans: store, Records: store, Usage: store, Books: store, Currency: cfg.BooksCurrency}
}

// meterEvery is how often `roost work` meters usage (yesterday's final
// figures and today's so far; each run replaces the day's rows).
const meterEvery = time.Hour

// billingUsage is the usage subcommands' and the meter's text.
const billingUsage = "usage: roost billing mark-paid|comp|show|enforce|meter|plan|cost|reserve|books (see roost help)"

// runBilling is `roost billing`: the manual provider (bank transfer,
// OpenCollective, friends), plans, usage metering and the open books.
func runBilling(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, billingUsage)
	}
	switch args[0] {
	case "plan":
		return runBillingPlan(ctx, cfg, log, args[1:])
	case "cost", "reserve", "books":
		return runBillingBooks(ctx, cfg, log, args)
	case "meter":
		return runBillingMeter(ctx, cfg, log, args[1:])
	}
	fs := flag.NewFlagSet("billing "+args[0], flag.ContinueOnError)
	id := fs.Int64("tenant", 0, "tenant id (see roost tenant list)")
	until := fs.String("until", "", "mark-paid: paid up to this date (YYYY-MM-DD)")
	amount := fs.String("amount", "", "mark-paid: the amount received (e.g. 8.00), counted as income in the open books")
	currency := fs.String("currency", cfg.BooksCurrency, "mark-paid: the amount's currency")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] != "enforce" && *id <= 0 {
		return errs.E(errs.Invalid, "--tenant is required")
	}
	var paidUntil time.Time
	var pay *billing.Payment
	switch args[0] {
	case "mark-paid":
		t, err := time.Parse("2006-01-02", *until)
		if err != nil {
			return errs.E(errs.Invalid, "--until must be a date like 2027-01-31")
		}
		paidUntil = t.Add(24*time.Hour - time.Second) // through the end of that day (UTC)
		if *amount != "" {
			n, err := billing.ParseMoney(*amount)
			if err != nil {
				return err
			}
			pay = &billing.Payment{AmountMinor: n, Currency: strings.ToLower(*currency), TenantID: *id}
		}
	case "comp", "show", "enforce", "sync":
	default:
		return errs.E(errs.Invalid, billingUsage)
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
	if args[0] == "sync" { // the provider's truth, applied like an event
		a, err := store.Account(ctx, *id)
		if err != nil {
			return err
		}
		var p billing.Provider = &billing.Manual{Store: store}
		if a.Provider == "stripe" {
			if cfg.StripeSecretKey == "" {
				return errs.E(errs.Unavailable, "ROOST_STRIPE_SECRET_KEY is unset: cannot ask Stripe")
			}
			p = billingstripe.New(cfg.StripeSecretKey, cfg.StripeAPIURL)
		}
		if err := billing.Resync(ctx, store, p, a, time.Now()); err != nil {
			return err
		}
	}
	if args[0] == "mark-paid" || args[0] == "comp" {
		admin := tenantpg.NewAdminStore(svc.db)
		if _, err := admin.Tenant(ctx, *id); err != nil { // errs.NotFound "no tenant N"
			return err
		}
		manual := &billing.Manual{Store: store}
		var a *billing.Account
		action := "billing.mark_paid"
		if args[0] == "comp" {
			action = "billing.comp"
			a, err = manual.Comp(ctx, *id)
		} else {
			a, err = manual.MarkPaid(ctx, *id, paidUntil, pay)
		}
		if err != nil {
			return err
		}
		detail := string(a.State)
		if args[0] == "mark-paid" {
			detail += " until " + paidUntil.Format("2006-01-02")
		}
		if pay != nil {
			detail += ", received " + billing.Money(pay.AmountMinor, pay.Currency)
		}
		if err := admin.Record(ctx, tenant.CommandLine, action, fmt.Sprintf("tenant %d", *id), id, detail+" (command line)"); err != nil {
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
	if p, err := store.TenantPlan(ctx, *id); err != nil {
		return err
	} else if p != nil {
		fmt.Printf("plan %d %s: %s\n", p.ID, p.Name, p.Price())
	}
	return nil
}
