package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// runFollow makes a local account follow a remote one:
// roost follow --account alice@alice.example --target bob@club.example
func runFollow(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("follow", flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	target := fs.String("target", "", "remote account, user@domain or actor URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	user, domain, ok := strings.Cut(strings.TrimPrefix(*account, "@"), "@")
	if !ok || *target == "" {
		return errs.E(errs.Invalid, "usage: roost follow --account user@domain --target user@domain")
	}
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return err
	}
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return err
	}
	local, err := svc.accounts.AccountByUsername(ctx, site.TenantID, site.Domain, user)
	if err != nil {
		return err
	}
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	f, err := fd.outbox.Follow(ctx, local, *target)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", f.State, f.URI)
	return nil
}
