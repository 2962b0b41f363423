package inbox

import (
	"context"
	"encoding/json"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Quote posts (FEP-044f), as Mastodon 4.5 federates them: a QuoteRequest
// for a local post is answered at once, Accept with a stamp or Reject, by
// the post's policy; the answer to a QuoteRequest of ours moves our quote
// on, after the stamp is fetched and checked; a remote post's quote is
// accepted only with a stamp that checks out; Delete of a stamp revokes.

// QuotePorts are what the inbox needs for quotes; nil Store leaves
// quotes out (QuoteRequests are refused as unhandled).
type QuotePorts struct {
	Store federation.QuoteStore
	Rules federation.QuoteAuthorizer
	// Send republishes a local post whose quote was accepted; nil: not.
	Send federation.QuoteSender
}

// quoteRequest answers a QuoteRequest for a post of this tenant.
func (a *activity) quoteRequest(ctx context.Context) error {
	if a.Quotes.Store == nil || a.Quotes.Rules == nil {
		return errs.E(errs.Invalid, "quote requests are not handled")
	}
	quoted, err := a.Statuses.StatusByURI(ctx, a.env.ObjectID)
	if err != nil {
		return err
	}
	if quoted.TenantID != a.item.TenantID {
		return errs.E(errs.NotFound, "no such post on this tenant")
	}
	quotingURI := idOf(a.doc["instrument"])
	if !ap.SameOrigin(quotingURI, a.actor.Remote.URI) {
		return errs.E(errs.Invalid, "the quoting post is not the actor's")
	}
	stamp, author, err := a.Quotes.Rules.Authorize(ctx, quoted, a.actor, quotingURI)
	if err != nil {
		return err
	}
	if err := a.answerQuoteRequest(ctx, author, quotingURI, stamp); err != nil {
		return err
	}
	if stamp != "" {
		return a.acceptKnownQuote(ctx, quotingURI, stamp)
	}
	return nil
}

// answerQuoteRequest sends author's Accept (with the stamp) or Reject.
func (a *activity) answerQuoteRequest(ctx context.Context, author *federation.Account, quotingURI, stamp string) error {
	links, err := a.Locals.Links(ctx, author)
	if err != nil {
		return err
	}
	me := links.Actor(author.Username)
	request := map[string]any{"id": a.env.ID, "type": "QuoteRequest", "actor": a.actor.Remote.URI,
		"object": a.env.ObjectID, "instrument": quotingURI}
	id := me + "#quote_answers/" + ap.NewToken()
	body, err := json.Marshal(ap.NewQuoteAnswer(stamp != "", id, me, request, stamp))
	if err != nil {
		return err
	}
	return a.Send.Send(ctx, author.ID, id, body, []string{a.actor.Remote.Inbox}, true)
}

// acceptKnownQuote accepts the quote of a post that arrived before its
// request was answered.
func (a *activity) acceptKnownQuote(ctx context.Context, quotingURI, stamp string) error {
	st, err := a.Statuses.StatusByURI(ctx, quotingURI)
	if err != nil || st.AccountID != a.actor.ID {
		return nil // not here (yet): its Create will carry the stamp
	}
	err = a.Quotes.Store.SetQuoteState(ctx, st.ID, federation.QuoteAccepted, stamp)
	if errs.CodeOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// quoteAnswer applies an Accept or Reject of one of our QuoteRequests; it
// reports false when the activity answers something else.
func (a *activity) quoteAnswer(ctx context.Context, accepted bool) (bool, error) {
	if a.Quotes.Store == nil {
		return false, nil
	}
	q, err := a.Quotes.Store.QuoteByRequest(ctx, idOf(a.doc["object"]))
	if errs.CodeOf(err) == errs.NotFound {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if q.QuotedAccountID != a.actor.ID {
		return true, errs.E(errs.Forbidden, "only the quoted author answers a quote request")
	}
	if !accepted {
		return true, a.Quotes.Store.SetQuoteState(ctx, q.StatusID, federation.QuoteRejected, "")
	}
	stamp := idOf(a.doc["result"])
	ok, err := a.checkRemoteStamp(ctx, stamp, a.actor.ID, q.StatusURI, q.QuotedURI)
	if err != nil {
		return true, err
	}
	if !ok {
		return true, errs.E(errs.Forbidden, "the stamp does not authorize this quote")
	}
	if err := a.Quotes.Store.SetQuoteState(ctx, q.StatusID, federation.QuoteAccepted, stamp); err != nil {
		return true, err
	}
	if a.Quotes.Send != nil {
		return true, a.Quotes.Send.Republish(ctx, q.AccountID, q.StatusURI)
	}
	return true, nil
}

// checkRemoteStamp fetches a stamp (signed, through the safe client) and
// checks it is authorID's, for quoting's quote of quoted. Only a stamp on
// the quoted post's own host is fetched: a genuine one lives there, and
// no activity can make us fetch from anywhere else.
func (a *activity) checkRemoteStamp(ctx context.Context, stampURI string, authorID int64, quoting, quoted string) (bool, error) {
	if stampURI == "" || a.Keys == nil || !ap.SameOrigin(stampURI, quoted) {
		return false, nil
	}
	doc, _, err := a.Keys.Fetch.GetActivity(ctx, stampURI, a.Keys.Sign)
	if err != nil {
		return false, err
	}
	s, err := ap.ParseQuoteAuthorization(doc)
	if err != nil || s.ID != stampURI || s.InteractingObject != quoting || s.InteractionTarget != quoted {
		return false, nil
	}
	author, err := a.Keys.Actor(ctx, s.AttributedTo, false)
	if err != nil {
		return false, nil
	}
	return author.ID == authorID, nil
}

// quotePost records what a remote post says of quotes: who may quote it
// and, when it quotes a post, that quote: accepted with a stamp that
// checks out, unauthorized with one that does not, pending without.
func (a *activity) quotePost(ctx context.Context, doc []byte, st *federation.Status) error {
	if a.Quotes.Store == nil {
		return nil
	}
	policy := ap.QuotePolicyOf(doc, a.actor.Remote.URI, a.actor.Remote.Followers)
	if err := a.Quotes.Store.SetQuotePolicy(ctx, st.ID, policy); err != nil {
		return err
	}
	quotedURI, stamp := ap.PostQuote(doc)
	if quotedURI == "" {
		return nil
	}
	q := federation.Quote{StatusID: st.ID, AccountID: a.actor.ID, QuotedURI: quotedURI, State: federation.QuotePending}
	quoted, err := a.Statuses.StatusByURI(ctx, quotedURI)
	if errs.CodeOf(err) == errs.NotFound && stamp != "" && ap.SameOrigin(stamp, quotedURI) {
		quoted, err = a.fetchQuoted(ctx, quotedURI) // to check the stamp against
	}
	if err != nil && errs.CodeOf(err) == errs.Internal {
		return err
	}
	if quoted != nil {
		q.QuotedStatusID, q.QuotedAccountID = quoted.ID, quoted.AccountID
	}
	if stamp != "" {
		q.StampURI, q.State = stamp, federation.QuoteUnauthorized
		if ok, err := a.checkStamp(ctx, stamp, quoted, st.URI); err != nil {
			return err
		} else if ok {
			q.State = federation.QuoteAccepted
		}
	}
	return a.Quotes.Store.RecordQuote(ctx, q)
}

// checkStamp checks a stamp a remote post holds: against our own records
// for a quote of a local post, by fetching it otherwise. A quoted post we
// do not know cannot be checked.
func (a *activity) checkStamp(ctx context.Context, stamp string, quoted *federation.Status, quotingURI string) (bool, error) {
	switch {
	case quoted == nil:
		return false, nil
	case quoted.TenantID != 0:
		if a.Quotes.Rules == nil {
			return false, nil
		}
		return a.Quotes.Rules.StampValid(ctx, stamp, quoted, quotingURI)
	}
	ok, err := a.checkRemoteStamp(ctx, stamp, quoted.AccountID, quotingURI, quoted.URI)
	if err != nil && errs.CodeOf(err) != errs.Internal {
		return false, nil // the stamp could not be had: not authorized
	}
	return ok, err
}

// deleteStamp applies Delete of a stamp the actor issued: the quotes
// holding it are revoked. It reports whether the object was such a stamp.
func (a *activity) deleteStamp(ctx context.Context) (bool, error) {
	if a.Quotes.Store == nil {
		return false, nil
	}
	n, err := a.Quotes.Store.RevokeStampedQuotes(ctx, a.env.ObjectID, a.actor.ID)
	return n > 0 || err != nil, err
}

// fetchQuoted fetches (signed, once) and stores a remote quoted post we
// do not have, under its author; nil when it cannot be had.
func (a *activity) fetchQuoted(ctx context.Context, uri string) (*federation.Status, error) {
	if a.Keys == nil {
		return nil, nil
	}
	doc, _, err := a.Keys.Fetch.GetActivity(ctx, uri, a.Keys.Sign)
	if err != nil {
		return nil, nil
	}
	st, author, err := ap.ParseStatus(doc, "")
	if err != nil || st.URI != uri || author == "" {
		return nil, nil
	}
	owner, err := a.Keys.Actor(ctx, author, false)
	if err != nil {
		return nil, nil
	}
	a.rejectMedia(st)
	st.AccountID = owner.ID
	return a.Statuses.UpsertRemoteStatus(ctx, st)
}
