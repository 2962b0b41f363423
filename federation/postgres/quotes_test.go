package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// TestIssue17QuotesStore: a quote and its stamp land on the quoting
// post's own columns (what every rendering of its Note reads), an accepted
// quote of a local post notifies its author (type quote) and counts, the
// quotes list shows each viewer only quoting posts they may see, revoking
// and Delete of a stamp (by its issuer only) take the quote back, and a
// deleted quoted post leaves the quote pointing at nothing.
func TestIssue17QuotesStore(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	quoted := w.localPost(w.alice, "quote me", federation.Public)
	pub := w.localPost(w.bob, "public quote", federation.Public)
	priv := w.localPost(w.bob, "followers-only quote", federation.Private)
	s := w.s

	stamp, err := s.IssueStamp(ctx, quoted.ID, pub.URI, w.bob.ID)
	if err != nil || stamp.Revoked {
		t.Fatalf("issue: %v %+v", err, stamp)
	}
	again, err := s.IssueStamp(ctx, quoted.ID, pub.URI, w.bob.ID)
	if err != nil || again.ID != stamp.ID {
		t.Fatalf("a second issue made another stamp: %v %+v", err, again)
	}
	stampURI := "https://a.example/users/alice/quote_authorizations/1"
	for _, st := range []*federation.Status{pub, priv} {
		if err := s.RecordQuote(ctx, federation.Quote{StatusID: st.ID, AccountID: w.bob.ID, QuotedStatusID: quoted.ID,
			QuotedAccountID: w.alice.ID, QuotedURI: quoted.URI, State: federation.QuoteAccepted, StampURI: stampURI}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.StatusByURI(ctx, pub.URI)
	if err != nil || got.QuoteURI != quoted.URI || got.QuoteStamp != stampURI {
		t.Fatalf("quote columns: %v %q %q", err, got.QuoteURI, got.QuoteStamp)
	}
	if n := count(t, w.db, `select count(*) from notifications where account_id = $1 and from_account_id = $2
		and type = 'quote'`, w.alice.ID, w.bob.ID); n != 2 {
		t.Fatalf("quote notifications: %d", n)
	}
	counts, err := s.QuotesCounts(ctx, []int64{quoted.ID})
	if err != nil || counts[quoted.ID] != 2 {
		t.Fatalf("counts: %v %v", err, counts)
	}
	page := federation.Page{Limit: 20}
	mine, _ := s.QuotingStatuses(ctx, w.alice.ID, quoted.ID, page)
	others, _ := s.QuotingStatuses(ctx, w.carol.ID, quoted.ID, page)
	if !slices.Equal(mine, []int64{pub.ID}) || !slices.Equal(others, []int64{pub.ID}) {
		t.Fatalf("quotes list: alice %v carol %v (the followers-only quote is bob's followers' to see)", mine, others)
	}
	w.follow(w.alice, w.bob)
	if mine, _ = s.QuotingStatuses(ctx, w.alice.ID, quoted.ID, page); !slices.Equal(mine, []int64{priv.ID, pub.ID}) {
		t.Fatalf("a follower's quotes list: %v", mine)
	}
	if ok, err := s.FollowsAccepted(ctx, w.alice.ID, w.bob.ID); err != nil || !ok {
		t.Fatalf("follows: %v %v", ok, err)
	}

	// Revoking: the stamp answers revoked, the quote is revoked.
	rs, err := s.RevokeStamp(ctx, quoted.ID, pub.URI)
	if err != nil || !rs.Revoked {
		t.Fatalf("revoke: %v %+v", err, rs)
	}
	if st, err := s.Stamp(ctx, stamp.ID); err != nil || !st.Revoked || st.QuotedURI != quoted.URI || st.QuotedAccountID != w.alice.ID {
		t.Fatalf("stamp read: %v %+v", err, st)
	}
	if err := s.SetQuoteState(ctx, pub.ID, federation.QuoteRevoked, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.StatusByURI(ctx, pub.URI); got.QuoteStamp != "" {
		t.Fatal("a revoked quote kept its stamp on the Note")
	}
	// Delete of a stamp: only its issuer's quotes are revoked.
	if n, err := s.RevokeStampedQuotes(ctx, stampURI, w.carol.ID); err != nil || n != 0 {
		t.Fatalf("another account revoked: %d %v", n, err)
	}
	if n, err := s.RevokeStampedQuotes(ctx, stampURI, w.alice.ID); err != nil || n != 1 {
		t.Fatalf("issuer's revoke: %d %v", n, err)
	}
	if counts, _ = s.QuotesCounts(ctx, []int64{quoted.ID}); counts[quoted.ID] != 0 {
		t.Fatalf("revoked quotes still count: %v", counts)
	}

	// An edit of the quoted post tells the quoter whose quote stands.
	if err := s.RecordQuote(ctx, federation.Quote{StatusID: priv.ID, AccountID: w.bob.ID, QuotedStatusID: quoted.ID,
		QuotedAccountID: w.alice.ID, QuotedURI: quoted.URI, State: federation.QuoteAccepted}); err != nil {
		t.Fatal(err)
	}
	w.exec(`update statuses set edited_at = now() where id = $1`, quoted.ID)
	if n := count(t, w.db, `select count(*) from notifications where account_id = $1 and type = 'quoted_update'
		and status_id = $2`, w.bob.ID, priv.ID); n != 1 {
		t.Fatalf("quoted_update notifications: %d", n)
	}
	if err := s.SetQuotePolicy(ctx, quoted.ID, federation.QuoteFollowers); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.StatusByURI(ctx, quoted.URI); got.QuotePolicy != federation.QuoteFollowers {
		t.Fatalf("policy: %q", got.QuotePolicy)
	}
	if _, err := s.DeleteStatusByURI(ctx, quoted.URI, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	q, err := s.QuoteOf(ctx, pub.ID)
	if err != nil || q.QuotedStatusID != 0 || q.StatusURI != pub.URI {
		t.Fatalf("quote of a deleted post: %v %+v", err, q)
	}
	if _, err := s.QuoteByRequest(ctx, "https://nowhere.example/r"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown request: %v", err)
	}
}
