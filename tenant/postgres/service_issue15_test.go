package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// hostsHeard records what a tenant.Service publishes.
type hostsHeard struct {
	mu    sync.Mutex
	calls [][]string
}

func (h *hostsHeard) HostsChanged(_ context.Context, hosts ...string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, slices.Clone(hosts))
	return nil
}

// TestIssue15Finding6ServiceOnRealStores: tenant.Service wired as cmd
// wires it writes each state change with its audit entry (one actor
// shape: the login's id and email, billing, the command line) and tells
// the host cache the tenant's names; a refused change tells nobody.
func TestIssue15Finding6ServiceOnRealStores(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	tn := create(t, s, "Alice's", "alice.test", "social.alice.test")
	var uid int64
	if err := db.QueryRow(ctx, `insert into users (email, password_hash) values ('op@mail.test', 'x') returning id`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	heard := &hostsHeard{}
	svc := &tenant.Service{Store: s, Statuses: NewAdminStore(db), Approvals: NewSignupStore(db),
		Domains: NewLeaveStore(db), Settings: s, Notify: heard}
	op := tenant.Actor{UserID: uid, Email: "op@mail.test"}

	if err := svc.SetStatus(ctx, op, tn.ID, tenant.Active, tenant.Suspended, "tenant.suspend"); err != nil {
		t.Fatal(err)
	}
	if err := (tenant.BillingSuspender{Service: svc}).Unsuspend(ctx, tn.ID, "paying"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetStatus(ctx, op, tn.ID, tenant.Suspended, tenant.Active, "tenant.unsuspend"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("unsuspending an active tenant: %v", err)
	}
	if _, err := svc.AddDomain(ctx, op, tn.ID, tenant.NewDomain{Domain: "alice2.test", Verified: true}); err != nil {
		t.Fatal(err)
	}
	on := false
	if err := svc.SetAuthorizedFetch(ctx, tn.ID, &on); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"alice.test", "social.alice.test"}, {"alice.test", "social.alice.test"}, {"alice2.test"},
		{"alice.test", "alice2.test", "social.alice.test"}}
	for _, c := range heard.calls {
		slices.Sort(c)
	}
	if !slices.EqualFunc(heard.calls, want, slices.Equal) {
		t.Fatalf("told %q, want %q", heard.calls, want)
	}
	rows, err := db.Query(ctx, `select action || ':' || coalesce(user_id::text, '-') || ':' || user_email from audit_log
		where tenant_id = $1 order by id`, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Replace(s, ":"+strconv.FormatInt(uid, 10)+":", ":U:", 1))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if w := "tenant.suspend:U:op@mail.test billing.unsuspend:-:billing tenant.add_domain:U:op@mail.test"; strings.Join(got, " ") != w {
		t.Fatalf("audit %q, want %q", strings.Join(got, " "), w)
	}
}
