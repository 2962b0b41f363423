package oauth

import (
	"context"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Issue 18: a web session is a token of the tenant's one built-in app,
// registered on first use, with the web scopes, valid on that tenant only.
func TestIssue18WebSessionToken(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	s := &Service{Store: m}
	g, err := s.SignInWeb(ctx, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignInWeb(ctx, 1, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignInWeb(ctx, 2, 9); err != nil {
		t.Fatal(err)
	}
	if len(m.apps) != 2 || m.apps[0].ClientID != "roost-web-1" || m.apps[1].ClientID != "roost-web-2" || m.apps[0].Name != WebAppName {
		t.Fatalf("apps: %+v %+v", m.apps[0], m.apps[len(m.apps)-1])
	}
	tok, err := s.Authenticate(ctx, 1, g.AccessToken)
	if err != nil || tok.AccountID != 7 || tok.Scopes.String() != "follow push read write" || tok.Scopes.Allows("admin:read") {
		t.Fatalf("token %+v %v", tok, err)
	}
	if _, err := s.Authenticate(ctx, 2, g.AccessToken); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("tenant 1's session on tenant 2: %v", err)
	}
	if _, err := s.SignInWeb(ctx, 1, 0); !errs.Is(err, errs.Invalid) {
		t.Errorf("no account: %v", err)
	}
	if err := s.SignOutWeb(ctx, 1, g.AccessToken); err != nil {
		t.Error(err)
	}
}
