package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// runTenantPortability adds the portability commands to roost tenant:
// add-domain, move-domain and delete.
func runTenantPortability(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add-domain":
			return runTenantAddDomain(ctx, cfg, log, args[1:])
		case "move-domain":
			return runTenantMoveDomain(ctx, cfg, log, args[1:])
		case "delete":
			return runTenantDelete(ctx, cfg, log, args[1:])
		}
	}
	return runTenant(ctx, cfg, log, args)
}

// cliActor is the command line in the audit log of portability commands.
var cliActor = tenant.Actor{Email: "cli"}

// tenantID reads --tenant: a tenant id, or one of its domains.
func tenantID(ctx context.Context, leave *tenantpg.LeaveStore, v string) (int64, error) {
	if v == "" {
		return 0, errs.E(errs.Invalid, "--tenant is required (an id or one of the tenant's domains)")
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		return id, nil
	}
	host, err := tenant.NormalizeHost(v)
	if err != nil {
		return 0, err
	}
	return leave.TenantOf(ctx, host)
}

// runTenantAddDomain adds a domain, verified by the operator's word, to a
// tenant: roost tenant add-domain --tenant 3 --domain alice.example
func runTenantAddDomain(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant add-domain", flag.ContinueOnError)
	tid := fs.String("tenant", "", "tenant id or one of its domains (required)")
	domain := fs.String("domain", "", "handle domain to add (required)")
	service := fs.String("service-domain", "", "optional service domain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := tenant.NormalizeHost(*domain)
	if err != nil || *domain == "" {
		return errs.E(errs.Invalid, "--domain must be a domain name")
	}
	sd := ""
	if *service != "" {
		if sd, err = tenant.NormalizeHost(*service); err != nil {
			return err
		}
	}
	if err := checkNotReserved(cfg, d, sd); err != nil { // the instance's own names (signin.go)
		return err
	}
	svc, err := connect(ctx, cfg, log, cfg.RedisURL != "")
	if err != nil {
		return err
	}
	defer svc.close()
	id, err := tenantID(ctx, tenantpg.NewLeaveStore(svc.db), *tid)
	if err != nil {
		return err
	}
	// tenant.Service tells the host caches.
	if _, err := svc.tenantSv.AddDomain(ctx, cliActor, id, tenant.NewDomain{Domain: d, ServiceDomain: sd, Verified: true}); err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}

// runTenantMoveDomain moves every account of a tenant's domain to another
// verified domain of the same tenant:
// roost tenant move-domain --tenant alice.roost.example --to alice.example
func runTenantMoveDomain(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant move-domain", flag.ContinueOnError)
	from := fs.String("tenant", "", "the domain moved away from (or the tenant id, with --from)")
	fromDomain := fs.String("from", "", "the domain moved away from, when --tenant is an id")
	to := fs.String("to", "", "the tenant's verified domain to move to (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fromDomain == "" {
		*fromDomain = *from
	}
	return withMover(ctx, cfg, log, func(svc *services, m *portability.Mover) error {
		old, err := tenant.NormalizeHost(*fromDomain)
		if err != nil {
			return errs.E(errs.Invalid, "--tenant (or --from) must name the domain moved away from")
		}
		id, err := tenantID(ctx, tenantpg.NewLeaveStore(svc.db), *from)
		if err != nil {
			return err
		}
		moved, err := m.MoveDomain(ctx, id, old, *to, "cli")
		for _, line := range moved {
			fmt.Println(line)
		}
		return err
	})
}

// runAccountMove moves one account to another tenant (or domain) of this
// instance: roost account move --from alice@a.example --to alice@b.example
func runAccountMove(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("account move", flag.ContinueOnError)
	from := fs.String("from", "", "the account, user@domain (required)")
	to := fs.String("to", "", "its new handle user@domain, on a verified domain of this instance; the name must be free (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mv, err := portability.ParseAccountMove(*from, *to)
	if err != nil {
		return err
	}
	return withMover(ctx, cfg, log, func(_ *services, m *portability.Mover) error {
		line, err := m.MoveAccount(ctx, mv, "cli")
		if line != "" {
			fmt.Println(line)
		}
		return err
	})
}

// withMover connects and wires a Mover with the federation machinery.
func withMover(ctx context.Context, cfg *config.Config, log *slog.Logger, fn func(*services, *portability.Mover) error) error {
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	if err := checkOrigin(ctx, cfg, svc); err != nil { // links for the served origin only
		return err
	}
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	return fn(svc, newMover(cfg, svc, fd))
}

// newMover wires moving accounts: the stores, the outbox, the instance's
// reserved names and URL scheme.
func newMover(cfg *config.Config, svc *services, fd *fed) *portability.Mover {
	return &portability.Mover{Store: svc.social, Sites: svc.tenants, Audit: tenantpg.NewLeaveStore(svc.db),
		Sender: fd.outbox, Scheme: cfg.URLScheme, Port: cfg.PublicPort,
		Reserved: func(names ...string) error { return checkNotReserved(cfg, names...) }} // signin.go
}

// newLeaving wires leaving and the change of domain; fd is nil on nodes
// without federation (no change of domain there).
func newLeaving(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) *portability.Leaving {
	l := &portability.Leaving{Deletions: tenantpg.NewLeaveStore(svc.db), Store: svc.social, Hosts: svc.tenantSv, Log: log}
	if fd != nil {
		l.Mover, l.Deleter = newMover(cfg, svc, fd), fd.outbox
	}
	return l
}

// runTenantDelete schedules (or cancels, or runs at once) a tenant's
// deletion: roost tenant delete --tenant D [--grace 720h] [--cancel]
func runTenantDelete(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant delete", flag.ContinueOnError)
	tid := fs.String("tenant", "", "tenant id or one of its domains (required)")
	grace := fs.Duration("grace", 30*24*time.Hour, "time left to export and to change one's mind")
	cancel := fs.Bool("cancel", false, "cancel a scheduled deletion")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *grace < 0 {
		return errs.E(errs.Invalid, "--grace cannot be negative")
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	leave := tenantpg.NewLeaveStore(svc.db)
	id, err := tenantID(ctx, leave, *tid)
	if err != nil {
		return err
	}
	if *cancel {
		if err := leave.CancelDeletion(ctx, id, "cli"); err != nil {
			return err
		}
		fmt.Printf("tenant %d: deletion cancelled\n", id)
		return nil
	}
	due := time.Now().Add(*grace)
	if err := leave.ScheduleDeletion(ctx, id, due, "cli"); err != nil {
		return err
	}
	fmt.Printf("tenant %d: deletion scheduled for %s (roost tenant delete --tenant %d --cancel until then)\n",
		id, due.UTC().Format(time.RFC3339), id)
	return nil
}
