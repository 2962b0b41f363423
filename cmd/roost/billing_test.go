package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/testenv"
)

// The manual provider: an operator records a bank transfer or comps a
// friend's site, and `roost work`'s job (here `billing enforce`) acts on it.
func TestBillingManualProviderCLI(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	env := []string{"ROOST_DATABASE_URL=" + dbURL}
	code, out, stderr := roost(t, env, "tenant", "create", "--name", "Friends", "--domain", "friends.test")
	if code != 0 {
		t.Fatalf("tenant create: %d %s", code, stderr)
	}
	id := strings.TrimSpace(out)

	code, out, stderr = roost(t, env, "billing", "mark-paid", "--tenant", id, "--until", "2099-12-31")
	if code != 0 || !strings.Contains(out, "active (manual), paid until 2099-12-31") {
		t.Fatalf("mark-paid: %d %q %s", code, out, stderr)
	}
	code, out, _ = roost(t, env, "billing", "show", "--tenant", id)
	if code != 0 || !strings.Contains(out, "tenant "+id+": active (manual)") {
		t.Fatalf("show: %d %q", code, out)
	}
	// Paid until a day long gone: past due, beyond any grace period.
	code, out, stderr = roost(t, env, "billing", "mark-paid", "--tenant", id, "--until", "2001-01-31")
	if code != 0 || !strings.Contains(out, "paid until 2001-01-31") {
		t.Fatalf("mark-paid: %d %q %s", code, out, stderr)
	}
	// The manual provider's truth: paid until a day gone, past due since.
	code, out, stderr = roost(t, env, "billing", "sync", "--tenant", id)
	if code != 0 || !strings.Contains(out, "past_due (manual), paid until 2001-01-31, past due since 2001-01-31") {
		t.Fatalf("sync: %d %q %s", code, out, stderr)
	}
	code, out, stderr = roost(t, append(env, "ROOST_BILLING_GRACE_DAYS=30"), "billing", "enforce")
	if code != 0 || !strings.Contains(out, "suspended 1, reactivated 0") {
		t.Fatalf("enforce: %d %q %s", code, out, stderr)
	}
	code, out, _ = roost(t, env, "billing", "show", "--tenant", id)
	if code != 0 || !strings.Contains(out, "past due since 2001-01-31, suspended for non-payment") {
		t.Fatalf("show: %d %q", code, out)
	}
	code, out, stderr = roost(t, env, "billing", "comp", "--tenant", id)
	if code != 0 || !strings.Contains(out, "comped (manual)") {
		t.Fatalf("comp: %d %q %s", code, out, stderr)
	}
	code, out, _ = roost(t, env, "billing", "enforce")
	if code != 0 || !strings.Contains(out, "suspended 0, reactivated 1") {
		t.Fatalf("enforce: %d %q", code, out)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var status string
	var actions []string
	if err := conn.QueryRow(ctx, `select status from tenants where id = $1`, id).Scan(&status); err != nil || status != "active" {
		t.Fatalf("status %q %v", status, err)
	}
	rows, _ := conn.Query(ctx, `select action from audit_log where tenant_id = $1 order by id`, id)
	actions, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, " ") != "billing.mark_paid billing.mark_paid billing.suspend billing.comp billing.unsuspend" {
		t.Fatalf("audit %v", actions)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"billing"}, "usage"},
		{[]string{"billing", "mark-paid", "--until", "2099-01-01"}, "--tenant is required"},
		{[]string{"billing", "mark-paid", "--tenant", id, "--until", "soon"}, "--until must be a date"},
		{[]string{"billing", "comp", "--tenant", "99999"}, "no tenant 99999"},
		{[]string{"billing", "refund", "--tenant", id}, "usage"},
	} {
		if code, _, stderr := roost(t, env, c.args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %d %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
