package mastodon

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
)

// MoreStores are the stores behind lists, filters, conversations, custom
// emojis, domain blocks, reports, search and trends.
type MoreStores interface {
	federation.ListStore
	federation.FilterStore
	federation.ConversationStore
	federation.EmojiStore
	federation.DomainBlockStore
	federation.ReportStore
	federation.SearchStore
	federation.TrendStore
}

// RelMe verifies a local account's profile links in the background.
type RelMe interface {
	// Start checks the account's unverified link fields against its own
	// URLs (linkBacks), without holding up the caller.
	Start(accountID int64, linkBacks []string)
}

// registerMore mounts search, lists, filters, conversations, custom
// emojis, domain blocks, reports, trends and tags. It runs before
// registerAccounts: /accounts/search and /accounts/familiar_followers
// must win over /accounts/:id.
func (h *Handler) registerMore(r, api, v1 fiber.Router) {
	if h.More == nil {
		return
	}
	v2 := api.Group("/v2")
	h.registerSearch(v1, v2)
	h.registerLists(v1)
	h.registerFilters(v1, v2)
	h.registerConversations(v1)
	h.registerEmojis(r, v1)
	h.registerModeration(v1)
	h.registerTrends(v1)
}

// Render contexts: where statuses are being shown, which decides the
// filters and domain blocks that apply.
const (
	ctxHome          = "home"
	ctxList          = "list"
	ctxPublic        = "public"
	ctxNotifications = "notifications"
	ctxThread        = "thread"
	ctxAccount       = "account"
)

// renderContextOf tells a request's render context from its path.
func renderContextOf(path string) string {
	switch {
	case path == "/api/v1/timelines/home":
		return ctxHome
	case strings.HasPrefix(path, "/api/v1/timelines/list/"):
		return ctxList
	case path == "/api/v1/timelines/public" || strings.HasPrefix(path, "/api/v1/timelines/tag/"):
		return ctxPublic
	case strings.HasPrefix(path, "/api/v1/notifications"):
		return ctxNotifications
	case strings.HasPrefix(path, "/api/v1/statuses/") && strings.HasSuffix(path, "/context"):
		return ctxThread
	case strings.HasPrefix(path, "/api/v1/accounts/") && strings.HasSuffix(path, "/statuses"):
		return ctxAccount
	}
	return ""
}

// filterContext is the filter context of a render context.
func filterContext(renderCtx string) string {
	if renderCtx == ctxList {
		return federation.FilterHome
	}
	return renderCtx
}

// renderExtra is what one request's renderer knows beyond the views: its
// context and, read once when first needed, the viewer's filters, blocked
// domains and exclusive list members.
type renderExtra struct {
	context   string
	loaded    bool
	filters   []*federation.Filter
	domains   []string
	exclusive map[int64]bool
}

func (h *Handler) newRenderExtra(c *fiber.Ctx) *renderExtra {
	return &renderExtra{context: renderContextOf(c.Path())}
}

// load reads the viewer's filters and what they hide, once.
func (r *renderer) loadExtra() error {
	x := r.extra
	if x.loaded {
		return nil
	}
	x.loaded = true
	filters, err := r.h.More.Filters(r.ctx, r.viewer)
	if err != nil {
		return err
	}
	x.filters = filters
	domains, exclusive, err := r.h.More.Hidden(r.ctx, r.viewer)
	if err != nil {
		return err
	}
	x.domains = domains
	x.exclusive = map[int64]bool{}
	for _, id := range exclusive {
		x.exclusive[id] = true
	}
	return nil
}

// hidesDomains reports whether domain blocks apply in this context: the
// timelines, notifications and threads, not an account's own page.
func (x *renderExtra) hidesDomains() bool {
	switch x.context {
	case ctxHome, ctxList, ctxPublic, ctxNotifications, ctxThread:
		return true
	}
	return false
}

// acctDomain is the domain of a rendered account ("" for the site's own).
func acctDomain(a *Account) string {
	if a == nil {
		return ""
	}
	if i := strings.LastIndexByte(a.Acct, '@'); i >= 0 {
		return strings.ToLower(a.Acct[i+1:])
	}
	return ""
}

// hiddenAccount reports whether the viewer hides this account here.
func (r *renderer) hiddenAccount(a *Account) bool {
	if r.extra == nil || !r.extra.hidesDomains() || len(r.extra.domains) == 0 {
		return false
	}
	d := acctDomain(a)
	return d != "" && federation.DomainHidden(r.extra.domains, d)
}

// hidesNotificationFrom reports whether a notification from v is left
// out: its account's domain is blocked by the viewer.
func (r *renderer) hidesNotificationFrom(v *federation.AccountView) bool {
	if r.viewer == 0 || r.extra == nil || r.h.More == nil || v.Remote == nil && v.Domain == r.site.Domain {
		return false
	}
	if err := r.loadExtra(); err != nil {
		return false
	}
	return r.extra.hidesDomains() && federation.DomainHidden(r.extra.domains, strings.ToLower(v.Domain))
}

// FilterResult is Mastodon's FilterResult entity.
type FilterResult struct {
	Filter         *FilterEntity `json:"filter"`
	KeywordMatches []string      `json:"keyword_matches"`
	StatusMatches  []string      `json:"status_matches"`
}

// decorate finishes rendered statuses: custom emojis of local posts, then
// (for a signed-in viewer, in a timeline, notifications or a thread) the
// viewer's domain blocks, exclusive lists and filters: hide drops a
// status, warn fills its filtered field.
func (r *renderer) decorate(out []*Status, views []*federation.StatusView, origs map[int64]*federation.StatusView) ([]*Status, error) {
	if len(out) == 0 || r.h.More == nil {
		return out, nil
	}
	byID := make(map[string]*federation.StatusView, len(views)+len(origs))
	for _, v := range views {
		byID[idStr(v.ID)] = v
	}
	for _, v := range origs {
		byID[idStr(v.ID)] = v
	}
	if err := r.addEmojis(out, byID); err != nil {
		return nil, err
	}
	if r.viewer == 0 || r.extra == nil || r.extra.context == "" {
		return out, nil
	}
	if err := r.loadExtra(); err != nil {
		return nil, err
	}
	x := r.extra
	now := time.Now()
	kept := out[:0]
	for _, s := range out {
		shown := s
		if s.Reblog != nil {
			shown = s.Reblog
		}
		if r.hiddenAccount(s.Account) || r.hiddenAccount(shown.Account) {
			continue
		}
		if x.context == ctxHome && s.Account != nil && x.exclusive[parseID(s.Account.ID)] {
			continue
		}
		v := byID[shown.ID]
		if v == nil || v.AccountID == r.viewer || len(x.filters) == 0 {
			kept = append(kept, s)
			continue
		}
		matches := federation.MatchFilters(x.filters, filterContext(x.context), now, v.ID, federation.FilterText(v.Status))
		hide := false
		var results []any
		for _, m := range matches {
			if m.Filter.Action == federation.FilterHide {
				hide = true
				break
			}
			fr := FilterResult{Filter: filterEntity(m.Filter, false), KeywordMatches: m.Keywords, StatusMatches: nil}
			for _, id := range m.StatusIDs {
				fr.StatusMatches = append(fr.StatusMatches, idStr(id))
			}
			results = append(results, fr)
		}
		if hide {
			continue
		}
		if len(results) > 0 {
			s.Filtered = results
			if s.Reblog != nil {
				s.Reblog.Filtered = results
			}
		}
		kept = append(kept, s)
	}
	return kept, nil
}

// addEmojis fills the emojis of local posts (and their content warnings)
// that use their tenant's :shortcode:s: one query per page.
func (r *renderer) addEmojis(out []*Status, byID map[string]*federation.StatusView) error {
	type use struct {
		s         *Status
		tenant    int64
		codes     []string
		authorDom string
	}
	var uses []use
	var tenants []int64
	var codes []string
	seenT, seenC := map[int64]bool{}, map[string]bool{}
	visit := func(s *Status) {
		v := byID[s.ID]
		if v == nil || v.TenantID == 0 || v.ReblogOfID != 0 {
			return
		}
		cs := federation.Shortcodes(v.Summary+" "+v.Content, 32)
		if len(cs) == 0 {
			return
		}
		dom := acctDomain(s.Account)
		if dom == "" {
			dom = r.site.Domain
		}
		uses = append(uses, use{s: s, tenant: v.TenantID, codes: cs, authorDom: dom})
		if !seenT[v.TenantID] {
			seenT[v.TenantID] = true
			tenants = append(tenants, v.TenantID)
		}
		for _, c := range cs {
			if !seenC[c] {
				seenC[c] = true
				codes = append(codes, c)
			}
		}
	}
	for _, s := range out {
		visit(s)
		if s.Reblog != nil {
			visit(s.Reblog)
		}
	}
	if len(uses) == 0 {
		return nil
	}
	found, err := r.h.More.EmojisByShortcode(r.ctx, tenants, codes)
	if err != nil {
		return err
	}
	type key struct {
		tenant int64
		code   string
	}
	byKey := map[key]federation.CustomEmoji{}
	for _, e := range found {
		byKey[key{e.TenantID, e.Shortcode}] = e
	}
	for _, u := range uses {
		base := r.linksFor(u.authorDom).Base
		for _, c := range u.codes {
			if e, ok := byKey[key{u.tenant, c}]; ok {
				u.s.Emojis = append(u.s.Emojis, emojiEntity(base, e))
			}
		}
	}
	return nil
}
