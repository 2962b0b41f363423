package mastodon

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
)

// Userinfo is what GET /oauth/userinfo says about the signed-in person,
// in OpenID Connect's standard claims as Mastodon 4.4 answers them: apps
// that only sign people in ("profile" scope) learn who they are.
type Userinfo struct {
	Issuer            string `json:"iss"`
	Subject           string `json:"sub"` // the account's ActivityPub id
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	Profile           string `json:"profile"`
	Picture           string `json:"picture"`
}

// registerUserinfo serves /oauth/userinfo (GET and POST, as OpenID Connect
// allows both) to tokens with the "profile" scope or read access to
// accounts; browser apps call it cross-origin with the token in a header.
func (h *Handler) registerUserinfo(r fiber.Router) {
	for _, m := range []func(string, ...fiber.Handler) fiber.Router{r.Get, r.Post} {
		m("/oauth/userinfo", mastodonErrors, h.authenticate, h.needAny("profile", "read:accounts"), h.userinfo)
	}
}

func (h *Handler) userinfo(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	me, err := h.me(c)
	if err != nil {
		return err
	}
	a, err := h.oneAccount(c, me.ID)
	if err != nil {
		return err
	}
	return c.JSON(Userinfo{Issuer: httpx.SiteBase(c, h.URL) + "/", Subject: a.URI, Name: a.DisplayName,
		PreferredUsername: a.Username, Profile: a.URL, Picture: a.Avatar})
}

// needAny is need for a route that any one of scopes opens.
func (h *Handler) needAny(scopes ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := tokenOf(c)
		if t == nil {
			return errInvalidToken
		}
		for _, s := range scopes {
			if t.Scopes.Allows(s) {
				if t.AccountID == 0 {
					return errNeedUser
				}
				return c.Next()
			}
		}
		return errScope
	}
}
