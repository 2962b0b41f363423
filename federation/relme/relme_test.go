package relme

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
)

type fakeStore struct {
	mu       sync.Mutex
	fields   []federation.Field
	verified []string
}

func (s *fakeStore) LocalFields(context.Context, int64) ([]federation.Field, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]federation.Field(nil), s.fields...), nil
}

func (s *fakeStore) MarkFieldVerified(_ context.Context, _ int64, value string, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verified = append(s.verified, value)
	return true, nil
}

var linkBacks = []string{"https://a.example/@alice", "https://a.example/users/alice"}

func TestLinksBack(t *testing.T) {
	for _, c := range []struct {
		page string
		want bool
	}{
		{`<a rel="me" href="https://a.example/@alice">me</a>`, true},
		{`<a href="https://A.example/@alice/" rel="nofollow ME noopener">me</a>`, true},
		{`<html><head><link rel="me" href="https://a.example/users/alice"></head></html>`, true},
		{`<link rel=me href=https://a.example/@alice />`, true},
		{`<a href="https://a.example/@alice">no rel</a>`, false},
		{`<a rel="me" href="https://a.example/@alicex">other</a>`, false},
		{`<a rel="meh" href="https://a.example/@alice">meh</a>`, false},
		{`<a rel="me" href="https://evil.example/@alice">elsewhere</a>`, false},
		{`<!-- <a rel="me" href="https://a.example/@alice"> -->`, false},
		{`<p>rel="me" href="https://a.example/@alice"</p>`, false},
	} {
		if got := LinksBack([]byte(c.page), linkBacks); got != c.want {
			t.Errorf("%s: %v, want %v", c.page, got, c.want)
		}
	}
}

// Pages are fetched through the safe client: a field linking back is
// verified, others not, and an address the client refuses (loopback
// without a resolve override) is never fetched.
func TestVerify(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/good":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<html><body><a rel="me" href="https://a.example/@alice">alice</a></body></html>`))
		case "/head":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><head><link rel="me" href="https://a.example/users/alice"></head></html>`))
		case "/nolink":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<a href="https://a.example/@alice">alice</a>`))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":"<a rel=\"me\" href=\"https://a.example/@alice\">"}`))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	store := &fakeStore{fields: []federation.Field{
		{Name: "good", Value: "http://pages.test/good"},
		{Name: "head", Value: "http://pages.test/head"},
		{Name: "nolink", Value: "http://pages.test/nolink"},
		{Name: "json", Value: "http://pages.test/json"},
		{Name: "loopback", Value: srv.URL + "/good"},
		{Name: "text", Value: "just text"},
	}}
	v := &Verifier{Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"pages.test": addr}}), Store: store}
	v.Start(1, linkBacks)
	v.Wait()
	if strings.Join(store.verified, " ") != "http://pages.test/good http://pages.test/head" {
		t.Fatalf("verified %v", store.verified)
	}
	// Already verified fields are not fetched again.
	now := time.Now()
	store.fields[0].VerifiedAt, store.fields[1].VerifiedAt = &now, &now
	store.verified = nil
	mu.Lock()
	before := hits["/good"]
	mu.Unlock()
	if err := v.Verify(context.Background(), 1, linkBacks); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/good"] != before || len(store.verified) != 0 {
		t.Fatalf("a verified field was fetched again: %d → %d, %v", before, hits["/good"], store.verified)
	}
	if hits["/good"] != 1 {
		t.Fatalf("/good fetched %d times (the loopback URL must never reach it)", hits["/good"])
	}
}

func TestVerifiable(t *testing.T) {
	for v, want := range map[string]bool{
		"https://example.org/me": true, "http://example.org": true, "example.org": false,
		"https://user@example.org": false, "https://a b": false, "ftp://example.org": false,
	} {
		if Verifiable(v) != want {
			t.Errorf("Verifiable(%q) = %v", v, !want)
		}
	}
}
