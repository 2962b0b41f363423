// Package oauth serves OAuth 2 as Mastodon clients speak it, per tenant:
// app registration (/api/v1/apps), the authorization page, the token and
// revocation endpoints and RFC 8414 metadata. Every route answers for the
// Site the request's Host resolved to: an app, code or token of another
// tenant does not exist here.
package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant/factor"
	"github.com/roost-social/roost/tenant/oauth"
)

// Handler serves the routes. Its fields are read-only after Register.
type Handler struct {
	OAuth  *oauth.Service
	Logins oauth.Logins
	// URL forms the metadata's endpoint URLs and says whether cookies
	// are Secure (Scheme https).
	URL httpx.URLConfig
	// Log records server errors on the HTML pages; nil uses the
	// request's logger.
	Log *slog.Logger
	// SignIn throttles password attempts on the sign-in page per client
	// address and per login, across every node and every sign-in form of
	// the instance; nil throttles nothing (tests).
	SignIn *ratelimit.Guard
	// VAPIDKey is the instance's Web Push public key, the Application's
	// vapid_key; nil renders "".
	VAPIDKey func(ctx context.Context) (string, error)
	// Factors asks accounts with two-factor sign-in on for a code after
	// the password (factor.go); nil: the password alone.
	Factors *factor.Service
}

// PagePath is the package's one server-rendered page, the authorization
// form: its POST is the one route here that a browser's cookies take part
// in (every other authenticates the app or its token), so the one that
// checks a CSRF token.
const PagePath = "/oauth/authorize"

// Register mounts the routes on r, which must sit behind host routing.
func (h *Handler) Register(r fiber.Router) {
	r.Post("/api/v1/apps", h.createApp)
	r.Get("/api/v1/apps/verify_credentials", h.verifyApp)
	r.Get(PagePath, h.authorizePage)
	r.Post(PagePath, h.authorizeSubmit)
	r.Post("/oauth/token", h.token)
	r.Post("/oauth/revoke", h.revoke)
	r.Get("/.well-known/oauth-authorization-server", h.metadata)
	// Browser clients call these cross-origin; none uses cookies.
	for _, p := range []string{"/api/v1/apps", "/api/v1/apps/verify_credentials", "/oauth/token", "/oauth/revoke",
		"/.well-known/oauth-authorization-server", "/oauth/userinfo"} {
		r.Options(p, preflight)
	}
}

func (h *Handler) log(c *fiber.Ctx) *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return httpx.Log(c)
}

func cors(c *fiber.Ctx) { c.Set(fiber.HeaderAccessControlAllowOrigin, "*") }

func preflight(c *fiber.Ctx) error {
	cors(c)
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type")
	c.Set(fiber.HeaderAccessControlMaxAge, "86400")
	return c.SendStatus(fiber.StatusNoContent)
}

// params are a request's parameters by name, from its body (JSON,
// urlencoded or multipart form) and, when query is set, its query string
// (body first). "name[]" is read as "name".
type params map[string][]string

func (p params) get(name string) string {
	if v := p[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (p params) add(name, value string) {
	name = strings.TrimSuffix(name, "[]")
	p[name] = append(p[name], value)
}

var errMalformed = errs.E(errs.Invalid, "the request body is malformed")

func readParams(c *fiber.Ctx, query bool) (params, error) {
	p := params{}
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationJSON):
		if err := p.addJSON(c.Body()); err != nil {
			return nil, err
		}
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		c.Request().PostArgs().VisitAll(func(k, v []byte) { p.add(string(k), string(v)) })
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return nil, errMalformed
		}
		for k, vs := range form.Value {
			for _, v := range vs {
				p.add(k, v)
			}
		}
	}
	if query {
		q := params{}
		c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) { q.add(string(k), string(v)) })
		for k, vs := range q {
			if _, ok := p[k]; !ok {
				p[k] = vs
			}
		}
	}
	return p, nil
}

// addJSON reads a JSON object whose values are strings, numbers, booleans
// or arrays of those.
func (p params) addJSON(body []byte) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return errMalformed
	}
	scalar := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case float64, bool:
			return fmt.Sprint(v), true
		}
		return "", false
	}
	for k, v := range m {
		if list, ok := v.([]any); ok {
			for _, item := range list {
				if s, ok := scalar(item); ok {
					p.add(k, s)
				}
			}
		} else if s, ok := scalar(v); ok {
			p.add(k, s)
		}
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(c *fiber.Ctx) string {
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// basicAuth returns the client credentials of an "Authorization: Basic"
// header (RFC 6749 §2.3.1: each form-urlencoded); ok is false without one.
func basicAuth(c *fiber.Ctx) (id, secret string, ok bool, err error) {
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) < 6 || !strings.EqualFold(auth[:6], "basic ") {
		return "", "", false, nil
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(auth[6:]))
	before, after, found := strings.Cut(string(raw), ":")
	if derr != nil || !found {
		return "", "", true, errBadBasic
	}
	if id, err = url.QueryUnescape(before); err == nil {
		secret, err = url.QueryUnescape(after)
	}
	if err != nil {
		return "", "", true, errBadBasic
	}
	return id, secret, true, nil
}

var errBadBasic = &oauth.Error{Code: oauth.ErrInvalidClient, Description: "The Authorization header is malformed."}
