package quote

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// TestIssue17QuoteDecide: who may quote what, by visibility and policy.
func TestIssue17QuoteDecide(t *testing.T) {
	const author, other = 1, 2
	for _, c := range []struct {
		vis     federation.Visibility
		policy  federation.QuotePolicy
		quoter  int64
		follows bool
		want    Approval
	}{
		{federation.Public, federation.QuotePublic, other, false, Automatic},
		{federation.Unlisted, federation.QuotePublic, other, false, Automatic},
		{federation.Public, federation.QuoteFollowers, other, false, Denied},
		{federation.Public, federation.QuoteFollowers, other, true, Automatic},
		{federation.Public, federation.QuoteNobody, other, true, Denied},
		{federation.Public, "", other, true, Denied}, // unknown: the author's alone
		{federation.Public, federation.QuoteNobody, author, false, Automatic},
		{federation.Private, federation.QuotePublic, other, true, Denied},
		{federation.Private, federation.QuoteNobody, author, false, Automatic},
		{federation.Direct, federation.QuotePublic, author, false, Denied},
		{federation.Public, federation.QuotePublic, 0, false, Automatic},
	} {
		st := &federation.Status{AccountID: author, Visibility: c.vis, QuotePolicy: c.policy}
		if got := Decide(st, c.quoter, c.follows); got != c.want {
			t.Errorf("%s/%s by %d (follows %v): %s, want %s", c.vis, c.policy, c.quoter, c.follows, got, c.want)
		}
	}
}

// TestIssue17QuotePolicyFor: the default, the forced nobody and bad input.
func TestIssue17QuotePolicyFor(t *testing.T) {
	for _, c := range []struct {
		vis       federation.Visibility
		requested string
		want      federation.QuotePolicy
	}{
		{federation.Public, "", federation.QuotePublic},
		{federation.Unlisted, "followers", federation.QuoteFollowers},
		{federation.Private, "public", federation.QuoteNobody},
		{federation.Direct, "", federation.QuoteNobody},
	} {
		if got, err := PolicyFor(c.vis, c.requested); err != nil || got != c.want {
			t.Errorf("%s %q: %q %v, want %q", c.vis, c.requested, got, err, c.want)
		}
	}
	if _, err := PolicyFor(federation.Public, "everyone"); !errs.Is(err, errs.Invalid) {
		t.Errorf("a bad policy: %v", err)
	}
	auto, manual := Lists(&federation.Status{Visibility: federation.Public, QuotePolicy: federation.QuoteFollowers})
	if len(auto) != 1 || auto[0] != "followers" || len(manual) != 0 {
		t.Errorf("lists: %v %v", auto, manual)
	}
}

// fakes: alice (1) posts 10 (public, followers-only quotes) and 11
// (private); bob (2) sees both, follows alice when follows is set.
type fakeViews struct {
	federation.ViewStore
	posts map[int64]*federation.StatusView
}

func (f fakeViews) StatusViews(_ context.Context, _ int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		if v, ok := f.posts[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

type fakeQuotes struct {
	federation.QuoteStore
	follows  bool
	recorded []federation.Quote
	policies map[int64]federation.QuotePolicy
}

func (f *fakeQuotes) FollowsAccepted(context.Context, int64, int64) (bool, error) {
	return f.follows, nil
}

func (f *fakeQuotes) QuoteOf(_ context.Context, id int64) (*federation.Quote, error) {
	for _, q := range f.recorded {
		if q.StatusID == id {
			return &q, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no quote")
}

func (f *fakeQuotes) SetQuotePolicy(_ context.Context, id int64, p federation.QuotePolicy) error {
	f.policies[id] = p
	return nil
}

func newFakes() (*Service, *fakeQuotes) {
	views := fakeViews{posts: map[int64]*federation.StatusView{
		10: {Status: &federation.Status{ID: 10, AccountID: 1, Visibility: federation.Public, QuotePolicy: federation.QuoteFollowers}},
		11: {Status: &federation.Status{ID: 11, AccountID: 1, Visibility: federation.Private, QuotePolicy: federation.QuoteNobody}},
	}}
	q := &fakeQuotes{policies: map[int64]federation.QuotePolicy{}}
	return &Service{Views: views, Quotes: q}, q
}

// TestIssue17QuotePrepareAndOwnership: the followers policy needs a
// follow; one's own followers-only post is quoted in a followers-only
// post; only the quoted post's author sets its policy or revokes.
func TestIssue17QuotePrepareAndOwnership(t *testing.T) {
	ctx := context.Background()
	s, q := newFakes()
	alice, bob := &federation.Account{ID: 1}, &federation.Account{ID: 2}
	if _, err := s.Prepare(ctx, bob, 10, federation.Public); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a non-follower quoted a followers policy: %v", err)
	}
	q.follows = true
	if p, err := s.Prepare(ctx, bob, 10, federation.Public); err != nil || p.Visibility != federation.Public {
		t.Fatalf("a follower: %v %+v", err, p)
	}
	if _, err := s.Prepare(ctx, bob, 11, federation.Public); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bob quoted alice's followers-only post: %v", err)
	}
	if p, err := s.Prepare(ctx, alice, 11, federation.Public); err != nil || p.Visibility != federation.Private {
		t.Fatalf("alice quoting her own followers-only post: %v %+v", err, p)
	}
	if _, err := s.Prepare(ctx, bob, 99, federation.Public); !errs.Is(err, errs.NotFound) {
		t.Fatalf("an unseen post: %v", err)
	}
	if _, err := s.SetPolicy(ctx, bob, 10, "nobody"); !errs.Is(err, errs.NotFound) || len(q.policies) != 0 {
		t.Fatalf("bob set alice's policy: %v %v", err, q.policies)
	}
	if _, err := s.SetPolicy(ctx, alice, 11, "public"); err != nil || q.policies[11] != federation.QuoteNobody {
		t.Fatalf("a followers-only post's policy: %v %v", err, q.policies)
	}
	if _, err := s.Revoke(ctx, bob, 10, 50); !errs.Is(err, errs.NotFound) {
		t.Fatalf("bob revoked a quote of alice's post: %v", err)
	}
	q.recorded = append(q.recorded, federation.Quote{StatusID: 50, QuotedStatusID: 12})
	if _, err := s.Revoke(ctx, alice, 10, 50); !errs.Is(err, errs.NotFound) {
		t.Fatalf("revoked a quote of another post: %v", err)
	}
}
