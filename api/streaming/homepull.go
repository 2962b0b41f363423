package streaming

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 21: the statuses of an author with very many local followers
// reach no follower's feed row (migration 060), so no feed row announces
// them on the followers' user channels. The database announces them once,
// on the author's channel, and every user and list stream of a follower
// listens to the channels of the pulled authors its viewer follows: the
// list when the stream is added, then "pull" and "unpull" events on the
// user channel as follows begin and end. A status heard on an author's
// channel is sent when the viewer's home timeline holds it (a list
// stream: when its list's timeline does), as the REST timeline would page
// it.

// HomeReads is what user and list streams read of pulled authors
// (federation/postgres.Store).
type HomeReads interface {
	// PulledFollowees lists the pulled authors the viewer follows.
	PulledFollowees(ctx context.Context, viewerID int64) ([]int64, error)
	// HomeTimeline pages the viewer's home timeline (feed rows merged
	// with pulled authors' statuses).
	HomeTimeline(ctx context.Context, viewerID int64, p federation.Page) ([]int64, error)
}

// maxPulledAuthors bounds the author channels one session hears: each is
// a Redis channel of the node. Pulled authors are few (their bound is a
// thousand local followers, federation.HomePullFollowers), so a
// viewer past this follows an unusual number of them; the rest are
// skipped and logged.
const maxPulledAuthors = 2000

// sentMemory is how many statuses a user or list stream remembers
// having sent (sentIDs).
const sentMemory = 256

// hearsHome reports whether st listens to the viewer's user channel
// (the user stream and list streams) and so hears pulled authors.
func (s *session) hearsHome(st *stream) bool {
	return s.h.Home != nil && s.v.userID != 0 && st.channel == userChannel(s.v.userID)
}

// authorOf finds the author whose channel ch is.
func authorOf(ch string) (int64, bool) {
	rest, ok := strings.CutPrefix(ch, authorPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

// pulls is what a session knows of its viewer's pulled followees (under
// session.mu). It is listed once (PulledFollowees) when the first user
// or list stream is added and kept by the pull and unpull events that
// stream hears; when the last such stream goes nothing is heard any
// more, and it is forgotten.
type pulls struct {
	state   int            // pullsNone, pullsListing or pullsListed
	gen     int            // counts forget: a listing begun before one is stale
	follows map[int64]bool // listed: the authors whose channels the user and list streams hear
	during  map[int64]bool // listing: pulls (true) and unpulls (false) heard meanwhile, newer than the list
}

const (
	pullsNone = iota
	pullsListing
	pullsListed
)

// begin starts the listing unless it was done (or is being done).
func (p *pulls) begin() (gen int, list bool) {
	if p.state != pullsNone {
		return p.gen, false
	}
	p.state, p.during = pullsListing, map[int64]bool{}
	return p.gen, true
}

// listed takes the list begun at gen, with what was heard meanwhile
// over it; skipped is how many authors the bound left out.
func (p *pulls) listed(gen int, ids []int64) (skipped int) {
	if p.gen != gen || p.state != pullsListing {
		return 0
	}
	if len(ids) > maxPulledAuthors {
		skipped, ids = len(ids)-maxPulledAuthors, ids[:maxPulledAuthors]
	}
	p.follows = map[int64]bool{}
	for _, id := range ids {
		p.follows[id] = true
	}
	for id, on := range p.during {
		switch {
		case !on:
			delete(p.follows, id)
		case len(p.follows) < maxPulledAuthors:
			p.follows[id] = true
		case !p.follows[id]:
			skipped++
		}
	}
	p.state, p.during = pullsListed, nil
	return skipped
}

// failed abandons the listing begun at gen: the next stream lists again.
func (p *pulls) failed(gen int) {
	if p.gen == gen && p.state == pullsListing {
		p.state, p.during = pullsNone, nil
	}
}

// forget drops what is known: no stream hears the user channel now.
func (p *pulls) forget() {
	*p = pulls{gen: p.gen + 1}
}

// hear takes a pull (on) or unpull of author: changed when the authors
// heard change; full when a pull was skipped for the bound.
func (p *pulls) hear(author int64, on bool) (changed, full bool) {
	switch p.state {
	case pullsListing:
		p.during[author] = on
		return false, false
	case pullsListed:
		if on == p.follows[author] {
			return false, false
		}
		if on {
			if len(p.follows) >= maxPulledAuthors {
				return false, true
			}
			p.follows[author] = true
		} else {
			delete(p.follows, author)
		}
		return true, false
	}
	return false, false // no stream hears the user channel
}

// hearAuthors lists the viewer's pulled followees, the first time a user
// or list stream is added, and subscribes the session to their channels.
// A listing that fails drops the connection, as a status that fails to
// render does: the authors' statuses would be missed for good by a
// connection that stays, and the app reconnects and pages.
func (s *session) hearAuthors(ctx context.Context) {
	s.mu.Lock()
	gen, list := s.pulls.begin()
	s.mu.Unlock()
	if list {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ids, err := s.h.Home.PulledFollowees(lctx, s.v.userID)
		cancel()
		if err != nil {
			s.mu.Lock()
			s.pulls.failed(gen)
			s.mu.Unlock()
			if !errors.Is(err, context.Canceled) {
				s.h.log().Warn("streaming: listing pulled followees failed; dropping the connection so the app catches up",
					"viewer", s.v.userID, "err", err)
				s.drop(WhyRedisDown)
			}
			return
		}
		s.mu.Lock()
		skipped := s.pulls.listed(gen, ids)
		s.mu.Unlock()
		if skipped > 0 {
			s.h.log().Warn("streaming: the viewer follows too many pulled authors; some are not streamed",
				"viewer", s.v.userID, "follows", len(ids), "bound", maxPulledAuthors, "skipped", skipped)
		}
	}
	s.syncAuthors(ctx)
}

// pulled acts on a pull or unpull event heard on the viewer's user
// channel (id: the author), which no client is sent.
func (s *session) pulled(ctx context.Context, ev event) {
	if s.h.Home == nil || ev.ID <= 0 || ev.channel != userChannel(s.v.userID) {
		return
	}
	s.mu.Lock()
	changed, full := s.pulls.hear(ev.ID, ev.Event == "pull")
	s.mu.Unlock()
	if full {
		s.h.log().Warn("streaming: the viewer follows too many pulled authors; one more is not streamed",
			"viewer", s.v.userID, "author", ev.ID, "bound", maxPulledAuthors)
	}
	if changed {
		s.syncAuthors(ctx)
	}
}

// syncAuthors makes the hub's author channels for the session what the
// session needs: its viewer's pulled followees while a user or list
// stream is on, none otherwise. Each call reads the newest need under
// subMu, so calls from the reader (add, remove) and the writer (pull,
// unpull) leave the last one's answer, whatever their order; none
// subscribes after end.
func (s *session) syncAuthors(ctx context.Context) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.ended {
		return
	}
	var on, off []string
	s.mu.Lock()
	hear := len(s.byChannel[userChannel(s.v.userID)]) > 0
	for a := range s.pulls.follows {
		if hear && !s.heard[a] {
			s.heard[a] = true
			on = append(on, authorChannel(a))
		}
	}
	for a := range s.heard {
		if !hear || !s.pulls.follows[a] {
			delete(s.heard, a)
			off = append(off, authorChannel(a))
		}
	}
	s.mu.Unlock()
	if len(off) > 0 { // never none: no channels is every channel of the session
		s.h.Hub.unsubscribe(s, off...)
	}
	if len(on) > 0 {
		// Counted by the hub even when the wait for Redis ends early, so
		// they are heard (as soon as Redis answers) and dropped as above.
		if err := s.h.Hub.subscribe(ctx, s, on...); err != nil && !errors.Is(err, context.Canceled) {
			s.h.log().Warn("streaming: subscribing to pulled authors failed", "viewer", s.v.userID, "err", err)
		}
	}
}

// onHome reports whether status is on the viewer's home timeline (the
// follow of its author, whether boosts are taken, blocks and mutes, as
// the REST home timeline pages it). A check that fails drops the
// connection, as a status that fails to render does.
func (s *session) onHome(ctx context.Context, status int64) bool {
	ids, err := s.h.Home.HomeTimeline(ctx, s.v.userID, federation.Page{MaxID: status + 1, SinceID: status - 1, Limit: 1})
	if err != nil {
		if !errs.Is(err, errs.NotFound) && !errors.Is(err, context.Canceled) {
			s.h.log().Warn("streaming: checking a pulled author's status failed; dropping the connection so the app catches up",
				"id", status, "err", err)
			s.drop(WhyRedisDown)
		}
		return false
	}
	return len(ids) == 1 && ids[0] == status
}

// sentIDs is what a user or list stream sent lately: a follower of a
// pulled author who is also mentioned hears the status twice, on the
// user channel (the mention's feed row) and on the author's channel, and
// is sent it once. Only the writer of its session touches it (frames).
// A nil *sentIDs remembers nothing (no pulled authors are heard).
type sentIDs struct {
	ring []message // oldest first from next, once full
	next int
	by   map[message]sentCopy
}

// sentCopy is where a sent event was heard.
type sentCopy struct {
	author bool // on an author's channel (else the user channel)
	paired bool // its copy from the other channel was heard and not sent
}

func newSentIDs() *sentIDs { return &sentIDs{by: map[message]sentCopy{}} }

// deduped are the events a status is announced with on both channels.
func deduped(e string) bool { return e == "update" || e == "status.update" || e == "delete" }

// dup reports whether ev (heard on an author's channel or not) is a
// copy of what was sent. A status is created and deleted once, so an
// update or delete sent is a copy ever after (while remembered). A
// status is edited many times, every edit announced anew: a
// status.update is a copy only when it is the other channel's copy of
// the last one sent (one edit's two copies are one transaction's
// notifications, delivered together, in order).
func (m *sentIDs) dup(ev message, author bool) bool {
	if m == nil || !deduped(ev.Event) {
		return false
	}
	c, ok := m.by[ev]
	if !ok {
		return false
	}
	if ev.Event != "status.update" {
		return true
	}
	if c.paired || c.author == author {
		return false // a later edit
	}
	c.paired = true
	m.by[ev] = c
	return true
}

// record remembers that ev was sent, forgetting the oldest past
// sentMemory.
func (m *sentIDs) record(ev message, author bool) {
	if m == nil || !deduped(ev.Event) {
		return
	}
	if _, ok := m.by[ev]; !ok {
		if len(m.ring) < sentMemory {
			m.ring = append(m.ring, ev)
		} else {
			delete(m.by, m.ring[m.next])
			m.ring[m.next] = ev
			m.next = (m.next + 1) % sentMemory
		}
	}
	m.by[ev] = sentCopy{author: author}
}
