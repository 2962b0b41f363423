package account

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// relFakes: me (1, tenant 1); a remote follower (2), a local follower on
// tenant 2 (3), someone with a pending request (4), a stranger (5).
type relFakes struct {
	federation.RelationStore
	notes     map[int64]string
	endorsed  map[int64]bool
	dismissed []int64
	listed    []int64
	settings  []string
	rejected  []int64
	dir       federation.DirectoryQuery
}

func (f *relFakes) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	switch id {
	case 1, 3:
		return &federation.Account{ID: id, TenantID: id}, nil
	case 2, 4, 5:
		return &federation.Account{ID: id, Remote: &federation.RemoteInfo{URI: "https://r.example/" + string(rune('0'+id))}}, nil
	}
	return nil, errs.E(errs.NotFound, "no account")
}

func (f *relFakes) FollowBetween(_ context.Context, follower, followee int64) (*federation.Follow, error) {
	if followee == 1 && (follower == 2 || follower == 3) {
		return &federation.Follow{FollowerID: follower, FolloweeID: 1, State: federation.FollowAccepted}, nil
	}
	if followee == 1 && follower == 4 {
		return &federation.Follow{FollowerID: 4, FolloweeID: 1, State: federation.FollowPending}, nil
	}
	return nil, errs.E(errs.NotFound, "no follow")
}

func (f *relFakes) AnswerFollow(_ context.Context, local, follower *federation.Account, accept bool) error {
	if local.ID != 1 || accept {
		panic("unexpected answer")
	}
	f.rejected = append(f.rejected, follower.ID)
	return nil
}

func (f *relFakes) SetAccountNote(_ context.Context, me, target int64, comment string) error {
	f.notes[target] = comment
	return nil
}

func (f *relFakes) Endorse(_ context.Context, me, target int64) error {
	f.endorsed[target] = true
	return nil
}

func (f *relFakes) Unendorse(_ context.Context, me, target int64) error {
	delete(f.endorsed, target)
	return nil
}

func (f *relFakes) DismissSuggestion(_ context.Context, me, target int64) error {
	f.dismissed = append(f.dismissed, target)
	return nil
}

func (f *relFakes) ListedAccounts(_ context.Context, _ int64, ids []int64) ([]int64, error) {
	f.listed = ids
	return ids, nil
}

func (f *relFakes) Directory(_ context.Context, q federation.DirectoryQuery) ([]int64, error) {
	f.dir = q
	return nil, nil
}

func (f *relFakes) SetAccountSettings(_ context.Context, _ int64, domains *[]string, policy *string) error {
	if domains != nil {
		f.settings = append(f.settings, *domains...)
	}
	if policy != nil {
		f.settings = append(f.settings, "policy="+*policy)
	}
	return nil
}

func newRelations() (*Relations, *relFakes) {
	f := &relFakes{notes: map[int64]string{}, endorsed: map[int64]bool{}}
	return &Relations{Store: f, Accounts: f, Follows: f, Answer: f}, f
}

var me = &federation.Account{ID: 1, TenantID: 1}

func TestIssue17RemoveFromFollowersOnlyAcceptedFollowsOfMine(t *testing.T) {
	r, f := newRelations()
	for _, id := range []int64{2, 3, 4, 5} {
		if err := r.RemoveFromFollowers(context.Background(), me, id); err != nil {
			t.Fatalf("remove %d: %v", id, err)
		}
	}
	if len(f.rejected) != 2 || f.rejected[0] != 2 || f.rejected[1] != 3 {
		t.Fatalf("rejected %v, want the two accepted followers", f.rejected)
	}
	if err := r.RemoveFromFollowers(context.Background(), me, 99); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestIssue17NoteRules(t *testing.T) {
	r, f := newRelations()
	ctx := context.Background()
	if err := r.Note(ctx, me, 2, strings.Repeat("é", federation.MaxAccountNote+1)); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("long note: %v", err)
	}
	if err := r.Note(ctx, me, 99, "x"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown account: %v", err)
	}
	if len(f.notes) != 0 {
		t.Fatalf("refused notes stored: %v", f.notes)
	}
	if err := r.Note(ctx, me, 2, "  \n"); err != nil || f.notes[2] != "" {
		t.Fatalf("blank note: %v %q", err, f.notes[2])
	}
}

func TestIssue17EndorseRules(t *testing.T) {
	r, f := newRelations()
	ctx := context.Background()
	if err := r.Endorse(ctx, me, 1, true); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("self: %v", err)
	}
	if err := r.Endorse(ctx, me, 99, true); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown: %v", err)
	}
	if err := r.Endorse(ctx, me, 2, true); err != nil || !f.endorsed[2] {
		t.Fatalf("endorse: %v %v", err, f.endorsed)
	}
	if err := r.Endorse(ctx, me, 2, false); err != nil || f.endorsed[2] {
		t.Fatalf("unendorse: %v %v", err, f.endorsed)
	}
	// A remote account's endorsements are not fetched: none.
	if ids, _, err := r.AccountEndorsements(ctx, 2, federation.Page{Limit: 40}); err != nil || ids != nil {
		t.Fatalf("remote endorsements: %v %v", ids, err)
	}
}

func TestIssue17AccountsByIDAndDirectoryBounds(t *testing.T) {
	r, f := newRelations()
	ctx := context.Background()
	ids, err := r.AccountsByID(ctx, 1, []string{"3", "x", "3", "-1", " 2 "})
	if err != nil || len(ids) != 2 || ids[0] != 3 || ids[1] != 2 {
		t.Fatalf("ids = %v %v", ids, err)
	}
	many := make([]string, MaxAccountsByID+1)
	for i := range many {
		many[i] = string(rune('1'+i%9)) + strings.Repeat("0", i/9)
	}
	f.listed = nil
	if _, err := r.AccountsByID(ctx, 1, many); errs.CodeOf(err) != errs.Invalid || f.listed != nil {
		t.Fatalf("too many: %v (store asked: %v)", err, f.listed)
	}
	if _, err := r.Directory(ctx, federation.DirectoryQuery{TenantID: 1, Order: "bogus", Limit: 500, Offset: -3}); err != nil {
		t.Fatal(err)
	}
	if f.dir.Order != "active" || f.dir.Limit != MaxDirectoryPage || f.dir.Offset != 0 {
		t.Fatalf("directory query = %+v", f.dir)
	}
}

func TestIssue17SettingsValidation(t *testing.T) {
	r, f := newRelations()
	ctx := context.Background()
	bad := "everyone"
	if err := r.SetSettings(ctx, me, nil, &bad); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("bad policy: %v", err)
	}
	if err := r.SetSettings(ctx, me, &[]string{"not a domain"}, nil); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("bad domain: %v", err)
	}
	eleven := make([]string, MaxAttributionDomains+1)
	for i := range eleven {
		eleven[i] = string(rune('a'+i)) + ".example"
	}
	if err := r.SetSettings(ctx, me, &eleven, nil); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("too many domains: %v", err)
	}
	if len(f.settings) != 0 {
		t.Fatalf("refused settings saved: %v", f.settings)
	}
	policy := "nobody"
	if err := r.SetSettings(ctx, me, &[]string{" Blog.Example ", "", "blog.example"}, &policy); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.settings, ",") != "blog.example,policy=nobody" {
		t.Fatalf("saved %v", f.settings)
	}
}
