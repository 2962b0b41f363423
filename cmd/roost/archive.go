package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// runAccountArchive is roost account export|import.
func runAccountArchive(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("account "+args[0], flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	out := fs.String("out", "", "export: the zip file to write (required)")
	file := fs.String("file", "", "import: the archive to read (required)")
	publish := fs.Bool("publish", false, "import: deliver the imported posts to followers (default: stored only)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withArchiveAccount(ctx, cfg, log, *account, func(svc *services, fd *fed, local *federation.Account) error {
		ms, err := newMedia(ctx, cfg, svc)
		if err != nil {
			return err
		}
		links, err := fd.outbox.Locals.Links(ctx, local)
		if err != nil {
			return err
		}
		archives := newArchives(cfg, log, svc, fd, ms)
		if args[0] == "export" {
			if *out == "" {
				return errs.E(errs.Invalid, "--out is required")
			}
			return archives.Export(ctx, local, links, *out, nil)
		}
		if *file == "" {
			return errs.E(errs.Invalid, "--file is required")
		}
		return importCommand(ctx, archives, followSender(svc, fd, log), svc.social, local, links, *file, *publish)
	})
}

// importCommand is roost account import: the import at once, then the
// queued follows due now (a few per server; roost work sends the rest as
// they fall due). The count printed is the import's own, read from its
// job: a running roost work may have sent some of them first.
func importCommand(ctx context.Context, archives *portability.Archives, follows *portability.FollowSender,
	jobs importJobs, local *federation.Account, links federation.Links, file string, publish bool) error {
	sum, err := archives.ImportFile(ctx, local, links, file, publish)
	if err != nil {
		return err
	}
	fmt.Println(sum)
	if _, err := follows.SendDue(ctx, 100); err != nil {
		return err
	}
	j, err := jobs.Job(ctx, archive.ImportJob, local.TenantID, local.ID, sum.ImportID)
	if err != nil {
		return err
	}
	fmt.Printf("follows sent now: %d; any others are sent by roost work over time\n", j.FollowsSent)
	return nil
}

// importJobs reads an archive job (federation/postgres).
type importJobs interface {
	Job(ctx context.Context, kind archive.JobKind, tenantID, accountID, id int64) (*archive.Job, error)
}

// withArchiveAccount is asLocal with the services at hand.
func withArchiveAccount(ctx context.Context, cfg *config.Config, log *slog.Logger, account string,
	fn func(*services, *fed, *federation.Account) error) error {
	user, domain, ok := strings.Cut(strings.TrimPrefix(account, "@"), "@")
	if !ok {
		return errs.E(errs.Invalid, "--account must be user@domain")
	}
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	if err := checkOrigin(ctx, cfg, svc); err != nil { // links for the served origin only
		return err
	}
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return err
	}
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return err
	}
	local, err := svc.social.AccountByUsername(ctx, site.TenantID, site.Domain, user)
	if err != nil {
		return err
	}
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	return fn(svc, fd, local)
}

// newArchives wires exports and imports: the job queue and archive
// source (the store), the media service, the outbox's links and delivery.
func newArchives(cfg *config.Config, log *slog.Logger, svc *services, fd *fed, ms *media.Service) *portability.Archives {
	return &portability.Archives{Jobs: svc.social, Links: fd.outbox.Locals, Source: svc.social, Media: ms,
		Import: &portability.Importer{Store: svc.social, Media: ms, Dispatch: fd.queue},
		Dir:    archiveDir(cfg), Log: log}
}

// followSender wires the sending of imports' queued follows.
func followSender(svc *services, fd *fed, log *slog.Logger) *portability.FollowSender {
	return &portability.FollowSender{Queue: svc.social, Follower: fd.outbox, Log: log}
}

// exportArchive writes an account's archive to path (the benchmarks).
func exportArchive(ctx context.Context, store *fedpg.Store, ms *media.Service, local *federation.Account,
	links federation.Links, path string, progress func(posts int)) error {
	a := &portability.Archives{Source: store, Media: ms}
	return a.Export(ctx, local, links, path, progress)
}

// importFile runs an import of a zip on disk at once (the benchmarks).
func importFile(ctx context.Context, svc *services, ms *media.Service, fd *fed, local *federation.Account,
	links federation.Links, path string, publish bool) (*portability.Summary, error) {
	a := &portability.Archives{Jobs: svc.social, Import: &portability.Importer{Store: svc.social, Media: ms, Dispatch: fd.queue}}
	return a.ImportFile(ctx, local, links, path, publish)
}

// runAccountPortability adds export, import and move to roost account.
func runAccountPortability(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 && (args[0] == "export" || args[0] == "import") {
		return runAccountArchive(ctx, cfg, log, args)
	}
	if len(args) > 0 && args[0] == "move" {
		return runAccountMove(ctx, cfg, log, args[1:]) // move.go
	}
	if len(args) > 0 && args[0] == "delete" {
		return runAccountDelete(ctx, cfg, log, args[1:]) // account_delete.go
	}
	return runAccount(ctx, cfg, log, args)
}
