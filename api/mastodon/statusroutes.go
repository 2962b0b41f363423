package mastodon

// Issue 17, status routes: several statuses at once, muting a thread,
// marking a conversation unread, deleting an unattached upload, and the
// media_attributes of a status edit.

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// maxStatusIDs is how many ids GET /api/v1/statuses takes, as Mastodon's
// DEFAULT_STATUSES_LIMIT: more is a 422.
const maxStatusIDs = 20

// registerStatusRoutes mounts the routes of this file and the instance's
// own (instance_routes.go) on the API group.
func (h *Handler) registerStatusRoutes(api fiber.Router) {
	v1 := api.Group("/v1")
	v1.Get("/statuses", h.optional("read:statuses"), h.statusesByID)
	if h.Threads != nil {
		v1.Post("/statuses/:id/mute", h.need("write:mutes"), h.muteThread(true))
		v1.Post("/statuses/:id/unmute", h.need("write:mutes"), h.muteThread(false))
		if h.Conversations != nil {
			v1.Post("/conversations/:id/unread", h.need("write:conversations"), h.unreadConversation)
		}
	}
	if h.Media != nil {
		v1.Delete("/media/:id", h.need("write:media"), h.deleteMedia)
	}
	h.registerInstanceRoutes(v1)
}

// statusesByID renders the statuses id[] names that the viewer may see,
// in the order given; the others are left out, as on Mastodon.
func (h *Handler) statusesByID(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, raw := range p.list("id") {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) > maxStatusIDs {
		return errs.E(errs.Invalid, "at most %d ids can be asked for at once", maxStatusIDs)
	}
	out := []*Status{}
	if len(ids) > 0 {
		r := h.renderer(c)
		views, err := h.Views.StatusViews(c.UserContext(), r.seer, ids)
		if err != nil {
			return err
		}
		if out, err = r.statuses(views); err != nil {
			return err
		}
		if out, err = h.withoutHiddenAuthors(c, out); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// withoutHiddenAuthors leaves out, as Mastodon's StatusFilter does for
// several statuses at once, those whose author (or boosted author) the
// signed-in viewer blocks, mutes or blocks the domain of.
func (h *Handler) withoutHiddenAuthors(c *fiber.Ctx, out []*Status) ([]*Status, error) {
	me := viewer(c)
	if me == 0 || len(out) == 0 {
		return out, nil
	}
	var ids []int64
	for _, a := range statusAccounts(out) {
		if id, _ := strconv.ParseInt(a.ID, 10, 64); id != me && id > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rels, err := h.Views.Relationships(c.UserContext(), me, ids)
	if err != nil {
		return nil, err
	}
	hidden := map[string]bool{}
	for _, rel := range rels {
		if rel.Blocking || rel.Muting || rel.DomainBlocking {
			hidden[idStr(rel.ID)] = true
		}
	}
	kept := out[:0]
	for _, s := range out {
		if !hidden[s.Account.ID] && (s.Reblog == nil || !hidden[s.Reblog.Account.ID]) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// muteThread mutes or unmutes the thread of a status the viewer may see,
// then renders the status (muted says which).
func (h *Handler) muteThread(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		if err := h.Threads.MuteThread(c.UserContext(), me.ID, id, on); err != nil {
			return err
		}
		return h.renderStatus(c, id)
	}
}

// unreadConversation marks one of the viewer's conversations unread.
func (h *Handler) unreadConversation(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Threads.MarkConversationUnread(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	cv, err := h.Conversations.Conversation(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	out, err := h.renderConversations(c.UserContext(), h.renderer(c), []federation.Conversation{*cv})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// deleteMedia deletes one of the viewer's uploads that no post carries:
// 422 while a post does, 404 for anyone else's.
func (h *Handler) deleteMedia(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Media.Delete(c.UserContext(), me.ID, id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

// mediaAttributes reads media_attributes[] of a status edit: a JSON array
// of objects, an indexed form (media_attributes[0][id]) or Rails' array
// of hashes (media_attributes[][id], zipped by position).
func mediaAttributes(p params) []media.Attribute {
	var entries []params
	switch v := p["media_attributes"].(type) {
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				entries = append(entries, params(m))
			}
		}
	case map[string]any:
		for i := 0; i < len(v); i++ {
			if m, ok := v[strconv.Itoa(i)].(map[string]any); ok {
				entries = append(entries, params(m))
			}
		}
	}
	out := make([]media.Attribute, 0, len(entries))
	for _, e := range entries {
		a := media.Attribute{ID: e.str("id")}
		if e.has("description") {
			d := e.str("description")
			a.Description = &d
		}
		if e.has("focus") {
			f := e.str("focus")
			a.Focus = &f
		}
		out = append(out, a)
	}
	return out
}

// addHashes reads Rails' array of hashes ("a[][k]=v", as
// media_attributes[][description]): the n-th value of each key goes to
// the n-th hash. (Rails starts a new hash when a key repeats, in the
// body's order, which a parsed form no longer has; clients send every
// key of every hash, or JSON.)
func addHashes(p params, name, key string, v []string) {
	list, _ := p[name].([]any)
	for i, s := range v {
		for len(list) <= i {
			list = append(list, map[string]any{})
		}
		if m, ok := list[i].(map[string]any); ok {
			m[key] = s
		}
	}
	p[name] = list
}

// editMedia reads media_ids[] and media_attributes[] of an edit of
// statusID: the attachments the edited post carries, with the alt text
// and focus the attributes give them, and save, which stores those on the
// uploads' records once the edit is stored.
func (h *Handler) editMedia(c *fiber.Ctx, me *federation.Account, p params, statusID int64) ([]federation.Attachment, func() error, error) {
	ids := p.list("media_ids")
	if len(ids) == 0 {
		return nil, func() error { return nil }, nil
	}
	if h.Media == nil {
		return nil, nil, errs.E(errs.Invalid, "media uploads are not available on this server")
	}
	as, err := h.Media.ForStatus(c.UserContext(), me.ID, ids, statusID)
	if err != nil {
		return nil, nil, err
	}
	changed, err := media.Describe(as, mediaAttributes(p))
	if err != nil {
		return nil, nil, err
	}
	base := h.renderer(c).linksFor(me.Domain).Base
	out := make([]federation.Attachment, 0, len(as))
	for _, a := range as {
		out = append(out, a.Federation(base))
	}
	save := func() error { return h.Media.Save(c.UserContext(), me.ID, statusID, changed) }
	return out, save, nil
}

// remotePreview fills preview_url and meta of remote media as Mastodon
// shows them: an image previews as itself (small is its own size); a
// video or audio by the thumbnail its server sent (the attachment's AP
// icon, also preview_remote_url), or by nothing — never by the video's
// own URL, which no image element can show.
func remotePreview(out *Attachment, a federation.Attachment) {
	meta := map[string]any{}
	if a.Width > 0 && a.Height > 0 {
		meta["original"] = sizeMeta(a.Width, a.Height)
	}
	switch {
	case out.Type == "image":
		out.PreviewURL = strPtr(a.URL)
		if o, ok := meta["original"]; ok {
			meta["small"] = o
		}
	case a.PreviewURL != "":
		out.PreviewURL, out.PreviewRemoteURL = strPtr(a.PreviewURL), strPtr(a.PreviewURL)
		if a.PreviewWidth > 0 && a.PreviewHeight > 0 {
			meta["small"] = sizeMeta(a.PreviewWidth, a.PreviewHeight)
		}
	}
	out.Meta = meta
}

// remoteEmojis renders the custom emojis a remote post or profile came
// with that its texts use (:shortcode:), from their own server's URL.
func remoteEmojis(list []federation.RemoteEmoji, texts ...string) []Emoji {
	out := []Emoji{}
	for _, e := range list {
		for _, t := range texts {
			if strings.Contains(t, ":"+e.Shortcode+":") {
				out = append(out, Emoji{Shortcode: e.Shortcode, URL: e.URL, StaticURL: e.URL})
				break
			}
		}
	}
	return out
}

// pollText is a poll's option titles, where emojis may be used too.
func pollText(p *federation.Poll) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, o := range p.Options {
		b.WriteString(o.Title)
		b.WriteByte(' ')
	}
	return b.String()
}

// fieldText is a profile's field names and values.
func fieldText(fields []federation.Field) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.Name + " " + f.Value + " ")
	}
	return b.String()
}

// addAccountEmojis fills the emojis local accounts' names, notes and
// fields use from their tenants' custom emojis, as Mastodon renders them:
// one query for all of them. views are the accounts' views by id.
func (r *renderer) addAccountEmojis(accts []*Account, views map[int64]*federation.AccountView) error {
	if r.h.Emojis == nil {
		return nil
	}
	type use struct {
		a      *Account
		tenant int64
		domain string
		codes  []string
	}
	var uses []use
	var tenants []int64
	var codes []string
	seenA, seenT, seenC := map[*Account]bool{}, map[int64]bool{}, map[string]bool{}
	for _, a := range accts {
		if a == nil || seenA[a] {
			continue
		}
		id, _ := strconv.ParseInt(a.ID, 10, 64)
		v := views[id]
		if v == nil || v.Remote != nil || v.TenantID == 0 {
			continue
		}
		seenA[a] = true
		cs := federation.Shortcodes(v.DisplayName+" "+v.Note+" "+fieldText(v.Fields), 32)
		if len(cs) == 0 {
			continue
		}
		uses = append(uses, use{a: a, tenant: v.TenantID, domain: v.Domain, codes: cs})
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
	if len(uses) == 0 {
		return nil
	}
	found, err := r.h.Emojis.EmojisByShortcode(r.ctx, tenants, codes)
	if err != nil {
		return err
	}
	for _, u := range uses {
		base := r.linksFor(u.domain).Base
		u.a.Emojis = []Emoji{}
		for _, c := range u.codes {
			for _, e := range found {
				if e.TenantID == u.tenant && e.Shortcode == c {
					u.a.Emojis = append(u.a.Emojis, emojiEntity(base, e))
				}
			}
		}
	}
	return nil
}

// statusAccounts are the accounts of rendered statuses and of what they
// boost.
func statusAccounts(out []*Status) []*Account {
	var accts []*Account
	for _, s := range out {
		accts = append(accts, s.Account)
		if s.Reblog != nil {
			accts = append(accts, s.Reblog.Account)
		}
	}
	return accts
}
