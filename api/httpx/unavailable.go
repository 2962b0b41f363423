package httpx

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"
)

// RetryAfterSeconds is what every 503 tells its client to wait
// (Retry-After): a shed request, one that timed out waiting for the
// database, one answered while PostgreSQL or Redis is down. Clients,
// remote servers and load balancers retry; one second lets a burst drain
// and costs little while a dependency is down, since the circuit answers
// at once.
const RetryAfterSeconds = "1"

// UnavailableMessage is the answer to a request that failed because a
// dependency (PostgreSQL, Redis) could not be reached.
const UnavailableMessage = "the service is temporarily unavailable; try again"

// Unavailable reports whether err is a dependency's transport failure —
// a connection refused, reset or cut short, a network timeout, or
// PostgreSQL shutting down, crashed or starting up (SQLSTATE class 08,
// 57P01-03) — rather than a failure of the request itself. Such a request
// is worth retrying in a moment: it is answered 503 with Retry-After, not
// 500. It knows the drivers' errors only by their standard interfaces.
func Unavailable(err error) bool {
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		s := st.SQLState()
		return strings.HasPrefix(s, "08") || s == "57P01" || s == "57P02" || s == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// wantsPage reports whether an error should be answered as a page: a
// browser asking for HTML anywhere but the client API and ActivityPub.
func wantsPage(c *fiber.Ctx) bool {
	p := c.Path()
	if strings.HasPrefix(p, "/api/") || p == "/api" || strings.HasPrefix(p, "/oauth/token") {
		return false
	}
	accept := c.Get(fiber.HeaderAccept)
	return strings.Contains(accept, "text/html") && !strings.Contains(accept, "activity+json") &&
		!strings.Contains(accept, "ld+json")
}

// unavailablePage is the small page a browser gets with a 503: no
// template, no database, nothing that could fail in turn.
const unavailablePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Temporarily unavailable</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The server cannot answer right now. Try again in a moment; this page does not need to be reloaded more often than that.</p>
</body></html>
`
