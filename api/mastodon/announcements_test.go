package mastodon

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/announcement"
)

// Announcements through the API on the sh* world: announcement 1 is the
// operator's (every tenant), 2 is tenant a's (tenant 1) only. The fake
// store scopes as the real one does (federation/postgres, tested there).

type annFake struct {
	federation.AnnouncementStore
	dismissed map[int64]int64 // announcement → account
	reactions []string
	withDism  bool
}

var annRows = []federation.Announcement{{ID: 1, Text: "for all :blob:", Content: "<p>for all :blob:</p>"}, {ID: 2, TenantID: 1, Content: "<p>a only</p>"}}

func (f *annFake) shown(tenantID, id int64) bool {
	for _, a := range annRows {
		if a.ID == id && (a.TenantID == 0 || a.TenantID == tenantID) {
			return true
		}
	}
	return false
}

func (f *annFake) ActiveAnnouncements(_ context.Context, tenantID, accountID int64, now time.Time, withDismissed bool) ([]federation.AnnouncementView, error) {
	f.withDism = withDismissed
	var out []federation.AnnouncementView
	for _, a := range annRows {
		if f.shown(tenantID, a.ID) {
			pub := now
			a.PublishedAt = &pub
			out = append(out, federation.AnnouncementView{Announcement: a, Read: f.dismissed[a.ID] == accountID,
				Reactions: []federation.AnnouncementReaction{{Name: "blob", Count: 2, Me: true}}})
		}
	}
	return out, nil
}

func (f *annFake) DismissAnnouncement(_ context.Context, tenantID, accountID, id int64, _ time.Time) error {
	if !f.shown(tenantID, id) {
		return shNotFound
	}
	f.dismissed[id] = accountID
	return nil
}

func (f *annFake) ReactToAnnouncement(_ context.Context, tenantID, _, id int64, name string, on bool, _ time.Time, _ int) error {
	if !f.shown(tenantID, id) {
		return shNotFound
	}
	if on {
		f.reactions = append(f.reactions, name)
	}
	return nil
}

type annEmojis struct{ federation.EmojiStore }

func (annEmojis) EmojisByShortcode(_ context.Context, tenantIDs []int64, codes []string) ([]federation.CustomEmoji, error) {
	if tenantIDs[0] != 1 {
		return nil, nil
	}
	return []federation.CustomEmoji{{TenantID: 1, Shortcode: "blob", ContentType: "image/png"}}, nil
}

func newAnnFixture(t *testing.T) (*shFixture, *annFake) {
	t.Helper()
	store := &annFake{dismissed: map[int64]int64{}}
	h := &Handler{Auth: shAuth{}, Accounts: shAccounts{}, Views: shViews{}, Client: shClient{}, Sites: shResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, Outbox: &outbox.Service{}, Emojis: annEmojis{},
		Announcements: &announcement.Service{Store: store, Emojis: annEmojis{}}}
	f := &shFixture{app: fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})}
	f.app.Use(func(c *fiber.Ctx) error {
		s, ok := shSites[c.Hostname()]
		if !ok {
			return shNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(f.app)
	return f, store
}

func TestIssue17AnnouncementsAPI(t *testing.T) {
	f, store := newAnnFixture(t)
	status, body := f.do(t, "GET", "a.example", "/api/v1/announcements?with_dismissed=true", "alice", nil)
	var list []map[string]any
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 || !store.withDism {
		t.Fatalf("alice's list: %d %s", status, body)
	}
	for _, k := range []string{"id", "content", "starts_at", "ends_at", "published", "all_day", "published_at", "updated_at",
		"read", "mentions", "statuses", "tags", "emojis", "reactions"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("no %s in %s", k, body)
		}
	}
	var first AnnouncementJSON
	raw, _ := json.Marshal(list[0])
	_ = json.Unmarshal(raw, &first)
	if len(first.Emojis) != 1 || len(first.Reactions) != 1 || first.Reactions[0].URL != "https://a.example/custom_emojis/blob.png" {
		t.Errorf("emojis and reactions: %s", body)
	}
	status, body = f.do(t, "GET", "b.example", "/api/v1/announcements", "bob", nil)
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0]["id"] != "1" {
		t.Errorf("bob on b sees %d %s, want only the operator's", status, body)
	}

	f.check(t, []shCase{
		{"POST", "/api/v1/announcements/2/dismiss", "alice", nil, http.StatusOK, ""},
		{"PUT", "/api/v1/announcements/1/reactions/%F0%9F%91%8D", "alice", nil, http.StatusOK, ""},
		{"PUT", "/api/v1/announcements/1/reactions/blob", "alice", nil, http.StatusOK, ""},
		{"DELETE", "/api/v1/announcements/1/reactions/blob", "alice", nil, http.StatusOK, ""},
		{"PUT", "/api/v1/announcements/1/reactions/nope", "alice", nil, http.StatusUnprocessableEntity,
			"Validation failed: Name is not a recognized emoji"},
		{"GET", "/api/v1/announcements", "", nil, http.StatusUnauthorized, "The access token is invalid"},
		{"PUT", "/api/v1/announcements/1/reactions/%F0%9F%91%8D", "app-only", nil, http.StatusUnprocessableEntity,
			"This method requires an authenticated user"},
	})
	if len(store.reactions) != 2 || store.reactions[0] != "👍" || store.dismissed[2] != 10 {
		t.Errorf("reactions %q, dismissed %v", store.reactions, store.dismissed)
	}
	// Tenant b's reader: tenant a's announcement is not found; b's token on a is refused.
	for _, c := range []struct{ method, host, path, token string }{
		{"POST", "b.example", "/api/v1/announcements/2/dismiss", "bob"},
		{"PUT", "b.example", "/api/v1/announcements/2/reactions/%F0%9F%91%8D", "bob"},
		{"POST", "a.example", "/api/v1/announcements/2/dismiss", "bob"},
	} {
		if status, body := f.do(t, c.method, c.host, c.path, c.token, nil); status != http.StatusNotFound && status != http.StatusUnauthorized {
			t.Errorf("%s %s%s as %s: %d %s", c.method, c.host, c.path, c.token, status, body)
		}
	}
	if len(store.reactions) != 2 || len(store.dismissed) != 1 {
		t.Errorf("another tenant changed something: %q %v", store.reactions, store.dismissed)
	}
}
