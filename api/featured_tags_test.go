package api_test

import (
	"context"
	"testing"

	"github.com/roost-social/roost/api"
)

// TestIssue17FeaturedTagsCollection: the actor names its featuredTags
// collection, which lists the account's featured hashtags as Mastodon's
// Hashtag objects, on the account's own site only.
func TestIssue17FeaturedTagsCollection(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.opts.Collections, w.opts.Metrics = w.accounts, nil // the collection routes need the store: rebuild the app
	w.app = api.New(w.opts)
	if _, err := w.accounts.FeatureTag(context.Background(), w.aliceA.ID, "knitting"); err != nil {
		t.Fatal(err)
	}
	actor := decode(t, w.get(t, "a.example", "/users/alice", "Accept", "application/activity+json"), 200)
	if actor["featuredTags"] != "https://a.example/users/alice/collections/tags" {
		t.Fatalf("featuredTags = %v", actor["featuredTags"])
	}
	m := decode(t, w.get(t, "a.example", "/users/alice/collections/tags", "Accept", "application/activity+json"), 200)
	items, _ := m["items"].([]any)
	if m["type"] != "Collection" || m["totalItems"] != float64(1) || len(items) != 1 {
		t.Fatalf("collection: %v", m)
	}
	if h := items[0].(map[string]any); h["type"] != "Hashtag" || h["name"] != "#knitting" || h["href"] != "https://a.example/tags/knitting" {
		t.Errorf("hashtag: %v", h)
	}
	// Tenant B's alice features nothing.
	m = decode(t, w.get(t, "b.example", "/users/alice/collections/tags", "Accept", "application/activity+json"), 200)
	if m["totalItems"] != float64(0) {
		t.Errorf("tenant B's alice: %v", m)
	}
}
