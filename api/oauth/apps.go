package oauth

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/oauth"
)

// application is Mastodon's Application entity.
type application struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Website      *string  `json:"website"`
	Scopes       []string `json:"scopes"`
	RedirectURI  string   `json:"redirect_uri"` // deprecated by Mastodon: the URIs, newline-separated
	RedirectURIs []string `json:"redirect_uris"`
	VapidKey     string   `json:"vapid_key"`
}

// credentialApplication is the Application with its credentials, as
// returned once, at registration.
type credentialApplication struct {
	application
	ClientID              string `json:"client_id"`
	ClientSecret          string `json:"client_secret"`
	ClientSecretExpiresAt int64  `json:"client_secret_expires_at"`
}

func newApplication(a *oauth.App) application {
	out := application{
		ID:           strconv.FormatInt(a.ID, 10),
		Name:         a.Name,
		Scopes:       append([]string{}, a.Scopes...),
		RedirectURI:  strings.Join(a.RedirectURIs, "\n"),
		RedirectURIs: append([]string{}, a.RedirectURIs...),
	}
	if a.Website != "" {
		w := a.Website
		out.Website = &w
	}
	return out
}

// createApp is POST /api/v1/apps.
func (h *Handler) createApp(c *fiber.Ctx) error {
	cors(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	p, err := readParams(c, true)
	if err != nil {
		return unprocessable(c, err)
	}
	site := httpx.SiteOf(c)
	app, secret, err := h.OAuth.RegisterApp(c.UserContext(), site.TenantID, p.get("client_name"), p.get("website"),
		strings.Join(p["redirect_uris"], "\n"), strings.Join(p["scopes"], " "))
	if err != nil {
		return unprocessable(c, err)
	}
	out := credentialApplication{application: newApplication(app), ClientID: app.ClientID, ClientSecret: secret}
	if out.VapidKey, err = h.vapidKey(c); err != nil {
		return err
	}
	return c.JSON(out)
}

// unprocessable answers a validation error with 422, as Mastodon does.
func unprocessable(c *fiber.Ctx, err error) error {
	if errs.Is(err, errs.Invalid) {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(httpx.ErrorBody{Error: errs.MessageOf(err)})
	}
	return err
}

var errTokenInvalid = httpx.ErrorBody{Error: "The access token is invalid"}

// verifyApp is GET /api/v1/apps/verify_credentials: the app of the bearer
// token, without its credentials.
func (h *Handler) verifyApp(c *fiber.Ctx) error {
	cors(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	site := httpx.SiteOf(c)
	tok, err := h.OAuth.Authenticate(c.UserContext(), site.TenantID, bearer(c))
	if errs.Is(err, errs.Unauthorized) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer error="invalid_token", error_description="The access token is invalid"`)
		return c.Status(fiber.StatusUnauthorized).JSON(errTokenInvalid)
	}
	if err != nil {
		return err
	}
	app, err := h.OAuth.App(c.UserContext(), site.TenantID, tok.AppID)
	if err != nil {
		return err
	}
	out := newApplication(app)
	if out.VapidKey, err = h.vapidKey(c); err != nil {
		return err
	}
	return c.JSON(out)
}

// vapidKey is the instance's Web Push key for the Application entity.
func (h *Handler) vapidKey(c *fiber.Ctx) (string, error) {
	if h.VAPIDKey == nil {
		return "", nil
	}
	return h.VAPIDKey(c.UserContext())
}
