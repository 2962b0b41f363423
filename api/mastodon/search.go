package mastodon

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

func (h *Handler) registerSearch(v1, v2 fiber.Router) {
	v2.Get("/search", h.optional("read:search"), h.search)
	v1.Get("/accounts/search", h.optional("read:accounts"), h.accountSearch)
	v1.Get("/accounts/familiar_followers", h.need("read:follows"), h.familiarFollowers)
}

// tagNameRE is a valid hashtag name, as posts make them.
var tagNameRE = regexp.MustCompile(`^[\p{L}\p{N}_]{1,100}$`)

// handleRE is user@host (an acct), user alone, or with a leading @.
var handleRE = regexp.MustCompile(`^@?([A-Za-z0-9_.-]{1,200})(?:@([A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?))?$`)

// SearchResults is Mastodon's Search entity.
type SearchResults struct {
	Accounts []*Account `json:"accounts"`
	Statuses []*Status  `json:"statuses"`
	Hashtags []*TagJSON `json:"hashtags"`
}

// TagJSON is Mastodon's Tag entity with its history.
type TagJSON struct {
	Name      string       `json:"name"`
	URL       string       `json:"url"`
	History   []TagDayJSON `json:"history"`
	Following *bool        `json:"following,omitempty"`
}

// TagDayJSON is one day of a hashtag's history: strings, as on Mastodon.
type TagDayJSON struct {
	Day      string `json:"day"`
	Uses     string `json:"uses"`
	Accounts string `json:"accounts"`
}

func (h *Handler) tagEntity(c *fiber.Ctx, st federation.TagStats) *TagJSON {
	t := &TagJSON{Name: st.Name, URL: httpx.SiteBase(c, h.URL) + "/tags/" + url.PathEscape(st.Name), History: []TagDayJSON{}}
	for _, d := range st.History {
		t.History = append(t.History, TagDayJSON{Day: strconv.FormatInt(d.Day.Unix(), 10),
			Uses: strconv.FormatInt(d.Uses, 10), Accounts: strconv.FormatInt(d.Accounts, 10)})
	}
	if viewer(c) != 0 {
		t.Following = boolPtr(false) // followed hashtags are not supported yet
	}
	return t
}

// searchParams are the parameters both account searches and /v2/search
// share.
type searchParams struct {
	q         string
	resolve   bool
	following bool
	limit     int
	offset    int
}

func readSearch(c *fiber.Ctx, p params, defLimit, maxLimit int) (searchParams, error) {
	sp := searchParams{q: strings.TrimSpace(p.str("q")), limit: defLimit}
	if sp.q == "" {
		return sp, errs.E(errs.Invalid, "q is required")
	}
	if len(sp.q) > 500 {
		return sp, errs.E(errs.Invalid, "q is too long")
	}
	sp.resolve, _ = p.boolean("resolve")
	sp.following, _ = p.boolean("following")
	if l, err := strconv.Atoi(p.str("limit")); err == nil && l > 0 {
		sp.limit = min(l, maxLimit)
	}
	if o, err := strconv.Atoi(p.str("offset")); err == nil && o > 0 {
		sp.offset = min(o, 10000)
	}
	if viewer(c) == 0 {
		sp.resolve, sp.following = false, false // lookups on the network need a signed-in user
	}
	return sp, nil
}

func (h *Handler) search(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	sp, err := readSearch(c, p, 20, 40)
	if err != nil {
		return err
	}
	typ := p.str("type")
	switch typ {
	case "", "accounts", "hashtags", "statuses":
	default:
		return errs.E(errs.Invalid, "type must be accounts, hashtags or statuses")
	}
	want := func(t string) bool { return typ == "" || typ == t }
	out := &SearchResults{Accounts: []*Account{}, Statuses: []*Status{}, Hashtags: []*TagJSON{}}

	// A URL names one thing: an account or a post, here or elsewhere.
	if isURL(sp.q) {
		acct, statusID, err := h.resolveURL(c, sp.q, sp.resolve)
		if err != nil {
			return err
		}
		if acct != 0 && want("accounts") {
			if a, err := h.oneAccount(c, acct); err == nil {
				out.Accounts = append(out.Accounts, a)
			}
		}
		if statusID != 0 && want("statuses") {
			if s, err := h.oneStatus(c, statusID); err == nil {
				out.Statuses = append(out.Statuses, s)
			}
		}
		return c.JSON(out)
	}
	if want("accounts") {
		if out.Accounts, err = h.searchAccounts(c, sp); err != nil {
			return err
		}
	}
	if want("hashtags") {
		if out.Hashtags, err = h.searchTags(c, sp); err != nil {
			return err
		}
	}
	if want("statuses") && viewer(c) != 0 {
		q := federation.StatusQuery{Text: sp.q, ViewerID: viewer(c), Limit: sp.limit, Offset: sp.offset}
		q.AccountID, _ = strconv.ParseInt(p.str("account_id"), 10, 64)
		q.MaxID, _ = strconv.ParseInt(p.str("max_id"), 10, 64)
		q.MinID, _ = strconv.ParseInt(p.str("min_id"), 10, 64)
		ids, err := h.More.SearchStatuses(c.UserContext(), q)
		if err != nil {
			return err
		}
		r := h.renderer(c)
		views, err := h.Views.StatusViews(c.UserContext(), r.seer, ids)
		if err != nil {
			return err
		}
		ss, err := r.statuses(views)
		if err != nil {
			return err
		}
		out.Statuses = append(out.Statuses, ss...)
	}
	return c.JSON(out)
}

func (h *Handler) accountSearch(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	sp, err := readSearch(c, p, 40, 80)
	if err != nil {
		return err
	}
	out, err := h.searchAccounts(c, sp)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// searchAccounts finds accounts: an exact handle first (looked up on the
// network with resolve), then prefix matches on username or display name.
func (h *Handler) searchAccounts(c *fiber.Ctx, sp searchParams) ([]*Account, error) {
	q := federation.AccountQuery{Text: strings.TrimPrefix(sp.q, "@"), ViewerID: viewer(c), Following: sp.following,
		Limit: sp.limit, Offset: sp.offset}
	var first int64
	if m := handleRE.FindStringSubmatch(sp.q); m != nil {
		q.Text = m[1]
		if m[2] != "" {
			q.Domain = strings.ToLower(m[2])
			if sp.offset == 0 {
				first = h.exactAccount(c, m[1], m[2], sp.resolve)
			}
		}
	}
	ids, err := h.More.SearchAccounts(c.UserContext(), q)
	if err != nil {
		return nil, err
	}
	if first != 0 {
		rest := []int64{first}
		for _, id := range ids {
			if id != first {
				rest = append(rest, id)
			}
		}
		ids = rest[:min(len(rest), sp.limit)]
	}
	return h.accountList(c, ids)
}

// exactAccount is the account a handle names (0: none): a local one, or
// with resolve a remote one looked up now through WebFinger. The client
// only learns "no match" when that lookup fails, as on Mastodon, so the
// failure is logged with the host and the reason: otherwise an operator
// has nothing to go on (a peer down, a TLS error, a refused signature).
func (h *Handler) exactAccount(c *fiber.Ctx, user, host string, resolve bool) int64 {
	a, err := h.findAcct(c, user+"@"+host, false)
	if !resolve || (err == nil && a.Remote == nil) || h.isOurHost(c, host) {
		if err != nil {
			return 0
		}
		return a.ID
	}
	ctx := c.UserContext()
	found, rerr := h.Outbox.Resolve(federation.WithActingHost(ctx, httpx.SiteOf(c).ActorHost()), user+"@"+host)
	if rerr != nil {
		httpx.Log(c).WarnContext(ctx, "search: account not resolved", "acct", user+"@"+host, "host", strings.ToLower(host), "err", rerr)
		if err == nil {
			return a.ID // the copy we already knew
		}
		return 0
	}
	return found.ID
}

// isOurHost reports whether host is a domain of this instance (any tenant).
func (h *Handler) isOurHost(c *fiber.Ctx, host string) bool {
	norm, err := tenant.NormalizeHost(host)
	if err != nil {
		return false
	}
	_, err = h.Sites.Resolve(c.UserContext(), norm)
	return err == nil
}

// accountList renders accounts in order.
func (h *Handler) accountList(c *fiber.Ctx, ids []int64) ([]*Account, error) {
	views, err := h.Views.AccountViews(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	r := h.renderer(c)
	out := make([]*Account, 0, len(ids))
	for _, id := range ids {
		if v, ok := views[id]; ok {
			out = append(out, r.account(v))
		}
	}
	return out, nil
}

// searchTags finds the tenant's hashtags by prefix; a valid name comes
// first as itself, used or not, as on Mastodon.
func (h *Handler) searchTags(c *fiber.Ctx, sp searchParams) ([]*TagJSON, error) {
	name := strings.ToLower(strings.TrimPrefix(sp.q, "#"))
	if !tagNameRE.MatchString(name) {
		return []*TagJSON{}, nil
	}
	names, err := h.More.SearchTags(c.UserContext(), httpx.SiteOf(c).TenantID, name, sp.limit, sp.offset)
	if err != nil {
		return nil, err
	}
	if sp.offset == 0 && !contains(names, name) {
		names = append([]string{name}, names...)
		names = names[:min(len(names), sp.limit)]
	}
	out := make([]*TagJSON, 0, len(names))
	for _, n := range names {
		out = append(out, h.tagEntity(c, federation.TagStats{Name: n}))
	}
	return out, nil
}

func isURL(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsAny(s, " \t\n")
}

// resolveURL finds the account or status a URL names: one of this
// instance's (on any tenant), or a remote one we know, or (resolve) one
// fetched now. Nothing found is no result, not an error.
func (h *Handler) resolveURL(c *fiber.Ctx, raw string, resolve bool) (accountID, statusID int64, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Host == "" {
		return 0, 0, nil
	}
	ctx := c.UserContext()
	if host, err := tenant.NormalizeHost(u.Host); err == nil {
		if site, err := h.Sites.Resolve(ctx, host); err == nil {
			a, s := h.localURL(c, site, u.Path)
			return a, s, nil
		}
	}
	if a, err := h.Outbox.Keys.Store.RemoteActorByURI(ctx, raw); err == nil {
		return a.ID, 0, nil
	}
	if st, err := h.Outbox.Store.StatusByURI(ctx, raw); err == nil {
		return 0, st.ID, nil
	}
	if !resolve {
		return 0, 0, nil
	}
	a, st, err := h.Outbox.ResolveURL(federation.WithActingHost(ctx, httpx.SiteOf(c).ActorHost()), raw)
	if err != nil {
		httpx.Log(c).WarnContext(ctx, "search: URL not resolved", "url", raw, "host", strings.ToLower(u.Hostname()), "err", err)
		return 0, 0, nil
	}
	if a != nil {
		return a.ID, 0, nil
	}
	return 0, st.ID, nil
}

// localURL reads a local profile or post URL: /@name, /users/name,
// /@name/ID, /users/name/statuses/ID.
func (h *Handler) localURL(c *fiber.Ctx, site *tenant.Site, path string) (int64, int64) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var user, status string
	switch {
	case len(parts) >= 1 && strings.HasPrefix(parts[0], "@"):
		user = strings.TrimPrefix(parts[0], "@")
		if len(parts) == 2 {
			status = parts[1]
		} else if len(parts) > 2 {
			return 0, 0
		}
	case len(parts) >= 2 && parts[0] == "users":
		user = parts[1]
		if len(parts) == 4 && parts[2] == "statuses" {
			status = parts[3]
		} else if len(parts) != 2 {
			return 0, 0
		}
	default:
		return 0, 0
	}
	a, err := h.Accounts.AccountByUsername(c.UserContext(), site.TenantID, site.Domain, user)
	if err != nil {
		return 0, 0
	}
	if status == "" {
		return a.ID, 0
	}
	id, err := strconv.ParseInt(status, 10, 64)
	if err != nil {
		return 0, 0
	}
	st, err := h.Client.StatusByID(c.UserContext(), id)
	if err != nil || st.AccountID != a.ID {
		return 0, 0
	}
	return 0, st.ID
}

func (h *Handler) familiarFollowers(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	type familiar struct {
		ID       string     `json:"id"`
		Accounts []*Account `json:"accounts"`
	}
	out := []familiar{}
	ids := p.list("id")
	if len(ids) > 40 {
		ids = ids[:40]
	}
	for _, raw := range ids {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		who, err := h.More.FamiliarFollowers(c.UserContext(), viewer(c), id, 40)
		if err != nil {
			return err
		}
		accts, err := h.accountList(c, who)
		if err != nil {
			return err
		}
		out = append(out, familiar{ID: idStr(id), Accounts: accts})
	}
	return c.JSON(out)
}
