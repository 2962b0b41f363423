package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// clientAPI adds the OAuth and Mastodon client API routes to a world, and
// returns a token of tenant A's alice.
func clientAPI(t *testing.T) (*world, string) {
	t.Helper()
	ctx := context.Background()
	w := newWorld(t)
	store := tenantpg.NewOAuthStore(w.db)
	svc := &oauth.Service{Store: store}
	o := w.opts
	o.Metrics = nil
	o.OAuth = &apioauth.Handler{OAuth: svc, Logins: store, URL: o.URL, Log: o.Log}
	// No outbox: every request here must be refused before any action.
	o.Mastodon = &mastodon.Handler{Auth: svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: &outbox.Service{}, Sites: o.Sites, URL: o.URL}
	o.Mastodon.Push = &push.Service{Store: w.accounts} // Web Push routes checked too

	// accountroutes.go's routes checked too.
	o.Mastodon.Relations = &account.Relations{Store: w.accounts, Accounts: w.accounts, Follows: w.accounts, Answer: o.Mastodon.Outbox}
	// statusroutes.go's thread mutes, unread conversations and instance routes too.
	o.Mastodon.Threads, o.Mastodon.InstanceData, o.Mastodon.Conversations = w.accounts, w.accounts, w.accounts
	w.app = api.New(o)
	app, secret, err := svc.RegisterApp(ctx, w.tenantA.ID, "isolation", "", oauth.OOB, "read write follow push")
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.Authorize(ctx, app, w.aliceA.ID, oauth.OOB, "read write follow push", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oauth.OOB})
	if err != nil {
		t.Fatal(err)
	}
	return w, g.AccessToken
}

var param = regexp.MustCompile(`:[A-Za-z_]+\??|\*`)

// SECURITY 20: tenant A's token, used on every client API route of tenant
// B's domain (and its service domain), is refused with 401 — generated
// over the app's whole route table, so new routes are covered as they
// are added.
func TestTenantATokenRefusedOnEveryTenantBRoute(t *testing.T) {
	t.Parallel()
	w, token := clientAPI(t)
	if r := w.get(t, "a.example", "/api/v1/accounts/verify_credentials", "Authorization", "Bearer "+token); r.StatusCode != 200 {
		t.Fatalf("the token does not work on its own tenant: %d %s", r.StatusCode, readAll(t, r.Body))
	}
	id := strconv.FormatInt(w.aliceA.ID, 10)
	checked := 0
	for _, rt := range w.app.GetRoutes(true) {
		if !strings.HasPrefix(rt.Path, "/api/") || rt.Method == http.MethodHead || rt.Method == http.MethodOptions ||
			rt.Method == "CONNECT" || rt.Method == "TRACE" {
			continue
		}
		if rt.Method == http.MethodPost && rt.Path == "/api/v1/apps" {
			continue // registering an app takes no token, anywhere
		}
		path := param.ReplaceAllString(rt.Path, id)
		for _, host := range []string{"b.example", "social.b.example"} {
			r := w.do(t, rt.Method, host, path, nil, "Authorization", "Bearer "+token)
			if r.StatusCode != 401 && r.StatusCode != 404 {
				t.Errorf("%s %s on %s with tenant A's token: %d %s", rt.Method, path, host, r.StatusCode, readAll(t, r.Body))
			}
			// The same token in the query string is refused just the same.
			r = w.do(t, rt.Method, host, path+"?access_token="+token, nil)
			if r.StatusCode != 401 && r.StatusCode != 404 {
				t.Errorf("%s %s?access_token on %s: %d", rt.Method, path, host, r.StatusCode)
			}
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d client API routes checked; is the route table wired?", checked)
	}
}

// A compressed request body is refused before any handler inflates it.
func TestCompressedBodiesRefused(t *testing.T) {
	t.Parallel()
	w, token := clientAPI(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte(`{"status":"aaaaaaaa"}`), 1<<16))
	zw.Close()
	r := w.do(t, http.MethodPost, "a.example", "/api/v1/statuses", &buf, "Authorization", "Bearer "+token,
		"Content-Type", "application/json", "Content-Encoding", "gzip")
	if r.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("gzip body: %d %s", r.StatusCode, readAll(t, r.Body))
	}
}
