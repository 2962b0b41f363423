package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Issue 18 (left 4): a deleted account's public pages answered 404, as
// for a name never used. As on Mastodon, they answer 410 Gone with a page
// saying the account was deleted (its profile, tabs, posts and feed);
// a name never used, and the same name on another tenant, are unchanged.
func TestIssue18DeletedAccountPagesAnswerGone(t *testing.T) {
	w := newSettingsWorld(t)
	alice := w.signIn(t, w.aliceA)
	alice.open(t, "/settings/delete")
	resp := w.do(t, http.MethodPost, "a.example", "/api/v1/statuses", strings.NewReader(`{"status":"hello before leaving"}`),
		"Authorization", "Bearer "+mintToken(t, w.oauth, w.aliceA), "Content-Type", "application/json")
	var st struct{ ID string }
	if err := json.Unmarshal([]byte(readAll(t, resp.Body)), &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %d %v", resp.StatusCode, err)
	}
	post := st.ID
	if code, page := alice.post(t, "/settings/delete", url.Values{"password": {"correct horse battery"}, "understood": {"1"}}); code != 200 {
		t.Fatalf("delete: %d %s", code, page)
	}
	get := func(host, path string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = host
		req.Header.Set("Accept", "text/html")
		resp, err := w.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		host, path string
		code       int
	}{
		{"a.example", "/@alice", http.StatusGone},
		{"a.example", "/users/alice", http.StatusGone},
		{"a.example", "/@alice/with_replies", http.StatusGone},
		{"a.example", "/@alice/media", http.StatusGone},
		{"a.example", "/@alice/" + post, http.StatusGone},
		{"a.example", "/@alice.rss", http.StatusGone},
		{"a.example", "/@nobody", http.StatusNotFound},
		{"a.example", "/@nobody/" + post, http.StatusNotFound},
		{"a.example", "/@nobody.rss", http.StatusNotFound},
		{"a.example", "/@bob", http.StatusOK},
		{"b.example", "/@alice", http.StatusOK}, // another tenant's alice
	} {
		code, page := get(c.host, c.path)
		if code != c.code {
			t.Errorf("%s%s: %d, want %d", c.host, c.path, code, c.code)
			continue
		}
		if c.code == http.StatusGone && (!strings.Contains(page, "This account was deleted") || !strings.Contains(page, "<html")) {
			t.Errorf("%s%s: the 410 page does not say the account was deleted: %.300s", c.host, c.path, page)
		}
	}
}
