package card

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/text"
)

// Limits of the card job.
const (
	// MaxPage bounds the HTML read of a page: its <head> must end within
	// it (metadata past it is never seen).
	MaxPage = 1 << 20
	// MaxImage bounds a preview image fetched for the media pipeline.
	MaxImage = 8 << 20
	// MaxAttempts bounds the fetches of one card before it fails.
	MaxAttempts = 3
	// Lease is how long a claimed fetch is a worker's; past it, another
	// worker may claim it (the first one died).
	Lease = 2 * time.Minute
	// Refetch is how long a card is kept before a new post linking it
	// fetches it again.
	Refetch = 14 * 24 * time.Hour
	// pruneEvery is how often a pass deletes cards no post links any
	// more (kept for Refetch after their last fetch), with their images.
	pruneEvery = time.Hour
	// retryAfter is the wait before the second attempt; it doubles.
	retryAfter = 5 * time.Minute
	// batch is the statuses one store call links.
	batch = 20
	// fetchBatch is the cards claimed at once and fetched side by side:
	// each takes at most a few request deadlines, well within Lease.
	fetchBatch = 4
	// maxBatches bounds one pass; the rest waits for the next.
	maxBatches = 50
)

// Fetcher is the card job: it links queued statuses to their first
// link's card, then fetches due cards.
type Fetcher struct {
	Store  federation.CardQueue
	Web    federation.CardWeb
	Images federation.CardImages
	// Ours reports whether a host is one of this server's tenant domains:
	// links to them get no card, as Mastodon skips its own URLs. nil:
	// none is.
	Ours func(ctx context.Context, host string) bool
	Log  *slog.Logger
	// Now is the clock (time.Now when nil): leases, retries and the
	// refetch policy follow it.
	Now func() time.Time

	pruned time.Time // the last prune; passes of one job never overlap
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fetcher) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// Pass links the queued statuses, then fetches the due cards, batch after
// batch while batches come back full (bounded), so a backlog clears in
// one pass; once an hour it prunes unlinked cards.
func (f *Fetcher) Pass(ctx context.Context) error {
	if err := f.link(ctx); err != nil {
		return err
	}
	if err := f.fetchDue(ctx); err != nil {
		return err
	}
	return f.prune(ctx)
}

// link links queued statuses to their cards.
func (f *Fetcher) link(ctx context.Context) error {
	for range maxBatches {
		now := f.now()
		n, err := f.Store.LinkStatuses(ctx, now, now.Add(-Refetch), batch, FirstLink)
		if err != nil {
			return fmt.Errorf("link statuses to cards: %w", err)
		}
		if n < batch || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// fetchDue fetches the cards due.
func (f *Fetcher) fetchDue(ctx context.Context) error {
	for range maxBatches {
		due, err := f.Store.ClaimCardFetches(ctx, f.now(), Lease, MaxAttempts, fetchBatch)
		if err != nil {
			return fmt.Errorf("claim card fetches: %w", err)
		}
		if err := f.fetchAll(ctx, due); err != nil {
			return err
		}
		if len(due) < fetchBatch || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// prune deletes cards no post links any more, and their images, at most
// once per pruneEvery.
func (f *Fetcher) prune(ctx context.Context) error {
	now := f.now()
	if now.Sub(f.pruned) < pruneEvery {
		return nil
	}
	for range maxBatches {
		n, keys, err := f.Store.PruneCards(ctx, now.Add(-Refetch), batch)
		if err != nil {
			return fmt.Errorf("prune cards: %w", err)
		}
		for _, k := range keys {
			if err := f.Images.DeleteCardImage(ctx, k); err != nil {
				f.log().Warn("pruned card's image not removed", "key", k, "err", err)
			}
		}
		if n < batch || ctx.Err() != nil {
			break
		}
	}
	f.pruned = now
	return nil
}

// fetchAll fetches claimed cards side by side; the first failure to
// record an outcome is the pass's error (the others' leases run out).
func (f *Fetcher) fetchAll(ctx context.Context, due []federation.CardFetch) error {
	errc := make(chan error, len(due))
	for _, c := range due {
		go func() {
			defer func() { // outside fetchOne's own recovery (recording): the pass's error, not the process's end
				if r := recover(); r != nil {
					errc <- fmt.Errorf("record card %d: panic: %v", c.ID, r)
				}
			}()
			errc <- f.fetchOne(ctx, c)
		}()
	}
	var first error
	for range due {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// fetchOne fetches one claimed card and records the outcome; a panic is
// that card's failure, never the pass's. Only failing to record is an
// error.
func (f *Fetcher) fetchOne(ctx context.Context, c federation.CardFetch) error {
	var card *federation.Card
	var failure error
	crashed := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				failure, crashed = errs.E(errs.Internal, "the card fetch crashed"), true
				f.log().Error("card fetch panicked", "card", c.ID, "panic", fmt.Sprint(r))
			}
		}()
		card, failure = f.build(ctx, c.URL)
	}()
	if ctx.Err() != nil {
		return nil // shutting down: the lease runs out and another pass retries
	}
	if failure != nil {
		return f.fail(ctx, c, failure, crashed)
	}
	card.ID, card.URL = c.ID, c.URL
	return f.save(ctx, card, f.now())
}

// fail records a failed attempt: retried with back-off while attempts
// remain and another try may pass; a refusal or a crash (which would
// crash again) is final.
func (f *Fetcher) fail(ctx context.Context, c federation.CardFetch, failure error, crashed bool) error {
	now := f.now()
	var retry *time.Time
	if c.Attempts < MaxAttempts && !permanent(failure) && !crashed {
		at := now.Add(retryAfter << (c.Attempts - 1))
		retry = &at
	}
	f.log().Debug("card fetch failed", "card", c.ID, "err", failure)
	return f.Store.FailCardFetch(ctx, c.ID, text.Clip(errs.MessageOf(failure), 300), now, retry)
}

// save records a fetched card, then removes the thumbnail it replaced: a
// file left behind is logged, never the card's failure.
func (f *Fetcher) save(ctx context.Context, c *federation.Card, now time.Time) error {
	old, err := f.Store.SaveCard(ctx, c, now)
	if err != nil {
		return err
	}
	if old != "" && old != c.ImageKey {
		if err := f.Images.DeleteCardImage(ctx, old); err != nil {
			f.log().Warn("old card image not removed", "key", old, "err", err)
		}
	}
	return nil
}

// permanent reports whether fetching again cannot help: the address or
// the URL is refused, the page is not HTML or says nothing.
func permanent(err error) bool {
	switch errs.CodeOf(err) {
	case errs.Forbidden, errs.Invalid, errs.NotFound, errs.Gone, errs.TooLarge:
		return true
	}
	return false
}

var (
	errNoCard = errs.E(errs.Invalid, "the page has no title to show")
	errOurs   = errs.E(errs.Invalid, "links to this server's own pages get no card")
)

// build fetches the page at u and makes its card.
func (f *Fetcher) build(ctx context.Context, u string) (*federation.Card, error) {
	if parsed, err := url.Parse(u); err != nil || f.Ours != nil && f.Ours(ctx, parsed.Hostname()) {
		return nil, errOurs
	}
	var h *head
	err := f.Web.GetPage(ctx, u, MaxPage, func(body io.Reader, final string) error {
		h = parseHead(body, final)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := h.card()
	if h.oembed != "" {
		if body, err := f.Web.GetOEmbed(ctx, h.oembed); err == nil {
			applyOEmbed(d, h, body)
		} else if ctx.Err() != nil {
			return nil, err
		}
	}
	if d.Title == "" && d.HTML == "" {
		return nil, errNoCard
	}
	if d.image != "" {
		if err := f.addImage(ctx, d); err != nil {
			return nil, err
		}
	}
	out := d.Card
	return &out, nil
}

// addImage fetches the card's image through the media pipeline. A bad or
// missing image leaves the card without one; only a cancelled context is
// an error.
func (f *Fetcher) addImage(ctx context.Context, d *draft) error {
	data, err := f.Web.GetImage(ctx, d.image, MaxImage)
	if err == nil {
		var img *federation.CardImage
		if img, err = f.Images.StoreCardImage(ctx, data); err == nil {
			d.ImageKey, d.ImageContentType, d.Blurhash = img.Key, img.ContentType, img.Blurhash
			if d.Type == "link" || d.Width == 0 || d.Height == 0 {
				d.Width, d.Height = img.Width, img.Height
			}
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down, not a bad image
	}
	f.log().Debug("card image skipped", "url", d.image, "err", err)
	if d.Type == "photo" {
		d.Type = "link" // a photo card without its photo is a link
	}
	d.ImageDescription = ""
	return nil
}
