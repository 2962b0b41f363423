package outbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// A remote account's profile shows what its collections say: its counts
// (their totalItems) and its recent public posts (the first page of its
// outbox), read when the account is looked up, as Mastodon does, rather
// than 0 until deliveries arrive. Each read is bounded: at most once per
// CollectionsEvery per account (claimed in the database, so across
// nodes), four fetches (outbox, its first page, followers, following)
// through the safe client with its size and time limits, RecentPosts
// posts, and nothing fetched for a post the page only names.

// CollectionsEvery is how often an account's collections are read at
// most.
const CollectionsEvery = 30 * time.Minute

// RecentPosts bounds the posts taken from an outbox's first page.
const RecentPosts = 20

// collectionsTimeout bounds the whole read, whatever the fetch client's
// own timeout.
const collectionsTimeout = 20 * time.Second

// RefreshCollections reads a remote account's counts and recent public
// posts from its collections when due; failures leave what was known
// (the profile then shows what deliveries brought).
func (s *Service) RefreshCollections(ctx context.Context, a *federation.Account) error {
	rc, ok := s.Store.(federation.RemoteCollections)
	if a == nil || a.Remote == nil || !ok || s.Fetch == nil {
		return nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if due, err := rc.ClaimCollectionsFetch(ctx, a.ID, now(), CollectionsEvery); err != nil || !due {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, collectionsTimeout)
	defer cancel()
	var counts federation.CollectionCounts
	outbox := s.collection(ctx, a, a.Remote.Outbox)
	if outbox != nil {
		counts.Statuses = outbox.TotalItems
	}
	if f := s.collection(ctx, a, a.Remote.Followers); f != nil {
		counts.Followers = f.TotalItems
	}
	if f := s.collection(ctx, a, a.Remote.Following); f != nil {
		counts.Following = f.TotalItems
	}
	if outbox != nil {
		if err := s.storeRecent(ctx, a, s.firstPage(ctx, a, outbox)); err != nil {
			return err
		}
	}
	// After the posts: storing them counts them (triggers), and the
	// outbox's total already does.
	return rc.SetRemoteCounts(ctx, a.ID, counts)
}

// collectionDoc is what is read of a collection or of one of its pages.
type collectionDoc struct {
	TotalItems   *int64            `json:"totalItems"`
	First        json.RawMessage   `json:"first"`
	OrderedItems []json.RawMessage `json:"orderedItems"`
	Items        []json.RawMessage `json:"items"`
}

// collection fetches one of a's collections (on a's own server), or nil.
func (s *Service) collection(ctx context.Context, a *federation.Account, uri string) *collectionDoc {
	if uri == "" || !ap.SameOrigin(uri, a.Remote.URI) {
		return nil
	}
	body, _, err := s.Fetch.GetActivity(ctx, uri, s.Keys.Sign)
	if err != nil {
		return nil
	}
	var doc collectionDoc
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	if doc.TotalItems != nil && *doc.TotalItems < 0 {
		doc.TotalItems = nil
	}
	return &doc
}

// firstPage is the outbox's first page: embedded, or fetched once.
func (s *Service) firstPage(ctx context.Context, a *federation.Account, outbox *collectionDoc) *collectionDoc {
	var link string
	if json.Unmarshal(outbox.First, &link) == nil {
		return s.collection(ctx, a, link)
	}
	var page collectionDoc
	if len(outbox.First) > 0 && json.Unmarshal(outbox.First, &page) == nil {
		return &page
	}
	return outbox // a collection listing its items itself
}

// storeRecent stores the public and unlisted posts a's outbox page holds
// as Create activities of a's own, embedded: the path a post looked up by
// URL takes (ResolveURL), so nobody sees one they should not.
func (s *Service) storeRecent(ctx context.Context, a *federation.Account, page *collectionDoc) error {
	saver, ok := s.Store.(remoteStatusSaver)
	if page == nil || !ok {
		return nil
	}
	items := page.OrderedItems
	if len(items) == 0 {
		items = page.Items
	}
	stored := 0
	for _, raw := range items {
		if stored == RecentPosts {
			break
		}
		var act struct {
			Type   string          `json:"type"`
			Actor  json.RawMessage `json:"actor"`
			Object json.RawMessage `json:"object"`
		}
		if json.Unmarshal(raw, &act) != nil || act.Type != "Create" || len(act.Object) == 0 || act.Object[0] != '{' {
			continue
		}
		st, author, err := ap.ParseStatus(act.Object, a.Remote.Followers)
		if err != nil || author != a.Remote.URI || !ap.SameOrigin(st.URI, a.Remote.URI) ||
			(st.Visibility != federation.Public && st.Visibility != federation.Unlisted) {
			continue
		}
		stored++
		if _, err := s.Store.StatusByURI(ctx, st.URI); err == nil {
			continue // known: deliveries keep it
		}
		st.AccountID = a.ID
		if _, err := saver.UpsertRemoteStatus(ctx, st); err != nil {
			return err
		}
	}
	return nil
}
