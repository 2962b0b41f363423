package admin

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/internal/errs"
)

// Announcements pages: on the operator host they write the instance's
// announcements (shown on every tenant); on a tenant's /admin that
// tenant's own. The session's Tenant is the scope of every call, so no
// tenant's admin reaches the operator's or another tenant's.

// Announcement audit actions.
const (
	ActionAnnouncementCreate = "announcement.create"
	ActionAnnouncementUpdate = "announcement.update"
	ActionAnnouncementDelete = "announcement.delete"
)

func init() {
	Actions = append(Actions, ActionAnnouncementCreate, ActionAnnouncementUpdate, ActionAnnouncementDelete)
}

// announcementRoutes need ManageSite: operators and tenant admins, not
// moderators.
var announcementRoutes = []route{
	{"GET", "/announcements", ManageSite, annPage((*Handler).announcementsPage)},
	{"GET", "/announcement", ManageSite, annPage((*Handler).announcementPage)},
	{"POST", "/announcements", ManageSite, annPage((*Handler).saveAnnouncement)},
	{"POST", "/announcements/delete", ManageSite, annPage((*Handler).deleteAnnouncement)},
}

// annPage answers 503 when the node was built without announcements.
func annPage(fn func(h *Handler, c *fiber.Ctx, s *session) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return func(h *Handler, c *fiber.Ctx, s *session) error {
		if h.Announcements == nil {
			return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available", "Announcements are not available on this node.")
		}
		return fn(h, c, s)
	}
}

var announcementNotices = map[string]string{
	"saved":   "Saved. Apps show published announcements above the home timeline.",
	"deleted": "Announcement deleted.",
}

// annForm is the edit form's values.
type annForm struct {
	ID                int64
	Text              string
	StartsAt, EndsAt  string // 2006-01-02T15:04 (UTC), as a datetime-local input
	AllDay, Published bool
}

type announcementsData struct {
	Instance bool // the operator's: shown on every tenant
	List     []federation.Announcement
	Form     annForm
}

const formTime = "2006-01-02T15:04"

func (h *Handler) announcementsPage(c *fiber.Ctx, s *session) error {
	return h.renderAnnouncements(c, s, fiber.StatusOK, annForm{Published: true}, announcementNotices[c.Query("done")], "")
}

func (h *Handler) renderAnnouncements(c *fiber.Ctx, s *session, status int, f annForm, notice, msg string) error {
	list, err := h.Announcements.Authored(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, status, "announcements", &view{Page: titled("Announcements"), Notice: notice, Error: msg,
		Data: announcementsData{Instance: s.Tenant == 0, List: list, Form: f}})
}

// announcementPage is the form to edit one of the scope's own.
func (h *Handler) announcementPage(c *fiber.Ctx, s *session) error {
	id, _ := strconv.ParseInt(c.Query("id"), 10, 64)
	a, err := h.Announcements.Get(c.UserContext(), s.Tenant, id)
	if errs.Is(err, errs.NotFound) {
		return h.errorPage(c, s, fiber.StatusNotFound, "Not found", "No such announcement.")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	f := annForm{ID: a.ID, Text: a.Text, AllDay: a.AllDay, Published: a.PublishedAt != nil,
		StartsAt: formatFormTime(a.StartsAt), EndsAt: formatFormTime(a.EndsAt)}
	return h.render(c, s, fiber.StatusOK, "announcement", &view{Page: titled("Edit announcement"),
		Data: announcementsData{Instance: s.Tenant == 0, Form: f}})
}

func formatFormTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(formTime)
}

// parseFormTime reads an optional datetime-local value as UTC.
func parseFormTime(v string) (*time.Time, error) {
	if v = strings.TrimSpace(v); v == "" {
		return nil, nil
	}
	t, err := time.Parse(formTime, v)
	if err != nil {
		return nil, errs.E(errs.Invalid, "times are YYYY-MM-DDTHH:MM (UTC)")
	}
	return &t, nil
}

func (h *Handler) saveAnnouncement(c *fiber.Ctx, s *session) error {
	f := annForm{Text: c.FormValue("text"), StartsAt: c.FormValue("starts_at"), EndsAt: c.FormValue("ends_at"),
		AllDay: checked(c, "all_day"), Published: checked(c, "published")}
	f.ID, _ = strconv.ParseInt(c.FormValue("id"), 10, 64)
	d := announcement.Draft{ID: f.ID, Text: f.Text, AllDay: f.AllDay, Published: f.Published}
	var err error
	if d.StartsAt, err = parseFormTime(f.StartsAt); err == nil {
		d.EndsAt, err = parseFormTime(f.EndsAt)
	}
	var a *federation.Announcement
	if err == nil {
		a, err = h.Announcements.Save(c.UserContext(), s.Tenant, d)
	}
	switch errs.CodeOf(err) {
	case errs.Invalid:
		return h.renderAnnouncements(c, s, fiber.StatusUnprocessableEntity, f, "", errs.MessageOf(err))
	case errs.NotFound:
		return h.errorPage(c, s, fiber.StatusNotFound, "Not found", "No such announcement.")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	action := ActionAnnouncementUpdate
	if f.ID == 0 {
		action = ActionAnnouncementCreate
	}
	h.record(c, s.actor(), action, "announcement "+strconv.FormatInt(a.ID, 10), nullTenant(s.Tenant), summary(a.Text))
	return c.Redirect(link(c, "/announcements?done=saved"), fiber.StatusSeeOther)
}

func (h *Handler) deleteAnnouncement(c *fiber.Ctx, s *session) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	a, err := h.Announcements.Delete(c.UserContext(), s.Tenant, id)
	if errs.Is(err, errs.NotFound) {
		return h.errorPage(c, s, fiber.StatusNotFound, "Not found", "No such announcement.")
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionAnnouncementDelete, "announcement "+strconv.FormatInt(a.ID, 10), nullTenant(s.Tenant), summary(a.Text))
	return c.Redirect(link(c, "/announcements?done=deleted"), fiber.StatusSeeOther)
}

// summary is the start of a text for the audit log.
func summary(text string) string {
	if r := []rune(text); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return text
}
