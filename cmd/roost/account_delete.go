package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/jobs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/factor"
)

// newAccountDeletions wires deleting one account (federation/portability):
// the web app's settings page, the actors' 410 and the CLI share it;
// the worker adds the outbox and the media store (accountDeletionsJob).
func newAccountDeletions(log *slog.Logger, svc *services, factors *factor.Service) *portability.AccountDeletions {
	d := &portability.AccountDeletions{Store: svc.social, Log: log}
	if factors != nil {
		d.Factors = factors
	}
	return d
}

// accountDeletionsJob is roost work's pass over accounts being deleted:
// Delete(Person) to the servers that knew them, then their files and
// rows in bounded batches. The media store is opened at the first pass.
func accountDeletionsJob(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) jobs.Job {
	var d *portability.AccountDeletions
	return jobs.Job{Name: "account-deletions", Every: deletionEvery, Run: func(ctx context.Context) error {
		if d == nil {
			ms, err := newMedia(ctx, cfg, svc)
			if err != nil {
				return fmt.Errorf("media store: %w", err)
			}
			d = newAccountDeletions(log, svc, nil)
			d.Deleter, d.Blobs = fd.outbox, ms.Blobs
		}
		return d.Pass(ctx)
	}}
}

// runAccountDelete is `roost account delete --account user@domain`: the
// operator deletes one account (no password; a tenant's last account
// too); roost work carries it out.
func runAccountDelete(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("account delete", flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	user, domain, ok := strings.Cut(strings.TrimPrefix(*account, "@"), "@")
	if !ok {
		return errs.E(errs.Invalid, "--account must be user@domain")
	}
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return errs.E(errs.Invalid, "--account %q: %s", *account, errs.MessageOf(err))
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return errs.E(errs.NotFound, "no tenant domain %s", host)
	}
	a, err := svc.social.AccountByUsername(ctx, site.TenantID, site.Domain, user)
	if err != nil {
		return err
	}
	if err := newAccountDeletions(log, svc, nil).DeleteByOperator(ctx, site.TenantID, a.ID, "command line"); err != nil {
		return err
	}
	fmt.Printf("@%s@%s is suspended; roost work announces its deletion and removes its data\n", a.Username, a.Domain)
	return nil
}
