package webapp

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// Filters are the client API's v2 filters (/api/v2/filters): the page
// lists, creates, edits and deletes them with the same rules an app's
// requests meet (title, contexts, keywords, expiry, warn or hide).

func (h *Handler) registerFilters(r fiber.Router) {
	r.Get("/filters", h.app(h.filtersPage))
	r.Get("/filters/new", h.app(h.filterNew))
	r.Post("/filters", h.action(h.filterCreate))
	r.Get("/filters/:id/edit", h.app(h.filterEdit))
	r.Post("/filters/:id", h.action(h.filterUpdate))
	r.Post("/filters/:id/delete", h.action(h.filterDelete))
}

// filterContexts are the places a filter applies, as Mastodon names them.
var filterContexts = []struct{ Value, Label string }{
	{"home", "Home and lists"}, {"notifications", "Notifications"}, {"public", "Public timelines"},
	{"thread", "Conversations"}, {"account", "Profiles"},
}

// filterExpiries are the lifetimes the form offers, in seconds ("" never).
var filterExpiries = []struct{ Value, Label string }{
	{"", "Never"}, {"1800", "30 minutes"}, {"3600", "1 hour"}, {"21600", "6 hours"}, {"43200", "12 hours"},
	{"86400", "1 day"}, {"604800", "1 week"},
}

// filtersData is the list page's.
type filtersData struct {
	settingsData
	Filters []mastodon.FilterEntity
}

// filterForm is the create and edit page's.
type filterForm struct {
	settingsData
	ID        string // "" for a new filter
	Name      string
	Context   []string
	Action    string
	ExpiresAt string
	Keywords  string // one a line
	WholeWord bool
}

// Contexts are the context choices.
func (filterForm) Contexts() []struct{ Value, Label string } { return filterContexts }

// Expiries are the expiry choices.
func (filterForm) Expiries() []struct{ Value, Label string } { return filterExpiries }

// Has reports whether the filter applies in context.
func (f filterForm) Has(context string) bool { return slices.Contains(f.Context, context) }

func (h *Handler) filtersPage(c *fiber.Ctx) error {
	d := &filtersData{settingsData: settingsBase(c, "Filters")}
	if err := h.get(c, "/api/v2/filters", nil, &d.Filters); err != nil {
		return h.fail(c, err)
	}
	return h.render(c, "settings_filters", d)
}

func (h *Handler) filterNew(c *fiber.Ctx) error {
	f := &filterForm{settingsData: settingsBase(c, "New filter"), Context: []string{"home", "public"}, Action: "warn"}
	return h.render(c, "settings_filter_form", f)
}

func (h *Handler) filterEdit(c *fiber.Ctx) error {
	var e mastodon.FilterEntity
	if err := h.get(c, "/api/v2/filters/"+url.PathEscape(c.Params("id")), nil, &e); err != nil {
		return h.fail(c, err)
	}
	f := &filterForm{settingsData: settingsBase(c, "Edit filter"), ID: e.ID, Name: e.Title, Context: e.Context, Action: e.FilterAction}
	if e.ExpiresAt != nil {
		f.ExpiresAt = *e.ExpiresAt
	}
	if e.Keywords != nil {
		var words []string
		for _, k := range *e.Keywords {
			words = append(words, k.Keyword)
			f.WholeWord = f.WholeWord || k.WholeWord
		}
		f.Keywords = strings.Join(words, "\n")
	}
	return h.render(c, "settings_filter_form", f)
}

// filterBody is the API request of the posted form; existing keywords
// not listed any more are removed, listed ones kept, new ones added.
func filterBody(c *fiber.Ctx, existing []mastodon.FilterKeywordJSON) map[string]any {
	whole := c.FormValue("whole_word") == "1"
	body := map[string]any{"title": c.FormValue("title"), "filter_action": c.FormValue("filter_action")}
	var contexts []string
	for _, fc := range filterContexts {
		if c.FormValue("context_"+fc.Value) == "1" {
			contexts = append(contexts, fc.Value)
		}
	}
	body["context"] = contexts
	if exp := c.FormValue("expires_in"); exp != "keep" {
		body["expires_in"] = exp
	}
	listed := map[string]bool{}
	var changes []map[string]any
	for _, line := range strings.Split(c.FormValue("keywords"), "\n") {
		if k := strings.TrimSpace(line); k != "" && !listed[k] {
			listed[k] = true
		}
	}
	kept := map[string]bool{}
	for _, k := range existing {
		if listed[k.Keyword] {
			kept[k.Keyword] = true
			changes = append(changes, map[string]any{"id": k.ID, "whole_word": whole})
		} else {
			changes = append(changes, map[string]any{"id": k.ID, "_destroy": true})
		}
	}
	for _, line := range strings.Split(c.FormValue("keywords"), "\n") {
		if k := strings.TrimSpace(line); k != "" && !kept[k] {
			kept[k] = true
			changes = append(changes, map[string]any{"keyword": k, "whole_word": whole})
		}
	}
	body["keywords_attributes"] = changes
	return body
}

// filterAgain shows the posted form with the API's refusal.
func (h *Handler) filterAgain(c *fiber.Ctx, id, title, msg string) error {
	f := &filterForm{settingsData: settingsBase(c, title), ID: id, Name: c.FormValue("title"), Action: c.FormValue("filter_action"),
		Keywords: c.FormValue("keywords"), WholeWord: c.FormValue("whole_word") == "1"}
	f.Error = msg
	for _, fc := range filterContexts {
		if c.FormValue("context_"+fc.Value) == "1" {
			f.Context = append(f.Context, fc.Value)
		}
	}
	return h.renderSettings(c, "settings_filter_form", f, msg)
}

func (h *Handler) filterCreate(c *fiber.Ctx) error {
	if err := h.sendJSON(c, fiber.MethodPost, "/api/v2/filters", filterBody(c, nil), nil); err != nil {
		return h.settingsBack(c, func(msg string) error { return h.filterAgain(c, "", "New filter", msg) }, err)
	}
	return c.Redirect("/filters?done=saved", fiber.StatusSeeOther)
}

func (h *Handler) filterUpdate(c *fiber.Ctx) error {
	path := "/api/v2/filters/" + url.PathEscape(c.Params("id"))
	var e mastodon.FilterEntity
	if err := h.get(c, path, nil, &e); err != nil {
		return h.fail(c, err)
	}
	var existing []mastodon.FilterKeywordJSON
	if e.Keywords != nil {
		existing = *e.Keywords
	}
	if err := h.sendJSON(c, fiber.MethodPut, path, filterBody(c, existing), nil); err != nil {
		return h.settingsBack(c, func(msg string) error { return h.filterAgain(c, e.ID, "Edit filter", msg) }, err)
	}
	return c.Redirect("/filters?done=saved", fiber.StatusSeeOther)
}

func (h *Handler) filterDelete(c *fiber.Ctx) error {
	if err := h.send(c, fiber.MethodDelete, "/api/v2/filters/"+url.PathEscape(c.Params("id")), nil, nil); err != nil {
		return h.fail(c, err)
	}
	return c.Redirect("/filters?done=deleted", fiber.StatusSeeOther)
}
