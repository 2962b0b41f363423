package outbox

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

var _ federation.QuoteSender = (*Service)(nil)

// RequestQuote sends the remote author of the post quoting quotes a
// QuoteRequest (FEP-044f) carrying the quoting post, and returns its id;
// the quote stays pending until their Accept brings a stamp.
func (s *Service) RequestQuote(ctx context.Context, local *federation.Account, quoting *federation.Status, quotedAuthorID int64) (string, error) {
	a, err := s.actor(ctx, local)
	if err != nil {
		return "", err
	}
	author, err := s.Store.AccountByID(ctx, quotedAuthorID)
	if err != nil {
		return "", err
	}
	if author.Remote == nil || author.Remote.Inbox == "" {
		return "", errs.E(errs.Invalid, "the quoted author has no inbox")
	}
	id := a.uri + "#quote_requests/" + strconv.FormatInt(quoting.ID, 10)
	note := ap.NewNote(quoting, a.uri, a.links.Profile(local.Username)+"/"+strconv.FormatInt(quoting.ID, 10))
	body, err := json.Marshal(ap.NewQuoteRequest(id, a.uri, quoting.QuoteURI, note))
	if err != nil {
		return "", err
	}
	return id, s.Send.Send(ctx, local.ID, id, body, []string{author.Remote.Inbox}, true)
}

// RevokeQuote sends the Delete of a stamp local issued to the quoting
// account's server (nothing to send when that account is local).
func (s *Service) RevokeQuote(ctx context.Context, local *federation.Account, stampURI string, quotingAccountID int64) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	quoter, err := s.Store.AccountByID(ctx, quotingAccountID)
	if err != nil || quoter.Remote == nil || quoter.Remote.Inbox == "" {
		return nil // gone, or local: the revoked stamp answers 404 to anyone who checks
	}
	id := stampURI + "#delete"
	body, err := json.Marshal(ap.NewStampDelete(id, a.uri, stampURI, []string{quoter.Remote.URI}))
	if err != nil {
		return err
	}
	return s.Send.Send(ctx, local.ID, id, body, []string{quoter.Remote.Inbox}, true)
}

// Republish sends an Update of local's post to its audience, so that
// servers which have it see its quote's new stamp (or its loss).
func (s *Service) Republish(ctx context.Context, accountID int64, statusURI string) error {
	local, err := s.Store.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	st, err := s.ownPost(ctx, local, statusURI)
	if err != nil {
		return err
	}
	inboxes, err := s.audience(ctx, local, st)
	if err != nil {
		return err
	}
	note := ap.NewNote(st, a.uri, a.links.Profile(local.Username)+"/"+strconv.FormatInt(st.ID, 10))
	id := st.URI + "#updates/" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	return s.send(ctx, a, "Update", id, note, st.To, st.Cc, inboxes, false)
}

// PostQuote is what a new post says of quotes: the post it quotes (""
// none), who may quote it, and Stamp, which returns the stamp of a quote
// of a local post once the new post has its URI (nil: none yet).
type PostQuote struct {
	URI    string
	Policy federation.QuotePolicy
	Stamp  func(ctx context.Context, quotingURI string) (string, error)
}

// apply puts the quote on the status being published, before its Create
// is rendered.
func (q PostQuote) apply(ctx context.Context, st *federation.Status) error {
	if q.Policy != "" {
		st.QuotePolicy = q.Policy // else the store's default for the visibility
	}
	st.QuoteURI = q.URI
	if q.URI == "" || q.Stamp == nil {
		return nil
	}
	var err error
	st.QuoteStamp, err = q.Stamp(ctx, st.URI)
	return err
}
