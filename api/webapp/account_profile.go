package webapp

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/internal/errs"
)

// Profiles inside the app: any account the client API shows the viewer,
// local or remote, at /accounts/:id (and /@user@domain, looked up or
// resolved as the search does), with its posts and the follow button
// (the /accounts/:id/follow action, the client API's follow).

func (h *Handler) registerAccounts(r fiber.Router) {
	r.Get("/accounts/:id", h.app(h.accountPage))
	// /@name is the public page; /@name@domain, for a signed-in viewer,
	// is the profile inside the app (the public pages know no remote
	// accounts: they answer 404 to it).
	r.Get("/@:acct", h.remoteProfile)
	r.Get("/follow_requests", h.app(h.followRequests))
	r.Post("/follow_requests/:id/:answer", h.action(h.answerFollowRequest))
}

// profileView is an account's page.
type profileView struct {
	Title   string
	Person  *person
	Account *mastodon.Account
	Note    template.HTML
	Fields  []shownField
	Posts   []*post
	Next    string
	// Moved is the account it moved to, when it did.
	Moved *person
}

// shownField is a profile field as shown (its value is sanitised HTML,
// as the client API serves it).
type shownField struct {
	Name     string
	Value    template.HTML
	Verified bool
}

func (h *Handler) accountPage(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such account"))
	}
	var a mastodon.Account
	if err := h.get(c, "/api/v1/accounts/"+id, nil, &a); err != nil {
		return h.fail(c, err)
	}
	return h.showAccount(c, &a)
}

// remoteProfile is /@user@domain for a signed-in viewer: the account as
// the client API looks it up, or resolves it (v2 search, resolve=true).
func (h *Handler) remoteProfile(c *fiber.Ctx) error {
	acct, err := url.PathUnescape(c.Params("acct"))
	if err != nil || !strings.Contains(acct, "@") || strings.HasSuffix(acct, ".rss") || len(acct) > 300 {
		return c.Next()
	}
	v, err := h.loadViewer(c)
	if err != nil {
		return h.fail(c, err)
	}
	if v == nil {
		return c.Next()
	}
	var a mastodon.Account
	err = h.get(c, "/api/v1/accounts/lookup", url.Values{"acct": {acct}}, &a)
	if errs.Is(err, errs.NotFound) {
		var found mastodon.SearchResults
		q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "type": {"accounts"}, "limit": {"1"}}
		if err = h.get(c, "/api/v2/search", q, &found); err == nil {
			if len(found.Accounts) == 0 {
				return h.fail(c, errs.E(errs.NotFound, "no such account"))
			}
			a = *found.Accounts[0]
		}
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.showAccount(c, &a)
}

func (h *Handler) showAccount(c *fiber.Ctx, a *mastodon.Account) error {
	l := h.looks(c)
	d := &profileView{Title: a.DisplayName, Account: a, Person: l.person(a), Note: template.HTML(a.Note)}
	if d.Title == "" {
		d.Title = a.Username
	}
	for _, f := range a.Fields {
		d.Fields = append(d.Fields, shownField{Name: f.Name, Value: template.HTML(f.Value), Verified: f.VerifiedAt != nil})
	}
	if a.Moved != nil {
		d.Moved = l.person(a.Moved)
	}
	q := pageQuery(c, url.Values{})
	var ss []*mastodon.Status
	link, err := h.call(c, fiber.MethodGet, "/api/v1/accounts/"+a.ID+"/statuses?"+q.Encode(), "", nil, &ss)
	if err != nil {
		return h.fail(c, err)
	}
	d.Posts = l.posts(ss)
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	d.Next, _ = pageLinks(c, link)
	return h.render(c, "account_profile", d)
}

// requestsData is the follow requests page's.
type requestsData struct {
	settingsData
	People []*person
}

func (h *Handler) followRequests(c *fiber.Ctx) error {
	var as []*mastodon.Account
	if err := h.get(c, "/api/v1/follow_requests", url.Values{"limit": {"80"}}, &as); err != nil {
		return h.fail(c, err)
	}
	d := &requestsData{settingsData: settingsBase(c, "Follow requests")}
	l := h.looks(c)
	for _, a := range as {
		d.People = append(d.People, l.person(a))
	}
	return h.render(c, "account_requests", d)
}

// answerFollowRequest is the client API's authorize or reject.
func (h *Handler) answerFollowRequest(c *fiber.Ctx) error {
	id, answer := c.Params("id"), c.Params("answer")
	if !validID(id) || (answer != "authorize" && answer != "reject") {
		return h.fail(c, errs.E(errs.NotFound, "no such request"))
	}
	if err := h.send(c, fiber.MethodPost, "/api/v1/follow_requests/"+id+"/"+answer, url.Values{}, nil); err != nil {
		return h.fail(c, err)
	}
	done := "accepted"
	if answer == "reject" {
		done = "rejected"
	}
	return c.Redirect("/follow_requests?done="+done, fiber.StatusSeeOther)
}
