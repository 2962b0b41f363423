package portability

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// SecondFactor is two-factor sign-in as the deletion asks it
// (tenant/factor.Service): when the account has it on, the code is
// needed beside the password.
type SecondFactor interface {
	Required(ctx context.Context, accountID int64) (bool, error)
	Check(ctx context.Context, accountID int64, code string) error
}

// AccountDeletions deletes one local account, with Mastodon's
// semantics:
//   - its owner confirms with the password (and a two-factor code when
//     on); the operator's command line needs neither;
//   - at once, in one transaction, the account is suspended (no sign-in,
//     every token and web session revoked, its actor, profile and API
//     answers gone) and its name is kept taken for good;
//   - roost work (Pass) then queues Delete(Person), signed by the
//     account, to every server that knew it, removes its files and rows
//     in bounded batches, and once the Delete deliveries are done or
//     given up, its row; its actor answers 410 Gone with a Tombstone;
//   - the tenant's other accounts are untouched; its last active account
//     is refused: a site closes by leaving (Leaving), which exports
//     every account first.
type AccountDeletions struct {
	Store federation.AccountDeletionStore
	// Factors checks the second factor; nil asks for none.
	Factors SecondFactor
	// Deleter, Blobs, RemoveFile and Log are the worker's (Pass).
	Deleter    ActorDeleter
	Blobs      BlobDeleter
	RemoveFile func(path string) error
	Log        *slog.Logger
	// Batch bounds the rows one purge statement removes (default 500);
	// Steps bounds the statements one pass runs per deletion (default 20).
	Batch, Steps int
}

// DeleteRequest is the owner's confirmation.
type DeleteRequest struct {
	TenantID, AccountID int64
	Password, Code      string
}

// errWrongPassword does not say more than the sign-in page does.
var errWrongPassword = errs.E(errs.Unauthorized, "The password is wrong.")

// Delete is the owner's deletion of their account: the password (and
// the code), then the deletion begins. A wrong password or code changes
// nothing.
func (d *AccountDeletions) Delete(ctx context.Context, r DeleteRequest) error {
	a, err := d.local(ctx, r.TenantID, r.AccountID)
	if err != nil {
		return err
	}
	hash, err := d.Store.LoginPasswordHash(ctx, a.ID)
	if err != nil {
		return err
	}
	if r.Password == "" || len(r.Password) > 1024 || !tenant.CheckPassword(hash, r.Password) {
		return errWrongPassword
	}
	if err := d.checkFactor(ctx, a.ID, r.Code); err != nil {
		return err
	}
	return d.begin(ctx, a, a.Username+"@"+a.Domain, true)
}

// DeleteByOperator is the operator's deletion of an account (the
// command line): no password, and a tenant's last account may go too.
func (d *AccountDeletions) DeleteByOperator(ctx context.Context, tenantID, accountID int64, by string) error {
	a, err := d.local(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	return d.begin(ctx, a, by, false)
}

// local is the tenant's own local account; another tenant's id or a
// remote actor is not found, as if it did not exist.
func (d *AccountDeletions) local(ctx context.Context, tenantID, accountID int64) (*federation.Account, error) {
	a, err := d.Store.AccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.TenantID == 0 || a.TenantID != tenantID {
		return nil, errs.E(errs.NotFound, "no such account")
	}
	return a, nil
}

func (d *AccountDeletions) checkFactor(ctx context.Context, accountID int64, code string) error {
	if d.Factors == nil {
		return nil
	}
	on, err := d.Factors.Required(ctx, accountID)
	if err != nil || !on {
		return err
	}
	if code == "" {
		return errs.E(errs.Unauthorized, "Enter a code from your authenticator app (or a recovery code).")
	}
	return d.Factors.Check(ctx, accountID, code)
}

func (d *AccountDeletions) begin(ctx context.Context, a *federation.Account, by string, keepOne bool) error {
	err := d.Store.BeginAccountDeletion(ctx, federation.AccountDeletion{AccountID: a.ID, TenantID: a.TenantID, RequestedBy: by}, keepOne)
	if err == nil {
		d.log().Info("account deletion requested", "account", a.ID, "tenant", a.TenantID)
	}
	return err
}

// Deleted is the deletion of a name on a tenant's domain, or errs.NotFound:
// what its actor and pages answer 410 Gone for.
func (d *AccountDeletions) Deleted(ctx context.Context, tenantID int64, domain, username string) (*federation.AccountDeletion, error) {
	return d.Store.AccountDeletionByName(ctx, tenantID, domain, username)
}

// dueLimit bounds the deletions one pass takes further.
const dueLimit = 20

// Pass takes every pending deletion one bounded step further: first
// Delete(Person) to the servers that knew the account; then its files
// and rows, a batch at a time; last, once its deliveries are done, its
// row. Files go before their rows, which are what finds them: a crash in
// between is finished by the next pass.
func (d *AccountDeletions) Pass(ctx context.Context) error {
	due, err := d.Store.DueAccountDeletions(ctx, dueLimit)
	if err != nil {
		return err
	}
	var failed []error
	for _, x := range due {
		if err := d.advance(ctx, x); err != nil {
			failed = append(failed, fmt.Errorf("account %d: %w", x.AccountID, err))
		}
	}
	return errors.Join(failed...)
}

func (d *AccountDeletions) advance(ctx context.Context, x federation.AccountDeletion) error {
	if x.Announced == nil {
		return d.announce(ctx, x)
	}
	for step := 0; step < d.steps(); step++ {
		more, err := d.purgeStep(ctx, x.AccountID)
		if err != nil || !more {
			if err != nil {
				return err
			}
			return d.finish(ctx, x)
		}
	}
	return nil
}

// announce queues Delete(Person), signed by the account, to every inbox
// that knew it.
func (d *AccountDeletions) announce(ctx context.Context, x federation.AccountDeletion) error {
	a, err := d.Store.AccountByID(ctx, x.AccountID)
	if err != nil {
		return err
	}
	inboxes, err := d.Store.AccountKnownInboxes(ctx, x.AccountID)
	if err != nil {
		return err
	}
	if err := d.Deleter.DeleteActor(ctx, a, inboxes); err != nil {
		return err
	}
	d.log().Info("account deletion announced", "account", x.AccountID, "inboxes", len(inboxes))
	return d.Store.MarkAccountDeletionAnnounced(ctx, x.AccountID)
}

// purgeStep removes one batch: files with their rows first, then rows.
func (d *AccountDeletions) purgeStep(ctx context.Context, accountID int64) (bool, error) {
	f, err := d.Store.AccountFilesBatch(ctx, accountID, d.batch())
	if err != nil {
		return false, err
	}
	if len(f.MediaIDs) > 0 || len(f.Paths) > 0 {
		for _, k := range f.Keys {
			if err := d.Blobs.Delete(ctx, k); err != nil {
				return false, fmt.Errorf("media %s: %w", k, err)
			}
		}
		for _, p := range f.Paths {
			if err := d.removeFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("archive %s: %w", p, err)
			}
		}
		return true, d.Store.ForgetAccountFiles(ctx, accountID, f)
	}
	return d.Store.PurgeAccountBatch(ctx, accountID, d.batch())
}

// finish removes the account's row once no delivery of it is pending:
// the Delete is signed with its key, which goes with the row.
func (d *AccountDeletions) finish(ctx context.Context, x federation.AccountDeletion) error {
	pending, err := d.Store.PendingAccountDeliveries(ctx, x.AccountID)
	if err != nil || pending > 0 {
		return err
	}
	if err := d.Store.FinishAccountDeletion(ctx, x.AccountID); err != nil {
		return err
	}
	d.log().Info("account deleted", "account", x.AccountID, "tenant", x.TenantID)
	return nil
}

func (d *AccountDeletions) batch() int {
	if d.Batch > 0 {
		return d.Batch
	}
	return 500
}

func (d *AccountDeletions) steps() int {
	if d.Steps > 0 {
		return d.Steps
	}
	return 20
}

func (d *AccountDeletions) removeFile(p string) error {
	if d.RemoveFile != nil {
		return d.RemoveFile(p)
	}
	return os.Remove(p)
}

func (d *AccountDeletions) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}
