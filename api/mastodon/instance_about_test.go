package mastodon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/internal/errs"
)

// aboutStore is federation.AboutStore in memory, per tenant (the real
// SQL is tested in federation/postgres).
type aboutStore struct {
	rules    map[int64][]federation.ServerRule
	settings map[int64]federation.ServerSettings
	terms    map[int64][]federation.TermsVersion // newest first
	blocks   map[int64][]federation.PublicDomainBlock
}

func (s *aboutStore) ServerRules(_ context.Context, t int64) ([]federation.ServerRule, error) {
	return s.rules[t], nil
}
func (s *aboutStore) ServerRule(context.Context, int64, int64) (*federation.ServerRule, error) {
	return nil, errs.E(errs.NotFound, "no such rule")
}
func (s *aboutStore) SaveServerRule(context.Context, federation.ServerRule, int) (*federation.ServerRule, error) {
	return nil, errs.E(errs.Internal, "read only")
}
func (s *aboutStore) DeleteServerRule(context.Context, int64, int64) (*federation.ServerRule, error) {
	return nil, errs.E(errs.Internal, "read only")
}
func (s *aboutStore) MoveServerRule(context.Context, int64, int64, bool) error {
	return errs.E(errs.Internal, "read only")
}
func (s *aboutStore) ServerSettings(_ context.Context, t int64) (*federation.ServerSettings, error) {
	v, ok := s.settings[t]
	if !ok {
		v = federation.ServerSettings{DomainBlocks: federation.ShowNobody, DomainBlocksRationale: federation.ShowNobody}
	}
	return &v, nil
}
func (s *aboutStore) SaveServerSettings(context.Context, int64, federation.ServerSettings, time.Time) error {
	return errs.E(errs.Internal, "read only")
}
func (s *aboutStore) TermsVersions(_ context.Context, t int64) ([]federation.TermsVersion, error) {
	return s.terms[t], nil
}
func (s *aboutStore) TermsVersion(context.Context, int64, int64) (*federation.TermsVersion, error) {
	return nil, errs.E(errs.NotFound, "no such version")
}
func (s *aboutStore) SaveTermsVersion(context.Context, federation.TermsVersion, int) (*federation.TermsVersion, error) {
	return nil, errs.E(errs.Internal, "read only")
}
func (s *aboutStore) DeleteTermsVersion(context.Context, int64, int64) (*federation.TermsVersion, error) {
	return nil, errs.E(errs.Internal, "read only")
}
func (s *aboutStore) PublicDomainBlocks(_ context.Context, t int64) ([]federation.PublicDomainBlock, error) {
	return s.blocks[t], nil
}

func date(s string) time.Time {
	d, _ := time.Parse(about.DateFormat, s)
	return d
}

// newAboutFixture is the status-routes fixture with tenant A's (1) rules,
// texts, three terms versions and blocks; tenant B (2) wrote nothing but
// shows its (empty) block list to everyone. Today is 2026-06-15.
func newAboutFixture(t *testing.T, aSettings federation.ServerSettings) *srFixture {
	t.Helper()
	f := newSRFixture(t)
	updated := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	aSettings.About, aSettings.AboutUpdatedAt = "We are A.\n\nSee https://a.example/more.", &updated
	aSettings.PrivacyPolicy, aSettings.PrivacyPolicyUpdated = "We keep <little>.", &updated
	store := &aboutStore{
		rules: map[int64][]federation.ServerRule{1: {{ID: 7, TenantID: 1, Text: "Be kind", Hint: "no harassment"},
			{ID: 3, TenantID: 1, Text: "No spam"}}},
		settings: map[int64]federation.ServerSettings{1: aSettings,
			2: {DomainBlocks: federation.ShowEveryone, DomainBlocksRationale: federation.ShowEveryone}},
		terms: map[int64][]federation.TermsVersion{1: {
			{ID: 3, TenantID: 1, EffectiveDate: date("2026-09-01"), Text: "Terms three"},
			{ID: 2, TenantID: 1, EffectiveDate: date("2026-03-01"), Text: "Terms two"},
			{ID: 1, TenantID: 1, EffectiveDate: date("2025-01-01"), Text: "Terms one"}}},
		blocks: map[int64][]federation.PublicDomainBlock{1: {
			{Domain: "evil.test", Severity: "suspend", Comment: "spam"},
			{Domain: "hidden-domain.test", Severity: "silence", Comment: "trolls", Obfuscate: true}}},
	}
	h := &Handler{Auth: srAuth{}, Accounts: srAccountStore{}, Views: srViews{w: f.w}, Client: shClient{}, Sites: srResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, InstanceData: srInstance{}, Emojis: srEmojis{},
		About: &about.Service{Store: store, Now: func() time.Time { return time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC) }}}
	f.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	f.app.Use(func(c *fiber.Ctx) error {
		s, ok := srSites[c.Hostname()]
		if !ok {
			return srNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(f.app)
	return f
}

// TestIssue17InstanceRulesAboutTermsServed: the tenant's rules (in its
// order), about text, privacy policy and terms of service as Mastodon's
// entities, on its own domain alone: tenant B's API never shows A's.
func TestIssue17InstanceRulesAboutTermsServed(t *testing.T) {
	f := newAboutFixture(t, federation.ServerSettings{DomainBlocks: federation.ShowNobody, DomainBlocksRationale: federation.ShowNobody})
	for _, c := range []struct {
		host, path string
		code       int
		want       string
	}{
		{"a.example", "/api/v1/instance/rules", 200, `[{"id":"7","text":"Be kind","hint":"no harassment"},{"id":"3","text":"No spam","hint":""}]`},
		{"a.example", "/api/v1/instance/extended_description", 200, `{"content":"<p>We are A.</p><p>See <a href=\"https://a.example/more\" rel=\"nofollow noopener\" target=\"_blank\">https://a.example/more</a>.</p>","updated_at":"2026-06-01T12:00:00.000Z"}`},
		{"a.example", "/api/v1/instance/privacy_policy", 200, `{"content":"<p>We keep &lt;little&gt;.</p>","updated_at":"2026-06-01T12:00:00.000Z"}`},
		{"a.example", "/api/v1/instance/terms_of_service", 200, `{"content":"<p>Terms two</p>","effective":true,"effective_date":"2026-03-01","succeeded_by":"2026-09-01"}`},
		{"a.example", "/api/v1/instance/terms_of_service/2026-09-01", 200, `{"content":"<p>Terms three</p>","effective":false,"effective_date":"2026-09-01","succeeded_by":null}`},
		{"a.example", "/api/v1/instance/terms_of_service/2025-01-01", 200, `{"content":"<p>Terms one</p>","effective":true,"effective_date":"2025-01-01","succeeded_by":"2026-03-01"}`},
		{"a.example", "/api/v1/instance/terms_of_service/2025-01-02", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/terms_of_service/yesterday", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/domain_blocks", 404, `{"error":"Record not found"}`},
		{"b.example", "/api/v1/instance/rules", 200, `[]`},
		{"b.example", "/api/v1/instance/extended_description", 200, `{"content":"","updated_at":null}`},
		{"b.example", "/api/v1/instance/privacy_policy", 404, `{"error":"Record not found"}`},
		{"b.example", "/api/v1/instance/terms_of_service", 404, `{"error":"Record not found"}`},
		{"b.example", "/api/v1/instance/terms_of_service/2026-03-01", 404, `{"error":"Record not found"}`},
		{"b.example", "/api/v1/instance/domain_blocks", 200, `[]`},
	} {
		code, body := f.do(t, "GET", c.host, c.path, "", "")
		if code != c.code || !sameJSON(body, c.want) {
			t.Errorf("%s%s: %d %s\nwant %d %s", c.host, c.path, code, body, c.code, c.want)
		}
	}
	for host, want := range map[string]string{"a.example": `"rules":[{"id":"7","text":"Be kind","hint":"no harassment"}`,
		"b.example": `"rules":[]`} {
		for _, path := range []string{"/api/v1/instance", "/api/v2/instance"} {
			if _, body := f.do(t, "GET", host, path, "", ""); !strings.Contains(body, want) {
				t.Errorf("%s%s: no %s in %.300s", host, path, want, body)
			}
		}
	}
}

// TestIssue17InstanceDomainBlocksVisibility: the tenant's domain blocks
// per its setting (nobody, signed-in users, everyone) with comments per
// their own setting; digest is the domain's sha256, obfuscated domains
// keep only their ends; another tenant's token is no signed-in user here.
func TestIssue17InstanceDomainBlocksVisibility(t *testing.T) {
	for _, c := range []struct {
		name           string
		show, comments string
		token          string
		code           int
		withComments   bool
	}{
		{"users, anonymous", federation.ShowUsers, federation.ShowUsers, "", 404, false},
		{"users, signed in", federation.ShowUsers, federation.ShowUsers, "alice", 200, true},
		{"users, comments to everyone but list to users, anonymous", federation.ShowUsers, federation.ShowEveryone, "", 404, false},
		{"users, another tenant's token", federation.ShowUsers, federation.ShowUsers, "bob", 401, false},
		{"everyone, comments to users, anonymous", federation.ShowEveryone, federation.ShowUsers, "", 200, false},
		{"everyone, comments to users, signed in", federation.ShowEveryone, federation.ShowUsers, "alice", 200, true},
		{"everyone, no comments", federation.ShowEveryone, federation.ShowNobody, "alice", 200, false},
		{"nobody", federation.ShowNobody, federation.ShowEveryone, "alice", 404, false},
	} {
		f := newAboutFixture(t, federation.ServerSettings{DomainBlocks: c.show, DomainBlocksRationale: c.comments})
		code, body := f.do(t, "GET", "a.example", "/api/v1/instance/domain_blocks", c.token, "")
		if code != c.code {
			t.Errorf("%s: %d %s", c.name, code, body)
			continue
		}
		if code != 200 {
			continue
		}
		var got []InstanceDomainBlock
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 2 {
			t.Fatalf("%s: %v %s", c.name, err, body)
		}
		if got[0].Domain != "evil.test" || got[0].Digest != sha256hex("evil.test") || got[0].Severity != "suspend" ||
			got[1].Domain != "hidde********.test" || got[1].Digest != sha256hex("hidden-domain.test") || got[1].Severity != "silence" {
			t.Errorf("%s: %s", c.name, body)
		}
		if hasComment := got[0].Comment != nil && *got[0].Comment == "spam"; hasComment != c.withComments ||
			strings.Contains(body, `"comment"`) != c.withComments {
			t.Errorf("%s: comments %v, want %v: %s", c.name, hasComment, c.withComments, body)
		}
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sameJSON compares two JSON documents by value (the encoder escapes <>).
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
