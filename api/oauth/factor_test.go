package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/api/httpx"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/factor"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// withFactors serves w's routes again with two-factor sign-in on.
func (w *world) withFactors(t *testing.T, f *factor.Service) {
	t.Helper()
	sites := tenant.NewHostCache(tenantpg.New(w.db), time.Minute, 100)
	w.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	w.app.Use(func(c *fiber.Ctx) error {
		host, err := tenant.NormalizeHost(c.Hostname())
		if err != nil {
			return errs.E(errs.NotFound, "unknown host")
		}
		site, err := sites.Resolve(c.UserContext(), host)
		if err != nil {
			return err
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	(&apioauth.Handler{OAuth: w.svc, Logins: tenantpg.NewOAuthStore(w.db), URL: httpx.URLConfig{Scheme: "https"},
		Factors: f}).Register(w.app)
}

var factorField = regexp.MustCompile(`name="factor_challenge" value="([^"]+)"`)

// Issue 18 (settings 7): with two-factor sign-in on, the OAuth
// authorization page asks for a code after the right password, holding a
// sealed challenge instead of the password; the right code gives the app
// its code, a wrong one the form again, and a challenge of another tenant
// is refused. An account without it signs in with the password alone.
func TestIssue18AuthorizeAsksForTheSecondFactor(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	f := &factor.Service{Store: tenantpg.NewFactorStore(w.db)}
	w.withFactors(t, f)
	if err := f.Begin(ctx, w.aliceA.ID); err != nil {
		t.Fatal(err)
	}
	st, err := f.Status(ctx, w.aliceA.ID, "a.example", "alice")
	if err != nil {
		t.Fatal(err)
	}
	secret := st.Enrolment.Secret
	now := time.Now()
	code, _ := totp.GenerateCode(secret, now.Add(-30*time.Second))
	if _, err := f.Confirm(ctx, w.aliceA.ID, code); err != nil {
		t.Fatal(err)
	}
	c := w.register(t, "a.example", "https://app.example/cb", "read")
	q := authQuery(c, "https://app.example/cb", "read", "s1")

	form := w.openAuthorize(t, "a.example", q)
	r := w.submit(t, "a.example", form, "alice@mail.example", password, "approve")
	m := factorField.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the right password did not ask for the code: %d %s", r.StatusCode, r.body)
	}
	answer := func(host, ch, otp string) response {
		v := url.Values{}
		for k, vs := range form.fields {
			v[k] = vs
		}
		v.Set("factor_challenge", ch)
		v.Set("otp", otp)
		v.Set("decision", "approve")
		return w.postForm(t, host, "/oauth/authorize", v, "Cookie", form.cookie.Name+"="+form.cookie.Value)
	}
	if r := answer("a.example", m[1], "000000"); r.StatusCode != http.StatusUnprocessableEntity || factorField.FindString(r.body) == "" {
		t.Fatalf("a wrong code: %d %s", r.StatusCode, r.body)
	}
	good, _ := totp.GenerateCode(secret, now)
	if r := answer("b.example", m[1], good); r.StatusCode == http.StatusFound {
		t.Fatal("tenant A's challenge was accepted on tenant B")
	}
	r = answer("a.example", m[1], good)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("the right code: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := answer("a.example", m[1], good); r.StatusCode == http.StatusFound {
		t.Fatal("a code worked twice")
	}
	// bob has no second factor: the password is enough.
	bob := w.submit(t, "a.example", w.openAuthorize(t, "a.example", q), "bob@mail.example", password, "approve")
	if bob.StatusCode != http.StatusFound {
		t.Fatalf("bob without a factor: %d %s", bob.StatusCode, bob.body)
	}
}
