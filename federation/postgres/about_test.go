package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 17, rules, about texts, terms and public domain blocks on a real
// database: order and moves, the settings' updated times, terms dates,
// noop blocks left out; no call for tenant A reads or changes B's rows.
func TestIssue17ServerRulesTermsAndSettingsScopedByTenant(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	svc := &about.Service{Store: w.s, Now: func() time.Time { return now }}

	var ids []int64
	for _, text := range []string{"one", "two", "three"} {
		r, err := svc.SaveRule(ctx, w.ta, about.RuleDraft{Text: text, Hint: "hint " + text})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	rb, err := svc.SaveRule(ctx, w.tb, about.RuleDraft{Text: "b's"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.MoveRule(ctx, w.ta, ids[2], true); err != nil {
		t.Fatal(err)
	}
	if err := svc.MoveRule(ctx, w.ta, ids[0], true); err != nil { // first already: stays
		t.Fatal(err)
	}
	texts := func(tenant int64) string {
		rs, err := svc.Rules(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, r := range rs {
			out += r.Text + ","
		}
		return out
	}
	if got := texts(w.ta); got != "one,three,two," {
		t.Errorf("A's rules after moves: %s", got)
	}
	// A's calls naming B's rule: not found, and B's rule unchanged.
	if _, err := svc.SaveRule(ctx, w.ta, about.RuleDraft{ID: rb.ID, Text: "hijack"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("edit B's rule as A: %v", err)
	}
	if _, err := svc.DeleteRule(ctx, w.ta, rb.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("delete B's rule as A: %v", err)
	}
	if err := svc.MoveRule(ctx, w.ta, rb.ID, true); !errs.Is(err, errs.NotFound) {
		t.Errorf("move B's rule as A: %v", err)
	}
	if got := texts(w.tb); got != "b's," {
		t.Errorf("B's rules: %s", got)
	}
	if _, err := svc.SaveRule(ctx, w.ta, about.RuleDraft{ID: ids[1], Text: "two, edited"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeleteRule(ctx, w.ta, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := texts(w.ta); got != "three,two, edited," {
		t.Errorf("A's rules after edit and delete: %s", got)
	}

	// Settings: the updated time moves only with its text.
	set := federation.ServerSettings{About: "about a", DomainBlocks: federation.ShowUsers, DomainBlocksRationale: federation.ShowNobody}
	if err := svc.SaveSettings(ctx, w.ta, set); err != nil {
		t.Fatal(err)
	}
	first := now
	now = now.Add(time.Hour)
	set.PrivacyPolicy, set.DomainBlocks = "policy", federation.ShowEveryone
	if err := svc.SaveSettings(ctx, w.ta, set); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Settings(ctx, w.ta)
	if err != nil {
		t.Fatal(err)
	}
	if got.AboutUpdatedAt == nil || !got.AboutUpdatedAt.Equal(first) || got.PrivacyPolicyUpdated == nil ||
		!got.PrivacyPolicyUpdated.Equal(now) || got.DomainBlocks != federation.ShowEveryone {
		t.Errorf("A's settings: %+v", got)
	}
	if b, err := svc.Settings(ctx, w.tb); err != nil || b.About != "" || b.DomainBlocks != federation.ShowNobody {
		t.Errorf("B's settings: %+v %v", b, err)
	}
	if err := svc.SaveSettings(ctx, w.ta, federation.ServerSettings{DomainBlocks: "friends", DomainBlocksRationale: "all"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad visibility: %v", err)
	}

	// Terms: one version per date, listed newest first; B's untouchable.
	for _, d := range []string{"2029-01-01", "2030-06-01"} {
		if _, err := svc.SaveTerms(ctx, w.ta, about.TermsDraft{Date: d, Text: "terms " + d}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SaveTerms(ctx, w.ta, about.TermsDraft{Date: "2030-06-01", Text: "again"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("same date twice: %v", err)
	}
	tb, err := svc.SaveTerms(ctx, w.tb, about.TermsDraft{Date: "2029-05-05", Text: "b's terms"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeleteTerms(ctx, w.ta, tb.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("delete B's terms as A: %v", err)
	}
	cur, err := svc.CurrentTerms(ctx, w.ta)
	if err != nil || cur.EffectiveDate.Format(about.DateFormat) != "2029-01-01" || !cur.Effective ||
		cur.SucceededBy == nil || cur.SucceededBy.Format(about.DateFormat) != "2030-06-01" {
		t.Errorf("A's current terms: %+v %v", cur, err)
	}
	if cur, err := svc.CurrentTerms(ctx, w.tb); err != nil || cur.Content != "<p>b&#39;s terms</p>" {
		t.Errorf("B's current terms: %+v %v", cur, err)
	}

	// Public domain blocks: the tenant's own, noop ones left out.
	if _, err := w.db.Exec(ctx, `insert into domain_blocks (tenant_id, domain, severity, public_comment) values
		($1, 'evil.test', 'suspend', 'spam'), ($1, 'noop.test', 'noop', ''), ($2, 'b-only.test', 'silence', ''),
		(null, 'instance.test', 'suspend', '')`, w.ta, w.tb); err != nil {
		t.Fatal(err)
	}
	bs, err := w.s.PublicDomainBlocks(ctx, w.ta)
	if err != nil || len(bs) != 1 || bs[0].Domain != "evil.test" || bs[0].Comment != "spam" {
		t.Errorf("A's public blocks: %+v %v", bs, err)
	}
}
