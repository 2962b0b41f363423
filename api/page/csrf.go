package page

import (
	"crypto/subtle"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The CSRF defence is a double-submitted token: a random value in a
// cookie only this site's pages get (Cookies: HttpOnly, SameSite, with
// https __Host- or __Secure-) and the same value in every form's hidden
// CSRFField. A cross-site form post arrives without the cookie, or
// cannot know its value; a post whose two copies differ is refused
// before anything else runs.

// CSRFField is the name of every form's hidden token field.
const CSRFField = "csrf"

// CSRFLifetime is how long a form stays good after the page that carried
// it was shown: each page sets the cookie again. One lifetime for every
// area: long enough for a page left open over a working day (or a DNS
// record waited for on the portal), and no security boundary — the
// token only proves the form came from our page; the session decides
// who may act. A page left open longer answers ExpiredTitle, and
// reloading it gives a fresh form.
const CSRFLifetime = 12 * time.Hour

// Expired is the refusal of a form whose token is missing or wrong.
const (
	ExpiredTitle   = "Form expired"
	ExpiredMessage = "This form expired or was not sent from this site. Go back, reload the page and try again."
)

// csrfLocal holds the token this request's pages carry once chosen (or
// replaced at sign-in or sign-out), so every form of a response, and a
// page rendered after StartSession or EndSession, carries the same one
// the browser is given.
const csrfLocal = "roost.page.csrf"

// CSRFToken returns the token for this request's forms: the browser's
// when it has a valid one (so two open pages both work), else a new one.
// Either way the cookie is set again for CSRFLifetime.
func (k Cookies) CSRFToken(c *fiber.Ctx) string {
	if v, ok := c.Locals(csrfLocal).(string); ok {
		return v
	}
	v := k.token(c, CSRF)
	if v == "" {
		v = NewToken()
	}
	k.giveCSRF(c, v)
	return v
}

// CheckCSRF reports whether field, the form's token, matches the
// browser's cookie: both well-formed and equal (in constant time).
func (k Cookies) CheckCSRF(c *fiber.Ctx, field string) bool {
	cookie := k.token(c, CSRF)
	return cookie != "" && ValidToken(field) && subtle.ConstantTimeCompare([]byte(cookie), []byte(field)) == 1
}

// CheckForm is CheckCSRF on the posted form's CSRFField.
func (k Cookies) CheckForm(c *fiber.Ctx) bool { return k.CheckCSRF(c, c.FormValue(CSRFField)) }

// rotateCSRF replaces the browser's token with a new one.
func (k Cookies) rotateCSRF(c *fiber.Ctx) { k.giveCSRF(c, NewToken()) }

func (k Cookies) giveCSRF(c *fiber.Ctx, v string) {
	c.Locals(csrfLocal, v)
	k.set(c, CSRF, v, CSRFLifetime)
}
