package quote

import (
	"context"
	"strconv"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Service applies the quote rules over the root package's ports.
type Service struct {
	Views  federation.ViewStore
	Quotes federation.QuoteStore
	Locals federation.Locals
	// Sender sends quote requests and revocations; nil sends nothing (a
	// quote of a remote post then stays pending).
	Sender federation.QuoteSender
}

var _ federation.QuoteAuthorizer = (*Service)(nil)

// Plan is a quote checked before its post is written.
type Plan struct {
	Quoted *federation.StatusView
	// Visibility is the quoting post's: a followers-only post (one's own:
	// nobody else may quote it) is only quoted in a followers-only or
	// direct post.
	Visibility federation.Visibility
}

// Prepare checks that me may quote the post quotedID in a post of
// visibility v: a post me cannot see is not found; a direct post, or one
// whose policy refuses me, is refused (422, as on Mastodon).
func (s *Service) Prepare(ctx context.Context, me *federation.Account, quotedID int64, v federation.Visibility) (*Plan, error) {
	views, err := s.Views.StatusViews(ctx, me.ID, []int64{quotedID})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 || views[0].ReblogOfID != 0 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	q := views[0]
	follows := false
	if q.QuotePolicy == federation.QuoteFollowers && q.AccountID != me.ID {
		if follows, err = s.Quotes.FollowsAccepted(ctx, me.ID, q.AccountID); err != nil {
			return nil, err
		}
	}
	if Decide(q.Status, me.ID, follows) != Automatic {
		return nil, errs.E(errs.Invalid, "You are not allowed to quote this post")
	}
	if q.Visibility == federation.Private && v != federation.Direct {
		v = federation.Private
	}
	return &Plan{Quoted: q, Visibility: v}, nil
}

// StampFor returns the stamp a local quoted post's author issues for the
// quote, to be put on the quoting post before it is sent; "" for a remote
// quoted post (its author's server stamps it).
func (s *Service) StampFor(ctx context.Context, p *Plan, quotingURI string, quoterID int64) (string, error) {
	if p == nil || p.Quoted.TenantID == 0 {
		return "", nil
	}
	return s.issue(ctx, p.Quoted.Status, quotingURI, quoterID)
}

// issue records the stamp for quotingURI's quote of a local post and
// returns its URI, under the quoted author's actor.
func (s *Service) issue(ctx context.Context, quoted *federation.Status, quotingURI string, quoterID int64) (string, error) {
	stamp, err := s.Quotes.IssueStamp(ctx, quoted.ID, quotingURI, quoterID)
	if err != nil {
		return "", err
	}
	if stamp.Revoked {
		return "", nil
	}
	base, _, err := s.stampBase(ctx, quoted.AccountID)
	if err != nil {
		return "", err
	}
	return base + strconv.FormatInt(stamp.ID, 10), nil
}

// stampBase is the prefix of a local author's stamps, with the author.
func (s *Service) stampBase(ctx context.Context, authorID int64) (string, *federation.Account, error) {
	accts, err := s.Views.AccountViews(ctx, []int64{authorID})
	if err != nil {
		return "", nil, err
	}
	a, ok := accts[authorID]
	if !ok || a.Account == nil || !a.Local() {
		return "", nil, errs.E(errs.NotFound, "no such local author")
	}
	links, err := s.Locals.Links(ctx, a.Account)
	if err != nil {
		return "", nil, err
	}
	return links.Actor(a.Username) + "/quote_authorizations/", a.Account, nil
}

// Posted records, once a post is written, who may quote it and the quote
// it makes (p nil: none): a local post's quote is accepted at once (its
// stamp from StampFor is on the post); a remote post's is pending until
// its author's server answers the QuoteRequest sent now.
func (s *Service) Posted(ctx context.Context, me *federation.Account, quoting *federation.Status, p *Plan) error {
	if err := s.Quotes.SetQuotePolicy(ctx, quoting.ID, quoting.QuotePolicy); err != nil || p == nil {
		return err
	}
	q := federation.Quote{StatusID: quoting.ID, AccountID: me.ID, QuotedStatusID: p.Quoted.ID,
		QuotedAccountID: p.Quoted.AccountID, QuotedURI: p.Quoted.URI, State: federation.QuoteAccepted,
		StampURI: quoting.QuoteStamp}
	if p.Quoted.TenantID != 0 {
		return s.Quotes.RecordQuote(ctx, q)
	}
	q.State = federation.QuotePending
	if err := s.Quotes.RecordQuote(ctx, q); err != nil || s.Sender == nil {
		return err
	}
	quoting.QuoteURI = p.Quoted.URI
	reqURI, err := s.Sender.RequestQuote(ctx, me, quoting, p.Quoted.AccountID)
	if err != nil {
		return err
	}
	q.RequestURI = reqURI
	return s.Quotes.RecordQuote(ctx, q)
}

// own loads one of me's own posts, or not found (also for another's).
func (s *Service) own(ctx context.Context, me *federation.Account, id int64) (*federation.StatusView, error) {
	views, err := s.Views.StatusViews(ctx, me.ID, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 || views[0].AccountID != me.ID || views[0].ReblogOfID != 0 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return views[0], nil
}

// QuotesOf pages the posts quoting one of me's own posts that me may see.
func (s *Service) QuotesOf(ctx context.Context, me *federation.Account, id int64, p federation.Page) ([]int64, error) {
	if _, err := s.own(ctx, me, id); err != nil {
		return nil, err
	}
	return s.Quotes.QuotingStatuses(ctx, me.ID, id, p)
}

// SetPolicy changes who may quote one of me's own posts (followers-only
// and direct posts stay nobody's).
func (s *Service) SetPolicy(ctx context.Context, me *federation.Account, id int64, requested string) (int64, error) {
	v, err := s.own(ctx, me, id)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(requested) == "" {
		return 0, errs.E(errs.Invalid, "quote_approval_policy is required")
	}
	p, err := PolicyFor(v.Visibility, requested)
	if err != nil {
		return 0, err
	}
	if err := s.Quotes.SetQuotePolicy(ctx, id, p); err != nil {
		return 0, err
	}
	if s.Sender != nil && p != v.QuotePolicy {
		// Other servers learn the new policy from an Update of the Note.
		return id, s.Sender.Republish(ctx, me.ID, v.URI)
	}
	return id, nil
}

// Revoke withdraws the quote that post quotingID makes of me's own post
// id: the quote is revoked, the stamp goes (its URL answers 404) and its
// Delete goes to a remote quoting author. Only the quoted post's author
// may revoke; any other post is not found.
func (s *Service) Revoke(ctx context.Context, me *federation.Account, id, quotingID int64) (int64, error) {
	if _, err := s.own(ctx, me, id); err != nil {
		return 0, err
	}
	q, err := s.Quotes.QuoteOf(ctx, quotingID)
	if err != nil {
		return 0, err
	}
	if q.QuotedStatusID != id {
		return 0, errs.E(errs.NotFound, "Record not found")
	}
	stamp := q.StampURI
	if st, err := s.Quotes.RevokeStamp(ctx, id, q.StatusURI); err == nil && stamp == "" {
		base, _, berr := s.stampBase(ctx, me.ID)
		if berr != nil {
			return 0, berr
		}
		stamp = base + strconv.FormatInt(st.ID, 10)
	} else if err != nil && errs.CodeOf(err) != errs.NotFound {
		return 0, err
	}
	if err := s.Quotes.SetQuoteState(ctx, quotingID, federation.QuoteRevoked, ""); err != nil {
		return 0, err
	}
	if s.Sender == nil {
		return quotingID, nil
	}
	if stamp != "" {
		if err := s.Sender.RevokeQuote(ctx, me, stamp, q.AccountID); err != nil {
			return 0, err
		}
	}
	// A local quoter's post went out with the stamp: its audience gets it
	// again, without.
	if s.isLocal(ctx, q.AccountID) {
		return quotingID, s.Sender.Republish(ctx, q.AccountID, q.StatusURI)
	}
	return quotingID, nil
}

// Authorize answers a QuoteRequest for a local post: a stamp when the
// quoter may see the post (an author's block shuts them out, as a
// followers-only post does a stranger) and its policy admits them, ""
// otherwise.
func (s *Service) Authorize(ctx context.Context, quoted *federation.Status, quoter *federation.Account, quotingURI string) (string, *federation.Account, error) {
	_, author, err := s.stampBase(ctx, quoted.AccountID)
	if err != nil {
		return "", nil, err
	}
	seen, err := s.Views.StatusViews(ctx, quoter.ID, []int64{quoted.ID})
	if err != nil {
		return "", nil, err
	}
	if len(seen) == 0 {
		return "", author, nil
	}
	follows := false
	if quoted.QuotePolicy == federation.QuoteFollowers {
		if follows, err = s.Quotes.FollowsAccepted(ctx, quoter.ID, quoted.AccountID); err != nil {
			return "", nil, err
		}
	}
	if Decide(quoted, quoter.ID, follows) != Automatic {
		return "", author, nil
	}
	stamp, err := s.issue(ctx, quoted, quotingURI, quoter.ID)
	return stamp, author, err
}

// StampValid checks a stamp a quote of a local post claims: one issued by
// its author for exactly that quote, not revoked.
func (s *Service) StampValid(ctx context.Context, stampURI string, quoted *federation.Status, quotingURI string) (bool, error) {
	base, _, err := s.stampBase(ctx, quoted.AccountID)
	if err != nil {
		return false, err
	}
	rest, ok := strings.CutPrefix(stampURI, base)
	if !ok {
		return false, nil
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return false, nil
	}
	st, err := s.Quotes.Stamp(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !st.Revoked && st.QuotedStatusID == quoted.ID && st.QuotingURI == quotingURI, nil
}

// isLocal reports whether an account is one of ours.
func (s *Service) isLocal(ctx context.Context, id int64) bool {
	accts, err := s.Views.AccountViews(ctx, []int64{id})
	if err != nil {
		return false
	}
	a, ok := accts[id]
	return ok && a.Account != nil && a.Local()
}
