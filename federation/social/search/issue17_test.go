package search

import (
	"context"
	"testing"
)

// TestIssue17UnknownTypeFindsNothing: a type Mastodon does not know
// finds nothing, as Mastodon answers, and asks no store (it was a 422).
func TestIssue17UnknownTypeFindsNothing(t *testing.T) {
	s, st, nw := newService()
	q := query("dogs", 1)
	q.Type = "links"
	got, err := s.Search(context.Background(), q)
	if err != nil || len(got.Accounts)+len(got.Statuses)+len(got.Hashtags) != 0 {
		t.Fatalf("unknown type: %+v %v", got, err)
	}
	if st.lastAccounts.Limit != 0 || st.statusSearch || nw.calls != 0 {
		t.Fatalf("unknown type asked the store (%+v, statuses %v) or the network (%d)", st.lastAccounts, st.statusSearch, nw.calls)
	}
}
