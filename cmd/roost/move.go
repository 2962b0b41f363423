package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/api/admin"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// runTenantOrMove adds the portability commands to roost tenant:
// add-domain, move-domain and delete.
func runTenantOrMove(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
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
	leave := tenantpg.NewLeaveStore(svc.db)
	id, err := tenantID(ctx, leave, *tid)
	if err != nil {
		return err
	}
	if _, err := leave.AddDomain(ctx, id, tenant.NewDomain{Domain: d, ServiceDomain: sd, Verified: true}, "cli"); err != nil {
		return err
	}
	notifyHosts(ctx, svc, log, d, sd)
	fmt.Println(d)
	return nil
}

func notifyHosts(ctx context.Context, svc *services, log *slog.Logger, hosts ...string) {
	if svc.tenantSv.Notify == nil {
		return
	}
	var hs []string
	for _, h := range hosts {
		if h != "" {
			hs = append(hs, h)
		}
	}
	if err := svc.tenantSv.Notify.HostsChanged(ctx, hs...); err != nil {
		log.Warn("host cache invalidation failed; nodes catch up within ROOST_DOMAIN_CACHE_TTL", "err", err)
	}
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
	return withMover(ctx, cfg, log, func(m *mover) error {
		old, err := tenant.NormalizeHost(*fromDomain)
		if err != nil {
			return errs.E(errs.Invalid, "--tenant (or --from) must name the domain moved away from")
		}
		id, err := tenantID(ctx, m.leave, *from)
		if err != nil {
			return err
		}
		moved, err := m.moveDomain(ctx, id, old, *to, "cli")
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
	fu, fd, ok1 := strings.Cut(strings.TrimPrefix(*from, "@"), "@")
	tu, td, ok2 := strings.Cut(strings.TrimPrefix(*to, "@"), "@")
	if !ok1 || !ok2 {
		return errs.E(errs.Invalid, "usage: roost account move --from user@domain --to user@domain")
	}
	if !federation.ValidUsername(tu) {
		return errs.E(errs.Invalid, "%q is not a valid username (1-30 letters, digits or _)", tu)
	}
	return withMover(ctx, cfg, log, func(m *mover) error {
		fromSite, err := m.site(ctx, fd)
		if err != nil {
			return err
		}
		toSite, err := m.site(ctx, td)
		if err != nil {
			return err
		}
		if err := checkNotReserved(m.cfg, toSite.Domain); err != nil { // signin.go
			return err
		}
		acct, err := m.svc.accounts.AccountByUsername(ctx, fromSite.TenantID, fromSite.Domain, fu)
		if err != nil {
			return err
		}
		line, err := m.rehome(ctx, acct, fromSite, toSite, tu, "account")
		if err != nil {
			return err
		}
		fmt.Println(line)
		return m.leave.Audit(ctx, "cli", "account.move", *from+" -> "+*to, fromSite.TenantID, "")
	})
}

// mover is what moving accounts needs.
type mover struct {
	cfg   *config.Config
	log   *slog.Logger
	svc   *services
	fd    *fed
	leave *tenantpg.LeaveStore
}

func withMover(ctx context.Context, cfg *config.Config, log *slog.Logger, fn func(*mover) error) error {
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	return fn(&mover{cfg: cfg, log: log, svc: svc, fd: fd, leave: tenantpg.NewLeaveStore(svc.db)})
}

func (m *mover) site(ctx context.Context, domain string) (*tenant.Site, error) {
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return nil, err
	}
	return m.svc.tenants.SiteByHost(ctx, host)
}

// moveDomain moves every account living on old to the tenant's domain
// to, then (again) announces moves left unannounced by an earlier run
// that died, so running it twice finishes the job.
func (m *mover) moveDomain(ctx context.Context, tenantID int64, old, to, by string) ([]string, error) {
	fromSite, err := m.site(ctx, old)
	if err != nil {
		return nil, err
	}
	toSite, err := m.site(ctx, to)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.Invalid, "%s is not a verified domain of tenant %d: add it first (roost tenant add-domain, or verify it on the portal)", to, tenantID)
	}
	if err != nil {
		return nil, err
	}
	if fromSite.TenantID != tenantID || toSite.TenantID != tenantID {
		return nil, errs.E(errs.Invalid, "%s and %s must both be verified domains of tenant %d", fromSite.Domain, toSite.Domain, tenantID)
	}
	if fromSite.Domain == toSite.Domain {
		return nil, errs.E(errs.Invalid, "the account already lives on %s", toSite.Domain)
	}
	if err := checkNotReserved(m.cfg, toSite.Domain); err != nil { // a name claimed before it was reserved (signin.go)
		return nil, err
	}
	accts, err := m.svc.accounts.LocalAccountsOn(ctx, tenantID, fromSite.Domain)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range accts {
		line, err := m.rehome(ctx, a, fromSite, toSite, a.Username, "domain")
		if err != nil {
			return out, fmt.Errorf("@%s@%s: %w", a.Username, a.Domain, err)
		}
		out = append(out, line)
	}
	if err := m.announcePending(ctx, tenantID); err != nil {
		return out, err
	}
	return out, m.leave.Audit(ctx, by, "tenant.move_domain", fromSite.Domain+" -> "+toSite.Domain, tenantID,
		fmt.Sprintf("%d accounts moved", len(out)))
}

// rehome moves one account (see fedpg.Store.RehomeAccount), then sends the
// Move from the identity left behind to every server following it.
func (m *mover) rehome(ctx context.Context, a *federation.Account, fromSite, toSite *tenant.Site, username, kind string) (string, error) {
	fromLinks := federation.NewLinks(m.cfg.URLScheme, fromSite.ActorHost(), m.cfg.PublicPort)
	toLinks := federation.NewLinks(m.cfg.URLScheme, toSite.ActorHost(), m.cfg.PublicPort)
	ghost, moved, err := m.svc.accounts.RehomeAccount(ctx, fedpg.Rehome{
		AccountID: a.ID, ToTenantID: toSite.TenantID, ToDomain: toSite.Domain, ToUsername: username,
		FromURI: fromLinks.Actor(a.Username), ToURI: toLinks.Actor(username), Kind: kind,
	})
	if err != nil {
		return "", err
	}
	if err := m.announce(ctx, ghost); err != nil {
		return "", err
	}
	if err := m.refollow(ctx, ghost, moved, fromLinks.Actor(a.Username), toLinks.Actor(username)); err != nil {
		return "", err
	}
	return fmt.Sprintf("@%s@%s -> @%s@%s", ghost.Username, ghost.Domain, moved.Username, moved.Domain), nil
}

// refollow carries the moved account's follows of remote accounts to its
// new actor: a Follow from the new actor (the row keeps its state and
// takes the new Follow's id, which the Accept will name) and an Undo of
// the old Follow from the old one, so remote servers deliver to the new
// inbox and no longer to the old.
func (m *mover) refollow(ctx context.Context, ghost, moved *federation.Account, fromURI, toURI string) error {
	follows, err := m.svc.accounts.RemoteFollowing(ctx, moved.ID)
	if err != nil {
		return err
	}
	for _, f := range follows {
		id := ap.NewFollowID(toURI)
		if err := m.svc.accounts.SetFollowURI(ctx, f.ID, id); err != nil {
			return err
		}
		follow, err := json.Marshal(ap.NewFollow(id, toURI, f.TargetURI))
		if err != nil {
			return err
		}
		if err := m.fd.queue.Send(ctx, moved.ID, id, follow, []string{f.Inbox}, false); err != nil {
			return err
		}
		undo, err := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": f.URI + "/undo", "type": "Undo", "actor": fromURI, "to": []string{f.TargetURI},
			"object": map[string]any{"id": f.URI, "type": "Follow", "actor": fromURI, "object": f.TargetURI}})
		if err != nil {
			return err
		}
		if err := m.fd.queue.Send(ctx, ghost.ID, f.URI+"/undo", undo, []string{f.Inbox}, false); err != nil {
			return err
		}
	}
	return nil
}

// announce queues the Move of a ghost to its followers' servers.
func (m *mover) announce(ctx context.Context, ghost *federation.Account) error {
	if _, err := m.fd.outbox.Move(ctx, ghost, ghost.MovedTo); err != nil {
		return fmt.Errorf("announce the move of @%s@%s: %w", ghost.Username, ghost.Domain, err)
	}
	return m.svc.accounts.MarkMoveAnnounced(ctx, ghost.ID)
}

func (m *mover) announcePending(ctx context.Context, tenantID int64) error {
	ghosts, err := m.svc.accounts.UnannouncedMoves(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, g := range ghosts {
		if err := m.announce(ctx, g); err != nil {
			return err
		}
	}
	return nil
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

// deletionEvery is how often roost work looks for due deletions.
const deletionEvery = 5 * time.Second

// runDeletions is the worker side of leaving: for each due deletion,
// Delete(Person) of every account to every server that knows it, then,
// when those deliveries are done or given up, the tenant's files (media
// and archives), then its rows removed.
func runDeletions(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, fd *fed) {
	leave := tenantpg.NewLeaveStore(svc.db)
	ms, err := newMedia(ctx, cfg, svc)
	if err != nil {
		log.Error("tenant deletions: no media store", "err", err)
		return
	}
	t := time.NewTicker(deletionEvery)
	defer t.Stop()
	for {
		if err := deletionPass(ctx, log, svc, fd, leave, ms.Blobs); err != nil && ctx.Err() == nil {
			log.Error("tenant deletions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func deletionPass(ctx context.Context, log *slog.Logger, svc *services, fd *fed, leave *tenantpg.LeaveStore, blobs media.Blobs) error {
	due, err := leave.DueDeletions(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, d := range due {
		if d.Announced == nil {
			if err := announceDeletion(ctx, svc, fd, d.TenantID); err != nil {
				return fmt.Errorf("tenant %d: %w", d.TenantID, err)
			}
			hosts, err := leave.MarkAnnounced(ctx, d.TenantID)
			if err != nil {
				return err
			}
			notifyHosts(ctx, svc, log, hosts...)
			log.Info("tenant deletion announced", "tenant", d.TenantID)
			continue
		}
		pending, err := svc.accounts.PendingDeliveries(ctx, d.TenantID)
		if err != nil {
			return err
		}
		if pending > 0 {
			continue
		}
		accts, err := svc.accounts.TenantAccounts(ctx, d.TenantID)
		if err != nil {
			return err
		}
		// Files first, rows last: the rows are what finds the files, so a
		// crash in between is finished by the next pass (deleting a
		// missing file is not an error).
		keys, paths, err := svc.accounts.TenantFiles(ctx, d.TenantID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := blobs.Delete(ctx, k); err != nil {
				return fmt.Errorf("tenant %d: media %s: %w", d.TenantID, k, err)
			}
		}
		for _, p := range paths {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("tenant %d: archive %s: %w", d.TenantID, p, err)
			}
		}
		hosts, err := leave.Purge(ctx, d.TenantID, fmt.Sprintf("%d accounts removed after Delete(Person) was delivered", len(accts)))
		if err != nil {
			return err
		}
		notifyHosts(ctx, svc, log, hosts...)
		log.Info("tenant deleted", "tenant", d.TenantID, "accounts", len(accts), "hosts", hosts)
	}
	return nil
}

// announceDeletion queues Delete(Person), signed by each account, to every
// server that knows the tenant's accounts.
func announceDeletion(ctx context.Context, svc *services, fd *fed, tenantID int64) error {
	accts, err := svc.accounts.TenantAccounts(ctx, tenantID)
	if err != nil {
		return err
	}
	inboxes, err := svc.accounts.KnownInboxes(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if err := fd.outbox.DeleteActor(ctx, a, inboxes); err != nil {
			return err
		}
	}
	return nil
}

// leavePages is admin.LeaveStore on the stores; fd (nil on nodes
// without federation) sends the Moves of a change of domain.
type leavePages struct {
	svc *services
	fd  *fed
	cfg *config.Config
	log *slog.Logger
}

func (l leavePages) Domains(ctx context.Context, tenantID int64) ([]admin.MoveDomain, error) {
	ds, err := l.svc.accounts.TenantDomains(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]admin.MoveDomain, len(ds))
	for i, d := range ds {
		out[i] = admin.MoveDomain{Domain: d.Domain, Accounts: d.Accounts, Moved: d.Moved}
	}
	return out, nil
}

func (l leavePages) MoveDomain(ctx context.Context, tenantID int64, from, to, by string) ([]string, error) {
	if l.fd == nil {
		return nil, errs.E(errs.Unavailable, "moving needs the federation machinery, absent on this node")
	}
	m := &mover{cfg: l.cfg, log: l.log, svc: l.svc, fd: l.fd, leave: tenantpg.NewLeaveStore(l.svc.db)}
	return m.moveDomain(ctx, tenantID, from, to, by)
}

func (l leavePages) Deletion(ctx context.Context, tenantID int64) (*admin.Deletion, error) {
	d, err := tenantpg.NewLeaveStore(l.svc.db).Deletion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &admin.Deletion{RequestedBy: d.RequestedBy, RequestedAt: d.RequestedAt, DueAt: d.DueAt, Announced: d.Announced}, nil
}

func (l leavePages) ScheduleDeletion(ctx context.Context, tenantID int64, due time.Time, by string) error {
	return tenantpg.NewLeaveStore(l.svc.db).ScheduleDeletion(ctx, tenantID, due, by)
}

func (l leavePages) CancelDeletion(ctx context.Context, tenantID int64, by string) error {
	return tenantpg.NewLeaveStore(l.svc.db).CancelDeletion(ctx, tenantID, by)
}

func (l leavePages) RequestExports(ctx context.Context, tenantID int64) (int, error) {
	accts, err := l.svc.accounts.TenantAccounts(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range accts {
		if a.MovedTo != "" {
			continue // an identity left behind by a move: its posts went along
		}
		if _, err := l.svc.accounts.RequestExport(ctx, tenantID, a.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (l leavePages) Exports(ctx context.Context, tenantID int64) ([]admin.LeaveExport, error) {
	es, err := l.svc.accounts.TenantExports(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]admin.LeaveExport, len(es))
	for i, e := range es {
		out[i] = admin.LeaveExport{ID: e.ID, Account: e.Account, State: e.State, Size: e.Size, Expires: e.Expires}
	}
	return out, nil
}

func (l leavePages) ExportFile(ctx context.Context, tenantID, exportID int64) (string, error) {
	return l.svc.accounts.TenantExportFile(ctx, tenantID, exportID)
}
