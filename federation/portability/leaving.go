package portability

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Deletions keeps tenants' scheduled deletions (tenant/postgres LeaveStore).
type Deletions interface {
	// Deletion returns the tenant's scheduled deletion, or errs.NotFound.
	Deletion(ctx context.Context, tenantID int64) (*tenant.Deletion, error)
	ScheduleDeletion(ctx context.Context, tenantID int64, due time.Time, by string) error
	// CancelDeletion cancels a deletion not yet announced (errs.Conflict
	// once it is).
	CancelDeletion(ctx context.Context, tenantID int64, by string) error
	// DueDeletions lists deletions whose grace period is over at now.
	DueDeletions(ctx context.Context, now time.Time) ([]tenant.Deletion, error)
	// MarkAnnounced records that Delete(Person) was queued, stops serving
	// the tenant and returns its hostnames.
	MarkAnnounced(ctx context.Context, tenantID int64) ([]string, error)
	// Purge removes the tenant's rows and returns the hostnames it had.
	Purge(ctx context.Context, tenantID int64, detail string) ([]string, error)
}

// LeavingStore is what leaving reads of a tenant's accounts, deliveries,
// files and archives (federation/postgres).
type LeavingStore interface {
	// TenantAccounts lists every local account of a tenant, ghosts included.
	TenantAccounts(ctx context.Context, tenantID int64) ([]*federation.Account, error)
	// KnownInboxes lists the inboxes of every server that knows the
	// tenant's accounts.
	KnownInboxes(ctx context.Context, tenantID int64) ([]string, error)
	// PendingDeliveries counts deliveries of the tenant not yet done.
	PendingDeliveries(ctx context.Context, tenantID int64) (int64, error)
	// TenantFiles lists the tenant's media keys and archive paths.
	TenantFiles(ctx context.Context, tenantID int64) (keys, paths []string, err error)
	RequestExport(ctx context.Context, tenantID, accountID int64) (*archive.Job, error)
	TenantExports(ctx context.Context, tenantID int64) ([]federation.TenantExport, error)
	TenantExportFile(ctx context.Context, tenantID, exportID int64) (string, error)
	TenantDomains(ctx context.Context, tenantID int64) ([]federation.TenantDomain, error)
}

// ActorDeleter queues Delete(Person) of a local account (outbox.Service).
type ActorDeleter interface {
	DeleteActor(ctx context.Context, local *federation.Account, inboxes []string) error
}

// BlobDeleter removes a media file; a missing file is not an error
// (media.Blobs).
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// HostCache is told that hosts' answers changed (tenant.Service); it
// logs a failure itself, as caches expire on their own.
type HostCache interface {
	HostsChanged(ctx context.Context, hosts ...string)
}

// Leaving is a tenant's way out: archives of every account first, then
// a deletion after a grace period, cancellable until it begins; and the
// change of domain (Mover). Pass is the worker's side.
type Leaving struct {
	Deletions Deletions
	Store     LeavingStore
	// Mover changes domains; nil on nodes without the federation
	// machinery (MoveDomain is then unavailable).
	Mover *Mover
	// Deleter, Blobs and Hosts are the worker's (Pass).
	Deleter ActorDeleter
	Blobs   BlobDeleter
	Hosts   HostCache
	Log     *slog.Logger
	// RemoveFile removes an archive on disk (nil: os.Remove).
	RemoveFile func(path string) error
	Now        func() time.Time
}

// Deletion returns the tenant's scheduled deletion, or errs.NotFound.
func (l *Leaving) Deletion(ctx context.Context, tenantID int64) (*tenant.Deletion, error) {
	return l.Deletions.Deletion(ctx, tenantID)
}

// ScheduleDeletion schedules the tenant's deletion at due.
func (l *Leaving) ScheduleDeletion(ctx context.Context, tenantID int64, due time.Time, by string) error {
	return l.Deletions.ScheduleDeletion(ctx, tenantID, due, by)
}

// CancelDeletion cancels a deletion that has not begun.
func (l *Leaving) CancelDeletion(ctx context.Context, tenantID int64, by string) error {
	return l.Deletions.CancelDeletion(ctx, tenantID, by)
}

// RequestExports asks the worker for an archive of every account of the
// tenant that has not moved away, and returns how many.
func (l *Leaving) RequestExports(ctx context.Context, tenantID int64) (int, error) {
	accts, err := l.Store.TenantAccounts(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range accts {
		if a.MovedTo != "" {
			continue // an identity left behind by a move: its posts went along
		}
		if _, err := l.Store.RequestExport(ctx, tenantID, a.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Exports lists the tenant's archives, newest first.
func (l *Leaving) Exports(ctx context.Context, tenantID int64) ([]federation.TenantExport, error) {
	return l.Store.TenantExports(ctx, tenantID)
}

// ExportFile is the path of one finished, unexpired archive of the tenant.
func (l *Leaving) ExportFile(ctx context.Context, tenantID, exportID int64) (string, error) {
	return l.Store.TenantExportFile(ctx, tenantID, exportID)
}

// Domains lists the tenant's verified domains.
func (l *Leaving) Domains(ctx context.Context, tenantID int64) ([]federation.TenantDomain, error) {
	return l.Store.TenantDomains(ctx, tenantID)
}

// MoveDomain moves every account of one of the tenant's domains to
// another (Mover.MoveDomain).
func (l *Leaving) MoveDomain(ctx context.Context, tenantID int64, from, to, by string) ([]string, error) {
	if l.Mover == nil {
		return nil, errs.E(errs.Unavailable, "moving needs the federation machinery, absent on this node")
	}
	return l.Mover.MoveDomain(ctx, tenantID, from, to, by)
}

// Pass handles every due deletion once: first Delete(Person) of each
// account to every server that knows it (and the tenant stops being
// served); on a later pass, once those deliveries are done or given up,
// the tenant's files, then its rows. Files go first because the rows are
// what finds them: a crash in between is finished by the next pass.
func (l *Leaving) Pass(ctx context.Context) error {
	due, err := l.Deletions.DueDeletions(ctx, l.now())
	if err != nil {
		return fmt.Errorf("due deletions: %w", err)
	}
	for _, d := range due {
		if err := l.advance(ctx, d); err != nil {
			return fmt.Errorf("tenant %d: %w", d.TenantID, err)
		}
	}
	return nil
}

// advance takes one due deletion a step further.
func (l *Leaving) advance(ctx context.Context, d tenant.Deletion) error {
	if d.Announced == nil {
		return l.announce(ctx, d.TenantID)
	}
	pending, err := l.Store.PendingDeliveries(ctx, d.TenantID)
	if err != nil || pending > 0 {
		return err
	}
	return l.purge(ctx, d.TenantID)
}

// announce queues Delete(Person), signed by each account, to every server
// that knows the tenant's accounts, then marks the deletion announced.
func (l *Leaving) announce(ctx context.Context, tenantID int64) error {
	accts, err := l.Store.TenantAccounts(ctx, tenantID)
	if err != nil {
		return err
	}
	inboxes, err := l.Store.KnownInboxes(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if err := l.Deleter.DeleteActor(ctx, a, inboxes); err != nil {
			return err
		}
	}
	hosts, err := l.Deletions.MarkAnnounced(ctx, tenantID)
	if err != nil {
		return err
	}
	l.hostsChanged(ctx, hosts)
	l.log().Info("tenant deletion announced", "tenant", tenantID)
	return nil
}

// purge removes the tenant's files, then its rows.
func (l *Leaving) purge(ctx context.Context, tenantID int64) error {
	accts, err := l.Store.TenantAccounts(ctx, tenantID)
	if err != nil {
		return err
	}
	keys, paths, err := l.Store.TenantFiles(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := l.Blobs.Delete(ctx, k); err != nil {
			return fmt.Errorf("media %s: %w", k, err)
		}
	}
	for _, p := range paths {
		if err := l.removeFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("archive %s: %w", p, err)
		}
	}
	hosts, err := l.Deletions.Purge(ctx, tenantID, fmt.Sprintf("%d accounts removed after Delete(Person) was delivered", len(accts)))
	if err != nil {
		return err
	}
	l.hostsChanged(ctx, hosts)
	l.log().Info("tenant deleted", "tenant", tenantID, "accounts", len(accts), "hosts", hosts)
	return nil
}

func (l *Leaving) hostsChanged(ctx context.Context, hosts []string) {
	if l.Hosts != nil && len(hosts) > 0 {
		l.Hosts.HostsChanged(ctx, hosts...)
	}
}

func (l *Leaving) removeFile(path string) error {
	if l.RemoveFile != nil {
		return l.RemoveFile(path)
	}
	return os.Remove(path)
}

func (l *Leaving) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Leaving) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}
