package webapp

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// Search is the client API's v2 search with resolve=true, as apps ask
// it: accounts, hashtags and posts this site knows, and a remote handle
// or URL looked up on its server (the search use case's rules: who may
// resolve, the outbound budgets, what the viewer may see).

func (h *Handler) registerSearch(r fiber.Router) {
	r.Get("/search", h.app(h.searchPage))
}

// maxQuery bounds what the search box sends on.
const maxQuery = 500

// searchData is the search page's.
type searchData struct {
	Title    string
	Query    string
	Searched bool
	People   []*person
	Tags     []*mastodon.TagJSON
	Posts    []*post
}

func (h *Handler) searchPage(c *fiber.Ctx) error {
	d := &searchData{Title: "Search", Query: strings.TrimSpace(c.Query("q"))}
	if len(d.Query) > maxQuery {
		d.Query = d.Query[:maxQuery]
	}
	if d.Query == "" {
		return h.render(c, "search_page", d)
	}
	var found mastodon.SearchResults
	q := url.Values{"q": {d.Query}, "resolve": {"true"}, "limit": {"20"}}
	if err := h.get(c, "/api/v2/search", q, &found); err != nil {
		return h.fail(c, err)
	}
	d.Searched = true
	l := h.looks(c)
	for _, a := range found.Accounts {
		d.People = append(d.People, l.person(a))
	}
	d.Tags = found.Hashtags
	d.Posts = l.posts(found.Statuses)
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	return h.render(c, "search_page", d)
}
