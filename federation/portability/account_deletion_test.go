package portability_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// inboxDeleter records which actor was deleted towards which inboxes.
type inboxDeleter struct{ got map[string][]string }

func (d *inboxDeleter) DeleteActor(_ context.Context, local *federation.Account, inboxes []string) error {
	sort.Strings(inboxes)
	d.got[local.Username] = inboxes
	return nil
}

// delWorld is a tenant with two accounts, the one to delete holding a
// password, posts, media, a token, a remote follower and a followee.
type delWorld struct {
	*world
	gone, stays *federation.Account
	uc          *portability.AccountDeletions
	deleter     *inboxDeleter
	blobs       *events
}

const delPassword = "correct horse battery"

func newDelWorld(t *testing.T) *delWorld {
	t.Helper()
	w := &delWorld{world: newWorld(t), deleter: &inboxDeleter{got: map[string][]string{}}, blobs: &events{}}
	w.gone, w.stays = w.account(t, "gone"), w.account(t, "stays")
	hash, err := tenant.HashPassword(delPassword)
	if err != nil {
		t.Fatal(err)
	}
	w.exec(t, `update users set password_hash = $2 where id = (select user_id from user_accounts where account_id = $1)`, w.gone.ID, hash)
	w.exec(t, `insert into accounts (domain, username, uri, inbox_url, shared_inbox_url, fetched_at) values
		('remote.example', 'fan', 'https://remote.example/users/fan', 'https://remote.example/users/fan/inbox', 'https://remote.example/inbox', now()),
		('other.example', 'idol', 'https://other.example/users/idol', 'https://other.example/users/idol/inbox', null, now())`)
	w.exec(t, `insert into follows (follower_id, followee_id, state, uri) select id, $1, 'accepted', 'f1' from accounts where username = 'fan'`, w.gone.ID)
	w.exec(t, `insert into follows (follower_id, followee_id, state, uri) select $1, id, 'accepted', 'f2' from accounts where username = 'idol'`, w.gone.ID)
	w.exec(t, `insert into follows (follower_id, followee_id, state, uri) values ($1, $2, 'accepted', 'f3')`, w.stays.ID, w.gone.ID)
	for i := 0; i < 7; i++ {
		w.exec(t, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
			values ($1, $2, $3, 'bye', 'public', now())`, w.gone.ID, w.tenantID, fmt.Sprintf("https://a.example/users/gone/statuses/%d", i))
	}
	w.exec(t, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
		values ($1, $2, 'https://a.example/users/stays/statuses/1', 'here', 'public', now())`, w.stays.ID, w.tenantID)
	w.exec(t, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, thumb_key, thumb_content_type)
		values ($1, $2, 'image', 'image/png', 'k/orig.png', 3, 'k/thumb.png', 'image/png')`, w.tenantID, w.gone.ID)
	w.exec(t, `insert into oauth_apps (tenant_id, name, redirect_uris, scopes, client_id, client_secret_hash)
		values ($1, 'app', '{urn:ietf:wg:oauth:2.0:oob}', 'read', 'cid', '\x00')`, w.tenantID)
	for i, id := range []int64{w.gone.ID, w.stays.ID} {
		w.exec(t, `insert into oauth_tokens (tenant_id, app_id, account_id, token_hash, scopes)
			select $1, id, $2, $3, 'read' from oauth_apps where client_id = 'cid'`, w.tenantID, id, []byte{byte(i)})
	}
	w.uc = &portability.AccountDeletions{Store: w.store, Deleter: w.deleter, Blobs: recordBlobs{w.blobs}, Batch: 3, Steps: 4,
		RemoveFile: func(string) error { return nil }}
	return w
}

func (w *delWorld) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// snapshot counts what a refused deletion must leave as it was.
func (w *delWorld) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`select count(*) from account_deletions`, `select count(*) from account_limits`,
		`select count(*) from oauth_tokens where revoked_at is null`, `select count(*) from accounts where tenant_id is not null`,
		`select count(*) from statuses`, `select count(*) from follows`, `select count(*) from media_attachments`,
	} {
		fmt.Fprintf(&b, "%d ", w.count(t, q))
	}
	return b.String()
}

// Issue 18: a wrong password (or none), another tenant's request, a
// remote account's id: refused, and nothing changed.
func TestIssue18AccountDeleteRefusalsChangeNothing(t *testing.T) {
	w := newDelWorld(t)
	ctx := context.Background()
	before := w.snapshot(t)
	other, err := w.tenants.CreateTenant(ctx, "B", tenant.NewDomain{Domain: "b.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	var remoteID int64
	if err := w.db.QueryRow(ctx, `select id from accounts where username = 'fan'`).Scan(&remoteID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    portability.DeleteRequest
		code errs.Code
	}{
		{"wrong password", portability.DeleteRequest{TenantID: w.tenantID, AccountID: w.gone.ID, Password: "wrong"}, errs.Unauthorized},
		{"no password", portability.DeleteRequest{TenantID: w.tenantID, AccountID: w.gone.ID}, errs.Unauthorized},
		{"another tenant", portability.DeleteRequest{TenantID: other.ID, AccountID: w.gone.ID, Password: delPassword}, errs.NotFound},
		{"a remote account", portability.DeleteRequest{TenantID: w.tenantID, AccountID: remoteID, Password: delPassword}, errs.NotFound},
		{"a missing account", portability.DeleteRequest{TenantID: w.tenantID, AccountID: 1 << 40, Password: delPassword}, errs.NotFound},
	} {
		if err := w.uc.Delete(ctx, c.r); errs.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if err := w.uc.DeleteByOperator(ctx, other.ID, w.gone.ID, "cli"); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("operator, wrong tenant: %v", err)
	}
	if after := w.snapshot(t); after != before {
		t.Fatalf("a refused deletion changed rows: %s -> %s", before, after)
	}
}

// Issue 18: the owner deletes the account with the password. At once it
// is suspended (not found by name, tokens revoked) and its name answers
// as deleted; the passes announce Delete(Person) to its followers' and
// followees' servers, remove its media files, posts and follows in
// batches, then its row and its login; the name stays taken; the other
// account keeps everything.
func TestIssue18AccountDeleteSuspendsAnnouncesAndPurges(t *testing.T) {
	w := newDelWorld(t)
	ctx := context.Background()
	if err := w.uc.Delete(ctx, portability.DeleteRequest{TenantID: w.tenantID, AccountID: w.gone.ID, Password: delPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.AccountByUsername(ctx, w.tenantID, "a.example", "gone"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the deleted account is still served: %v", err)
	}
	if d, err := w.uc.Deleted(ctx, w.tenantID, "a.example", "GONE"); err != nil || d.AccountID != w.gone.ID {
		t.Fatalf("deleted name: %+v %v", d, err)
	}
	if n := w.count(t, `select count(*) from oauth_tokens where account_id = $1 and revoked_at is null`, w.gone.ID); n != 0 {
		t.Fatalf("%d tokens still valid", n)
	}
	if err := w.uc.Delete(ctx, portability.DeleteRequest{TenantID: w.tenantID, AccountID: w.gone.ID, Password: delPassword}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second deletion: %v", err)
	}

	if err := w.uc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://other.example/users/idol/inbox", "https://remote.example/inbox"}
	if got := w.deleter.got["gone"]; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Delete(Person) went to %v, want %v", got, want)
	}
	// A Delete still being delivered (signed with the account's key)
	// holds the row back; the rest goes.
	w.exec(t, `insert into deliveries (sender_id, activity_id, inbox_url, host, body)
		values ($1, 'https://a.example/users/gone#delete', 'https://remote.example/inbox', 'remote.example', '\x00')`, w.gone.ID)
	for i := 0; i < 10; i++ {
		if err := w.uc.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.count(t, `select count(*) from accounts where id = $1`, w.gone.ID) - w.count(t, `select count(*) from statuses where account_id = $1`, w.gone.ID); n != 1 {
		t.Fatal("the account's row went before its Delete was delivered, or its posts stayed")
	}
	w.exec(t, `update deliveries set state = 'delivered' where sender_id = $1`, w.gone.ID)
	if err := w.uc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, `select count(*) from account_deletions where purged_at is null`); n != 0 {
		t.Fatal("the deletion did not finish once its deliveries were done")
	}
	if got := strings.Join(*w.blobs, "|"); got != "blob k/orig.png|blob k/thumb.png" {
		t.Fatalf("media files removed: %s", got)
	}
	for _, q := range []string{
		`select count(*) from accounts where id = $1`, `select count(*) from statuses where account_id = $1`,
		`select count(*) from follows where $1 in (follower_id, followee_id)`, `select count(*) from media_attachments where account_id = $1`,
		`select count(*) from users where lower(email) = 'gone@a.example' and $1 > 0`,
	} {
		if n := w.count(t, q, w.gone.ID); n != 0 {
			t.Errorf("%s = %d after the purge", q, n)
		}
	}
	if n := w.count(t, `select count(*) from statuses where account_id = $1`, w.stays.ID) +
		w.count(t, `select count(*) from oauth_tokens where account_id = $1 and revoked_at is null`, w.stays.ID); n != 2 {
		t.Fatalf("the other account lost rows: %d", n)
	}
	if _, err := w.store.AccountByUsername(ctx, w.tenantID, "a.example", "stays"); err != nil {
		t.Fatal(err)
	}
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.store.CreateAccount(ctx, federation.NewAccount{TenantID: w.tenantID, Domain: "a.example",
		Username: "Gone", Email: "new@a.example", Password: "x", PasswordHash: "x", Keys: kp})
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("the deleted name was taken again: %v", err)
	}
}

// Issue 18: a tenant's last account is refused to its owner (the site
// closes by leaving, which exports first); the operator may delete it.
func TestIssue18AccountDeleteLastAccountRefused(t *testing.T) {
	w := newDelWorld(t)
	ctx := context.Background()
	for _, id := range []int64{w.stays.ID, w.me.ID} {
		if err := w.uc.DeleteByOperator(ctx, w.tenantID, id, "cli"); err != nil {
			t.Fatal(err)
		}
	}
	err := w.uc.Delete(ctx, portability.DeleteRequest{TenantID: w.tenantID, AccountID: w.gone.ID, Password: delPassword})
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "only account") {
		t.Fatalf("last account: %v", err)
	}
	if n := w.count(t, `select count(*) from account_deletions where account_id = $1`, w.gone.ID); n != 0 {
		t.Fatal("the refused deletion was recorded")
	}
}
