package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// POST /api/v1/statuses/:id/reblog answers the boost wrapping the post, as
// Mastodon does (apps put it on the timeline as it is), not the post
// itself. Boosting again answers the same boost and queues nothing more;
// unboosting answers the post, no longer boosted.
func TestIssue18ReblogAnswersTheBoost(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	id := w.postAs(t, w.aliceA, "boost me")
	type status struct {
		ID        string
		Reblogged bool
		Reblog    *struct {
			ID        string
			Reblogged bool
		}
	}
	boost := func(path string) status {
		t.Helper()
		code, body := w.apiCall(t, w.bob, http.MethodPost, "/api/v1/statuses/"+id+path, nil)
		var s status
		if err := json.Unmarshal([]byte(body), &s); err != nil || code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		return s
	}
	sent := func() (n int) {
		t.Helper()
		if err := w.db.QueryRow(context.Background(), `select count(*) from deliveries where sender_id = $1`, w.bob.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := boost("/reblog")
	if first.ID == id || first.Reblog == nil || first.Reblog.ID != id || !first.Reblog.Reblogged {
		t.Fatalf("reblog answered %+v, want a boost of %s", first, id)
	}
	queued := sent()
	again := boost("/reblog")
	if again.ID != first.ID || again.Reblog == nil || again.Reblog.ID != id {
		t.Errorf("boosting again answered %+v, want the boost %s", again, first.ID)
	}
	if n := sent(); n != queued {
		t.Errorf("boosting again queued %d more deliveries", n-queued)
	}
	var boosts int
	if err := w.db.QueryRow(context.Background(), `select count(*) from statuses where account_id = $1 and reblog_of_id = $2`,
		w.bob.ID, id).Scan(&boosts); err != nil || boosts != 1 {
		t.Errorf("%d boosts stored (%v), want 1", boosts, err)
	}
	undone := boost("/unreblog")
	if undone.ID != id || undone.Reblogged || undone.Reblog != nil {
		t.Errorf("unreblog answered %+v, want the post %s, not boosted", undone, id)
	}
}
