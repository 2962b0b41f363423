package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/timeline"
)

// renderExtra is what one request's renderer knows beyond the views: the
// place its route shows statuses in (h.in; "" for none) and, read once
// when first needed, what the viewer hides there (timeline.Lens).
type renderExtra struct {
	place filter.Where
	lens  *timeline.Lens
}

func (h *Handler) newRenderExtra(c *fiber.Ctx) *renderExtra {
	return &renderExtra{place: placeOf(c)}
}

// loadExtra reads what the viewer hides here, once; a failed read is an
// error every time, never an empty lens that hides nothing.
func (r *renderer) loadExtra() error {
	x := r.extra
	if x.lens != nil {
		return nil
	}
	var viewings timeline.Viewings = r.h.Filters
	if r.h.Viewings != nil {
		viewings = r.h.Viewings // the node's cache (instance_cache.go)
	}
	lens, err := timeline.Open(r.ctx, viewings, r.viewer, r.site.Domain, x.place)
	if err != nil {
		return err
	}
	x.lens = lens
	return nil
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

// hidesNotificationFrom reports whether a notification from v is left
// out (timeline.Lens); failing to read the viewer's hides is an error,
// never a notification shown that should have been hidden.
func (r *renderer) hidesNotificationFrom(v *federation.AccountView) (bool, error) {
	if r.viewer == 0 || r.extra == nil || r.extra.place == "" || r.h.Filters == nil {
		return false, nil
	}
	if err := r.loadExtra(); err != nil {
		return false, err
	}
	return r.extra.lens.HidesNotificationFrom(v), nil
}

// FilterResult is Mastodon's FilterResult entity.
type FilterResult struct {
	Filter         *FilterEntity `json:"filter"`
	KeywordMatches []string      `json:"keyword_matches"`
	StatusMatches  []string      `json:"status_matches"`
}

// decorate finishes rendered statuses: custom emojis of local posts, then
// (for a signed-in viewer, in a timeline, notifications or a thread) what
// the viewer hides there (timeline.Lens): a hidden status is dropped, a
// warn filter fills its filtered field.
func (r *renderer) decorate(out []*Status, views []*federation.StatusView, origs map[int64]*federation.StatusView,
	accounts map[int64]*federation.AccountView) ([]*Status, error) {
	if len(out) == 0 || r.h.Emojis == nil && r.h.Filters == nil {
		return out, nil
	}
	byID := make(map[string]*federation.StatusView, len(views)+len(origs))
	for _, v := range views {
		byID[idStr(v.ID)] = v
	}
	for _, v := range origs {
		byID[idStr(v.ID)] = v
	}
	if r.h.Emojis != nil {
		if err := r.addEmojis(out, byID); err != nil {
			return nil, err
		}
		if err := r.addAccountEmojis(statusAccounts(out), accounts); err != nil { // statusroutes.go
			return nil, err
		}
	}
	if r.viewer == 0 || r.extra == nil || r.extra.place == "" || r.h.Filters == nil {
		return out, nil
	}
	if err := r.loadExtra(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, s := range out {
		if r.keep(s, byID, accounts) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// keep reports whether s stays shown (timeline.Lens decides, from the
// views), filling its filtered field with the warn filters it matched.
func (r *renderer) keep(s *Status, byID map[string]*federation.StatusView, accounts map[int64]*federation.AccountView) bool {
	e := timeline.Entry{Status: byID[s.ID]}
	if e.Status == nil {
		return true
	}
	e.Author = accounts[e.Status.AccountID]
	if s.Reblog != nil {
		if e.Boosted = byID[s.Reblog.ID]; e.Boosted != nil {
			e.BoostedAuthor = accounts[e.Boosted.AccountID]
		}
	}
	verdict := r.extra.lens.Status(e)
	if verdict.Hidden {
		return false
	}
	var results []any
	for _, m := range verdict.Warn {
		fr := FilterResult{Filter: filterEntity(m.Filter, false), KeywordMatches: m.Keywords, StatusMatches: nil}
		for _, id := range m.StatusIDs {
			fr.StatusMatches = append(fr.StatusMatches, idStr(id))
		}
		results = append(results, fr)
	}
	if len(results) > 0 {
		s.Filtered = &results
		if s.Reblog != nil {
			s.Reblog.Filtered = &results
		}
	}
	return true
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
	found, err := r.h.Emojis.EmojisByShortcode(r.ctx, tenants, codes)
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
