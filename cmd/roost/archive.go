package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
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
		if args[0] == "export" {
			if *out == "" {
				return errs.E(errs.Invalid, "--out is required")
			}
			return exportArchive(ctx, svc.accounts, ms, local, links, *out, nil)
		}
		if *file == "" {
			return errs.E(errs.Invalid, "--file is required")
		}
		return importCommand(ctx, log, svc, ms, fd, local, links, *file, *publish)
	})
}

// importCommand is roost account import: the import at once, then the
// queued follows due now (a few per server; roost work sends the rest as
// they fall due).
func importCommand(ctx context.Context, log *slog.Logger, svc *services, ms *media.Service, fd *fed,
	local *federation.Account, links federation.Links, file string, publish bool) error {
	sum, err := importFile(ctx, svc, ms, fd, local, links, file, publish)
	if err != nil {
		return err
	}
	fmt.Println(sum)
	sent, fs := 0, followSender(svc, fd, log)
	for {
		n, err := fs.Once(ctx, 100)
		if err != nil {
			return err
		}
		if sent += n; n == 0 {
			break
		}
	}
	fmt.Printf("follows sent now: %d; any others are sent by roost work over time\n", sent)
	return nil
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
	return fn(svc, fd, local)
}

// exportArchive writes the archive to path through a temporary file, so a
// failed export leaves no partial zip behind.
func exportArchive(ctx context.Context, store *fedpg.Store, ms *media.Service, local *federation.Account,
	links federation.Links, path string, progress func(posts int)) error {
	tmp, err := os.CreateTemp(dirOf(path), ".roost-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	e := &archive.Export{Account: local, Links: links, Source: store, Progress: progress,
		Media: func(ctx context.Context, a federation.Attachment) (io.ReadCloser, error) {
			_, key, _ := strings.Cut(a.URL, "/media/")
			f, err := ms.Open(ctx, local.TenantID, key)
			if err != nil {
				return nil, err
			}
			return f.Body, nil
		}}
	if err := e.Write(ctx, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// importer wires an import: the store, the media service and delivery.
func importer(svc *services, ms *media.Service, fd *fed) *portability.Importer {
	return &portability.Importer{Store: svc.accounts, Media: ms, Dispatch: fd.queue}
}

// followSender wires the sending of imports' queued follows.
func followSender(svc *services, fd *fed, log *slog.Logger) *portability.FollowSender {
	return &portability.FollowSender{Queue: svc.accounts, Follower: fd.outbox, Log: log}
}

// importFile runs an import of a zip on disk at once, recorded as an
// import job of the account (roost account import, the benchmark). The
// job names no file: the operator's zip is not an upload a worker may
// take over or remove.
func importFile(ctx context.Context, svc *services, ms *media.Service, fd *fed, local *federation.Account,
	links federation.Links, path string, publish bool) (*portability.Summary, error) {
	j, err := svc.accounts.StartImport(ctx, local.TenantID, local.ID, "", publish)
	if err != nil {
		return nil, err
	}
	sum, err := importer(svc, ms, fd).Run(ctx, portability.Request{ImportID: j.ID, Local: local, Links: links,
		Path: path, Publish: publish, Progress: func(done, total int) {
			svc.accounts.JobProgress(ctx, archive.ImportJob, j.ID, int64(done), int64(total)) // keeps the claim fresh
		}})
	result, failure := "", ""
	if err != nil {
		failure = errs.MessageOf(err)
	} else {
		result = sum.String()
	}
	if ferr := svc.accounts.FinishJob(context.WithoutCancel(ctx), archive.ImportJob, j.ID, "", 0, result, failure); ferr != nil && err == nil {
		err = ferr
	}
	return sum, err
}

// runAccountOrArchive adds export and import to roost account.
func runAccountOrArchive(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 && (args[0] == "export" || args[0] == "import") {
		return runAccountArchive(ctx, cfg, log, args)
	}
	if len(args) > 0 && args[0] == "move" {
		return runAccountMove(ctx, cfg, log, args[1:]) // move.go
	}
	return runAccount(ctx, cfg, log, args)
}
