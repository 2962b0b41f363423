// Package mastodon is the Mastodon client API (docs.joinmastodon.org) on
// every tenant domain: the routes apps call, the entities they expect,
// Mastodon's errors and paging. Handlers parse, call one service, render.
package mastodon

import (
	"context"
	"github.com/roost-social/roost/federation/domainblock"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/list"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/federation/social/schedule"
	"github.com/roost-social/roost/federation/social/search"
	"github.com/roost-social/roost/federation/social/tag"
	"github.com/roost-social/roost/federation/social/timeline"
	"github.com/roost-social/roost/federation/social/translate"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Accounts finds accounts for the API.
type Accounts interface {
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
	AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error)
	Usage(ctx context.Context, tenantID int64) (federation.Usage, error)
}

// Handler serves /api/v1 and /api/v2.
type Handler struct {
	// Blocks are the domain blocks in force (domainblock.Cache); a remote
	// post from a domain whose media the viewing tenant rejects is shown
	// without its attachments. nil: none.
	Blocks interface {
		Check(tenantID int64, host string) domainblock.Verdict
	}
	Auth     oauth.Authenticator
	Views    federation.ViewStore
	Client   federation.ClientStore
	Accounts Accounts
	Outbox   *outbox.Service
	Sites    tenant.Resolver
	URL      httpx.URLConfig
	Instance InstanceInfo
	// ForYou ranks the "For you" feed; nil leaves it unavailable (404).
	ForYou federation.ForYouStore
	// Lists are the viewer's lists (lists.go); nil leaves them out.
	Lists *list.Service
	// Filters are the viewer's filters (filters.go, and the render-time
	// matching of decorate.go); nil leaves them out.
	Filters *filter.Service
	// Conversations are the viewer's direct threads (conversations.go).
	Conversations federation.ConversationStore
	// Emojis are the tenants' custom emojis (emojis.go), also filled into
	// rendered local posts.
	Emojis federation.EmojiStore
	// DomainBlocks are the domains a person hides (moderation.go); the
	// filters use case reads them too, to hide their posts in timelines.
	DomainBlocks federation.DomainBlockStore
	// Reports files reports (moderation.go).
	Reports federation.ReportStore
	// Search finds accounts, posts and hashtags (search.go).
	Search *search.Service
	// Trends ranks a tenant's hashtags and posts (trends.go).
	Trends federation.TrendStore
	// RelMe verifies profile links in the background; nil never does.
	RelMe RelMe
	// Media takes uploads and serves them (media.go); nil leaves them out.
	Media *media.Service
	// Polls reads the viewer's votes (polls.go); voting goes through Outbox.
	Polls federation.PollStore
	// Archives is account export and import (archive.go); nil leaves them out.
	Archives *Archives
	// Schedule keeps scheduled posts (scheduled.go); nil refuses scheduled_at.
	Schedule *schedule.Service
	// Announcements are the instance's and the tenant's news
	// (announcements.go); nil leaves them out.
	Announcements *announcement.Service
	// Translate translates posts (translate.go); nil: translation off.
	Translate *translate.Service
	// Relations are notes, endorsements, suggestions, blocks and mutes
	// lists, the directory (accountroutes.go); nil leaves them out.
	Relations *account.Relations
	// Threads mutes threads and marks conversations unread
	// (statusroutes.go); nil leaves those routes out.
	Threads federation.ThreadStore
	// InstanceData is what the instance routes read (instance_routes.go):
	// peers, weekly activity, the contact account; nil: none known.
	InstanceData federation.InstanceStore
	// Push is Web Push: the token's subscription (push.go) and the VAPID
	// key in the instance document; nil leaves push out.
	Push *push.Service
	// Tags are followed and featured hashtags and the Tag entity's state
	// (tags.go); nil leaves those routes out.
	Tags *tag.Service
	// Cards are link previews: Status.card, trending links, the link
	// timeline and card thumbnails (cards.go); nil leaves them out.
	Cards *card.Service
	// Quotes are quote posts (quotes.go): quote and quote_approval on
	// statuses, quoting on create, quotes of one's posts, revoking,
	// interaction policies; nil leaves them out.
	Quotes *quote.Service
	// Notifications keeps grouped notifications, the notification policy
	// and its requests (notifications.go); nil leaves v2 notifications,
	// unread counts, policy and requests out (404).
	Notifications federation.NotificationStore
	// About serves the tenant's rules, about text, privacy policy, terms
	// of service and public domain blocks (instance_routes.go); nil: none
	// written, as a Mastodon server without them.
	About *about.Service
	// InstanceDocs keeps rendered instance documents per tenant and URL
	// (instance_cache.go); nil renders each request afresh.
	InstanceDocs *hotcache.Cache[InstanceDocKey, []byte]
	// Viewings read what a viewer hides when rendering (decorate.go),
	// from the node's cache; nil reads through Filters. The filter
	// routes always read Filters (a write is seen by the next read).
	Viewings timeline.Viewings
	// HomePages keeps rendered home timeline pages per tenant, viewer
	// and paging (homecache.go, NewHomePages); nil renders each request.
	HomePages *hotcache.Cache[HomePageKey, *HomePageEntry]
}

// InstanceInfo is the instance-wide part of /api/v1/instance.
type InstanceInfo struct {
	Version      string // the Roost version, reported in Mastodon's format
	ContactEmail string
}

type localKey int

const (
	tokenKey localKey = iota
	accountKey
)

// Register mounts the client API on r (behind host routing).
func (h *Handler) Register(r fiber.Router) {
	api := r.Group("/api", mastodonErrors, h.authenticate)
	v1, v2 := api.Group("/v1"), api.Group("/v2")
	// Before registerAccounts: /accounts/search, /accounts/familiar_followers
	// and /accounts/:id/lists must win over /accounts/:id.
	h.registerSearch(v1, v2)
	h.registerLists(v1)
	h.registerFilters(v1, v2)
	h.registerConversations(v1)
	h.registerEmojis(r, v1)
	if h.DomainBlocks != nil && h.Reports != nil {
		h.registerModeration(v1) // moderation.go: domain blocks, reports
	}
	h.registerTags(v1) // tags.go: followed and featured hashtags, /tags/:name
	// cards.go: before registerTrends, whose /trends/links is the stand-in without cards
	h.registerCards(r, v1)
	h.registerTrends(v1)
	h.registerAccountRoutes(v1, v2) // accountroutes.go: blocks, mutes, notes, endorsements, suggestions, directory
	h.registerAccounts(v1)
	h.registerQuotes(v1) // quotes.go: before registerStatuses (/statuses/:id/quotes)
	h.registerStatuses(v1)
	h.registerTimelines(v1)
	h.registerForYou(v1)
	h.registerNotifications(v1, v2) // notifications.go: v1, grouped v2, policy, requests
	h.registerInstance(api)
	h.registerStatusRoutes(api) // statusroutes.go: statuses?id[], thread mutes, media delete, instance routes
	h.registerMedia(r, api)
	h.registerPolls(v1)
	h.registerArchives(v1)
	h.registerMigration(v1) // migration.go: aliases and moves
	h.registerUserinfo(r)   // userinfo.go: /oauth/userinfo
	h.registerScheduled(v1) // scheduled.go: scheduled posts
	h.registerAnnouncements(v1)
	h.registerTranslate(v1)
	h.registerPush(v1)
}

// mastodonErrors renders validation failures as Mastodon does (422).
func mastodonErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err != nil && errs.CodeOf(err) == errs.Invalid {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusUnprocessableEntity).JSON(httpx.ErrorBody{Error: errs.MessageOf(err)})
	}
	return err
}

var (
	errInvalidToken = errs.E(errs.Unauthorized, "The access token is invalid")
	errNeedUser     = &fiber.Error{Code: fiber.StatusUnprocessableEntity, Message: "This method requires an authenticated user"}
	errScope        = errs.E(errs.Forbidden, "This action is outside the authorized scopes")
	errNotFound     = errs.E(errs.NotFound, "Record not found")
)

// bearer extracts the token: Authorization header, or access_token in
// the query (streaming and some clients).
func bearer(c *fiber.Ctx) string {
	if a := c.Get(fiber.HeaderAuthorization); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return c.Query("access_token")
}

// authenticate resolves a presented token on the request's tenant. A bad
// token is refused at once; no token leaves the request anonymous.
func (h *Handler) authenticate(c *fiber.Ctx) error {
	b := bearer(c)
	if b == "" {
		if c.Get(fiber.HeaderAuthorization) != "" {
			return errInvalidToken
		}
		return c.Next()
	}
	tok, err := h.Auth.Authenticate(c.UserContext(), httpx.SiteOf(c).TenantID, b)
	if err != nil {
		if errs.CodeOf(err) == errs.Unauthorized || errs.CodeOf(err) == errs.NotFound {
			return errInvalidToken
		}
		return err
	}
	c.Locals(tokenKey, tok)
	err = c.Next()
	h.dropOwnPages(c) // homecache.go: the viewer's next read sees this write
	return err
}

func tokenOf(c *fiber.Ctx) *oauth.Token {
	t, _ := c.Locals(tokenKey).(*oauth.Token)
	return t
}

// need requires a user token holding scope.
func (h *Handler) need(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := tokenOf(c)
		if t == nil {
			return errInvalidToken
		}
		if !t.Scopes.Allows(scope) {
			return errScope
		}
		if t.AccountID == 0 {
			return errNeedUser
		}
		return c.Next()
	}
}

// optional lets anonymous requests through but checks a token's scope.
func (h *Handler) optional(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if t := tokenOf(c); t != nil && !t.Scopes.Allows(scope) {
			return errScope
		}
		return c.Next()
	}
}

// viewer is the authenticated account id, 0 when anonymous.
func viewer(c *fiber.Ctx) int64 {
	if t := tokenOf(c); t != nil {
		return t.AccountID
	}
	return 0
}

// seer is who status visibility is decided for: the authenticated
// account, or the signed-out public of the request's tenant, for whom
// the remote posts its moderators hid stay hidden.
func seer(c *fiber.Ctx) int64 {
	if id := viewer(c); id != 0 {
		return id
	}
	return federation.SignedOut(httpx.SiteOf(c).TenantID)
}

// me loads the authenticated local account.
func (h *Handler) me(c *fiber.Ctx) (*federation.Account, error) {
	if a, ok := c.Locals(accountKey).(*federation.Account); ok {
		return a, nil
	}
	a, err := h.Accounts.AccountByID(c.UserContext(), viewer(c))
	if err != nil {
		return nil, err
	}
	if a.TenantID != httpx.SiteOf(c).TenantID {
		return nil, errInvalidToken
	}
	c.Locals(accountKey, a)
	return a, nil
}

func (h *Handler) renderer(c *fiber.Ctx) *renderer {
	return &renderer{h: h, ctx: c.UserContext(), site: httpx.SiteOf(c), viewer: viewer(c), seer: seer(c), extra: h.newRenderExtra(c)}
}

// pathID parses an :id parameter; a malformed id is simply not found.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// page reads Mastodon's paging parameters; limit is clamped to max.
func page(c *fiber.Ctx, def, maxLimit int) federation.Page {
	p := federation.Page{Limit: def}
	p.MaxID, _ = strconv.ParseInt(c.Query("max_id"), 10, 64)
	p.SinceID, _ = strconv.ParseInt(c.Query("since_id"), 10, 64)
	p.MinID, _ = strconv.ParseInt(c.Query("min_id"), 10, 64)
	if l, err := strconv.Atoi(c.Query("limit")); err == nil && l > 0 {
		p.Limit = min(l, maxLimit)
	}
	return p
}

// linkHeader sets Link with next (older: max_id) and prev (newer:
// min_id) pages, keeping the request's other query parameters. cursors
// are the page's cursor ids, newest first.
func (h *Handler) linkHeader(c *fiber.Ctx, cursors []int64) {
	if len(cursors) == 0 {
		return
	}
	base := httpx.SiteBase(c, h.URL)
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	for _, k := range []string{"max_id", "min_id", "since_id", "access_token"} {
		q.Del(k)
	}
	mk := func(k string, v int64) string {
		qq := url.Values{}
		for kk, vv := range q {
			qq[kk] = vv
		}
		qq.Set(k, strconv.FormatInt(v, 10))
		return base + c.Path() + "?" + qq.Encode()
	}
	c.Set("Link", `<`+mk("max_id", cursors[len(cursors)-1])+`>; rel="next", <`+mk("min_id", cursors[0])+`>; rel="prev"`)
}

// statusPage renders a page of statuses with its Link header, paged by
// the statuses' own ids.
func (h *Handler) statusPage(c *fiber.Ctx, ids []int64) error {
	return h.statusPageCursors(c, ids, ids)
}

// accountPage renders a page of accounts in order with its Link header.
func (h *Handler) accountPage(c *fiber.Ctx, ids, cursors []int64) error {
	r := h.renderer(c)
	views, err := h.Views.AccountViews(c.UserContext(), ids)
	if err != nil {
		return err
	}
	out := make([]*Account, 0, len(ids))
	for _, id := range ids {
		if v, ok := views[id]; ok {
			out = append(out, r.account(v))
		}
	}
	if err := r.addAccountEmojis(out, views); err != nil { // statusroutes.go
		return err
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

// oneStatus renders one status the viewer may see, or 404.
func (h *Handler) oneStatus(c *fiber.Ctx, id int64) (*Status, error) {
	r := h.renderer(c)
	views, err := h.Views.StatusViews(c.UserContext(), r.seer, []int64{id})
	if err != nil {
		return nil, err
	}
	out, err := r.statuses(views)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNotFound
	}
	return out[0], nil
}

// oneAccount renders one account, or 404.
func (h *Handler) oneAccount(c *fiber.Ctx, id int64) (*Account, error) {
	views, err := h.Views.AccountViews(c.UserContext(), []int64{id})
	if err != nil {
		return nil, err
	}
	v, ok := views[id]
	if !ok {
		return nil, errNotFound
	}
	r := h.renderer(c)
	a := r.account(v)
	if err := r.addAccountEmojis([]*Account{a}, views); err != nil { // statusroutes.go
		return nil, err
	}
	return a, nil
}

// bodyOrQuery reads a parameter from a form/JSON body or the query, as
// Mastodon accepts both.
type params map[string]any

// parseParams reads the request's parameters: JSON body, form body
// (multipart or urlencoded, with name[] arrays), then query string.
func parseParams(c *fiber.Ctx) (params, error) {
	p := params{}
	ct := string(c.Request().Header.ContentType())
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationJSON):
		if len(c.Body()) > 0 {
			if err := c.BodyParser(&p); err != nil {
				return nil, errs.E(errs.Invalid, "the JSON body is not valid")
			}
		}
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return nil, errs.E(errs.Invalid, "the form is not valid")
		}
		for k, v := range form.Value {
			addParam(p, k, v)
		}
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		vals, err := url.ParseQuery(string(c.Body()))
		if err != nil {
			return nil, errs.E(errs.Invalid, "the form is not valid")
		}
		for k, v := range vals {
			addParam(p, k, v)
		}
	}
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	for k, v := range q {
		if _, ok := p[strings.TrimSuffix(k, "[]")]; !ok {
			addParam(p, k, v)
		}
	}
	return p, nil
}

// addParam stores form values the way Rails reads them: "a[]" a list,
// "a[b]" and "a[0][b]" nested maps (poll[options][], fields_attributes).
func addParam(p params, k string, v []string) {
	segs := splitKey(k)
	if len(segs) == 3 && segs[1] == "" && segs[2] != "" {
		addHashes(p, segs[0], segs[2], v) // statusroutes.go: media_attributes[][id]
		return
	}
	m := map[string]any(p)
	for i, seg := range segs {
		if i == len(segs)-1 {
			if seg != "" && len(v) > 0 {
				m[seg] = v[len(v)-1]
			}
			return
		}
		if i+1 == len(segs)-1 && segs[i+1] == "" {
			m[seg] = toAny(v)
			return
		}
		next, _ := m[seg].(map[string]any)
		if next == nil {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
}

// splitKey splits "a[b][]" into a, b and "".
func splitKey(k string) []string {
	i := strings.IndexByte(k, '[')
	if i <= 0 || !strings.HasSuffix(k, "]") {
		return []string{k}
	}
	return append([]string{k[:i]}, strings.Split(k[i+1:len(k)-1], "][")...)
}

func toAny(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func (p params) str(k string) string {
	switch v := p[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (p params) has(k string) bool { _, ok := p[k]; return ok }

// boolean reads Rails-style booleans ("1", "true", "on").
func (p params) boolean(k string) (bool, bool) {
	switch v := p[k].(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "1", "true", "on", "t", "yes":
			return true, true
		case "0", "false", "off", "f", "no", "":
			return false, true
		}
	case float64:
		return v != 0, true
	}
	return false, false
}

func (p params) list(k string) []string {
	var out []string
	switch v := p[k].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			} else if f, ok := x.(float64); ok {
				out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
			}
		}
	case string:
		out = []string{v}
	}
	return out
}

func (p params) object(k string) params {
	if m, ok := p[k].(map[string]any); ok {
		return params(m)
	}
	return nil
}
