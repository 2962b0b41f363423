package mastodon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pushtest"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Push fixture: a.example is tenant 7 (alice, account 1), b.example
// tenant 8 (carol, account 5). Tokens by bearer.
var pushTokens = map[string]*oauth.Token{
	"alice-push": {ID: 11, TenantID: 7, AccountID: 1, Scopes: oauth.Scopes{"read", "push"}},
	"alice-app2": {ID: 12, TenantID: 7, AccountID: 1, Scopes: oauth.Scopes{"push"}},
	"alice-read": {ID: 13, TenantID: 7, AccountID: 1, Scopes: oauth.Scopes{"read", "write"}},
	"carol-push": {ID: 21, TenantID: 8, AccountID: 5, Scopes: oauth.Scopes{"push"}},
}

type pushAuth struct{}

func (pushAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	if t, ok := pushTokens[bearer]; ok && t.TenantID == tenantID {
		return t, nil
	}
	return nil, errs.E(errs.Unauthorized, "no")
}

var pushSites = map[string]*tenant.Site{"a.example": {TenantID: 7, Domain: "a.example"}, "b.example": {TenantID: 8, Domain: "b.example"}}

// memPush keeps subscriptions by (tenant, token), as the store's key.
type memPush struct {
	federation.PushStore
	keys *federation.VAPIDKeys
	subs map[[2]int64]federation.PushSubscription
	n    int64
}

func (m *memPush) VAPIDKeys(context.Context) (federation.VAPIDKeys, error) {
	if m.keys == nil {
		return federation.VAPIDKeys{}, errs.E(errs.NotFound, "none")
	}
	return *m.keys, nil
}

func (m *memPush) CreateVAPIDKeys(_ context.Context, k federation.VAPIDKeys) (federation.VAPIDKeys, error) {
	if m.keys == nil {
		m.keys = &k
	}
	return *m.keys, nil
}

func (m *memPush) SavePushSubscription(_ context.Context, p *federation.PushSubscription) error {
	m.n++
	p.ID, p.CreatedAt = m.n, time.Unix(1.7e9, 0)
	m.subs[[2]int64{p.TenantID, p.TokenID}] = *p
	return nil
}

func (m *memPush) PushSubscription(_ context.Context, tenantID, tokenID int64) (*federation.PushSubscription, error) {
	p, ok := m.subs[[2]int64{tenantID, tokenID}]
	if !ok {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return &p, nil
}

func (m *memPush) UpdatePushAlerts(_ context.Context, tenantID, tokenID int64, alerts []string, policy string) (*federation.PushSubscription, error) {
	p, ok := m.subs[[2]int64{tenantID, tokenID}]
	if !ok {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	p.Alerts, p.Policy = alerts, policy
	m.subs[[2]int64{tenantID, tokenID}] = p
	return &p, nil
}

func (m *memPush) DeletePushSubscription(_ context.Context, tenantID, tokenID int64) error {
	delete(m.subs, [2]int64{tenantID, tokenID})
	return nil
}

type pushFixture struct {
	app   *fiber.App
	store *memPush
	keys  *pushtest.Keys
}

func newPushFixture(t *testing.T) *pushFixture {
	t.Helper()
	keys, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	f := &pushFixture{store: &memPush{subs: map[[2]int64]federation.PushSubscription{}}, keys: keys}
	h := &Handler{Auth: pushAuth{}, Accounts: fakeAccounts{}, URL: httpx.URLConfig{Scheme: "https"},
		Push: &push.Service{Store: f.store}}
	f.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	f.app.Use(func(c *fiber.Ctx) error {
		site, ok := pushSites[c.Hostname()]
		if !ok {
			return errs.E(errs.NotFound, "no site")
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	h.Register(f.app)
	return f
}

func (f *pushFixture) do(t *testing.T, method, host, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "https://"+host+"/api/v1/push/subscription", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, out
}

const pushForm = "application/x-www-form-urlencoded"

func (f *pushFixture) subscribeForm(endpoint string, alerts ...string) string {
	v := url.Values{"subscription[endpoint]": {endpoint}, "subscription[keys][p256dh]": {f.keys.P256DH()},
		"subscription[keys][auth]": {f.keys.AuthSecret()}, "data[policy]": {"followed"}}
	for _, a := range alerts {
		v.Set("data[alerts]["+a+"]", "true")
	}
	v.Set("data[alerts][reblog]", "false")
	return v.Encode()
}

// The four routes as Mastodon.py (Rails-style form) and masto.js (JSON)
// call them, and the WebPushSubscription entity: every alert named,
// standard, policy and the server key apps compare with the instance's.
func TestIssue17PushSubscriptionRoutes(t *testing.T) {
	f := newPushFixture(t)
	status, sub := f.do(t, "POST", "a.example", "alice-push", pushForm,
		f.subscribeForm("https://push.example/alice", "mention", "admin.sign_up"))
	if status != 200 {
		t.Fatalf("POST = %d %v", status, sub)
	}
	alerts, _ := sub["alerts"].(map[string]any)
	if len(alerts) != len(federation.PushAlerts) || alerts["mention"] != true || alerts["admin.sign_up"] != true ||
		alerts["follow"] != false || alerts["reblog"] != false {
		t.Fatalf("alerts %v", alerts)
	}
	key, _ := sub["server_key"].(string)
	if sub["endpoint"] != "https://push.example/alice" || sub["policy"] != "followed" || sub["standard"] != true ||
		len(key) != 87 {
		t.Fatalf("entity %v", sub)
	}
	if _, ok := sub["id"].(string); !ok {
		t.Fatalf("id %v is not a string", sub["id"])
	}
	// The instance document and the entity name one key.
	res, err := f.app.Test(httpReq("GET", "https://a.example/api/v2/instance"), -1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Configuration struct {
			Vapid struct {
				PublicKey string `json:"public_key"`
			} `json:"vapid"`
		} `json:"configuration"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || doc.Configuration.Vapid.PublicKey != key {
		t.Fatalf("instance vapid %q, %v; want %q", doc.Configuration.Vapid.PublicKey, err, key)
	}
	_ = res.Body.Close()

	if status, got := f.do(t, "GET", "a.example", "alice-push", "", ""); status != 200 || got["id"] != sub["id"] {
		t.Fatalf("GET = %d %v", status, got)
	}
	// PUT replaces the alerts and the policy (JSON, as masto.js sends it).
	status, got := f.do(t, "PUT", "a.example", "alice-push", "application/json",
		`{"data":{"alerts":{"favourite":true,"follow":"1"}},"policy":"all"}`)
	alerts, _ = got["alerts"].(map[string]any)
	if status != 200 || alerts["mention"] != false || alerts["favourite"] != true || alerts["follow"] != true ||
		got["policy"] != "all" || got["endpoint"] != "https://push.example/alice" {
		t.Fatalf("PUT = %d %v", status, got)
	}
	// A second token of the same account has its own subscription.
	if status, _ := f.do(t, "GET", "a.example", "alice-app2", "", ""); status != 404 {
		t.Fatalf("another token's GET = %d, want 404", status)
	}
	if status, got := f.do(t, "DELETE", "a.example", "alice-push", "", ""); status != 200 || len(got) != 0 {
		t.Fatalf("DELETE = %d %v", status, got)
	}
	if status, _ := f.do(t, "GET", "a.example", "alice-push", "", ""); status != 404 {
		t.Fatalf("GET after DELETE = %d", status)
	}
	if status, _ := f.do(t, "PUT", "a.example", "alice-push", pushForm, "data[alerts][mention]=true"); status != 404 {
		t.Fatalf("PUT without a subscription = %d", status)
	}
}

func httpReq(method, target string) *http.Request {
	req, _ := http.NewRequest(method, target, nil)
	return req
}

// Scope push is required; bad keys or endpoints are 422 and store
// nothing.
func TestIssue17PushSubscriptionChecks(t *testing.T) {
	f := newPushFixture(t)
	body := f.subscribeForm("https://push.example/alice", "mention")
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"alice-read", 403}, {"nope", 401}} {
		if status, _ := f.do(t, "POST", "a.example", c.token, pushForm, body); status != c.want {
			t.Errorf("token %q: %d, want %d", c.token, status, c.want)
		}
	}
	for name, b := range map[string]string{
		"no endpoint": strings.Replace(body, "subscription%5Bendpoint%5D=", "x=", 1),
		"bad p256dh":  "subscription[endpoint]=https://push.example/x&subscription[keys][p256dh]=AAAA&subscription[keys][auth]=" + f.keys.AuthSecret(),
		"bad policy":  body + "&data[policy]=friends",
	} {
		if status, got := f.do(t, "POST", "a.example", "alice-push", pushForm, b); status != 422 || got["error"] == "" {
			t.Errorf("%s: %d %v, want 422", name, status, got)
		}
	}
	if len(f.store.subs) != 0 {
		t.Fatalf("refused subscriptions stored: %v", f.store.subs)
	}
}

// Another tenant's token is refused on a.example, and on its own domain
// it reads, replaces, changes and deletes only its own subscription:
// alice's is untouched.
func TestIssue17PushSubscriptionCrossTenantRoutes(t *testing.T) {
	f := newPushFixture(t)
	if status, _ := f.do(t, "POST", "a.example", "alice-push", pushForm,
		f.subscribeForm("https://push.example/alice", "mention")); status != 200 {
		t.Fatal(status)
	}
	before := f.store.subs[[2]int64{7, 11}]
	for _, m := range []string{"GET", "PUT", "DELETE", "POST"} {
		if status, _ := f.do(t, m, "a.example", "carol-push", pushForm, f.subscribeForm("https://evil.example/x")); status != 401 {
			t.Errorf("%s with tenant B's token on a.example = %d, want 401", m, status)
		}
	}
	for _, m := range []string{"GET", "PUT"} {
		if status, _ := f.do(t, m, "b.example", "carol-push", pushForm, "data[alerts][mention]=true"); status != 404 {
			t.Errorf("%s on b.example = %d, want 404 (carol has none)", m, status)
		}
	}
	if status, _ := f.do(t, "DELETE", "b.example", "carol-push", "", ""); status != 200 {
		t.Fatal(status)
	}
	if status, _ := f.do(t, "POST", "b.example", "carol-push", pushForm, f.subscribeForm("https://push.example/carol")); status != 200 {
		t.Fatal(status)
	}
	after := f.store.subs[[2]int64{7, 11}]
	if after.ID != before.ID || after.Endpoint != "https://push.example/alice" || len(f.store.subs) != 2 {
		t.Fatalf("alice's subscription changed: %+v → %+v", before, after)
	}
}
