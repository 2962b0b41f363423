// Package httpx is the request plumbing every Roost HTTP handler shares: the request's
// Site and logger, the URL builder for its host, and the one mapping from
// error codes to HTTP statuses.
package httpx

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

type localKey int

const (
	siteKey localKey = iota
	logKey
	clientIPKey
)

// URLConfig says how issued URLs are formed.
type URLConfig struct {
	Scheme string // https, or http for local development
	Port   int    // 0: the scheme's default
}

// SetSite attaches the resolved Site to the request.
func SetSite(c *fiber.Ctx, s *tenant.Site) { c.Locals(siteKey, s) }

// SiteOf returns the request's Site. Routes behind the host middleware
// always have one; calling it elsewhere is a programming error.
func SiteOf(c *fiber.Ctx) *tenant.Site {
	s, _ := c.Locals(siteKey).(*tenant.Site)
	if s == nil {
		panic("web.SiteOf on a route without host routing")
	}
	return s
}

// requestLog is a request's logger, put together when first used: slog's
// With formats its attributes at once, and most requests log nothing
// (issue 21: two such With calls on every request, the request id's and
// the tenant's, cost about as much as rendering a WebFinger answer).
type requestLog struct {
	base  *slog.Logger
	attrs []slog.Attr
	built *slog.Logger
}

// SetLogger attaches the request's logger, with attrs (added when it is
// first used).
func SetLogger(c *fiber.Ctx, l *slog.Logger, attrs ...slog.Attr) {
	c.Locals(logKey, &requestLog{base: l, attrs: attrs})
}

// AddLogAttrs adds attrs to every line the request's logger writes from
// now on.
func AddLogAttrs(c *fiber.Ctx, attrs ...slog.Attr) {
	r, ok := c.Locals(logKey).(*requestLog)
	if !ok {
		SetLogger(c, slog.Default(), attrs...)
		return
	}
	if r.built != nil {
		r.built = slog.New(r.built.Handler().WithAttrs(attrs))
		return
	}
	r.attrs = append(r.attrs, attrs...)
}

// Log returns the request's logger (request id, and tenant once known).
func Log(c *fiber.Ctx) *slog.Logger {
	r, ok := c.Locals(logKey).(*requestLog)
	if !ok {
		return slog.Default()
	}
	if r.built == nil {
		r.built = r.base
		if len(r.attrs) > 0 {
			r.built = slog.New(r.base.Handler().WithAttrs(r.attrs))
		}
	}
	return r.built
}

// LogEnabled reports whether the request's logger writes lines at level,
// without putting it together.
func LogEnabled(c *fiber.Ctx, level slog.Level) bool {
	if r, ok := c.Locals(logKey).(*requestLog); ok {
		if r.built != nil {
			return r.built.Enabled(c.UserContext(), level)
		}
		return r.base.Enabled(c.UserContext(), level)
	}
	return slog.Default().Enabled(c.UserContext(), level)
}

// Links returns the URL builder for the Site's actor host.
func Links(c *fiber.Ctx, u URLConfig) federation.Links {
	return federation.NewLinks(u.Scheme, SiteOf(c).ActorHost(), u.Port)
}

// SiteBase is the base URL of the Site's handle domain: the host people
// and apps use (actor URIs may live on the service domain instead).
func SiteBase(c *fiber.Ctx, u URLConfig) string {
	return federation.NewLinks(u.Scheme, SiteOf(c).Domain, u.Port).Base
}

// Status maps an error code to its HTTP status.
func Status(code errs.Code) int {
	switch code {
	case errs.Invalid:
		return fiber.StatusBadRequest
	case errs.NotFound:
		return fiber.StatusNotFound
	case errs.Conflict:
		return fiber.StatusConflict
	case errs.Unauthorized:
		return fiber.StatusUnauthorized
	case errs.Forbidden:
		return fiber.StatusForbidden
	case errs.Gone:
		return fiber.StatusGone
	case errs.TooLarge:
		return fiber.StatusRequestEntityTooLarge
	case errs.TooMany:
		return fiber.StatusTooManyRequests
	case errs.Unavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// ErrorBody is the JSON error shape, as in Mastodon's API.
type ErrorBody struct {
	Error string `json:"error"`
}

// ErrorHandler renders every error as {"error": "..."} with the status of
// its code. fiber's own errors (404 route, 413 body) keep their status.
// Internal errors are logged and never described to the client.
func ErrorHandler(c *fiber.Ctx, err error) error {
	status, msg := fiber.StatusInternalServerError, "internal error"
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		status, msg = fe.Code, fe.Message
	case errs.CodeOf(err) != errs.Internal:
		status, msg = Status(errs.CodeOf(err)), errs.MessageOf(err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		status, msg = fiber.StatusServiceUnavailable, "the server is busy; try again"
		Log(c).WarnContext(c.UserContext(), "request timed out", "err", err)
	case Unavailable(err):
		status, msg = fiber.StatusServiceUnavailable, UnavailableMessage
		Log(c).WarnContext(c.UserContext(), "a dependency is unavailable", "err", err)
	default:
		Log(c).ErrorContext(c.UserContext(), "request failed", "err", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, RetryAfterSeconds)
		if wantsPage(c) {
			return c.Status(status).Type("html").SendString(unavailablePage)
		}
	}
	return c.Status(status).JSON(ErrorBody{Error: msg})
}
