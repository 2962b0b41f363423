package streaming

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
)

// Gate admits streaming connections: the node's bound and the caps per
// client address and per access token (api's streamGate). Implementations
// MUST be safe for concurrent use.
type Gate interface {
	// Admit counts a connection from ip (the client's address, trusted
	// proxies considered) with token ("" when anonymous), or refuses it
	// with an error the app renders (429 or 503). release uncounts it.
	Admit(ip netip.Addr, token string) (release func(), err error)
}

// RetryAfterSeconds is what a refused connection is told to wait: a
// place frees when another connection of the same client ends.
const RetryAfterSeconds = 30

// startGrace bounds how long an admitted handshake may take to become a
// connection. fasthttp never runs the hijack handler when writing the
// handshake's response fails (a client that reset the connection), and
// then nothing else would give the place back.
const startGrace = time.Minute

// ticket is an admitted connection's place, handed from its handshake to
// the connection, and given back exactly once.
type ticket struct {
	release func()
	state   atomic.Int32 // ticketWaiting, ticketStarted or ticketOver
	timer   *time.Timer
}

const (
	ticketWaiting = iota
	ticketStarted
	ticketOver
)

// admit takes a place for v's connection, or refuses it with Retry-After.
// Without a Gate every connection is admitted. over (nil: nothing) runs
// when the place is given back, however the connection ends or fails to
// begin.
func (h *Handler) admit(c *fiber.Ctx, v *viewer, over func()) (*ticket, error) {
	if h.Hub != nil && !h.Hub.Available() {
		// Redis is away: a connection now would hear nothing. Refused
		// at once; the app reconnects when told to.
		c.Set(fiber.HeaderRetryAfter, httpx.RetryAfterSeconds)
		return nil, errs.E(errs.Unavailable, "streaming is unavailable for a moment; try again")
	}
	release := func() {}
	if h.Gate != nil {
		var err error
		if release, err = h.Gate.Admit(httpx.ClientIP(c), v.token); err != nil {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(RetryAfterSeconds))
			return nil, err
		}
	}
	if over != nil {
		gate := release
		release = func() { over(); gate() }
	}
	return newTicket(release, startGrace), nil
}

// newTicket holds a place given back by release, at the latest after
// grace unless the connection has started by then.
func newTicket(release func(), grace time.Duration) *ticket {
	t := &ticket{release: release}
	t.timer = time.AfterFunc(grace, func() {
		if t.state.CompareAndSwap(ticketWaiting, ticketOver) {
			t.release()
		}
	})
	return t
}

// start claims the place for the connection now serving; false when the
// handshake took so long that it was given back (the connection must end).
func (t *ticket) start() bool {
	t.timer.Stop()
	return t.state.CompareAndSwap(ticketWaiting, ticketStarted)
}

// done gives the place back (the connection ended, or never began).
func (t *ticket) done() {
	t.timer.Stop()
	if t.state.Swap(ticketOver) != ticketOver {
		t.release()
	}
}
