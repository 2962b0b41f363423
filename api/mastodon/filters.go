package mastodon

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
)

func (h *Handler) registerFilters(v1, v2 fiber.Router) {
	if h.Filters == nil {
		return
	}
	// The keyword and status routes come first: /filters/keywords/:id is
	// not /filters/:id.
	v2.Get("/filters/keywords/:id", h.need("read:filters"), h.filterKeyword)
	v2.Put("/filters/keywords/:id", h.need("write:filters"), h.updateFilterKeyword)
	v2.Delete("/filters/keywords/:id", h.need("write:filters"), h.deleteFilterKeyword)
	v2.Get("/filters/statuses/:id", h.need("read:filters"), h.filterStatus)
	v2.Delete("/filters/statuses/:id", h.need("write:filters"), h.deleteFilterStatus)
	v2.Get("/filters", h.need("read:filters"), h.filtersV2)
	v2.Post("/filters", h.need("write:filters"), h.saveFilterV2(true))
	v2.Get("/filters/:id", h.need("read:filters"), h.filterV2)
	v2.Put("/filters/:id", h.need("write:filters"), h.saveFilterV2(false))
	v2.Delete("/filters/:id", h.need("write:filters"), h.deleteFilterV2)
	v2.Get("/filters/:id/keywords", h.need("read:filters"), h.filterKeywords)
	v2.Post("/filters/:id/keywords", h.need("write:filters"), h.addFilterKeyword)
	v2.Get("/filters/:id/statuses", h.need("read:filters"), h.filterStatuses)
	v2.Post("/filters/:id/statuses", h.need("write:filters"), h.addFilterStatus)

	v1.Get("/filters", h.need("read:filters"), h.filtersV1)
	v1.Post("/filters", h.need("write:filters"), h.saveFilterV1(true))
	v1.Get("/filters/:id", h.need("read:filters"), h.filterV1)
	v1.Put("/filters/:id", h.need("write:filters"), h.saveFilterV1(false))
	v1.Delete("/filters/:id", h.need("write:filters"), h.deleteFilterV1)
}

// FilterEntity is Mastodon's Filter entity (v2). Inside a FilterResult
// it comes without its keywords and statuses, as on Mastodon.
type FilterEntity struct {
	ID           string               `json:"id"`
	Title        string               `json:"title"`
	Context      []string             `json:"context"`
	ExpiresAt    *string              `json:"expires_at"`
	FilterAction string               `json:"filter_action"`
	Keywords     *[]FilterKeywordJSON `json:"keywords,omitempty"`
	Statuses     *[]FilterStatusJSON  `json:"statuses,omitempty"`
}

// FilterKeywordJSON is Mastodon's FilterKeyword entity.
type FilterKeywordJSON struct {
	ID        string `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// FilterStatusJSON is Mastodon's FilterStatus entity.
type FilterStatusJSON struct {
	ID       string `json:"id"`
	StatusID string `json:"status_id"`
}

// FilterV1 is the v1 Filter entity: one keyword of a filter.
type FilterV1 struct {
	ID           string   `json:"id"`
	Phrase       string   `json:"phrase"`
	Context      []string `json:"context"`
	WholeWord    bool     `json:"whole_word"`
	ExpiresAt    *string  `json:"expires_at"`
	Irreversible bool     `json:"irreversible"`
}

func keywordEntity(k federation.FilterKeyword) FilterKeywordJSON {
	return FilterKeywordJSON{ID: idStr(k.ID), Keyword: k.Keyword, WholeWord: k.WholeWord}
}

func filterStatusEntity(s federation.FilterStatus) FilterStatusJSON {
	return FilterStatusJSON{ID: idStr(s.ID), StatusID: idStr(s.StatusID)}
}

func filterEntity(f *federation.Filter, rules bool) *FilterEntity {
	out := &FilterEntity{ID: idStr(f.ID), Title: f.Title, Context: f.Context, ExpiresAt: tsPtr(f.ExpiresAt),
		FilterAction: f.Action}
	if out.Context == nil {
		out.Context = []string{}
	}
	if rules {
		ks, ss := []FilterKeywordJSON{}, []FilterStatusJSON{}
		for _, k := range f.Keywords {
			ks = append(ks, keywordEntity(k))
		}
		for _, s := range f.Statuses {
			ss = append(ss, filterStatusEntity(s))
		}
		out.Keywords, out.Statuses = &ks, &ss
	}
	return out
}

func filterV1(f *federation.Filter, k federation.FilterKeyword) FilterV1 {
	return FilterV1{ID: idStr(k.ID), Phrase: k.Keyword, Context: f.Context, WholeWord: k.WholeWord,
		ExpiresAt: tsPtr(f.ExpiresAt), Irreversible: f.Action == federation.FilterHide}
}

func (h *Handler) filtersV2(c *fiber.Ctx) error {
	fs, err := h.Filters.Filters(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	out := make([]*FilterEntity, 0, len(fs))
	for _, f := range fs {
		out = append(out, filterEntity(f, true))
	}
	return c.JSON(out)
}

func (h *Handler) filterV2(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := h.Filters.Filter(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(filterEntity(f, true))
}

// optString reads an optional string parameter.
func optString(p params, name string) *string {
	if !p.has(name) {
		return nil
	}
	v := p.str(name)
	return &v
}

// optList reads an optional list parameter.
func optList(p params, name string) *[]string {
	if !p.has(name) {
		return nil
	}
	v := p.list(name)
	return &v
}

// filterSettings reads title, context, filter_action and expires_in.
func filterSettings(p params) filter.Settings {
	return filter.Settings{Title: optString(p, "title"), Context: optList(p, "context"),
		Action: optString(p, "filter_action"), ExpiresIn: optString(p, "expires_in")}
}

// keywordsAttributes reads keywords_attributes: a JSON array of objects,
// an indexed form (keywords_attributes[0][keyword]) or Rails' repeated
// keywords_attributes[][keyword] form.
func keywordsAttributes(c *fiber.Ctx, p params) []filter.KeywordChange {
	var objs []params
	switch v := p["keywords_attributes"].(type) {
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				objs = append(objs, params(m))
			}
		}
	case map[string]any:
		if _, rails := v[""]; rails {
			objs = railsArray(c, "keywords_attributes")
		} else {
			objs = indexedObjects(v)
		}
	}
	out := make([]filter.KeywordChange, 0, len(objs))
	for _, o := range objs {
		var k filter.KeywordChange
		if o.has("id") {
			// A malformed id names no keyword of the filter: -1, which
			// the use case answers as not found after the settings.
			k.ID = -1
			if id, err := strconv.ParseInt(o.str("id"), 10, 64); err == nil && id > 0 {
				k.ID = id
			}
		}
		k.Keyword = strings.TrimSpace(o.str("keyword"))
		if o.has("whole_word") {
			w, _ := o.boolean("whole_word")
			k.WholeWord = &w
		}
		k.Destroy, _ = o.boolean("_destroy")
		out = append(out, k)
	}
	return out
}

// indexedObjects reads {"0": {...}, "1": {...}} in index order.
func indexedObjects(v map[string]any) []params {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b
	})
	var objs []params
	for _, k := range keys {
		if m, ok := v[k].(map[string]any); ok {
			objs = append(objs, params(m))
		}
	}
	return objs
}

// railsArray reads name[][field]=... pairs of an urlencoded body (or the
// query) in order, starting a new object whenever a field repeats, as
// Rails does.
func railsArray(c *fiber.Ctx, name string) []params {
	raw := string(c.Body())
	if !strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationForm) {
		raw = string(c.Request().URI().QueryString())
	}
	var out []params
	var cur params
	for _, pair := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		field, ok := strings.CutPrefix(k, name+"[][")
		if !ok || !strings.HasSuffix(field, "]") {
			continue
		}
		field = strings.TrimSuffix(field, "]")
		if cur == nil || cur.has(field) {
			cur = params{}
			out = append(out, cur)
		}
		cur[field] = v
	}
	return out
}

func (h *Handler) saveFilterV2(create bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := h.me(c); err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		var id int64
		if !create {
			if id, err = pathID(c, "id"); err != nil {
				return err
			}
		}
		changes := keywordsAttributes(c, p)
		var saved *federation.Filter
		if create {
			saved, err = h.Filters.Create(c.UserContext(), viewer(c), filterSettings(p), changes)
		} else {
			saved, err = h.Filters.Update(c.UserContext(), viewer(c), id, filterSettings(p), changes)
		}
		if err != nil {
			return err
		}
		return c.JSON(filterEntity(saved, true))
	}
}

func (h *Handler) deleteFilterV2(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Filters.Delete(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) filterKeywords(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := h.Filters.Filter(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	out := []FilterKeywordJSON{}
	for _, k := range f.Keywords {
		out = append(out, keywordEntity(k))
	}
	return c.JSON(out)
}

func (h *Handler) addFilterKeyword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var whole *bool
	if err := flag(p, "whole_word", &whole); err != nil {
		return err
	}
	k, err := h.Filters.AddKeyword(c.UserContext(), viewer(c), id, p.str("keyword"), whole)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (h *Handler) filterKeyword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	_, k, err := h.Filters.Keyword(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (h *Handler) updateFilterKeyword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var whole *bool
	if err := flag(p, "whole_word", &whole); err != nil {
		return err
	}
	k, err := h.Filters.UpdateKeyword(c.UserContext(), viewer(c), id, optString(p, "keyword"), whole)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (h *Handler) deleteFilterKeyword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Filters.DeleteKeyword(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) filterStatuses(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := h.Filters.Filter(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	out := []FilterStatusJSON{}
	for _, s := range f.Statuses {
		out = append(out, filterStatusEntity(s))
	}
	return c.JSON(out)
}

func (h *Handler) addFilterStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	// A malformed id names no status: not found, as one the viewer cannot see.
	statusID, _ := strconv.ParseInt(p.str("status_id"), 10, 64)
	fs, err := h.Filters.AddStatus(c.UserContext(), viewer(c), id, statusID)
	if err != nil {
		return err
	}
	return c.JSON(filterStatusEntity(*fs))
}

func (h *Handler) filterStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	s, err := h.Filters.Status(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(filterStatusEntity(s))
}

func (h *Handler) deleteFilterStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Filters.DeleteStatus(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

// The v1 API sees each keyword as a filter of its own.

func (h *Handler) filtersV1(c *fiber.Ctx) error {
	fs, err := h.Filters.Filters(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	out := []FilterV1{}
	for _, f := range fs {
		for _, k := range f.Keywords {
			out = append(out, filterV1(f, k))
		}
	}
	return c.JSON(out)
}

func (h *Handler) filterV1(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, k, err := h.Filters.Keyword(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(filterV1(f, k))
}

// v1Changes reads phrase, whole_word, context, irreversible and expires_in.
func v1Changes(p params) (filter.V1Changes, error) {
	ch := filter.V1Changes{Phrase: optString(p, "phrase"), Context: optList(p, "context"), ExpiresIn: optString(p, "expires_in")}
	if p.has("irreversible") {
		irreversible, _ := p.boolean("irreversible")
		ch.Irreversible = &irreversible
	}
	return ch, flag(p, "whole_word", &ch.WholeWord)
}

func (h *Handler) saveFilterV1(create bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := h.me(c); err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		var id int64
		if !create {
			if id, err = pathID(c, "id"); err != nil {
				return err
			}
		}
		ch, err := v1Changes(p)
		if err != nil {
			return err
		}
		var f *federation.Filter
		var k federation.FilterKeyword
		if create {
			f, k, err = h.Filters.CreateV1(c.UserContext(), viewer(c), ch)
		} else {
			f, k, err = h.Filters.UpdateV1(c.UserContext(), viewer(c), id, ch)
		}
		if err != nil {
			return err
		}
		return c.JSON(filterV1(f, k))
	}
}

func (h *Handler) deleteFilterV1(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Filters.DeleteV1(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}
