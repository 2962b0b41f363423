package mastodon

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func (h *Handler) registerFilters(v1, v2 fiber.Router) {
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
	fs, err := h.More.Filters(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	out := make([]*FilterEntity, 0, len(fs))
	for _, f := range fs {
		out = append(out, filterEntity(f, true))
	}
	return c.JSON(out)
}

// ownFilter loads the signed-in account's filter named by :id.
func (h *Handler) ownFilter(c *fiber.Ctx) (*federation.Filter, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.More.Filter(c.UserContext(), viewer(c), id)
}

func (h *Handler) filterV2(c *fiber.Ctx) error {
	f, err := h.ownFilter(c)
	if err != nil {
		return err
	}
	return c.JSON(filterEntity(f, true))
}

// readFilterSettings applies title, context, filter_action and
// expires_in from p to f (all required when creating).
func readFilterSettings(p params, f *federation.Filter, create bool) error {
	if create || p.has("title") {
		f.Title = strings.TrimSpace(p.str("title"))
		if f.Title == "" {
			return errs.E(errs.Invalid, "Validation failed: Title can't be blank")
		}
		if utf8.RuneCountInString(f.Title) > federation.MaxFilterTitleChar {
			return errs.E(errs.Invalid, "Validation failed: Title is too long (maximum is %d characters)", federation.MaxFilterTitleChar)
		}
	}
	if create || p.has("context") {
		ctxs, err := readContexts(p.list("context"))
		if err != nil {
			return err
		}
		f.Context = ctxs
	}
	if p.has("filter_action") {
		switch a := p.str("filter_action"); a {
		case federation.FilterWarn, federation.FilterHide:
			f.Action = a
		default:
			return errs.E(errs.Invalid, "Validation failed: filter_action must be warn or hide")
		}
	}
	if f.Action == "" {
		f.Action = federation.FilterWarn
	}
	if p.has("expires_in") {
		at, err := readExpiresIn(p.str("expires_in"))
		if err != nil {
			return err
		}
		f.ExpiresAt = at
	}
	return nil
}

func readContexts(list []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, c := range list {
		if !contains(federation.FilterContexts, c) {
			return nil, errs.E(errs.Invalid, "Validation failed: context %q is not one of %s", c, strings.Join(federation.FilterContexts, ", "))
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, "Validation failed: Context can't be blank")
	}
	return out, nil
}

// readExpiresIn reads a lifetime in seconds; empty means never.
func readExpiresIn(s string) (*time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 10*365*24*3600 {
		return nil, errs.E(errs.Invalid, "Validation failed: expires_in must be a number of seconds")
	}
	t := time.Now().Add(time.Duration(n) * time.Second).UTC().Truncate(time.Second)
	return &t, nil
}

// keywordChange is one entry of keywords_attributes.
type keywordChange struct {
	id        int64
	keyword   string
	hasWord   bool
	wholeWord bool
	destroy   bool
}

// keywordsAttributes reads keywords_attributes: a JSON array of objects,
// an indexed form (keywords_attributes[0][keyword]) or Rails' repeated
// keywords_attributes[][keyword] form.
func keywordsAttributes(c *fiber.Ctx, p params) ([]keywordChange, error) {
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
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				a, _ := strconv.Atoi(keys[i])
				b, _ := strconv.Atoi(keys[j])
				return a < b
			})
			for _, k := range keys {
				if m, ok := v[k].(map[string]any); ok {
					objs = append(objs, params(m))
				}
			}
		}
	}
	out := make([]keywordChange, 0, len(objs))
	for _, o := range objs {
		var k keywordChange
		if o.has("id") {
			id, err := strconv.ParseInt(o.str("id"), 10, 64)
			if err != nil || id <= 0 {
				return nil, errNotFound
			}
			k.id = id
		}
		k.keyword = strings.TrimSpace(o.str("keyword"))
		if o.has("whole_word") {
			k.hasWord = true
			k.wholeWord, _ = o.boolean("whole_word")
		}
		k.destroy, _ = o.boolean("_destroy")
		out = append(out, k)
	}
	return out, nil
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

// applyKeywords turns keyword changes into the filter's new keywords and
// the ids to drop.
func applyKeywords(f *federation.Filter, changes []keywordChange) (drop []int64, err error) {
	existing := map[int64]int{}
	for i, k := range f.Keywords {
		existing[k.ID] = i
	}
	var added []federation.FilterKeyword
	for _, ch := range changes {
		if ch.id != 0 {
			i, ok := existing[ch.id]
			if !ok {
				return nil, errNotFound
			}
			if ch.destroy {
				drop = append(drop, ch.id)
				continue
			}
			if ch.keyword != "" {
				f.Keywords[i].Keyword = ch.keyword
			}
			if ch.hasWord {
				f.Keywords[i].WholeWord = ch.wholeWord
			}
			continue
		}
		if ch.destroy {
			continue
		}
		k := federation.FilterKeyword{Keyword: ch.keyword, WholeWord: true}
		if ch.hasWord {
			k.WholeWord = ch.wholeWord
		}
		added = append(added, k)
	}
	f.Keywords = append(f.Keywords, added...)
	kept := f.Keywords[:0]
	for _, k := range f.Keywords {
		if k.ID != 0 && contains64(drop, k.ID) {
			continue
		}
		if err := checkKeyword(k.Keyword); err != nil {
			return nil, err
		}
		kept = append(kept, k)
	}
	f.Keywords = kept
	return drop, nil
}

func checkKeyword(k string) error {
	if k == "" {
		return errs.E(errs.Invalid, "Validation failed: Keyword can't be blank")
	}
	if utf8.RuneCountInString(k) > federation.MaxFilterKeyword {
		return errs.E(errs.Invalid, "Validation failed: Keyword is too long (maximum is %d characters)", federation.MaxFilterKeyword)
	}
	return nil
}

func contains64(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
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
		f := &federation.Filter{}
		if !create {
			if f, err = h.ownFilter(c); err != nil {
				return err
			}
		}
		if err := readFilterSettings(p, f, create); err != nil {
			return err
		}
		changes, err := keywordsAttributes(c, p)
		if err != nil {
			return err
		}
		// Only the keywords being changed or added are written.
		before := map[int64]federation.FilterKeyword{}
		for _, k := range f.Keywords {
			before[k.ID] = k
		}
		drop, err := applyKeywords(f, changes)
		if err != nil {
			return err
		}
		var write []federation.FilterKeyword
		for _, k := range f.Keywords {
			if old, ok := before[k.ID]; !ok || old != k {
				write = append(write, k)
			}
		}
		f.Keywords = write
		saved, err := h.More.SaveFilter(c.UserContext(), viewer(c), f, drop)
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
	if err := h.More.DeleteFilter(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) filterKeywords(c *fiber.Ctx) error {
	f, err := h.ownFilter(c)
	if err != nil {
		return err
	}
	out := []FilterKeywordJSON{}
	for _, k := range f.Keywords {
		out = append(out, keywordEntity(k))
	}
	return c.JSON(out)
}

// keywordParams reads keyword and whole_word.
func keywordParams(p params, k *federation.FilterKeyword, create bool) error {
	if create || p.has("keyword") {
		k.Keyword = strings.TrimSpace(p.str("keyword"))
		if err := checkKeyword(k.Keyword); err != nil {
			return err
		}
	}
	if create {
		k.WholeWord = true
	}
	return flagInto(p, "whole_word", &k.WholeWord)
}

// saveKeyword writes one keyword of f and renders it.
func (h *Handler) saveKeyword(c *fiber.Ctx, f *federation.Filter, k federation.FilterKeyword) error {
	before := map[int64]bool{}
	for _, x := range f.Keywords {
		before[x.ID] = true
	}
	f.Keywords = []federation.FilterKeyword{k}
	saved, err := h.More.SaveFilter(c.UserContext(), viewer(c), f, nil)
	if err != nil {
		return err
	}
	for _, x := range saved.Keywords {
		if (k.ID != 0 && x.ID == k.ID) || (k.ID == 0 && !before[x.ID]) {
			return c.JSON(keywordEntity(x))
		}
	}
	return errNotFound
}

func (h *Handler) addFilterKeyword(c *fiber.Ctx) error {
	f, err := h.ownFilter(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var k federation.FilterKeyword
	if err := keywordParams(p, &k, true); err != nil {
		return err
	}
	return h.saveKeyword(c, f, k)
}

// keywordOf finds the :id keyword of the signed-in account's filters.
func (h *Handler) keywordOf(c *fiber.Ctx) (*federation.Filter, federation.FilterKeyword, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, federation.FilterKeyword{}, err
	}
	f, err := h.More.FilterOfKeyword(c.UserContext(), viewer(c), id)
	if err != nil {
		return nil, federation.FilterKeyword{}, err
	}
	for _, k := range f.Keywords {
		if k.ID == id {
			return f, k, nil
		}
	}
	return nil, federation.FilterKeyword{}, errNotFound
}

func (h *Handler) filterKeyword(c *fiber.Ctx) error {
	_, k, err := h.keywordOf(c)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (h *Handler) updateFilterKeyword(c *fiber.Ctx) error {
	f, k, err := h.keywordOf(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	if err := keywordParams(p, &k, false); err != nil {
		return err
	}
	return h.saveKeyword(c, f, k)
}

func (h *Handler) deleteFilterKeyword(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.More.DeleteFilterKeyword(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) filterStatuses(c *fiber.Ctx) error {
	f, err := h.ownFilter(c)
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
	f, err := h.ownFilter(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	// Only a status the viewer can see can be filtered.
	v, err := h.visibleStatus(c, p.str("status_id"))
	if err != nil {
		return err
	}
	fs, err := h.More.AddFilterStatus(c.UserContext(), viewer(c), f.ID, v.ID)
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
	f, err := h.More.FilterOfStatus(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	for _, s := range f.Statuses {
		if s.ID == id {
			return c.JSON(filterStatusEntity(s))
		}
	}
	return errNotFound
}

func (h *Handler) deleteFilterStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.More.DeleteFilterStatus(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

// The v1 API sees each keyword as a filter of its own.

func (h *Handler) filtersV1(c *fiber.Ctx) error {
	fs, err := h.More.Filters(c.UserContext(), viewer(c))
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
	f, k, err := h.keywordOf(c)
	if err != nil {
		return err
	}
	return c.JSON(filterV1(f, k))
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
		f := &federation.Filter{}
		var k federation.FilterKeyword
		if !create {
			if f, k, err = h.keywordOf(c); err != nil {
				return err
			}
		}
		if create || p.has("phrase") {
			k.Keyword = strings.TrimSpace(p.str("phrase"))
			if err := checkKeyword(k.Keyword); err != nil {
				return err
			}
			if create {
				f.Title = k.Keyword
				if utf8.RuneCountInString(f.Title) > federation.MaxFilterTitleChar {
					f.Title = string([]rune(f.Title)[:federation.MaxFilterTitleChar])
				}
			}
		}
		if create {
			k.WholeWord = true
		}
		if err := flagInto(p, "whole_word", &k.WholeWord); err != nil {
			return err
		}
		if create || p.has("context") {
			if f.Context, err = readContexts(p.list("context")); err != nil {
				return err
			}
		}
		if p.has("irreversible") || create {
			irreversible, _ := p.boolean("irreversible")
			f.Action = federation.FilterWarn
			if irreversible {
				f.Action = federation.FilterHide
			}
		}
		if p.has("expires_in") {
			if f.ExpiresAt, err = readExpiresIn(p.str("expires_in")); err != nil {
				return err
			}
		}
		before := map[int64]bool{}
		for _, x := range f.Keywords {
			before[x.ID] = true
		}
		f.Keywords = []federation.FilterKeyword{k}
		saved, err := h.More.SaveFilter(c.UserContext(), viewer(c), f, nil)
		if err != nil {
			return err
		}
		for _, x := range saved.Keywords {
			if (k.ID != 0 && x.ID == k.ID) || (k.ID == 0 && !before[x.ID]) {
				return c.JSON(filterV1(saved, x))
			}
		}
		return errNotFound
	}
}

func (h *Handler) deleteFilterV1(c *fiber.Ctx) error {
	f, k, err := h.keywordOf(c)
	if err != nil {
		return err
	}
	// A filter left without keywords or statuses goes with its last one.
	if len(f.Keywords) == 1 && len(f.Statuses) == 0 {
		err = h.More.DeleteFilter(c.UserContext(), viewer(c), f.ID)
	} else {
		err = h.More.DeleteFilterKeyword(c.UserContext(), viewer(c), k.ID)
	}
	if err != nil {
		return err
	}
	return c.JSON(struct{}{})
}
