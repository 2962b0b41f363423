package webapp

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// Notifications are the client API's grouped notifications (v2, the
// use case in federation/social/notification): favourites, boosts and
// follows of one post grouped as Mastodon's web UI groups them, mentions
// one by one. Opening the first page marks them read (the notifications
// marker), which clears the unread badge.

// maxSample is how many avatars a group shows.
const maxSample = 8

// group is one notification group as the screen shows it.
type group struct {
	*mastodon.NotificationGroupEntity
	People []*person
	// Others is how many more people than named acted.
	Others int64
	Post   *post
	// Verb says what happened, after the names.
	Verb string
	// Full shows the post with its actions (a mention, a new post, an
	// edit); otherwise it is quoted small.
	Full bool
}

type notificationsData struct {
	Title       string
	Groups      []*group
	Next, First string
	Stream      string
}

var verbs = map[string]string{
	"mention":        "mentioned you",
	"status":         "posted",
	"reblog":         "boosted your post",
	"follow":         "followed you",
	"follow_request": "asked to follow you",
	"favourite":      "favourited your post",
	"poll":           "'s poll has ended",
	"update":         "edited a post you boosted",
	"quote":          "quoted your post",
	"quoted_update":  "edited a post you quoted",
	"admin.sign_up":  "signed up",
	"admin.report":   "filed a report",
}

func (h *Handler) registerNotifications(r fiber.Router) {
	r.Get("/notifications", h.app(h.notifications))
	r.Get("/web/unread", h.app(h.unread))
}

// notifications is the grouped notifications screen, paged by max_id.
func (h *Handler) notifications(c *fiber.Ctx) error {
	var res mastodon.GroupedNotificationsResults
	q := pageQuery(c, url.Values{"expand_accounts": {"full"}})
	link, err := h.call(c, fiber.MethodGet, "/api/v2/notifications?"+q.Encode(), "", nil, &res)
	if err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	accounts := map[string]*mastodon.Account{}
	for _, a := range res.Accounts {
		accounts[a.ID] = a
	}
	statuses := map[string]*mastodon.Status{}
	for _, s := range res.Statuses {
		statuses[s.ID] = s
	}
	d := &notificationsData{Title: "Notifications"}
	for _, g := range res.NotificationGroups {
		d.Groups = append(d.Groups, groupView(l, g, accounts, statuses))
	}
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	d.Next, d.First = pageLinks(c, link)
	if c.Query("max_id") == "" {
		d.Stream = "user"
		if len(res.NotificationGroups) > 0 {
			h.markRead(c, res.NotificationGroups[0].MostRecentNotificationID)
		}
	}
	return h.render(c, "notifications", d)
}

func groupView(l *looks, g *mastodon.NotificationGroupEntity, accounts map[string]*mastodon.Account,
	statuses map[string]*mastodon.Status) *group {
	v := &group{NotificationGroupEntity: g, Verb: verbs[g.Type]}
	if v.Verb == "" {
		v.Verb = g.Type
	}
	for i, id := range g.SampleAccountIDs {
		if i >= maxSample {
			break
		}
		if a, ok := accounts[id]; ok {
			v.People = append(v.People, l.person(a))
		}
	}
	if n := g.NotificationsCount - int64(len(v.People)); n > 0 && g.Type != "mention" {
		v.Others = n
	}
	if g.StatusID != nil {
		if s, ok := statuses[*g.StatusID]; ok {
			v.Post = l.post(s)
		}
	}
	v.Full = g.Type == "mention" || g.Type == "status" || g.Type == "update" || g.Type == "quote"
	return v
}

// markRead moves the notifications marker to id; a failure only leaves
// the badge up, so it is logged, not shown.
func (h *Handler) markRead(c *fiber.Ctx, id string) {
	if !validID(id) {
		return
	}
	if err := h.send(c, fiber.MethodPost, "/api/v1/markers", url.Values{"notifications[last_read_id]": {id}}, nil); err != nil {
		h.log(c).WarnContext(c.UserContext(), "web app: notifications marker", "err", err)
	}
}

// unread is the unread notifications count, for the script's badge.
func (h *Handler) unread(c *fiber.Ctx) error {
	var n struct {
		Count int64 `json:"count"`
	}
	if err := h.get(c, "/api/v1/notifications/unread_count", nil, &n); err != nil {
		return h.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"count": strconv.FormatInt(n.Count, 10)})
}
