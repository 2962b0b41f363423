package page

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Cookie kinds: an area has at most one cookie of each.
const (
	// CSRF holds the double-submitted form token (csrf.go).
	CSRF = "csrf"
	// Session holds a signed-in browser's session token.
	Session = "session"
)

// Cookies is one area's cookie policy. Every cookie of an area gets the
// same attributes, so no kind is weaker than another:
//
//   - HttpOnly always: no script reads a token;
//   - Secure with https;
//   - SameSite=Strict, unless CrossSite: an area people enter by links
//     from other sites (an app opening the OAuth page, the payment
//     provider sending a newcomer back to the portal) needs Lax, or the
//     entering page would find no session and replace the form token of
//     the browser's other open pages;
//   - Path the area's own (Path), "/" when it has the whole host.
//
// Names follow one scheme, BaseName's roost_<area>_<kind>, prefixed with
// https: __Host- when Path is "/" (only this host can set it: no sibling
// domain, such as another tenant's subdomain, can plant a value), else
// __Secure- (a __Host- cookie must have Path=/).
type Cookies struct {
	// Area names the cookies: "admin", "portal", "oauth".
	Area string
	// Secure is set when the site is served over https.
	Secure bool
	// Path is where the area's pages live; "" is "/".
	Path string
	// CrossSite makes the cookies SameSite=Lax (see the type's comment).
	CrossSite bool
}

// BaseName is the name of an area's cookie of kind before any prefix.
func BaseName(area, kind string) string { return "roost_" + area + "_" + kind }

func (k Cookies) path() string {
	if k.Path == "" {
		return "/"
	}
	return k.Path
}

// Name is the full name of the area's cookie of kind.
func (k Cookies) Name(kind string) string {
	switch {
	case !k.Secure:
		return BaseName(k.Area, kind)
	case k.path() == "/":
		return "__Host-" + BaseName(k.Area, kind)
	}
	return "__Secure-" + BaseName(k.Area, kind)
}

// set gives the browser the cookie of kind for lifetime; a negative
// lifetime deletes it.
func (k Cookies) set(c *fiber.Ctx, kind, value string, lifetime time.Duration) {
	sameSite := fiber.CookieSameSiteStrictMode
	if k.CrossSite {
		sameSite = fiber.CookieSameSiteLaxMode
	}
	ck := &fiber.Cookie{Name: k.Name(kind), Value: value, Path: k.path(), MaxAge: int(lifetime / time.Second),
		Secure: k.Secure, HTTPOnly: true, SameSite: sameSite}
	if lifetime < 0 {
		// fasthttp writes no Max-Age of 0 or less: an expiry in the
		// past deletes the cookie.
		ck.Value, ck.MaxAge, ck.Expires = "", 0, deleted
	}
	c.Cookie(ck)
}

// deleted is the expiry that deletes a cookie.
var deleted = time.Unix(0, 0).UTC()

// token reads the cookie of kind: "" unless it has NewToken's shape, so
// nothing a browser makes up reaches a store.
func (k Cookies) token(c *fiber.Ctx, kind string) string {
	if v := c.Cookies(k.Name(kind)); ValidToken(v) {
		return v
	}
	return ""
}

// tokenBytes is the size of every session and CSRF token.
const tokenBytes = 32

// NewToken returns a new session or CSRF token: 32 random bytes,
// base64url without padding.
func NewToken() string {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidToken reports whether v has NewToken's shape.
func ValidToken(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == tokenBytes
}

// HashToken is what a store keeps of a session token, so its table
// signs nobody in (SHA-256, as tenant/verify's HashCode: the portal's
// store hashes with that).
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// SessionToken returns the session token the browser sent, or "" when it
// sent none or a malformed one.
func (k Cookies) SessionToken(c *fiber.Ctx) string { return k.token(c, Session) }

// StartSession gives the browser the session token tok for lifetime,
// and a new CSRF token: a form token that was seen before signing in (on
// a shared computer, say) is worth nothing after.
func (k Cookies) StartSession(c *fiber.Ctx, tok string, lifetime time.Duration) {
	k.set(c, Session, tok, lifetime)
	k.rotateCSRF(c)
}

// EndSession deletes the session cookie and replaces the CSRF token: a
// form shown before signing out is refused after, and whoever uses the
// browser next starts with a token of their own.
func (k Cookies) EndSession(c *fiber.Ctx) {
	k.set(c, Session, "", -1)
	k.rotateCSRF(c)
}
