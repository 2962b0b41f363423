package oauth

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/oauth"
)

// tokenResponse is RFC 6749 §5.1 as Mastodon shapes it. Tokens do not
// expire, so there is no expires_in.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	CreatedAt    int64  `json:"created_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// oauthErrorBody is RFC 6749 §5.2.
type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// clientCredentials reads client_id and client_secret from HTTP Basic or
// the body; a client using both is refused (RFC 6749 §2.3).
func clientCredentials(c *fiber.Ctx, p params) (id, secret string, basic bool, err error) {
	id, secret, basic, err = basicAuth(c)
	if err != nil {
		return "", "", basic, err
	}
	if basic {
		if p.get("client_secret") != "" || (p.get("client_id") != "" && p.get("client_id") != id) {
			return "", "", basic, &oauth.Error{Code: oauth.ErrInvalidRequest, Description: "Use one client authentication method."}
		}
		return id, secret, basic, nil
	}
	return p.get("client_id"), p.get("client_secret"), false, nil
}

// token is POST /oauth/token.
func (h *Handler) token(c *fiber.Ctx) error {
	cors(c)
	noStore(c)
	p, err := readParams(c, false)
	if err != nil {
		return oauthError(c, &oauth.Error{Code: oauth.ErrInvalidRequest, Description: errs.MessageOf(err)}, false)
	}
	id, secret, basic, err := clientCredentials(c, p)
	if err != nil {
		return oauthError(c, err, basic)
	}
	g, err := h.OAuth.Exchange(c.UserContext(), httpx.SiteOf(c).TenantID, oauth.TokenRequest{
		GrantType:    p.get("grant_type"),
		ClientID:     id,
		ClientSecret: secret,
		Code:         p.get("code"),
		RedirectURI:  p.get("redirect_uri"),
		CodeVerifier: p.get("code_verifier"),
		RefreshToken: p.get("refresh_token"),
		Scope:        p.get("scope"),
	})
	if err != nil {
		return oauthError(c, err, basic)
	}
	return c.JSON(tokenResponse{
		AccessToken:  g.AccessToken,
		TokenType:    "Bearer",
		Scope:        g.Token.Scopes.String(),
		CreatedAt:    g.Token.CreatedAt.Unix(),
		RefreshToken: g.RefreshToken,
	})
}

// revoke is POST /oauth/revoke (RFC 7009): 200 whether or not the token
// was known.
func (h *Handler) revoke(c *fiber.Ctx) error {
	cors(c)
	noStore(c)
	p, err := readParams(c, false)
	if err != nil {
		return oauthError(c, &oauth.Error{Code: oauth.ErrInvalidRequest, Description: errs.MessageOf(err)}, false)
	}
	id, secret, basic, err := clientCredentials(c, p)
	if err != nil {
		return oauthError(c, err, basic)
	}
	if err := h.OAuth.Revoke(c.UserContext(), httpx.SiteOf(c).TenantID, id, secret, p.get("token")); err != nil {
		return oauthError(c, err, basic)
	}
	return c.JSON(fiber.Map{})
}

// oauthError answers an *oauth.Error as RFC 6749 §5.2 says; anything
// else goes to the app's error handler.
func oauthError(c *fiber.Ctx, err error, basic bool) error {
	var e *oauth.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Code == oauth.ErrInvalidClient && basic {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="`+httpx.SiteOf(c).Domain+`"`)
	}
	return c.Status(e.Status()).JSON(oauthErrorBody{Error: e.Code, Description: e.Description})
}

func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
}

// metadata is GET /.well-known/oauth-authorization-server (RFC 8414), as
// Mastodon serves it.
func (h *Handler) metadata(c *fiber.Ctx) error {
	cors(c)
	base := httpx.SiteBase(c, h.URL)
	return c.JSON(fiber.Map{
		"issuer":                                base + "/",
		"service_documentation":                 "https://docs.joinmastodon.org/",
		"authorization_endpoint":                base + "/oauth/authorize",
		"token_endpoint":                        base + "/oauth/token",
		"revocation_endpoint":                   base + "/oauth/revoke",
		"userinfo_endpoint":                     base + "/oauth/userinfo", // api/mastodon/userinfo.go
		"app_registration_endpoint":             base + "/api/v1/apps",
		"scopes_supported":                      oauth.SupportedScopes(),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}
