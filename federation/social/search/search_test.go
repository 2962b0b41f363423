package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

var notFound = errs.E(errs.NotFound, "not found")

// fakeStore: local alice (1) on a.example, her status 100, remote bob
// (2) at b.example known by URI, and prefix matches 5 and 6.
type fakeStore struct {
	federation.SearchStore
	lastAccounts federation.AccountQuery
	statusSearch bool
}

func (f *fakeStore) SearchAccounts(_ context.Context, q federation.AccountQuery) ([]int64, error) {
	f.lastAccounts = q
	return []int64{5, 2, 6}, nil
}

func (f *fakeStore) SearchStatuses(context.Context, federation.StatusQuery) ([]int64, error) {
	f.statusSearch = true
	return []int64{100}, nil
}

func (f *fakeStore) SearchTags(context.Context, int64, string, int, int) ([]string, error) {
	return []string{"catsofroost"}, nil
}

func (f *fakeStore) AccountByUsername(_ context.Context, tenantID int64, _, user string) (*federation.Account, error) {
	if tenantID == 1 && user == "alice" {
		return &federation.Account{ID: 1}, nil
	}
	return nil, notFound
}

func (f *fakeStore) RemoteActorByURI(_ context.Context, uri string) (*federation.Account, error) {
	if uri == "https://b.example/users/bob" {
		return &federation.Account{ID: 2}, nil
	}
	return nil, notFound
}

func (f *fakeStore) StatusByURI(context.Context, string) (*federation.Status, error) {
	return nil, notFound
}

func (f *fakeStore) StatusByID(_ context.Context, id int64) (*federation.Status, error) {
	if id == 100 {
		return &federation.Status{ID: 100, AccountID: 1}, nil
	}
	return nil, notFound
}

// fakeNetwork counts lookups; carol@c.example (3) resolves, others fail.
type fakeNetwork struct{ calls int }

func (n *fakeNetwork) Known(context.Context, string) (*federation.Account, error) {
	return nil, notFound
}

func (n *fakeNetwork) Resolve(_ context.Context, handle string) (*federation.Account, error) {
	n.calls++
	if strings.EqualFold(handle, "carol@c.example") {
		return &federation.Account{ID: 3, Remote: &federation.RemoteInfo{}}, nil
	}
	return nil, errors.New("peer down")
}

func (n *fakeNetwork) ResolveURL(context.Context, string) (*federation.Account, *federation.Status, error) {
	n.calls++
	return nil, &federation.Status{ID: 200}, nil
}

type sites struct{}

func (sites) Resolve(_ context.Context, host string) (*tenant.Site, error) {
	if host == "a.example" {
		return &tenant.Site{TenantID: 1, Domain: "a.example"}, nil
	}
	return nil, notFound
}

func newService() (*Service, *fakeStore, *fakeNetwork) {
	st, nw := &fakeStore{}, &fakeNetwork{}
	return &Service{Store: st, Network: nw, Sites: sites{}}, st, nw
}

func query(text string, viewer int64) Query {
	return Query{Text: text, Limit: 2, ViewerID: viewer, Site: &tenant.Site{TenantID: 1, Domain: "a.example"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestQueryValidation(t *testing.T) {
	s, _, _ := newService()
	for _, q := range []Query{query(" ", 1), query(strings.Repeat("q", MaxQuery+1), 1)} { // an unknown type: issue17_test.go
		if _, err := s.Search(context.Background(), q); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%q type %q: %v", q.Text, q.Type, err)
		}
	}
}

func TestAnonymousSearchNeverGoesToTheNetwork(t *testing.T) {
	s, st, nw := newService()
	q := query("carol@c.example", 0)
	q.Resolve, q.Following = true, true
	res, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if nw.calls != 0 || st.lastAccounts.Following || st.statusSearch || len(res.Statuses) != 0 {
		t.Errorf("anonymous: network calls %d, following %v, status search %v", nw.calls, st.lastAccounts.Following, st.statusSearch)
	}
	q = query("https://c.example/@carol/1", 0)
	q.Resolve = true
	if _, err := s.Search(context.Background(), q); err != nil || nw.calls != 0 {
		t.Errorf("anonymous URL: %v, network calls %d", err, nw.calls)
	}
}

func TestResolvedHandleComesFirstWithinTheLimit(t *testing.T) {
	s, st, nw := newService()
	q := query("@carol@C.example", 1)
	q.Resolve = true
	res, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if nw.calls != 1 || len(res.Accounts) != 2 || res.Accounts[0] != 3 || res.Accounts[1] != 5 {
		t.Errorf("accounts %v, calls %d", res.Accounts, nw.calls)
	}
	if st.lastAccounts.Text != "carol" || st.lastAccounts.Domain != "c.example" {
		t.Errorf("prefix query %+v", st.lastAccounts)
	}
	// One of our own domains is never looked up on the network.
	q = query("alice@a.example", 1)
	q.Resolve = true
	if res, _ := s.Search(context.Background(), q); nw.calls != 1 || res.Accounts[0] != 1 {
		t.Errorf("local handle: %v, calls %d", res.Accounts, nw.calls)
	}
	// A failed lookup is no result, not an error.
	q = query("dave@d.example", 1)
	q.Resolve = true
	if res, err := s.Search(context.Background(), q); err != nil || res.Accounts[0] != 5 {
		t.Errorf("failed lookup: %v %v", res.Accounts, err)
	}
}

func TestURLsNameOneThing(t *testing.T) {
	ctx := context.Background()
	s, _, nw := newService()
	cases := []struct {
		url              string
		account, status  int64
		resolve, network bool
	}{
		{"https://a.example/@alice", 1, 0, false, false},
		{"https://a.example/users/alice/statuses/100", 0, 100, false, false},
		{"https://a.example/@mallory/100", 0, 0, false, false}, // not her post
		{"https://a.example/@alice/100/extra", 0, 0, false, false},
		{"https://b.example/users/bob", 2, 0, true, false}, // known: no fetch
		{"https://c.example/notes/1", 0, 0, false, false},  // unknown, no resolve
		{"https://c.example/notes/1", 0, 200, true, true},
	}
	for _, c := range cases {
		before := nw.calls
		q := query(c.url, 1)
		q.Resolve = c.resolve
		res, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var acct, status int64
		if len(res.Accounts) > 0 {
			acct = res.Accounts[0]
		}
		if len(res.Statuses) > 0 {
			status = res.Statuses[0]
		}
		if acct != c.account || status != c.status || (nw.calls > before) != c.network {
			t.Errorf("%s: account %d status %d network %v", c.url, acct, status, nw.calls > before)
		}
	}
}

func TestTagsPutTheExactNameFirst(t *testing.T) {
	s, _, _ := newService()
	q := query("#Cats", 0)
	q.Type = "hashtags"
	res, err := s.Search(context.Background(), q)
	if err != nil || strings.Join(res.Hashtags, ",") != "cats,catsofroost" || res.Accounts != nil {
		t.Errorf("tags %v accounts %v %v", res.Hashtags, res.Accounts, err)
	}
	q = query("not a tag!", 0)
	q.Type = "hashtags"
	if res, _ := s.Search(context.Background(), q); len(res.Hashtags) != 0 {
		t.Errorf("invalid name: %v", res.Hashtags)
	}
}
