package activitypub

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// activity serves an activity id of the shape …/statuses/:id/activity as
// the ActivityPub document it names, as Mastodon does: a boost's id is
// its Announce, a post's is its Create. Only what the post's own id
// would serve is served (public and unlisted posts, their author's),
// and a boost of anything else is 404. Browsers never get here: the
// public pages redirect them to the post (api/public).
func (h *Handler) activity(c *fiber.Ctx) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	id := c.Params("id")
	if _, err := strconv.ParseUint(id, 10, 63); err != nil {
		return errs.E(errs.NotFound, "no such activity")
	}
	c.Vary(fiber.HeaderAccept)
	links := httpx.Links(c, h.URL)
	me := links.Actor(acct.Username)
	uri := me + "/statuses/" + id + "/activity"
	if h.Boosts != nil {
		boost, of, err := h.Boosts.BoostByURI(c.UserContext(), uri)
		switch {
		case err == nil:
			if boost.AccountID != acct.ID || !shown(of.Visibility) {
				return errs.E(errs.NotFound, "no such activity")
			}
			doc := ap.Wrap("Announce", boost.URI, me, of.URI, boost.To, boost.Cc)
			doc["published"] = boost.Published.UTC().Format("2006-01-02T15:04:05Z")
			return sendJSON(c, ap.ContentType, doc)
		case !errs.Is(err, errs.NotFound):
			return err
		}
	}
	st, err := h.Statuses.StatusByURI(c.UserContext(), me+"/statuses/"+id)
	if err != nil {
		return err
	}
	if (st.AccountID != acct.ID && acct.MovedTo == "") || !shown(st.Visibility) {
		return errs.E(errs.NotFound, "no such activity")
	}
	note := ap.NewNote(st, me, links.Profile(acct.Username)+"/"+id)
	doc := ap.Wrap("Create", uri, me, note, st.To, st.Cc)
	doc["published"] = st.Published.UTC().Format("2006-01-02T15:04:05Z")
	return sendJSON(c, ap.ContentType, doc)
}

// shown reports whether posts of visibility v are served to anyone who
// asks: public and unlisted ones, never followers-only or direct.
func shown(v federation.Visibility) bool {
	return v == federation.Public || v == federation.Unlisted
}
