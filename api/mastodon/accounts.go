package mastodon

import (
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/federation/social/profile"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

func (h *Handler) registerAccounts(v1 fiber.Router) {
	v1.Get("/accounts/verify_credentials", h.needAny("profile", "read:accounts"), h.verifyCredentials)
	v1.Patch("/accounts/update_credentials", h.need("write:accounts"), h.updateCredentials)
	v1.Get("/accounts/relationships", h.need("read:follows"), h.relationships)
	v1.Get("/accounts/lookup", h.optional("read:accounts"), h.lookup)
	v1.Get("/accounts/:id", h.optional("read:accounts"), h.getAccount)
	v1.Get("/accounts/:id/statuses", h.optional("read:statuses"), h.in(filter.Account), h.accountStatuses)
	v1.Get("/accounts/:id/followers", h.optional("read:accounts"), h.followers)
	v1.Get("/accounts/:id/following", h.optional("read:accounts"), h.following)
	v1.Post("/accounts/:id/follow", h.need("write:follows"), h.follow)
	v1.Post("/accounts/:id/unfollow", h.need("write:follows"), h.unfollow)
	v1.Post("/accounts/:id/block", h.need("write:blocks"), h.block(true))
	v1.Post("/accounts/:id/unblock", h.need("write:blocks"), h.block(false))
	v1.Post("/accounts/:id/mute", h.need("write:mutes"), h.mute)
	v1.Post("/accounts/:id/unmute", h.need("write:mutes"), h.unmute)
	v1.Get("/follow_requests", h.need("read:follows"), h.followRequests)
	v1.Post("/follow_requests/:id/authorize", h.need("write:follows"), h.answerFollowRequest(true))
	v1.Post("/follow_requests/:id/reject", h.need("write:follows"), h.answerFollowRequest(false))
	v1.Get("/bookmarks", h.need("read:bookmarks"), h.bookmarks)
	v1.Get("/favourites", h.need("read:favourites"), h.favourites)
	v1.Get("/markers", h.need("read:statuses"), h.markers)
	v1.Post("/markers", h.need("write:statuses"), h.setMarkers)
	v1.Get("/preferences", h.need("read:accounts"), h.preferences)
}

// credentialAccount is the signed-in account with its source.
func (h *Handler) credentialAccount(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	a, err := h.oneAccount(c, me.ID)
	if err != nil {
		return err
	}
	prefs, err := h.Client.Preferences(c.UserContext(), me.ID)
	if err != nil {
		return err
	}
	reqs, _, err := h.Client.FollowRequests(c.UserContext(), me.ID, federation.Page{Limit: 1000})
	if err != nil {
		return err
	}
	src := &Source{Privacy: string(prefs.Privacy), Sensitive: prefs.Sensitive, Language: strPtr(prefs.Language),
		Note: me.Note, Fields: []Field{}, FollowRequestsCount: int64(len(reqs)), Discoverable: a.Discoverable,
		Indexable: a.Indexable}
	for _, f := range a.Fields {
		src.Fields = append(src.Fields, Field{Name: f.Name, Value: f.Value, VerifiedAt: f.VerifiedAt})
	}
	for i, f := range me.Fields {
		if i < len(src.Fields) {
			src.Fields[i].Value = f.Value // the source, not the rendered link
		}
	}
	if err := h.sourceSettings(c, me.ID, src); err != nil { // accountroutes.go
		return err
	}
	a.Source = src
	a.Role = &Role{ID: "-99", Name: "", Permissions: "0", Color: ""}
	return c.JSON(a)
}

func (h *Handler) verifyCredentials(c *fiber.Ctx) error { return h.credentialAccount(c) }

func (h *Handler) updateCredentials(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	ch, err := profileChanges(p)
	if err != nil {
		return err
	}
	ch.Images = func(context.Context) (string, string, error) {
		avatar, err := h.profileImage(c, p, me, "avatar")
		if err != nil {
			return "", "", err
		}
		header, err := h.profileImage(c, p, me, "header")
		return avatar, header, err
	}
	settings, err := h.settingsChanges(c, p) // accountroutes.go: attribution_domains, source[quote_policy]
	if err != nil {
		return err
	}
	profiles := &profile.Service{Store: profileStore{h.Client, h.Accounts}, Publisher: h.Outbox}
	res, err := profiles.Update(c.UserContext(), me, ch)
	if err != nil {
		return err
	}
	if err := settings(me); err != nil {
		return err
	}
	c.Locals(accountKey, nil)
	if res.VerifyLinks {
		h.verifyLinks(c, res.Account) // relme.go: in the background
	}
	if res.SendErr != nil {
		httpx.Log(c).WarnContext(c.UserContext(), "profile update not sent", "err", res.SendErr)
	}
	return h.credentialAccount(c)
}

// profileStore saves profiles (ClientStore) and reads accounts back.
type profileStore struct {
	federation.ClientStore
	Accounts
}

// profileChanges reads display_name, note, locked, bot, discoverable,
// fields_attributes and source[privacy|sensitive|language].
func profileChanges(p params) (profile.Changes, error) {
	ch := profile.Changes{DisplayName: optString(p, "display_name"), Note: optString(p, "note")}
	for name, dst := range map[string]**bool{"locked": &ch.Locked, "bot": &ch.Bot, "discoverable": &ch.Discoverable} {
		if err := flag(p, name, dst); err != nil {
			return ch, err
		}
	}
	if fields, ok := profileFields(p["fields_attributes"]); ok {
		ch.Fields = &fields
	}
	if src := p.object("source"); src != nil {
		ch.Privacy, ch.Language = optString(src, "privacy"), optString(src, "language")
		if err := flag(src, "sensitive", &ch.Sensitive); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// profileImage stores an avatar or header — a multipart file, or a
// base64 data: URI as some libraries send — through the media pipeline
// (sniffed, size and pixel limits, re-encoded without EXIF) and returns
// its URL; "" when none was sent.
func (h *Handler) profileImage(c *fiber.Ctx, p params, me *federation.Account, field string) (string, error) {
	var file io.Reader
	if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEMultipartForm) {
		if fh, err := c.FormFile(field); err == nil {
			if fh.Size > media.MaxBytes {
				return "", errs.E(errs.TooLarge, "the %s is larger than %d MB", field, media.MaxBytes>>20)
			}
			f, err := fh.Open()
			if err != nil {
				return "", err
			}
			defer f.Close()
			file = f
		}
	}
	if v := p.str(field); file == nil && strings.HasPrefix(v, "data:") {
		_, b64, ok := strings.Cut(v, ";base64,")
		if !ok {
			return "", errs.E(errs.Invalid, "Validation failed: %s must be a file or a base64 data URI", field)
		}
		file = base64.NewDecoder(base64.StdEncoding, strings.NewReader(b64))
	}
	if file == nil {
		return "", nil // not sent
	}
	if h.Media == nil {
		return "", errs.E(errs.Invalid, "image uploads are not enabled on this server")
	}
	a, err := h.Media.Upload(c.UserContext(), media.Upload{TenantID: me.TenantID, AccountID: me.ID, File: file})
	if err != nil {
		return "", err
	}
	if a.Kind != media.Image || a.State != media.Ready {
		return "", errs.E(errs.Invalid, "Validation failed: the %s must be an image (PNG, JPEG, GIF or WebP)", field)
	}
	return a.URL(h.renderer(c).linksFor(me.Domain).Base), nil
}

// flag reads an optional boolean parameter into dst.
func flag(p params, name string, dst **bool) error {
	if !p.has(name) {
		return nil
	}
	b, ok := p.boolean(name)
	if !ok {
		return errs.E(errs.Invalid, "Validation failed: %s must be true or false", name)
	}
	*dst = &b
	return nil
}

// profileFields reads fields_attributes in every encoding Mastodon
// accepts: an object keyed by index ("0".."15": fields_attributes[0][name]
// in a form, or JSON), or a list (a JSON list of objects, or
// fields_attributes[][name] in a form), in order; profile.Service checks
// them. ok is false when the parameter was not sent (fields unchanged).
func profileFields(v any) (out []federation.Field, ok bool) {
	field := func(x any) {
		if f, isMap := x.(map[string]any); isMap {
			out = append(out, federation.Field{Name: params(f).str("name"), Value: params(f).str("value")})
		}
	}
	switch fa := v.(type) {
	case map[string]any:
		for i := 0; i < 16; i++ {
			field(fa[strconv.Itoa(i)])
		}
	case []any:
		for i, x := range fa {
			if i == 16 {
				break
			}
			field(x)
		}
	default:
		return nil, false
	}
	return out, true
}

func (h *Handler) getAccount(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := h.oneAccount(c, id)
	if err != nil {
		return err
	}
	return c.JSON(a)
}

// lookup finds an account by acct: a local user of this site (bare name
// or name@domain of any tenant hosted here) or a known remote account.
func (h *Handler) lookup(c *fiber.Ctx) error {
	acct := strings.TrimPrefix(strings.TrimSpace(c.Query("acct")), "@")
	if acct == "" {
		return errs.E(errs.Invalid, "acct is required")
	}
	a, err := h.findAcct(c, acct, false)
	if err != nil {
		return err
	}
	out, err := h.oneAccount(c, a.ID)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// findAcct resolves user or user@host: local accounts of any tenant here,
// then remote ones (through WebFinger when resolve is set).
func (h *Handler) findAcct(c *fiber.Ctx, acct string, resolve bool) (*federation.Account, error) {
	site := httpx.SiteOf(c)
	user, host, _ := strings.Cut(acct, "@")
	if host == "" {
		host = site.Domain
	}
	if norm, err := tenant.NormalizeHost(host); err == nil {
		s, err := h.Sites.Resolve(c.UserContext(), norm)
		if err == nil {
			return h.Accounts.AccountByUsername(c.UserContext(), s.TenantID, s.Domain, user)
		}
		if errs.CodeOf(err) != errs.NotFound {
			return nil, err // the database away: not a remote account (soak finding 6)
		}
	}
	if !resolve {
		if a, err := h.Outbox.Known(c.UserContext(), user+"@"+host); err == nil {
			return a, nil
		}
		return nil, errNotFound
	}
	a, err := h.Outbox.Resolve(federation.WithActingHost(c.UserContext(), site.ActorHost()), user+"@"+host)
	if err != nil {
		return nil, errNotFound
	}
	return a, nil
}

func (h *Handler) relationships(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var ids []int64
	for _, s := range p.list("id") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && len(ids) < 100 {
			ids = append(ids, id)
		}
	}
	rels, err := h.Views.Relationships(c.UserContext(), viewer(c), ids)
	if err != nil {
		return err
	}
	out := make([]Relationship, 0, len(rels))
	for _, r := range rels {
		out = append(out, relationship(r))
	}
	return c.JSON(out)
}

func (h *Handler) accountStatuses(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.oneAccount(c, id); err != nil {
		return err
	}
	p, _ := parseParams(c)
	var f federation.AccountStatusesFilter
	f.ExcludeReplies, _ = p.boolean("exclude_replies")
	f.ExcludeReblogs, _ = p.boolean("exclude_reblogs")
	f.OnlyMedia, _ = p.boolean("only_media")
	f.Pinned, _ = p.boolean("pinned")
	f.Tagged = strings.TrimPrefix(p.str("tagged"), "#")
	return h.statusList(c, page(c, 20, 40), byOwnID(func(p federation.Page) ([]int64, error) {
		return h.Views.AccountStatuses(c.UserContext(), seer(c), id, f, p)
	}))
}

func (h *Handler) followers(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ids, cursors, err := h.Views.Followers(c.UserContext(), id, page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

func (h *Handler) following(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ids, cursors, err := h.Views.Following(c.UserContext(), id, page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// target loads the account an action is aimed at, as a handle or URI the
// outbox understands.
func (h *Handler) target(c *fiber.Ctx) (*federation.Account, string, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, "", err
	}
	a, err := h.Accounts.AccountByID(c.UserContext(), id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, "", errNotFound
	}
	if err != nil {
		return nil, "", err // a database failure is a 5xx an app retries, never a 404
	}
	if a.Remote != nil {
		return a, a.Remote.URI, nil
	}
	return a, a.Username + "@" + a.Domain, nil
}

func (h *Handler) relationshipWith(c *fiber.Ctx, id int64) error {
	rels, err := h.Views.Relationships(c.UserContext(), viewer(c), []int64{id})
	if err != nil {
		return err
	}
	if len(rels) == 0 {
		return errNotFound
	}
	return c.JSON(relationship(rels[0]))
}

// accountAction runs an action of the signed-in account on the :id
// account (given as an outbox handle too), then answers with their
// relationship.
func (h *Handler) accountAction(c *fiber.Ctx, fn func(me, a *federation.Account, handle string) error) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	a, handle, err := h.target(c)
	if err != nil {
		return err
	}
	if err := fn(me, a, handle); err != nil {
		return err
	}
	return h.relationshipWith(c, a.ID)
}

// ignoreNotFound treats undoing what was never done as done.
func ignoreNotFound(err error) error {
	if errs.CodeOf(err) == errs.NotFound {
		return nil
	}
	return err
}

func (h *Handler) follow(c *fiber.Ctx) error {
	return h.accountAction(c, func(me, a *federation.Account, handle string) error {
		if a.ID == me.ID {
			return errs.E(errs.Forbidden, "You cannot follow yourself")
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		reblogs, notify := true, false
		if p.has("reblogs") {
			reblogs, _ = p.boolean("reblogs")
		}
		if p.has("notify") {
			notify, _ = p.boolean("notify")
		}
		if _, err := h.Outbox.Follow(c.UserContext(), me, handle); err != nil {
			return err
		}
		return h.Client.SetFollowOptions(c.UserContext(), me.ID, a.ID, reblogs, notify)
	})
}

func (h *Handler) unfollow(c *fiber.Ctx) error {
	return h.accountAction(c, func(me, _ *federation.Account, handle string) error {
		return ignoreNotFound(h.Outbox.Unfollow(c.UserContext(), me, handle))
	})
}

func (h *Handler) block(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.accountAction(c, func(me, a *federation.Account, handle string) error {
			if a.ID == me.ID {
				return errs.E(errs.Invalid, "You cannot block yourself")
			}
			return ignoreNotFound(h.Outbox.Block(c.UserContext(), me, handle, !on))
		})
	}
}

func (h *Handler) mute(c *fiber.Ctx) error {
	return h.accountAction(c, func(me, a *federation.Account, _ string) error {
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		notifications := true
		if p.has("notifications") {
			notifications, _ = p.boolean("notifications")
		}
		var until *time.Time
		if d, err := strconv.Atoi(p.str("duration")); err == nil && d > 0 {
			t := time.Now().Add(time.Duration(d) * time.Second)
			until = &t
		}
		return h.Client.Mute(c.UserContext(), me.ID, a.ID, notifications, until)
	})
}

func (h *Handler) unmute(c *fiber.Ctx) error {
	return h.accountAction(c, func(me, a *federation.Account, _ string) error {
		return h.Client.Unmute(c.UserContext(), me.ID, a.ID)
	})
}

func (h *Handler) followRequests(c *fiber.Ctx) error {
	ids, cursors, err := h.Client.FollowRequests(c.UserContext(), viewer(c), page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

func (h *Handler) answerFollowRequest(accept bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.accountAction(c, func(me, a *federation.Account, _ string) error {
			return h.Outbox.AnswerFollow(c.UserContext(), me, a, accept)
		})
	}
}

func (h *Handler) bookmarks(c *fiber.Ctx) error {
	return h.statusList(c, page(c, 20, 40), func(p federation.Page) ([]int64, []int64, error) {
		return h.Client.Bookmarks(c.UserContext(), viewer(c), p)
	})
}

func (h *Handler) favourites(c *fiber.Ctx) error {
	return h.statusList(c, page(c, 20, 40), func(p federation.Page) ([]int64, []int64, error) {
		return h.Client.Favourites(c.UserContext(), viewer(c), p)
	})
}

// statusPageCursors is statusPage for lists paged by their own row ids.
func (h *Handler) statusPageCursors(c *fiber.Ctx, ids, cursors []int64) error {
	r := h.renderer(c)
	views, err := h.Views.StatusViews(c.UserContext(), r.seer, ids)
	if err != nil {
		return err
	}
	out, err := r.statuses(views)
	if err != nil {
		return err
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

type markerJSON struct {
	LastReadID string `json:"last_read_id"`
	Version    int    `json:"version"`
	UpdatedAt  string `json:"updated_at"`
}

func (h *Handler) markers(c *fiber.Ctx) error {
	ms, err := h.Client.Markers(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	p, _ := parseParams(c)
	want := p.list("timeline")
	out := map[string]markerJSON{}
	for _, m := range ms {
		if len(want) > 0 && !contains(want, m.Timeline) {
			continue
		}
		out[m.Timeline] = markerJSON{LastReadID: idStr(m.LastReadID), Version: m.Version, UpdatedAt: ts(m.UpdatedAt)}
	}
	return c.JSON(out)
}

func (h *Handler) setMarkers(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	out := map[string]markerJSON{}
	for _, tl := range []string{"home", "notifications"} {
		o := p.object(tl)
		if o == nil {
			continue
		}
		id, err := strconv.ParseInt(o.str("last_read_id"), 10, 64)
		if err != nil || id <= 0 {
			return errs.E(errs.Invalid, "%s[last_read_id] must be a status or notification id", tl)
		}
		m, err := h.Client.SetMarker(c.UserContext(), viewer(c), tl, id)
		if err != nil {
			return err
		}
		out[tl] = markerJSON{LastReadID: idStr(m.LastReadID), Version: m.Version, UpdatedAt: ts(m.UpdatedAt)}
	}
	return c.JSON(out)
}

func (h *Handler) preferences(c *fiber.Ctx) error {
	prefs, err := h.Client.Preferences(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	policy, err := h.quotePolicy(c) // accountroutes.go
	if err != nil {
		return err
	}
	out := map[string]any{
		"posting:default:visibility": prefs.Privacy,
		"posting:default:sensitive":  prefs.Sensitive,
		"posting:default:language":   strPtr(prefs.Language),
		"reading:expand:media":       "default",
		"reading:expand:spoilers":    false,
	}
	out["posting:default:quote_policy"] = policy
	return c.JSON(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
