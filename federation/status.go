package federation

import (
	"context"
	"time"
)

// Visibility is Mastodon's addressing model for a status.
type Visibility string

// The four visibilities and how they map to ActivityPub addressing:
// public (Public in to), unlisted (Public in cc), private (followers
// collection only: followers-only), direct (mentioned actors only).
const (
	Public   Visibility = "public"
	Unlisted Visibility = "unlisted"
	Private  Visibility = "private"
	Direct   Visibility = "direct"
)

// PublicCollection is ActivityStreams' special "everyone" address, also
// written as "as:Public" or "Public" by some servers.
const PublicCollection = "https://www.w3.org/ns/activitystreams#Public"

// Status is a post (Note, Question, Article, Page, Video... rendered as a
// note), local or remote.
type Status struct {
	ID           int64
	AccountID    int64
	TenantID     int64 // zero for remote statuses
	URI          string
	URL          string
	InReplyToURI string
	Content      string // sanitised HTML
	Summary      string // content warning
	Sensitive    bool
	Visibility   Visibility
	Language     string
	To, Cc       []string
	Mentions     []string // actor URIs mentioned (tag type Mention)
	// LocalMentionIDs are the local accounts a local post mentions: they
	// get it by local delivery. Not stored.
	LocalMentionIDs []int64
	// MentionIDs are every mentioned account we know, local or remote:
	// stored with the status (notifications, the API's mentions).
	MentionIDs []int64
	// Text is a local post's source as typed, kept for edits and
	// delete-and-redraft; ApplicationID the OAuth app that posted it.
	Text          string
	ApplicationID int64
	Tags          []string // hashtag names, lower case, without '#'
	Attachments   []Attachment
	Poll          *Poll
	Published     time.Time
	EditedAt      *time.Time
	CreatedAt     time.Time
	// ScheduledID is the scheduled post a local status publishes (zero:
	// none): its row is deleted in the transaction that stores the status,
	// so it is published once. Not stored.
	ScheduledID int64
	// IdempotencyKey is the client's Idempotency-Key of a local post (""
	// none): remembered in the transaction that stores the status, so a
	// retry after any crash finds the post. Not stored in statuses.
	IdempotencyKey string
	// QuoteURI is the post this one quotes (FEP-044f), QuoteStamp the
	// QuoteAuthorization allowing it once accepted, QuotePolicy who may
	// quote this post ("" unknown: only its author). Stored (quote.go).
	QuoteURI    string
	QuoteStamp  string
	QuotePolicy QuotePolicy

	// Emojis are a remote post's custom emojis, as its server sent them
	// (statuses.emojis); local posts use their tenant's.
	Emojis []RemoteEmoji
}

// Attachment is media referenced by URL (remote media is not copied).
// It is stored with its status as JSON (these names).
type Attachment struct {
	Type        string `json:"type"` // Document, Image, Video, Audio
	MediaType   string `json:"mediaType,omitempty"`
	URL         string `json:"url"`
	Description string `json:"name,omitempty"`
	Blurhash    string `json:"blurhash,omitempty"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	// Local uploads only (zero for remote media): the upload's id and its
	// focal point (each in [-1, 1]). The thumbnail: a local upload's, or
	// the icon a remote attachment came with.
	MediaID       int64   `json:"mediaId,omitempty"`
	PreviewURL    string  `json:"previewUrl,omitempty"`
	PreviewWidth  int     `json:"previewWidth,omitempty"`
	PreviewHeight int     `json:"previewHeight,omitempty"`
	FocusX        float64 `json:"focusX,omitempty"`
	FocusY        float64 `json:"focusY,omitempty"`
}

// Poll is a Question's options and counts: received, or a local post's.
// Voters counts distinct voters (a multiple-choice poll has more votes).
type Poll struct {
	Multiple   bool         `json:"multiple"`
	EndsAt     *time.Time   `json:"endsAt,omitempty"`
	Options    []PollOption `json:"options"`
	Voters     int          `json:"voters,omitempty"`
	HideTotals bool         `json:"hideTotals,omitempty"`
}

// PollOption is one answer of a poll.
type PollOption struct {
	Title string `json:"title"`
	Votes int    `json:"votes"`
}

// StatusStore persists statuses.
type StatusStore interface {
	// UpsertRemoteStatus stores or updates (by URI) a remote status.
	UpsertRemoteStatus(ctx context.Context, s *Status) (*Status, error)
	// StatusByURI finds a status, or errs.NotFound.
	StatusByURI(ctx context.Context, uri string) (*Status, error)
	// DeleteStatusByURI removes a status authored by accountID; it reports
	// whether one was removed.
	DeleteStatusByURI(ctx context.Context, uri string, accountID int64) (bool, error)
}

// StatusEdit is a new version of a local post.
type StatusEdit struct {
	Content   string // rendered HTML
	Text      string // source
	Summary   string
	Sensitive bool
	Language  string
	Tags      []string
	At        time.Time
	// Attachments and Poll replace the post's (nil: none). A poll with the
	// same options and choice mode keeps its votes; any other loses them.
	Attachments []Attachment
	Poll        *Poll
}

// StatusVersion is one version of a status in its edit history.
type StatusVersion struct {
	Content   string
	Summary   string
	Sensitive bool
	CreatedAt time.Time
}

// Report is a complaint for a tenant's moderators.
type Report struct {
	TenantID   int64
	ReporterID int64 // zero when unknown
	TargetID   int64
	StatusURIs []string
	Comment    string
	URI        string
}

// SocialStore records what actors do with each other and with statuses.
type SocialStore interface {
	// AddToHomeFeeds puts a status in the home feeds of the author's
	// accepted followers on tenant tenantID (and of the author if local).
	AddToHomeFeeds(ctx context.Context, statusID, authorID, tenantID int64) error
	// AddMentions records the accounts a status mentions (idempotent).
	AddMentions(ctx context.Context, statusID int64, accountIDs []int64) error
	// Favourite records a like (idempotent); Unfavourite removes one by the
	// like's activity URI or by status.
	Favourite(ctx context.Context, accountID, statusID int64, uri string) error
	Unfavourite(ctx context.Context, accountID int64, uri string, statusID int64) (bool, error)
	// Reblog records an Announce as a status pointing at the original.
	Reblog(ctx context.Context, r *Status, ofID int64) (*Status, error)
	// Block records a block and ends follows both ways; Unblock lifts it.
	Block(ctx context.Context, accountID, targetID int64, uri string) error
	Unblock(ctx context.Context, accountID, targetID int64) (bool, error)
	// AddReport stores a report once per (tenant, uri).
	AddReport(ctx context.Context, r Report) error
	// DeleteRemoteActor removes a remote actor and, by cascade, everything
	// of theirs: statuses, follows, likes, blocks.
	DeleteRemoteActor(ctx context.Context, id int64) error
}
