package mastodon

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/translate"
)

// Translation through the API on the sh* world: post 1 (public, alice's)
// and 3 (private) are seen by alice alone. The provider is an in-file
// fake; the LibreTranslate client has its own tests against a fake
// server (federation/social/translate/libre).

type trProvider struct{ calls int }

func (p *trProvider) Name() string { return "LibreTranslate" }

func (p *trProvider) Languages(context.Context) (map[string][]string, error) {
	return map[string][]string{"en": {"de", "es"}}, nil
}

func (p *trProvider) Translate(_ context.Context, texts []string, _, target string) ([]string, string, error) {
	p.calls++
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = "<p>" + target + "</p>" + t
	}
	return out, "en", nil
}

// trAccounts answers the instance document's usage too.
type trAccounts struct{ shAccounts }

func (trAccounts) Usage(context.Context, int64) (federation.Usage, error) {
	return federation.Usage{}, nil
}

// translationEnabled reads configuration.translation.enabled of the
// instance document.
func translationEnabled(t *testing.T, f *shFixture) bool {
	t.Helper()
	status, body := f.do(t, "GET", "a.example", "/api/v2/instance", "", nil)
	var doc struct {
		Configuration struct {
			Translation struct {
				Enabled *bool `json:"enabled"`
			} `json:"translation"`
		} `json:"configuration"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil || doc.Configuration.Translation.Enabled == nil {
		t.Fatalf("instance: %d %.300s", status, body)
	}
	return *doc.Configuration.Translation.Enabled
}

func newTrFixture(t *testing.T, tr *translate.Service) *shFixture {
	t.Helper()
	h := &Handler{Auth: shAuth{}, Accounts: trAccounts{}, Views: shViews{}, Client: shClient{}, Sites: shResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, Outbox: &outbox.Service{}, Translate: tr}
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
	return f
}

func TestIssue17TranslateAPI(t *testing.T) {
	p := &trProvider{}
	f := newTrFixture(t, &translate.Service{Provider: p, Views: shViews{}})
	status, body := f.do(t, "POST", "a.example", "/api/v1/statuses/1/translate", "alice", nil)
	var out map[string]any
	if status != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("translate: %d %s", status, body)
	}
	for _, k := range []string{"content", "spoiler_text", "media_attachments", "detected_source_language", "language", "provider"} {
		if _, ok := out[k]; !ok {
			t.Errorf("no %s in %s", k, body)
		}
	}
	if out["language"] != "en" || out["provider"] != "LibreTranslate" || !strings.HasPrefix(out["content"].(string), "<p>en</p>") {
		t.Errorf("translation: %s", body)
	}
	if status, body = f.do(t, "POST", "a.example", "/api/v1/statuses/1/translate?lang=de", "alice", nil); status != http.StatusOK ||
		!strings.Contains(body, `"language":"de"`) {
		t.Errorf("lang=de: %d %s", status, body)
	}
	calls := p.calls
	f.check(t, []shCase{
		{"POST", "/api/v1/statuses/3/translate", "alice", nil, http.StatusForbidden, "This action is not allowed"},
		{"POST", "/api/v1/statuses/9/translate", "alice", nil, http.StatusNotFound, "Record not found"},
		{"POST", "/api/v1/statuses/1/translate", "", nil, http.StatusUnauthorized, "The access token is invalid"},
	})
	// bob (tenant b) does not see alice's post.
	if status, body := f.do(t, "POST", "b.example", "/api/v1/statuses/1/translate", "bob", nil); status != http.StatusNotFound {
		t.Errorf("bob: %d %s", status, body)
	}
	if p.calls != calls {
		t.Errorf("refused requests reached the provider")
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/instance/translation_languages", "", nil); status != http.StatusOK ||
		body != `{"en":["de","es"]}` {
		t.Errorf("languages: %d %s", status, body)
	}
	if !translationEnabled(t, f) {
		t.Error("the instance says translation is off")
	}
}

func TestIssue17TranslateOff(t *testing.T) {
	f := newTrFixture(t, nil)
	if status, body := f.do(t, "POST", "a.example", "/api/v1/statuses/1/translate", "alice", nil); status != http.StatusServiceUnavailable {
		t.Errorf("off: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/instance/translation_languages", "", nil); status != http.StatusOK || body != "{}" {
		t.Errorf("languages when off: %d %s", status, body)
	}
	if translationEnabled(t, f) {
		t.Error("the instance says translation is on")
	}
	// Off, with posts to look at: a post the viewer may not see is missing
	// (404, as on every route naming a post), a visible one is 503.
	f = newTrFixture(t, &translate.Service{Views: shViews{}})
	f.check(t, []shCase{
		{"POST", "/api/v1/statuses/1/translate", "alice", nil, http.StatusServiceUnavailable, "Translation is not enabled on this server"},
		{"POST", "/api/v1/statuses/9/translate", "alice", nil, http.StatusNotFound, "Record not found"},
	})
}
