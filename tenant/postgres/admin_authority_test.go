package postgres

import (
	"context"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Issue 14, finding 1: logins are instance-wide (one may own accounts on
// several tenants, hold roles, be an operator), so recovering one is the
// instance's alone. The store refuses any tenant's scope whatever the
// handler does, changing nothing, and names a login only through an
// account it owns.
func TestIssue14Finding1LoginRecoveryIsInstanceOnly(t *testing.T) {
	t.Parallel()
	as, _, ids := adminFixture(t)
	a := ids[0]
	ctx := context.Background()
	var alice, remote, login int64
	as.db.QueryRow(ctx, `select id from accounts where username = 'alice'`).Scan(&alice)
	as.db.QueryRow(ctx, `select id from accounts where username = 'troll'`).Scan(&remote)
	if err := as.db.QueryRow(ctx, `insert into users (email, password_hash, is_operator, totp_secret)
		values ('alice@mail.test', 'old', true, 'JBSWY3DPEHPK3PXP') returning id`).Scan(&login); err != nil {
		t.Fatal(err)
	}
	if _, err := as.db.Exec(ctx, `insert into user_accounts (user_id, account_id) values ($1, $2)`, login, alice); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var s string
		as.db.QueryRow(ctx, `select password_hash || coalesce(totp_secret, '-') from users where id = $1`, login).Scan(&s)
		return s
	}
	mod := tenant.Actor{Email: "mod@alice.test"}
	if _, err := as.Login(ctx, a, login, alice); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a tenant reads a login for recovery: %v", err)
	}
	if err := as.ResetPassword(ctx, mod, a, login, "new"); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a tenant resets a login's password: %v", err)
	}
	if err := as.DisableTOTP(ctx, mod, a, login); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a tenant disables a login's second factor: %v", err)
	}
	if got := state(); got != "oldJBSWY3DPEHPK3PXP" {
		t.Fatalf("refused, yet the login changed: %q", got)
	}
	if _, err := as.Login(ctx, 0, login, remote); !errs.Is(err, errs.NotFound) {
		t.Errorf("a login named through an account it does not own: %v", err)
	}
	if l, err := as.Login(ctx, 0, login, alice); err != nil || l.Email != "alice@mail.test" || !l.IsOperator {
		t.Fatalf("operator reads the login: %+v %v", l, err)
	}
	op := tenant.Actor{Email: "op@mail.test"}
	if err := as.ResetPassword(ctx, op, 0, login, "new"); err != nil {
		t.Fatal(err)
	}
	if err := as.DisableTOTP(ctx, op, 0, login); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != "new-" {
		t.Errorf("operator's recovery: %q", got)
	}
}
