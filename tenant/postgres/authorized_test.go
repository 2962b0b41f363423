package postgres

import (
	"context"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/oauth"
)

// Issue 18 (settings, authorised apps): the page lists the apps holding
// live tokens of the signed-in account on its tenant, and revoking one
// stops every token it holds for that account, refresh tokens too; another
// account's tokens and another tenant's apps are neither listed nor
// touched, and are refused as missing.
func TestIssue18AuthorizedAppsScopedAndRevoked(t *testing.T) {
	w := newOAuthWorld(t)
	ctx := context.Background()
	const cb = "https://app.example/cb"
	bobA := addAccount(t, w.db, w.tenantA.ID, "a.example", "bob", "bob@mail.example")
	appA := w.register(t, w.tenantA.ID, cb, "read write")
	appB := w.register(t, w.tenantB.ID, cb, "read write")
	grant := func(app testApp, tenantID, account int64, scope string) *oauth.Grant {
		return w.exchange(t, tenantID, codeRequest(app, w.authorize(t, app, account, cb, scope, ""), cb))
	}
	g1 := grant(appA, w.tenantA.ID, w.aliceA, "read")
	g2 := grant(appA, w.tenantA.ID, w.aliceA, "write")
	gBob := grant(appA, w.tenantA.ID, bobA, "read")
	gB := grant(appB, w.tenantB.ID, w.aliceB, "read")
	auth := &oauth.Authorizations{Store: w.store}

	apps, err := auth.Apps(ctx, w.tenantA.ID, w.aliceA)
	if err != nil || len(apps) != 1 || apps[0].ID != appA.ID || apps[0].Tokens != 2 || apps[0].Granted.String() != "read write" {
		t.Fatalf("alice's apps on A: %+v, %v", apps, err)
	}
	// Refused as missing, nothing revoked: another tenant's app, and the
	// right app asked for on another tenant.
	for name, try := range map[string]func() error{
		"other tenant's app":        func() error { return auth.Revoke(ctx, w.tenantA.ID, w.aliceA, appB.ID) },
		"app of the wrong tenant":   func() error { return auth.Revoke(ctx, w.tenantB.ID, w.aliceB, appA.ID) },
		"account of another tenant": func() error { return auth.Revoke(ctx, w.tenantA.ID, w.aliceB, appA.ID) },
	} {
		if err := try(); !errs.Is(err, errs.NotFound) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	for _, g := range []*oauth.Grant{g1, g2, gBob} {
		w.wantAuth(t, w.tenantA.ID, g.AccessToken)
	}
	w.wantAuth(t, w.tenantB.ID, gB.AccessToken)

	if err := auth.Revoke(ctx, w.tenantA.ID, w.aliceA, appA.ID); err != nil {
		t.Fatal(err)
	}
	w.wantNoAuth(t, w.tenantA.ID, g1.AccessToken)
	w.wantNoAuth(t, w.tenantA.ID, g2.AccessToken)
	w.wantAuth(t, w.tenantA.ID, gBob.AccessToken)
	w.wantAuth(t, w.tenantB.ID, gB.AccessToken)
	if _, err := w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: appA.ClientID,
		ClientSecret: appA.secret, RefreshToken: g1.RefreshToken}); err == nil {
		t.Error("a revoked app's refresh token still works")
	}
	if apps, err := auth.Apps(ctx, w.tenantA.ID, w.aliceA); err != nil || len(apps) != 0 {
		t.Errorf("after revoking: %+v, %v", apps, err)
	}
	if err := auth.Revoke(ctx, w.tenantA.ID, w.aliceA, appA.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("revoking again: %v", err)
	}
}
