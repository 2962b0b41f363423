// Package streaming is Mastodon's streaming API
// (docs.joinmastodon.org/methods/streaming) on every tenant domain:
// WebSocket at /api/v1/streaming and server-sent events at
// /api/v1/streaming/<stream>.
//
// Events start in PostgreSQL (triggers, migration 010), are carried by the
// one elected relay to Redis (Publisher), and reach every web node through
// its Hub: one Redis subscription per node, fanned out in process to the
// connections that listen. Each connection renders each event for its own
// viewer, so visibility rules apply per viewer; what the viewer may not see
// is not sent. A connection that cannot keep up is closed, never waited
// for.
package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Renderer renders entities for one viewer (0: anonymous) on one site
// (api/mastodon's Handler); an errs.NotFound error means the viewer may
// not see it. What the viewer hides applies as on the REST timelines
// (federation/social/timeline): a status is rendered in the place its
// stream names (filter.Home for the user stream, filter.Public for public
// and hashtag streams; "" for none), a notification as in notifications;
// what is hidden is errs.NotFound, what a warn filter matches has its
// filtered field filled.
type Renderer interface {
	RenderStatus(ctx context.Context, site *tenant.Site, viewerID, statusID int64, where filter.Where) ([]byte, error)
	RenderNotification(ctx context.Context, site *tenant.Site, viewerID, notificationID int64) ([]byte, error)
	RenderConversation(ctx context.Context, site *tenant.Site, viewerID, statusID int64) ([]byte, error)
}

// ListTimelines pages an owner's list timelines (list.Service): errs.NotFound
// for a list that is not the owner's; forYou for the built-in ranked list,
// whose timeline is not a list's.
type ListTimelines interface {
	Timeline(ctx context.Context, ownerID, listID int64, p federation.Page) (ids []int64, forYou bool, err error)
}

// Handler serves the streaming routes (behind host routing).
type Handler struct {
	Auth   oauth.Authenticator
	Render Renderer
	Hub    *Hub
	Log    *slog.Logger
	// Heartbeat is how often an idle connection is pinged (default 30 s).
	Heartbeat time.Duration
	// Buffer is how many events a connection may have waiting before it
	// is closed as too slow (default 256).
	Buffer int
	// WriteTimeout bounds one write to a client (default 10 s).
	WriteTimeout time.Duration
	// Recheck is how often a connection's token is checked again, so a
	// revoked token stops streaming (default 5 min).
	Recheck time.Duration
	// Gate counts connections against the node's bounds (api sets it
	// from its StreamLimits); nil admits every connection.
	Gate Gate
	// Lists backs list streams (a list's statuses as they reach its
	// owner's home feed); nil refuses them.
	Lists ListTimelines
	// Home backs the user and list streams' hearing of pulled authors,
	// whose statuses reach no feed row (homepull.go); nil: none are
	// heard.
	Home HomeReads
}

// maxStreams bounds the streams one WebSocket may subscribe to.
const maxStreams = 32

// ssePaths are the server-sent event endpoints and their streams.
var ssePaths = map[string]string{
	"user":                "user",
	"user/notification":   "user:notification",
	"public":              "public",
	"public/media":        "public:media",
	"public/local":        "public:local",
	"public/local/media":  "public:local:media",
	"public/remote":       "public:remote",
	"public/remote/media": "public:remote:media",
	"hashtag":             "hashtag",
	"hashtag/local":       "hashtag:local",
	"list":                "list",
	"direct":              "direct",
}

// Register mounts the routes on r; register before the REST API, whose
// authentication middleware covers /api.
func (h *Handler) Register(r fiber.Router) {
	ws := h.wsHandler()
	r.Get("/api/v1/streaming/health", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.SendString("OK")
	})
	r.Get("/api/v1/streaming", func(c *fiber.Ctx) error {
		if isUpgrade(c) {
			return h.upgrade(c, ws, "")
		}
		return h.sse(c, c.Query("stream"))
	})
	for path, name := range ssePaths {
		r.Get("/api/v1/streaming/"+path, func(c *fiber.Ctx) error {
			if isUpgrade(c) {
				return h.upgrade(c, ws, name)
			}
			return h.sse(c, name)
		})
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func (h *Handler) heartbeat() time.Duration {
	if h.Heartbeat > 0 {
		return h.Heartbeat
	}
	return 30 * time.Second
}

func (h *Handler) writeTimeout() time.Duration {
	if h.WriteTimeout > 0 {
		return h.WriteTimeout
	}
	return 10 * time.Second
}

func (h *Handler) recheck() time.Duration {
	if h.Recheck > 0 {
		return h.Recheck
	}
	return 5 * time.Minute
}

var (
	errMissingToken = errs.E(errs.Unauthorized, "Missing access token")
	errInvalidToken = errs.E(errs.Unauthorized, "The access token is invalid")
	errScope        = errs.E(errs.Unauthorized, "Access token does not have the required scopes")
	errNeedUser     = errs.E(errs.Unauthorized, "This stream requires an authenticated user")
	errUnknown      = errs.E(errs.Invalid, "Unknown stream type")
	errNoTag        = errs.E(errs.Invalid, "No tag for stream provided")
	errNoList       = errs.E(errs.NotFound, "Record not found")
)

// bearer finds the token as Mastodon's streaming server does: the
// Authorization header, the access_token parameter, or the WebSocket
// subprotocol (browsers cannot set headers on a WebSocket). proto is set
// when it came as the subprotocol, which the handshake must echo.
func bearer(c *fiber.Ctx) (token, proto string, err error) {
	if a := c.Get(fiber.HeaderAuthorization); a != "" {
		t, ok := strings.CutPrefix(a, "Bearer ")
		if !ok || strings.TrimSpace(t) == "" {
			return "", "", errInvalidToken
		}
		return strings.TrimSpace(t), "", nil
	}
	if t := c.Query("access_token"); t != "" {
		return t, "", nil
	}
	if p := c.Get("Sec-WebSocket-Protocol"); p != "" {
		t := strings.TrimSpace(strings.Split(p, ",")[0])
		return t, t, nil
	}
	return "", "", nil
}

// viewer is who a connection streams for, on which site.
type viewer struct {
	site   *tenant.Site
	token  string
	tok    *oauth.Token // nil: anonymous
	userID int64
}

// authenticate resolves the request's token on its own tenant: a token of
// another tenant is invalid here, as on the REST API.
func (h *Handler) authenticate(c *fiber.Ctx) (*viewer, string, error) {
	v := &viewer{site: httpx.SiteOf(c)}
	b, proto, err := bearer(c)
	if err != nil || b == "" {
		return v, "", err
	}
	tok, err := h.Auth.Authenticate(c.UserContext(), v.site.TenantID, b)
	if err != nil {
		if errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.NotFound) {
			return nil, "", errInvalidToken
		}
		return nil, "", err
	}
	// Cloned: the token keys the gate's per-token count and the periodic
	// recheck for the connection's life, past the request whose buffer b
	// is a view of (issue 19, finding 9).
	v.token, v.tok, v.userID = strings.Clone(b), tok, tok.AccountID
	return v, proto, nil
}

// stream is one subscription: its name as frames carry it, and the Redis
// channel (unprefixed) it listens to.
type stream struct {
	name    []string
	id      string // what tells two subscriptions apart when name does not (a tag as the client spelled it)
	channel string
	media   bool         // only statuses with media attachments
	place   filter.Where // where its statuses are shown (see Renderer)
	noNotes bool         // a user stream whose token may not read notifications: none are sent
	list    int64        // a list stream: the list whose timeline its statuses must be on
	forYou  bool         // the built-in ranked list: no statuses are streamed
	sent    *sentIDs     // a user or list stream hearing pulled authors: what it sent lately (homepull.go)
}

func (s *stream) key() string {
	if s.id != "" {
		return s.id
	}
	return strings.Join(s.name, ":")
}

// resolve checks that v may listen to the named stream and finds its
// channel. Public streams are open as the public timelines are; a token
// presented for them still needs a reading scope.
func (h *Handler) resolve(ctx context.Context, v *viewer, name, tag, list string) (*stream, error) {
	// The stream outlives the request, and callers pass fiber's views of
	// its buffer (c.Query), which the server reuses: a stream keeps its
	// own copies of the names its frames carry (issue 19, finding 9).
	name, tag, list = strings.Clone(name), strings.Clone(tag), strings.Clone(list)
	need := func(scope string, user bool) error {
		if v.tok == nil {
			if user {
				return errMissingToken
			}
			return nil
		}
		if !v.tok.Scopes.Allows(scope) { // "read" allows every read:*
			return errScope
		}
		if user && v.userID == 0 {
			return errNeedUser
		}
		return nil
	}
	tenantID := v.site.TenantID
	switch name {
	case "user":
		if err := need("read:statuses", true); err != nil {
			return nil, err
		}
		// As on Mastodon, the user stream carries notifications only for a
		// token that may read them.
		return &stream{name: []string{name}, channel: userChannel(v.userID), place: filter.Home,
			noNotes: !v.tok.Scopes.Allows("read:notifications")}, nil
	case "user:notification":
		if err := need("read:notifications", true); err != nil {
			return nil, err
		}
		return &stream{name: []string{name}, channel: notificationChannel(v.userID)}, nil
	case "direct":
		if err := need("read:statuses", true); err != nil {
			return nil, err
		}
		return &stream{name: []string{name}, channel: directChannel(v.userID)}, nil
	case "list":
		if err := need("read:lists", true); err != nil {
			return nil, err
		}
		return h.listStream(ctx, v, list)
	case "public", "public:media", "public:local", "public:local:media", "public:remote", "public:remote:media",
		"public:allow_local_only", "public:allow_local_only:media":
		if err := need("read:statuses", false); err != nil {
			return nil, err
		}
		// public:allow_local_only is Mastodon's public stream with local-only
		// posts, which Roost does not have: the public stream.
		base := strings.TrimSuffix(strings.Replace(name, ":allow_local_only", "", 1), ":media")
		scope := strings.TrimPrefix(strings.TrimPrefix(base, "public"), ":")
		return &stream{name: []string{name}, channel: publicChannel(tenantID, scope), media: strings.HasSuffix(name, ":media"),
			place: filter.Public}, nil
	case "hashtag", "hashtag:local":
		if err := need("read:statuses", false); err != nil {
			return nil, err
		}
		norm := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(tag), "#"))
		if norm == "" || len(norm) > 100 || len(tag) > 200 || strings.ContainsAny(norm, ": \t\r\n") {
			return nil, errNoTag
		}
		// Frames name the tag as the client spelled it, as Mastodon's do:
		// clients (masto.js) match frames to subscriptions by that name.
		return &stream{name: []string{name, tag}, id: name + ":" + norm,
			channel: hashtagChannel(tenantID, name == "hashtag:local", norm), place: filter.Public}, nil
	}
	return nil, errUnknown
}

// listStream checks the list is the viewer's and streams it: the
// statuses of its timeline as they reach the owner's home feed (its
// channel), as Mastodon's list stream carries them.
func (h *Handler) listStream(ctx context.Context, v *viewer, list string) (*stream, error) {
	id, err := strconv.ParseInt(list, 10, 64)
	if err != nil || id <= 0 || h.Lists == nil {
		return nil, errNoList
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, forYou, err := h.Lists.Timeline(ctx, v.userID, id, federation.Page{Limit: 1})
	if errs.Is(err, errs.NotFound) {
		return nil, errNoList
	}
	if err != nil {
		return nil, err
	}
	return &stream{name: []string{"list", list}, id: "list:" + strconv.FormatInt(id, 10), channel: userChannel(v.userID),
		place: filter.List, list: id, forYou: forYou}, nil
}

// onList reports whether status is on the viewer's list timeline (the
// list's members, replies policy and what the viewer hides, as the REST
// list timeline pages it).
func (s *session) onList(ctx context.Context, st *stream, status int64) bool {
	ids, _, err := s.h.Lists.Timeline(ctx, s.v.userID, st.list, federation.Page{MaxID: status + 1, SinceID: status - 1, Limit: 1})
	if err != nil {
		if !errs.Is(err, errs.NotFound) && !errors.Is(err, context.Canceled) {
			s.h.log().Warn("streaming: checking a list stream failed; not sent", "list", st.list, "id", status, "err", err)
		}
		return false
	}
	return len(ids) == 1 && ids[0] == status
}

// frame is one event for one stream of a connection.
type frame struct {
	stream  []string
	event   string
	payload string
}

// session is one connection's state, shared by its reader and writer.
type session struct {
	h      *Handler
	v      *viewer
	queue  chan event
	closed chan struct{}
	once   sync.Once
	why    string

	mu        sync.Mutex
	byKey     map[string]*stream
	byChannel map[string][]*stream
	pulls     pulls // the viewer's pulled followees (homepull.go)

	// subMu orders the session's subscriptions to author channels
	// (syncAuthors) and its end. It is held across the hub's calls,
	// which may wait for Redis, so mu (which the writer needs for every
	// event) is only ever taken inside it, briefly.
	subMu sync.Mutex
	heard map[int64]bool // authors whose channels the hub has the session on
	ended bool           // end ran: nothing more is subscribed
}

func (h *Handler) newSession(v *viewer) *session {
	n := h.Buffer
	if n <= 0 {
		n = 256
	}
	return &session{h: h, v: v, queue: make(chan event, n), closed: make(chan struct{}),
		byKey: map[string]*stream{}, byChannel: map[string][]*stream{}, heard: map[int64]bool{}}
}

func (s *session) deliver(ev event) bool {
	select {
	case <-s.closed:
		return false
	default:
	}
	select {
	case s.queue <- ev:
		return true
	default:
		s.close("too slow: event buffer full")
		return false
	}
}

func (s *session) stop() { s.close("server shutting down") }

// drop ends the connection because its events were interrupted (hub.go).
func (s *session) drop(why string) { s.close(why) }

func (s *session) close(why string) {
	s.once.Do(func() {
		s.why = why
		close(s.closed)
	})
}

// end unsubscribes everything; the connection is over. Marked ended
// first, so that an author subscription still being made (a pull heard
// by the writer, or the gate ending the session) is made before the
// hub forgets the session, or not at all.
func (s *session) end() {
	s.close("closed")
	s.subMu.Lock()
	s.ended = true
	s.subMu.Unlock()
	s.h.Hub.unsubscribe(s)
}

// add subscribes the session to st (once per stream). A user or list
// stream also starts hearing the viewer's pulled followees, before add
// returns: the handshake answers after that (soak finding 13).
func (s *session) add(ctx context.Context, st *stream) error {
	home := s.hearsHome(st)
	if home {
		st.sent = newSentIDs()
	}
	s.mu.Lock()
	if _, ok := s.byKey[st.key()]; ok {
		s.mu.Unlock()
		return nil
	}
	if len(s.byKey) >= maxStreams {
		s.mu.Unlock()
		return errs.E(errs.Invalid, "Too many streams on one connection")
	}
	s.byKey[st.key()] = st
	s.byChannel[st.channel] = append(s.byChannel[st.channel], st)
	s.mu.Unlock()
	if err := s.h.Hub.subscribe(ctx, s, st.channel); err != nil {
		return err
	}
	if home {
		s.hearAuthors(ctx)
	}
	return nil
}

// remove unsubscribes the session from the stream with key.
func (s *session) remove(key string) {
	s.mu.Lock()
	st, ok := s.byKey[key]
	if ok {
		delete(s.byKey, key)
		list := s.byChannel[st.channel]
		for i, x := range list {
			if x == st {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.byChannel, st.channel)
			if s.hearsHome(st) {
				// Not heard from now on: pulls would be missed, so a
				// later user or list stream lists the followees again.
				s.pulls.forget()
			}
		} else {
			s.byChannel[st.channel] = list
		}
	}
	s.mu.Unlock()
	if ok {
		s.h.Hub.unsubscribe(s, st.channel)
		if s.hearsHome(st) {
			s.syncAuthors(s.h.Hub.context()) // drops the author channels once no stream needs them
		}
	}
}

// frames renders ev for the session's streams on its channel (an author
// channel's for its user and list streams). What the viewer may not see
// yields nothing; nor do internal events (pull, unpull), which it acts
// on.
func (s *session) frames(ctx context.Context, ev event) []frame {
	if ev.Event == "pull" || ev.Event == "unpull" {
		s.pulled(ctx, ev)
		return nil
	}
	author, fromAuthor := authorOf(ev.channel)
	s.mu.Lock()
	var streams []*stream
	if !fromAuthor {
		streams = append(streams, s.byChannel[ev.channel]...)
	} else if s.pulls.follows[author] && (ev.Event == "delete" || isStatusEvent(ev.Event)) {
		// Statuses and their deletions only: nothing else of the
		// author's is for every follower.
		streams = append(streams, s.byChannel[userChannel(s.v.userID)]...)
	}
	s.mu.Unlock()
	if len(streams) == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	type rendering struct {
		payload []byte
		ok      bool
	}
	byPlace := map[filter.Where]rendering{} // streams of one channel may show statuses in different places
	home := 0                               // an author's status on the viewer's home timeline: 1 yes, -1 no, 0 not asked
	var out []frame
	for _, st := range streams {
		if !st.carries(ev.Event) || st.sent.dup(ev.message, fromAuthor) {
			continue
		}
		if fromAuthor && st.list == 0 && isStatusEvent(ev.Event) {
			// Every follower hears the author's channel; the home
			// timeline says whose home the status is on (the follow,
			// its boosts setting, blocks and mutes). A list stream's
			// check is its list's, below.
			if home == 0 {
				home = -1
				if s.onHome(rctx, ev.ID) {
					home = 1
				}
			}
			if home < 0 {
				continue
			}
		}
		r, done := byPlace[st.place]
		if !done {
			r.payload, r.ok = s.render(rctx, ev, st.place)
			byPlace[st.place] = r
		}
		if !r.ok {
			continue
		}
		if st.media && ev.Event != "delete" && ev.Event != "filters_changed" && !hasMedia(r.payload) {
			continue
		}
		if st.list != 0 && isStatusEvent(ev.Event) && !s.onList(rctx, st, ev.ID) {
			continue
		}
		st.sent.record(ev.message, fromAuthor)
		out = append(out, frame{stream: st.name, event: ev.Event, payload: string(r.payload)})
	}
	return out
}

func isStatusEvent(e string) bool { return e == "update" || e == "status.update" }

// carries reports whether the stream sends events of this kind: a list
// stream only its statuses and deletions (the ranked "For you" list only
// deletions), a user stream without the notification scope no
// notifications.
func (st *stream) carries(event string) bool {
	switch {
	case st.list != 0:
		return event == "delete" || isStatusEvent(event) && !st.forYou
	case st.noNotes:
		return event != "notification"
	}
	return true
}

// render renders the event's payload for the session's viewer, a status
// in place; ok is false when the viewer may not see it (or it failed).
func (s *session) render(ctx context.Context, ev event, place filter.Where) (payload []byte, ok bool) {
	r, site, viewerID := s.h.Render, s.v.site, s.v.userID
	var err error
	switch ev.Event {
	case "delete":
		return []byte(strconv.FormatInt(ev.ID, 10)), true
	case "filters_changed":
		return nil, true // no payload: the client reloads its filters (user stream only)
	case "update", "status.update":
		payload, err = r.RenderStatus(ctx, site, viewerID, ev.ID, place)
	case "notification":
		payload, err = r.RenderNotification(ctx, site, viewerID, ev.ID)
	case "conversation":
		payload, err = r.RenderConversation(ctx, site, viewerID, ev.ID)
	default:
		return nil, false
	}
	if err != nil {
		if !errs.Is(err, errs.NotFound) && !errors.Is(err, context.Canceled) {
			// The event may be one the viewer should see (the database was
			// away): unsent, it would be missed for good by a connection
			// that stays. The connection ends instead, and the app
			// reconnects and pages (soak finding 4).
			s.h.log().Warn("streaming: rendering an event failed; dropping the connection so the app catches up", "event", ev.Event, "id", ev.ID, "err", err)
			s.drop(WhyRedisDown)
		}
		return nil, false
	}
	return payload, true
}

func hasMedia(status []byte) bool {
	var s struct {
		Media []json.RawMessage `json:"media_attachments"`
	}
	return json.Unmarshal(status, &s) == nil && len(s.Media) > 0
}

// stillValid checks the connection's token again (revocation).
func (s *session) stillValid(ctx context.Context) bool {
	if s.v.tok == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.h.Auth.Authenticate(ctx, s.v.site.TenantID, s.v.token)
	return !(errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.NotFound))
}
