package admin

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/internal/errs"
)

// Server rules, About (the about text, the privacy policy, who sees the
// domain blocks) and Terms of service: what a Mastodon admin writes on
// their server's settings, here per tenant on its /admin. They are the
// tenant's own: the session's Tenant is the scope of every call, and the
// operator host (which acts for no tenant) has none.

// About audit actions.
const (
	ActionRuleCreate  = "rule.create"
	ActionRuleUpdate  = "rule.update"
	ActionRuleDelete  = "rule.delete"
	ActionRuleMove    = "rule.move"
	ActionAboutUpdate = "about.update"
	ActionTermsCreate = "terms.create"
	ActionTermsUpdate = "terms.update"
	ActionTermsDelete = "terms.delete"
)

func init() {
	Actions = append(Actions, ActionRuleCreate, ActionRuleUpdate, ActionRuleDelete, ActionRuleMove,
		ActionAboutUpdate, ActionTermsCreate, ActionTermsUpdate, ActionTermsDelete)
}

// aboutRoutes need ManageSite: a tenant's admins, not its moderators.
var aboutRoutes = []route{
	{"GET", "/rules", ManageSite, sitePage((*Handler).rulesPage)},
	{"GET", "/rule", ManageSite, sitePage((*Handler).rulePage)},
	{"POST", "/rules", ManageSite, sitePage((*Handler).saveRule)},
	{"POST", "/rules/delete", ManageSite, sitePage((*Handler).deleteRule)},
	{"POST", "/rules/move", ManageSite, sitePage((*Handler).moveRule)},
	{"GET", "/about", ManageSite, sitePage((*Handler).aboutPage)},
	{"POST", "/about", ManageSite, sitePage((*Handler).saveAbout)},
	{"GET", "/terms", ManageSite, sitePage((*Handler).termsPage)},
	{"GET", "/terms/version", ManageSite, sitePage((*Handler).termsVersionPage)},
	{"POST", "/terms", ManageSite, sitePage((*Handler).saveTerms)},
	{"POST", "/terms/delete", ManageSite, sitePage((*Handler).deleteTerms)},
}

// sitePage answers 503 when the node was built without these pages, and
// 404 on the operator host: rules and terms are each tenant's.
func sitePage(fn func(h *Handler, c *fiber.Ctx, s *session) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return func(h *Handler, c *fiber.Ctx, s *session) error {
		if h.About == nil {
			return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available", "Server rules and terms are not available on this node.")
		}
		if s.Tenant == 0 {
			return h.errorPage(c, s, fiber.StatusNotFound, "Not here", "Rules, about text and terms are each site's: its admins write them on the site's /admin.")
		}
		return fn(h, c, s)
	}
}

var aboutNotices = map[string]string{
	"saved":   "Saved. Apps show it at once.",
	"deleted": "Deleted.",
	"moved":   "Moved.",
}

type rulesData struct {
	List []federation.ServerRule
	Form federation.ServerRule
}

func (h *Handler) rulesPage(c *fiber.Ctx, s *session) error {
	return h.renderRules(c, s, fiber.StatusOK, federation.ServerRule{}, aboutNotices[c.Query("done")], "")
}

func (h *Handler) renderRules(c *fiber.Ctx, s *session, status int, f federation.ServerRule, notice, msg string) error {
	list, err := h.About.Rules(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, status, "rules", &view{Page: titled("Server rules"), Notice: notice, Error: msg,
		Data: rulesData{List: list, Form: f}})
}

// aboutID reads an id from a form or query value; 0 when absent or not a
// number (which no row has).
func aboutID(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

func (h *Handler) notFound(c *fiber.Ctx, s *session, what string) error {
	return h.errorPage(c, s, fiber.StatusNotFound, "Not found", "No such "+what+".")
}

func (h *Handler) rulePage(c *fiber.Ctx, s *session) error {
	r, err := h.About.Rule(c.UserContext(), s.Tenant, aboutID(c.Query("id")))
	if errs.Is(err, errs.NotFound) {
		return h.notFound(c, s, "rule")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, fiber.StatusOK, "rule", &view{Page: titled("Edit rule"), Data: rulesData{Form: *r}})
}

func (h *Handler) saveRule(c *fiber.Ctx, s *session) error {
	d := about.RuleDraft{ID: aboutID(c.FormValue("id")), Text: c.FormValue("text"), Hint: c.FormValue("hint")}
	r, err := h.About.SaveRule(c.UserContext(), s.Tenant, d)
	switch errs.CodeOf(err) {
	case errs.Invalid:
		return h.renderRules(c, s, fiber.StatusUnprocessableEntity, federation.ServerRule{ID: d.ID, Text: d.Text, Hint: d.Hint}, "", errs.MessageOf(err))
	case errs.NotFound:
		return h.notFound(c, s, "rule")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	action := ActionRuleUpdate
	if d.ID == 0 {
		action = ActionRuleCreate
	}
	h.record(c, s.actor(), action, "rule "+strconv.FormatInt(r.ID, 10), nullTenant(s.Tenant), summary(r.Text))
	return c.Redirect(link(c, "/rules?done=saved"), fiber.StatusSeeOther)
}

func (h *Handler) deleteRule(c *fiber.Ctx, s *session) error {
	r, err := h.About.DeleteRule(c.UserContext(), s.Tenant, aboutID(c.FormValue("id")))
	if errs.Is(err, errs.NotFound) {
		return h.notFound(c, s, "rule")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionRuleDelete, "rule "+strconv.FormatInt(r.ID, 10), nullTenant(s.Tenant), summary(r.Text))
	return c.Redirect(link(c, "/rules?done=deleted"), fiber.StatusSeeOther)
}

func (h *Handler) moveRule(c *fiber.Ctx, s *session) error {
	id, up := aboutID(c.FormValue("id")), c.FormValue("dir") == "up"
	err := h.About.MoveRule(c.UserContext(), s.Tenant, id, up)
	if errs.Is(err, errs.NotFound) {
		return h.notFound(c, s, "rule")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	dir := "down"
	if up {
		dir = "up"
	}
	h.record(c, s.actor(), ActionRuleMove, "rule "+strconv.FormatInt(id, 10), nullTenant(s.Tenant), dir)
	return c.Redirect(link(c, "/rules?done=moved"), fiber.StatusSeeOther)
}

// showChoices are the domain-block visibility settings, as Mastodon words
// them.
var showChoices = []struct{ Value, Label string }{
	{federation.ShowNobody, "Nobody"}, {federation.ShowUsers, "Signed-in users"}, {federation.ShowEveryone, "Everyone"},
}

type aboutData struct {
	Settings federation.ServerSettings
	Choices  []struct{ Value, Label string }
}

func (h *Handler) aboutPage(c *fiber.Ctx, s *session) error {
	v, err := h.About.Settings(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.renderAbout(c, s, fiber.StatusOK, *v, aboutNotices[c.Query("done")], "")
}

func (h *Handler) renderAbout(c *fiber.Ctx, s *session, status int, v federation.ServerSettings, notice, msg string) error {
	return h.render(c, s, status, "about", &view{Page: titled("About"), Notice: notice, Error: msg,
		Data: aboutData{Settings: v, Choices: showChoices}})
}

func (h *Handler) saveAbout(c *fiber.Ctx, s *session) error {
	v := federation.ServerSettings{About: c.FormValue("about"), PrivacyPolicy: c.FormValue("privacy_policy"),
		DomainBlocks: c.FormValue("domain_blocks"), DomainBlocksRationale: c.FormValue("domain_blocks_rationale")}
	err := h.About.SaveSettings(c.UserContext(), s.Tenant, v)
	if errs.CodeOf(err) == errs.Invalid {
		return h.renderAbout(c, s, fiber.StatusUnprocessableEntity, v, "", errs.MessageOf(err))
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionAboutUpdate, "about", nullTenant(s.Tenant),
		"domain blocks: "+v.DomainBlocks+", comments: "+v.DomainBlocksRationale)
	return c.Redirect(link(c, "/about?done=saved"), fiber.StatusSeeOther)
}

// termsForm is the terms form's values.
type termsForm struct {
	ID                    int64
	Date, Text, Changelog string
}

type termsData struct {
	List []federation.TermsVersion
	Form termsForm
}

func (h *Handler) termsPage(c *fiber.Ctx, s *session) error {
	return h.renderTerms(c, s, fiber.StatusOK, termsForm{}, aboutNotices[c.Query("done")], "")
}

func (h *Handler) renderTerms(c *fiber.Ctx, s *session, status int, f termsForm, notice, msg string) error {
	list, err := h.About.TermsVersions(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, status, "terms", &view{Page: titled("Terms of service"), Notice: notice, Error: msg,
		Data: termsData{List: list, Form: f}})
}

func (h *Handler) termsVersionPage(c *fiber.Ctx, s *session) error {
	v, err := h.About.TermsVersion(c.UserContext(), s.Tenant, aboutID(c.Query("id")))
	if errs.Is(err, errs.NotFound) {
		return h.notFound(c, s, "version of the terms")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	f := termsForm{ID: v.ID, Date: v.EffectiveDate.Format(about.DateFormat), Text: v.Text, Changelog: v.Changelog}
	return h.render(c, s, fiber.StatusOK, "terms-version", &view{Page: titled("Edit terms of service"), Data: termsData{Form: f}})
}

func (h *Handler) saveTerms(c *fiber.Ctx, s *session) error {
	f := termsForm{ID: aboutID(c.FormValue("id")), Date: c.FormValue("effective_date"), Text: c.FormValue("text"),
		Changelog: c.FormValue("changelog")}
	v, err := h.About.SaveTerms(c.UserContext(), s.Tenant, about.TermsDraft{ID: f.ID, Date: f.Date, Text: f.Text, Changelog: f.Changelog})
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.Conflict:
		return h.renderTerms(c, s, fiber.StatusUnprocessableEntity, f, "", errs.MessageOf(err))
	case errs.NotFound:
		return h.notFound(c, s, "version of the terms")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	action := ActionTermsUpdate
	if f.ID == 0 {
		action = ActionTermsCreate
	}
	h.record(c, s.actor(), action, "terms "+v.EffectiveDate.Format(about.DateFormat), nullTenant(s.Tenant), summary(v.Changelog))
	return c.Redirect(link(c, "/terms?done=saved"), fiber.StatusSeeOther)
}

func (h *Handler) deleteTerms(c *fiber.Ctx, s *session) error {
	v, err := h.About.DeleteTerms(c.UserContext(), s.Tenant, aboutID(c.FormValue("id")))
	if errs.Is(err, errs.NotFound) {
		return h.notFound(c, s, "version of the terms")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionTermsDelete, "terms "+v.EffectiveDate.Format(about.DateFormat), nullTenant(s.Tenant), "")
	return c.Redirect(link(c, "/terms?done=deleted"), fiber.StatusSeeOther)
}
