package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/archive"
	"github.com/roost-social/roost/federation/media"
	fedpg "github.com/roost-social/roost/federation/postgres"
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
		sum, err := importArchive(ctx, svc.accounts, ms, fd, local, links, *file, *publish, nil)
		if err != nil {
			return err
		}
		fmt.Printf("posts: %d created, %d already imported, %d published; follows: %d requested; restored: %d\n",
			sum.Created, sum.Skipped, sum.Published, sum.Follows, sum.Restored)
		for _, s := range sum.Notes {
			fmt.Println("skipped:", s)
		}
		return nil
	})
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

// importSummary is what an import did.
type importSummary struct {
	Created, Skipped, Follows, Restored, Published int
	Notes                                          []string
}

// importBatch is how many posts one transaction imports.
const importBatch = 100

// importArchive validates the whole archive first, streaming (nothing is
// written for a malformed one), then streams outbox.json again and
// imports posts a batch per transaction, each post keyed by its original
// URI so a rerun or a resumed import creates nothing twice; replies whose
// parent came later in the file are threaded by one SQL pass at the end,
// and only then are the new posts published (when asked). Then follows
// and the rest. Posts are never all in memory: only one batch, and one
// reserved id per post (8 bytes), so that older posts get smaller ids.
func importArchive(ctx context.Context, store *fedpg.Store, ms *media.Service, fd *fed, local *federation.Account,
	links federation.Links, path string, publish bool, progress func(done, total int)) (*importSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := archive.Open(f, fi.Size(), archive.DefaultLimits)
	if err != nil {
		return nil, err
	}
	sum := &importSummary{}
	me := links.Actor(local.Username)
	uriFor := func(id int64) string { return me + "/statuses/" + strconv.FormatInt(id, 10) }
	ids, err := store.ReserveStatusIDs(ctx, a.NumPosts)
	if err != nil {
		return nil, err
	}
	// Mastodon's and Roost's outboxes list the newest first: the first
	// post read gets the largest id. An oldest-first outbox keeps its order.
	idFor := func(i int) int64 {
		switch {
		case i >= len(ids):
			return 0 // not counted by Open (cannot happen): the next id
		case a.OldestFirst:
			return ids[i]
		}
		return ids[len(ids)-1-i]
	}
	var batch []archive.Post
	done := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		uris := make([]string, len(batch))
		for j, p := range batch {
			uris[j] = p.OriginalURI
		}
		imported, err := store.ImportedURIs(ctx, local.ID, uris)
		if err != nil {
			return err
		}
		var posts []fedpg.ImportedPost
		for j, p := range batch {
			if imported[p.OriginalURI] {
				sum.Skipped++
				continue
			}
			st := *p.Status
			st.Mentions = nil
			st.To, st.Cc = addressing(st.Visibility, links.Followers(local.Username))
			ip := fedpg.ImportedPost{ID: idFor(done + j), OriginalURI: p.OriginalURI, Status: &st, Publish: publish}
			// Media is uploaded before the transaction: a crash leaves at
			// worst an unattached upload, never a post without its media.
			for _, m := range p.Media {
				rc, err := a.OpenMedia(m.Path)
				if err != nil {
					return err
				}
				att, err := ms.Upload(ctx, media.Upload{TenantID: local.TenantID, AccountID: local.ID, File: rc, Description: m.Description})
				rc.Close()
				if errs.CodeOf(err) == errs.Invalid || errs.CodeOf(err) == errs.TooLarge {
					// A file we do not take (its type, its size): the post
					// is imported without it, and the result says so.
					sum.Notes = append(sum.Notes, "media "+m.Path+" of "+p.OriginalURI+": "+errs.MessageOf(err))
					continue
				}
				if err != nil {
					return fmt.Errorf("%s: %w", m.Path, err)
				}
				ip.MediaIDs = append(ip.MediaIDs, att.ID)
				st.Attachments = append(st.Attachments, att.Federation(links.Base))
			}
			posts = append(posts, ip)
		}
		created, skipped, err := store.ImportPosts(ctx, local, posts, uriFor)
		if err != nil {
			return err
		}
		sum.Created += len(created)
		sum.Skipped += skipped
		done += len(batch)
		batch = batch[:0]
		if progress != nil {
			progress(done, a.NumPosts)
		}
		return nil
	}
	err = a.EachPost(func(p archive.Post) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		batch = append(batch, p)
		if len(batch) == importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	if _, err := store.ResolveImportedReplies(ctx, local.ID); err != nil {
		return nil, err
	}
	if publish {
		// Posts imported with publishing asked are delivered once
		// threaded, oldest first; each is marked done in the transaction
		// that delivers it, so a rerun after a crash delivers the rest and
		// nothing twice.
		after := int64(0)
		for {
			page, err := store.PendingPublications(ctx, local.ID, after, importBatch)
			if err != nil {
				return nil, err
			}
			if len(page) == 0 {
				break
			}
			for _, st := range page {
				after = st.ID
				dids, err := store.PublishImported(ctx, st, func(st *federation.Status) (string, []byte, error) {
					url := links.Profile(local.Username) + "/" + strconv.FormatInt(st.ID, 10)
					id := st.URI + "/activity"
					body, err := json.Marshal(ap.Wrap("Create", id, me, ap.NewNote(st, me, url), st.To, st.Cc))
					return id, body, err
				})
				if err != nil {
					return nil, err
				}
				_ = fd.outbox.Dispatch.Dispatch(ctx, false, dids) // the sweeper catches up on failure
				sum.Published++
			}
		}
	}
	for _, r := range a.Following {
		if _, err := fd.outbox.Follow(ctx, local, r[0]); err != nil {
			sum.Notes = append(sum.Notes, "follow "+r[0]+": "+errs.MessageOf(err))
			continue
		}
		sum.Follows++
	}
	restored, notes, err := store.ImportRelations(ctx, local, a)
	if err != nil {
		return nil, err
	}
	sum.Restored = restored
	sum.Notes = append(sum.Notes, notes...)
	return sum, nil
}

// addressing is ap.Addressing without mentions: imported posts are
// stored, not delivered, so they notify no one.
func addressing(v federation.Visibility, followers string) ([]string, []string) {
	switch v {
	case federation.Public:
		return []string{federation.PublicCollection}, []string{followers}
	case federation.Unlisted:
		return []string{followers}, []string{federation.PublicCollection}
	case federation.Private:
		return []string{followers}, nil
	}
	return nil, nil
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
