package mastodon

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// scopedAuth gives alice (1, tenant 7) a token per scope set: the bearer
// is the scope.
type scopedAuth struct{}

func (scopedAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	if tenantID != 7 {
		return nil, errs.E(errs.Unauthorized, "no")
	}
	return &oauth.Token{TenantID: 7, AccountID: 1, Scopes: oauth.Scopes{bearer}}, nil
}

// prefsClient adds what verify_credentials reads to fakeClient.
type prefsClient struct{ fakeClient }

func (prefsClient) Preferences(context.Context, int64) (federation.Preferences, error) {
	return federation.Preferences{}, nil
}

func (prefsClient) FollowRequests(context.Context, int64, federation.Page) ([]int64, []int64, error) {
	return nil, nil, nil
}

// TestIssue17UserinfoAndProfileScope: /oauth/userinfo (Mastodon 4.4)
// answers who signed in to a "profile" or "read" token, with the
// account's ActivityPub id as the subject; verify_credentials takes a
// "profile" token too (Mastodon's sign-in-only scope); a write-only token
// gets neither.
func TestIssue17UserinfoAndProfileScope(t *testing.T) {
	h := &Handler{Auth: scopedAuth{}, Views: &fakeViews{}, Client: prefsClient{}, Accounts: fakeAccounts{}, Sites: fakeSites{},
		URL: httpx.URLConfig{Scheme: "https"}}
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		httpx.SetSite(c, &tenant.Site{TenantID: 7, Domain: "a.example"})
		return c.Next()
	})
	h.Register(app)
	do := func(method, path, scope string) (int, map[string]any) {
		req := httptest.NewRequest(method, "https://a.example"+path, nil)
		req.Header.Set("Authorization", "Bearer "+scope)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	for _, scope := range []string{"profile", "read", "read:accounts"} {
		for _, method := range []string{"GET", "POST"} {
			code, m := do(method, "/oauth/userinfo", scope)
			if code != 200 || m["preferred_username"] != "alice" || m["iss"] != "https://a.example/" || m["sub"] == "" {
				t.Fatalf("%s userinfo with %s: %d %v", method, scope, code, m)
			}
		}
	}
	if code, m := do("GET", "/api/v1/accounts/verify_credentials", "profile"); code != 200 || m["username"] != "alice" {
		t.Fatalf("verify_credentials with a profile token: %d %v", code, m)
	}
	if code, _ := do("GET", "/oauth/userinfo", "write"); code != 403 {
		t.Fatalf("userinfo with a write-only token: %d", code)
	}
	if code, _ := do("GET", "/api/v1/accounts/verify_credentials", "write"); code != 403 {
		t.Fatalf("verify_credentials with a write-only token: %d", code)
	}
}
