package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/roost-social/roost/billing"
	billingpg "github.com/roost-social/roost/billing/postgres"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// runBillingPlan is `roost billing plan add|list|archive`.
func runBillingPlan(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	const usage = "usage: roost billing plan add --name N --kind paid|free|donation [--price 8.00] [--currency usd] [--interval month|year] [--domains any|subdomain|own] [--max-accounts N] [--storage-gb N] [--stripe-price price_...] [--stripe-meter EVENT --meter-figure F] | list [--all] | archive --id ID"
	if len(args) == 0 {
		return errs.E(errs.Invalid, usage)
	}
	fs := flag.NewFlagSet("billing plan "+args[0], flag.ContinueOnError)
	name := fs.String("name", "", "plan name")
	kind := fs.String("kind", "paid", "paid, free or donation (pay what you want)")
	price := fs.String("price", "0", "price per interval (donation: the suggested amount)")
	currency := fs.String("currency", cfg.BooksCurrency, "currency code")
	interval := fs.String("interval", "month", "month or year")
	domains := fs.String("domains", "any", "any, subdomain (of the base domain) or own (domain)")
	maxAccounts := fs.Int("max-accounts", 0, "soft limit on accounts (0: none)")
	storageGB := fs.Float64("storage-gb", 0, "soft limit on media storage in GB (0: none)")
	stripePrice := fs.String("stripe-price", "", "Stripe price id (price_...) for Checkout")
	stripeMeter := fs.String("stripe-meter", "", "usage-priced plans: the Stripe Billing Meter event name daily usage is reported under")
	meterFigure := fs.String("meter-figure", "active_accounts", "the figure reported: "+strings.Join(billing.MeterFigures, ", "))
	all := fs.Bool("all", false, "list: archived plans too")
	id := fs.Int64("id", 0, "archive: plan id")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var p billing.Plan
	switch args[0] {
	case "add":
		n, err := billing.ParseMoney(*price)
		if err != nil {
			return err
		}
		if *storageGB < 0 || *storageGB > 1e6 {
			return errs.E(errs.Invalid, "--storage-gb: from 0 to 1000000")
		}
		p = billing.Plan{Name: *name, Kind: billing.PlanKind(*kind), PriceMinor: n, Currency: *currency, Interval: *interval,
			Domains: *domains, MaxAccounts: *maxAccounts, StorageBytes: int64(*storageGB * 1e9), StripePriceID: *stripePrice,
			StripeMeterEvent: *stripeMeter, MeterFigure: *meterFigure}
		if err := p.Validate(); err != nil { // before connecting: bad input changes nothing
			return err
		}
	case "list":
	case "archive":
		if *id <= 0 {
			return errs.E(errs.Invalid, "--id is required")
		}
	default:
		return errs.E(errs.Invalid, usage)
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	store := billingpg.NewStore(svc.db)
	audit := tenantpg.NewAdminStore(svc.db)
	switch args[0] {
	case "add":
		out, err := store.AddPlan(ctx, p)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tenant.CommandLine, "billing.plan_add", out.Name, nil, out.Price()+" (command line)"); err != nil {
			return err
		}
		fmt.Println(out.ID)
	case "list":
		plans, err := store.Plans(ctx, *all)
		if err != nil {
			return err
		}
		for _, p := range plans {
			line := fmt.Sprintf("%d\t%s\t%s\t%s\t%s", p.ID, p.Name, p.Kind, p.Price(), p.Includes())
			if p.StripePriceID != "" {
				line += "\t" + p.StripePriceID
			}
			if p.ArchivedAt != nil {
				line += "\tarchived"
			}
			fmt.Println(line)
		}
	case "archive":
		if err := store.ArchivePlan(ctx, *id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tenant.CommandLine, "billing.plan_archive", fmt.Sprintf("plan %d", *id), nil, "(command line)"); err != nil {
			return err
		}
		fmt.Printf("plan %d archived; tenants on it keep it\n", *id)
	}
	return nil
}

// runBillingMeter is `roost billing meter [--day YYYY-MM-DD]`: one pass of
// the usage meter for a day (default yesterday), idempotent.
func runBillingMeter(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("billing meter", flag.ContinueOnError)
	dayFlag := fs.String("day", "", "day to meter (YYYY-MM-DD, UTC); default yesterday")
	if err := fs.Parse(args); err != nil {
		return err
	}
	day := billing.Day(time.Now()).AddDate(0, 0, -1)
	if *dayFlag != "" {
		t, err := time.Parse(time.DateOnly, *dayFlag)
		if err != nil {
			return errs.E(errs.Invalid, "--day must be a date like 2026-11-27")
		}
		day = t
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	n, err := billingpg.NewStore(svc.db).Meter(ctx, day)
	if err != nil {
		return err
	}
	fmt.Printf("metered %d tenants for %s\n", n, day.Format(time.DateOnly))
	return nil
}

// runBillingBooks is `roost billing cost add|list|delete`, `reserve` and
// `books`: the open books.
func runBillingBooks(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	const usage = "usage: roost billing cost add --month YYYY-MM --category hosting|storage|email|domains|moderation|other --amount 40.00 [--note TEXT] | cost list | cost delete --id ID | reserve --amount 500.00 | books"
	cmd := args[0]
	rest := args[1:]
	if cmd == "cost" {
		if len(rest) == 0 {
			return errs.E(errs.Invalid, usage)
		}
		cmd, rest = "cost "+rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("billing "+cmd, flag.ContinueOnError)
	month := fs.String("month", "", "month of the cost (YYYY-MM)")
	category := fs.String("category", "", strings.Join(billing.Categories, ", "))
	amount := fs.String("amount", "", "amount, e.g. 40.00")
	note := fs.String("note", "", "what it paid for")
	id := fs.Int64("id", 0, "cost id (cost list)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	var c billing.Cost
	var n int64
	switch cmd {
	case "cost add":
		m, err := billing.ParseMonth(*month)
		if err != nil {
			return err
		}
		if n, err = billing.ParseMoney(*amount); err != nil {
			return err
		}
		c = billing.Cost{Month: m, Category: *category, AmountMinor: n, Currency: cfg.BooksCurrency, Note: *note}
		if err := c.Validate(); err != nil {
			return err
		}
	case "reserve":
		var err error
		if n, err = billing.ParseMoney(*amount); err != nil {
			return err
		}
	case "cost delete":
		if *id <= 0 {
			return errs.E(errs.Invalid, "--id is required")
		}
	case "cost list", "books":
	default:
		return errs.E(errs.Invalid, usage)
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	store := billingpg.NewStore(svc.db)
	audit := tenantpg.NewAdminStore(svc.db)
	switch cmd {
	case "cost add":
		out, err := store.AddCost(ctx, c)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tenant.CommandLine, "books.cost_add", out.Category, nil,
			out.Month.Format("2006-01")+" "+billing.Money(out.AmountMinor, out.Currency)+" (command line)"); err != nil {
			return err
		}
		fmt.Println(out.ID)
	case "cost delete":
		if err := store.DeleteCost(ctx, *id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tenant.CommandLine, "books.cost_delete", fmt.Sprintf("cost %d", *id), nil, "(command line)"); err != nil {
			return err
		}
		fmt.Printf("cost %d deleted\n", *id)
	case "cost list":
		now := time.Now().UTC()
		costs, err := store.Costs(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now)
		if err != nil {
			return err
		}
		for _, c := range costs {
			fmt.Printf("%d\t%s\t%s\t%s\t%s\n", c.ID, c.Month.Format("2006-01"), c.Category, billing.Money(c.AmountMinor, c.Currency), c.Note)
		}
	case "reserve":
		if err := store.SetReserve(ctx, n, cfg.BooksCurrency); err != nil {
			return err
		}
		if err := audit.Record(ctx, tenant.CommandLine, "books.reserve", "reserve", nil, billing.Money(n, cfg.BooksCurrency)+" (command line)"); err != nil {
			return err
		}
		fmt.Printf("reserve %s\n", billing.Money(n, cfg.BooksCurrency))
	case "books":
		b, err := billing.LoadBooks(ctx, store, cfg.BooksCurrency, time.Now())
		if err != nil {
			return err
		}
		v := b.View()
		fmt.Printf("balance %s, average monthly shortfall %s, runway %s\n", v.Balance, v.AverageBurn, v.Runway)
		for _, m := range v.Months {
			if !m.Empty {
				fmt.Printf("%s\tcosts %s\tincome %s\t%d paying sites\t%d accounts\tper member %s\tbalance %s\n",
					m.Month, m.Costs, m.Income, m.PayingTenants, m.Accounts, m.CostPerMember, m.Balance)
			}
		}
	}
	return nil
}
