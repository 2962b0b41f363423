package mastodon

import (
	"context"
	"net/url"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/quote"
)

// qtStore is a quote store that records policy changes and has no quotes.
type qtStore struct {
	federation.QuoteStore
	policies map[int64]federation.QuotePolicy
}

func (f *qtStore) SetQuotePolicy(_ context.Context, id int64, p federation.QuotePolicy) error {
	f.policies[id] = p
	return nil
}

func (f *qtStore) QuotingStatuses(context.Context, int64, int64, federation.Page) ([]int64, error) {
	return nil, nil
}

// TestIssue17QuoteRoutes: the quote routes need a token of the site's
// tenant with the right scope; only the quoted post's author lists its
// quotes or sets its policy (another tenant's account, or a post the
// viewer may see but does not own: 404); a bad policy is 422; nothing is
// written for a refused request.
func TestIssue17QuoteRoutes(t *testing.T) {
	store := &qtStore{policies: map[int64]federation.QuotePolicy{}}
	h := &Handler{Auth: shAuth{}, Accounts: shAccounts{}, Views: shViews{}, Client: shClient{}, Sites: shResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, Outbox: &outbox.Service{}, Quotes: &quote.Service{Views: shViews{}, Quotes: store}}
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		s, ok := shSites[c.Hostname()]
		if !ok {
			return shNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(app)
	f := &shFixture{app: app}
	policy := url.Values{"quote_approval_policy": {"nobody"}}
	for _, c := range []struct {
		method, host, path, token string
		form                      url.Values
		want                      int
	}{
		{"GET", "a.example", "/api/v1/statuses/1/quotes", "", nil, 401},
		{"GET", "a.example", "/api/v1/statuses/1/quotes", "alice-write", nil, 403},
		{"GET", "a.example", "/api/v1/statuses/1/quotes", "bob", nil, 401}, // a token of another tenant
		{"GET", "b.example", "/api/v1/statuses/1/quotes", "bob", nil, 404},
		{"POST", "b.example", "/api/v1/statuses/1/quotes/5/revoke", "bob", nil, 404},
		{"PUT", "b.example", "/api/v1/statuses/1/interaction_policy", "bob", policy, 404},
		{"PUT", "a.example", "/api/v1/statuses/3/interaction_policy", "alice", policy, 404}, // seen, not hers
		{"GET", "a.example", "/api/v1/statuses/3/quotes", "alice", nil, 404},
		{"PUT", "a.example", "/api/v1/statuses/1/interaction_policy", "alice", url.Values{"quote_approval_policy": {"all"}}, 422},
		{"PUT", "a.example", "/api/v1/statuses/x/interaction_policy", "alice", policy, 404},
		{"GET", "a.example", "/api/v1/statuses/1/quotes", "alice", nil, 200},
	} {
		if code, body := f.do(t, c.method, c.host, c.path, c.token, c.form); code != c.want {
			t.Errorf("%s %s%s as %q: %d %s, want %d", c.method, c.host, c.path, c.token, code, body, c.want)
		}
	}
	if len(store.policies) != 0 {
		t.Fatalf("a refused request wrote a policy: %v", store.policies)
	}
}
