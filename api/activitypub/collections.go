package activitypub

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// pageSize is the number of items per collection page.
const pageSize = 20

// pager loads one page (limit 0: the total only): its items, the paging
// key of the last one, and the collection's total.
type pager func(maxID int64, limit int) (items []any, last, total int64, err error)

// collection renders an OrderedCollection, or with ?page=true one page of
// it, newest first, paged by max_id.
func (h *Handler) collection(c *fiber.Ctx, id string, load pager) error {
	if c.Query("page") == "" {
		_, _, total, err := load(0, 0)
		if err != nil {
			return err
		}
		return sendJSON(c, ap.ContentType, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "OrderedCollection",
			"totalItems": total, "first": id + "?page=true",
		})
	}
	maxID, _ := strconv.ParseInt(c.Query("max_id"), 10, 64)
	items, last, total, err := load(maxID, pageSize)
	if err != nil {
		return err
	}
	page := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "type": "OrderedCollectionPage",
		"id": id + "?page=true", "partOf": id, "totalItems": total, "orderedItems": items,
	}
	if maxID > 0 {
		page["id"] = id + "?page=true&max_id=" + strconv.FormatInt(maxID, 10)
	}
	if len(items) == pageSize {
		page["next"] = id + "?page=true&max_id=" + strconv.FormatInt(last, 10)
	}
	return sendJSON(c, ap.ContentType, page)
}

// outbox lists the account's public and unlisted posts as Create
// activities; followers-only and direct posts never appear.
func (h *Handler) outbox(c *fiber.Ctx) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	links := httpx.Links(c, h.URL)
	me := links.Actor(acct.Username)
	return h.collection(c, links.Outbox(acct.Username), func(maxID int64, limit int) ([]any, int64, int64, error) {
		sts, total, err := h.Collections.OutboxPage(c.UserContext(), acct.ID, maxID, limit)
		items := make([]any, 0, len(sts))
		var last int64
		for _, st := range sts {
			url := links.Profile(acct.Username) + "/" + strconv.FormatInt(st.ID, 10)
			items = append(items, ap.Wrap("Create", st.URI+"/activity", me, ap.NewNote(st, me, url), st.To, st.Cc))
			last = st.ID
		}
		return items, last, total, err
	})
}

// featured is the account's pinned posts, embedded as Notes (Mastodon's
// featured collection: small, not paged).
func (h *Handler) featured(c *fiber.Ctx) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	sts, err := h.Collections.Featured(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	links := httpx.Links(c, h.URL)
	me := links.Actor(acct.Username)
	items := make([]any, 0, len(sts))
	for _, st := range sts {
		items = append(items, ap.NewNote(st, me, links.Profile(acct.Username)+"/"+strconv.FormatInt(st.ID, 10)))
	}
	return sendJSON(c, ap.ContentType, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": links.Featured(acct.Username),
		"type": "OrderedCollection", "totalItems": len(items), "orderedItems": items,
	})
}

func (h *Handler) followers(c *fiber.Ctx) error { return h.follows(c, true) }
func (h *Handler) following(c *fiber.Ctx) error { return h.follows(c, false) }

// follows lists the actor URIs of accepted followers or followees.
func (h *Handler) follows(c *fiber.Ctx, followers bool) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	links := httpx.Links(c, h.URL)
	page, id := h.Collections.FollowingPage, links.Following(acct.Username)
	if followers {
		page, id = h.Collections.FollowersPage, links.Followers(acct.Username)
	}
	return h.collection(c, id, func(maxID int64, limit int) ([]any, int64, int64, error) {
		refs, total, err := page(c.UserContext(), acct.ID, maxID, limit)
		items := make([]any, 0, len(refs))
		var last int64
		for _, r := range refs {
			if uri := h.actorURI(c, r); uri != "" {
				items = append(items, uri)
			}
			last = r.ID
		}
		return items, last, total, err
	})
}

// actorURI is a remote actor's URI, or a local account's on its own site.
func (h *Handler) actorURI(c *fiber.Ctx, r federation.ActorRef) string {
	if r.URI != "" {
		return r.URI
	}
	site, err := h.Sites.Resolve(c.UserContext(), r.Domain)
	if err != nil {
		return ""
	}
	return federation.NewLinks(h.URL.Scheme, site.ActorHost(), h.URL.Port).Actor(r.Username)
}
