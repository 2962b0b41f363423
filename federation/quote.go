package federation

import (
	"context"
	"time"
)

// QuotePolicy says who may quote a post and have the quote accepted at
// once, as Mastodon 4.5 sets it (its author always may).
type QuotePolicy string

// The quote policies a local account can set. "" is unknown: a remote post
// that states no canQuote, or a local post from before quotes; only its
// author may quote it.
const (
	QuotePublic    QuotePolicy = "public"
	QuoteFollowers QuotePolicy = "followers"
	QuoteNobody    QuotePolicy = "nobody"
)

// QuoteState is where a quote stands (Mastodon's Quote entity).
type QuoteState string

// The stored states; "deleted" is derived (an accepted quote whose quoted
// post is gone), and the renderer shows an accepted quote the viewer may
// not see as "unauthorized".
const (
	QuotePending      QuoteState = "pending"
	QuoteAccepted     QuoteState = "accepted"
	QuoteRejected     QuoteState = "rejected"
	QuoteRevoked      QuoteState = "revoked"
	QuoteUnauthorized QuoteState = "unauthorized"
)

// Quote is one post quoting another.
type Quote struct {
	StatusID        int64  // the quoting post
	StatusURI       string // its URI (read only)
	AccountID       int64  // its author
	QuotedStatusID  int64  // zero when unknown here or deleted
	QuotedAccountID int64
	QuotedURI       string
	State           QuoteState
	// RequestURI is the QuoteRequest sent for a local account's quote of a
	// remote post; StampURI the QuoteAuthorization that accepted it.
	RequestURI string
	StampURI   string
	CreatedAt  time.Time
}

// QuoteStamp is a QuoteAuthorization a local account issued for a quote
// of one of its posts.
type QuoteStamp struct {
	ID               int64
	QuotedStatusID   int64
	QuotingURI       string
	QuotingAccountID int64
	Revoked          bool
	// QuotedURI and QuotedAccountID are the quoted post's (read only).
	QuotedURI       string
	QuotedAccountID int64
}

// QuoteStore keeps quotes, quote policies and the stamps local accounts
// issue (federation/postgres).
type QuoteStore interface {
	// RecordQuote stores (or replaces) the quote of q.StatusID and writes
	// quote_uri and quote_stamp on that status, in one transaction. An
	// accepted quote of a local post by another account notifies its
	// author (type "quote").
	RecordQuote(ctx context.Context, q Quote) error
	// QuoteOf returns the quote a post makes, or errs.NotFound.
	QuoteOf(ctx context.Context, statusID int64) (*Quote, error)
	// QuotesOf returns the quotes the given posts make, by quoting post.
	QuotesOf(ctx context.Context, statusIDs []int64) (map[int64]*Quote, error)
	// QuoteByRequest finds a quote by the QuoteRequest sent for it.
	QuoteByRequest(ctx context.Context, requestURI string) (*Quote, error)
	// SetQuoteState moves a quote along; stampURI "" keeps the stamp.
	SetQuoteState(ctx context.Context, statusID int64, state QuoteState, stampURI string) error
	// RevokeStampedQuotes marks revoked every quote of issuerID's posts
	// that holds this stamp; it reports how many.
	RevokeStampedQuotes(ctx context.Context, stampURI string, issuerID int64) (int, error)
	// QuotingStatuses pages the posts with an accepted quote of statusID
	// that the viewer may see, by the quoting posts' ids.
	QuotingStatuses(ctx context.Context, viewerID, statusID int64, p Page) ([]int64, error)
	// QuotesCounts counts the accepted quotes of each post.
	QuotesCounts(ctx context.Context, statusIDs []int64) (map[int64]int64, error)
	// SetQuotePolicy sets who may quote a post.
	SetQuotePolicy(ctx context.Context, statusID int64, p QuotePolicy) error
	// IssueStamp returns the stamp for quotingURI's quote of a local post,
	// created once (a revoked one stays revoked).
	IssueStamp(ctx context.Context, quotedStatusID int64, quotingURI string, quotingAccountID int64) (*QuoteStamp, error)
	// Stamp finds a stamp by id, or errs.NotFound.
	Stamp(ctx context.Context, id int64) (*QuoteStamp, error)
	// RevokeStamp revokes the stamp of quotingURI's quote of a post; it
	// returns the stamp (errs.NotFound when none was issued).
	RevokeStamp(ctx context.Context, quotedStatusID int64, quotingURI string) (*QuoteStamp, error)
	// FollowsAccepted reports whether accountID is an accepted follower
	// of targetID (the "followers" policy).
	FollowsAccepted(ctx context.Context, accountID, targetID int64) (bool, error)
}

// QuoteSender sends the ActivityPub side of local accounts' quotes
// (federation/outbox).
type QuoteSender interface {
	// RequestQuote sends the author (quotedAuthorID, remote) of the post
	// quoting quotes a QuoteRequest and returns its id.
	RequestQuote(ctx context.Context, local *Account, quoting *Status, quotedAuthorID int64) (string, error)
	// RevokeQuote announces, as local, the Delete of a stamp to the
	// quoting account when it is remote.
	RevokeQuote(ctx context.Context, local *Account, stampURI string, quotingAccountID int64) error
	// Republish sends an Update of local account accountID's post
	// statusURI to its audience (its quote was accepted: the Note now
	// carries the stamp).
	Republish(ctx context.Context, accountID int64, statusURI string) error
}

// QuoteAuthorizer answers quotes of local posts for the inbox
// (federation/social/quote).
type QuoteAuthorizer interface {
	// Authorize returns the stamp for quoter's post quotingURI quoting the
	// local post quoted ("" when the post's policy refuses it) and the
	// post's author, who answers.
	Authorize(ctx context.Context, quoted *Status, quoter *Account, quotingURI string) (stamp string, author *Account, err error)
	// StampValid reports whether stampURI is a live stamp issued for
	// quotingURI's quote of the local post quoted.
	StampValid(ctx context.Context, stampURI string, quoted *Status, quotingURI string) (bool, error)
}
