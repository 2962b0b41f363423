package federation

import (
	"context"
	"io"
	"time"
)

// Card is a link preview card (Mastodon's PreviewCard): what a page says
// about itself (OpenGraph, Twitter cards, oEmbed), fetched once per
// normalized URL and shared by every tenant's posts linking it.
type Card struct {
	ID           int64
	URL          string
	Title        string
	Description  string
	Type         string // link, photo, video or rich
	AuthorName   string
	AuthorURL    string
	ProviderName string
	ProviderURL  string
	// HTML is an oEmbed provider's embed, kept only for video and rich
	// cards, as Mastodon does (clients sandbox it).
	HTML   string
	Width  int
	Height int
	// ImageKey names the re-encoded thumbnail in the media blob store;
	// "" when the card has none.
	ImageKey         string
	ImageContentType string
	ImageDescription string
	EmbedURL         string
	Blurhash         string
	Language         string
	PublishedAt      *time.Time
}

// CardFetch is one card whose page is due to be fetched: claimed under a
// lease, its Attempts already counting this one.
type CardFetch struct {
	ID       int64
	URL      string
	Attempts int
}

// LinkedStatus is a status whose first link is to be (re)read.
type LinkedStatus struct {
	StatusID int64
	Content  string   // sanitised HTML
	Mentions []string // actor URIs the status mentions
}

// LinkTrend is a link's last seven days on a tenant, newest day first.
type LinkTrend struct {
	Card    *Card
	History []TagDay
}

// CardQueue is where the card job finds its work and records outcomes
// (federation/postgres). Times are the job's clock.
type CardQueue interface {
	// LinkStatuses takes up to limit queued statuses in one transaction:
	// pick returns each one's normalized card URL ("" for none), and the
	// status is linked to that URL's card (created pending if new; marked
	// pending again when its last fetch is older than staleBefore) or
	// unlinked. It returns how many statuses it took.
	LinkStatuses(ctx context.Context, now, staleBefore time.Time, limit int, pick func(LinkedStatus) string) (int, error)
	// ClaimCardFetches leases up to limit pending cards due by now whose
	// attempts are below maxAttempts (FOR UPDATE SKIP LOCKED), counting
	// the attempt; cards whose last lease ran out at maxAttempts fail.
	ClaimCardFetches(ctx context.Context, now time.Time, lease time.Duration, maxAttempts, limit int) ([]CardFetch, error)
	// SaveCard records a fetched card (ready) and ends its lease. It
	// returns the key of the thumbnail the card had before ("" for none),
	// for the caller to remove once it is replaced.
	SaveCard(ctx context.Context, c *Card, now time.Time) (string, error)
	// PruneCards deletes up to limit cards no status links any more whose
	// last fetch (or creation) is before before, returning how many and
	// the keys of their thumbnails for the caller to remove.
	PruneCards(ctx context.Context, before time.Time, limit int) (int, []string, error)
	// FailCardFetch ends a failed attempt's lease: retried at retryAt, or
	// failed for good when retryAt is nil. reason is safe to store.
	FailCardFetch(ctx context.Context, id int64, reason string, now time.Time, retryAt *time.Time) error
}

// CardViews reads cards for the client API. Cards are instance-wide;
// which statuses a viewer reaches them through is scoped by tenant and
// viewer.
type CardViews interface {
	// CardsOfStatuses returns the ready cards of statusIDs, by status id:
	// one query whatever the page size.
	CardsOfStatuses(ctx context.Context, statusIDs []int64) (map[int64]*Card, error)
	// TrendingLinks ranks the cards linked by the tenant's public posts of
	// the seven days before now by distinct accounts, then posts.
	TrendingLinks(ctx context.Context, tenantID int64, now time.Time, limit, offset int) ([]LinkTrend, error)
	// LinkTimeline pages the tenant's public posts linking url's card that
	// viewer may see, newest first.
	LinkTimeline(ctx context.Context, tenantID, viewerID int64, url string, p Page) ([]int64, error)
	// CardImage returns the content type of a card thumbnail stored under
	// key, or errs.NotFound.
	CardImage(ctx context.Context, key string) (string, error)
}

// CardWeb is how the card job reads the web: through Roost's one safe
// outbound client (federation/fetch), whose address rules, redirect
// checks, caps and deadlines hold for every request.
type CardWeb interface {
	// GetPage fetches an HTML page and hands read its first limit bytes
	// (the rest is never read) and the URL that finally served it.
	GetPage(ctx context.Context, rawURL string, limit int64, read func(body io.Reader, final string) error) error
	// GetOEmbed fetches an oEmbed JSON document.
	GetOEmbed(ctx context.Context, rawURL string) ([]byte, error)
	// GetImage fetches a JPEG, PNG, GIF or WebP image of at most limit
	// bytes.
	GetImage(ctx context.Context, rawURL string, limit int64) ([]byte, error)
}

// CardImage is a card's thumbnail after the media pipeline re-encoded
// and stored it.
type CardImage struct {
	Key           string
	ContentType   string
	Width, Height int
	Blurhash      string
}

// CardImages re-encodes and stores card thumbnails (federation/social/media).
type CardImages interface {
	// StoreCardImage checks data is an image within the media limits,
	// re-encodes it as a thumbnail and stores it.
	StoreCardImage(ctx context.Context, data []byte) (*CardImage, error)
	// OpenCardImage opens a stored thumbnail; the caller closes it.
	OpenCardImage(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// DeleteCardImage removes a thumbnail no card shows any more.
	DeleteCardImage(ctx context.Context, key string) error
}
