package admin

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// LeaveStore is what the leaving page reads and changes (tenant/postgres
// and federation/postgres, wired in cmd/roost): a tenant's scheduled
// deletion, and the archives of its accounts offered before it goes.
type LeaveStore interface {
	// Deletion returns the tenant's scheduled deletion, or errs.NotFound.
	Deletion(ctx context.Context, tenantID int64) (*Deletion, error)
	ScheduleDeletion(ctx context.Context, tenantID int64, due time.Time, by string) error
	CancelDeletion(ctx context.Context, tenantID int64, by string) error
	// RequestExports asks `roost work` for an archive of every account of
	// the tenant (suspended tenants included) and returns how many.
	RequestExports(ctx context.Context, tenantID int64) (int, error)
	// Exports lists the tenant's archives, newest first.
	Exports(ctx context.Context, tenantID int64) ([]LeaveExport, error)
	// ExportFile is the path of one finished, unexpired archive of the tenant.
	ExportFile(ctx context.Context, tenantID, exportID int64) (string, error)
	// Domains lists the tenant's verified domains.
	Domains(ctx context.Context, tenantID int64) ([]MoveDomain, error)
	// MoveDomain moves every account of one of the tenant's domains to
	// another (see `roost tenant move-domain`) and describes each move.
	MoveDomain(ctx context.Context, tenantID int64, from, to, by string) ([]string, error)
}

// MoveDomain is one of a tenant's verified domains.
type MoveDomain = federation.TenantDomain

// Deletion is a tenant's scheduled deletion (Announced: Delete(Person)
// sent; no cancelling any more).
type Deletion = tenant.Deletion

// LeaveExport is one account archive offered to a leaving tenant.
type LeaveExport = federation.TenantExport

// Leaving audit actions (written by the store).
const (
	ActionDeleteScheduled = "tenant.delete_scheduled"
	ActionDeleteCancelled = "tenant.delete_cancelled"
	ActionDeleted         = "tenant.deleted"
	ActionMoveDomain      = "tenant.move_domain"
	ActionAccountMove     = "account.move"
)

func init() {
	Actions = append(Actions, ActionDeleteScheduled, ActionDeleteCancelled, ActionDeleted, ActionMoveDomain, ActionAccountMove)
}

// leaveRoutes are the tenant deletion (leaving) pages: archives first,
// then deletion after a grace period, cancellable until it begins.
var leaveRoutes = []route{
	{"GET", "/tenant/leave", ManageSite, leavePage((*Handler).leavePage)},
	{"POST", "/tenant/leave", ManageSite, leavePage((*Handler).scheduleLeave)},
	{"POST", "/tenant/leave/cancel", ManageSite, leavePage((*Handler).cancelLeave)},
	{"POST", "/tenant/leave/export", ManageSite, leavePage((*Handler).exportAll)},
	{"GET", "/tenant/leave/download", ManageSite, leavePage((*Handler).downloadExport)},
	{"GET", "/tenant/domain-move", ManageSite, leavePage((*Handler).domainMovePage)},
	{"POST", "/tenant/domain-move", ManageSite, leavePage((*Handler).domainMove)},
}

// leavePage guards the leaving pages: available when wired, and a
// tenant's own /admin acts on that tenant only.
func leavePage(fn func(h *Handler, c *fiber.Ctx, s *session, id int64) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return func(h *Handler, c *fiber.Ctx, s *session) error {
		if h.Leave == nil {
			return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available", "Leaving is not available on this node.")
		}
		v := c.Query("id")
		if c.Method() == fiber.MethodPost {
			v = c.FormValue("id")
		}
		if v == "" && s.Tenant != 0 {
			v = strconv.FormatInt(s.Tenant, 10) // a tenant's own /admin: its own site
		}
		if v == "" && c.Method() == fiber.MethodGet {
			return c.Redirect(link(c, "/tenants"), fiber.StatusSeeOther) // the operator picks a tenant
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No tenant id.")
		}
		if s.Tenant != 0 && id != s.Tenant {
			return h.errorPage(c, s, fiber.StatusNotFound, "Not found", "No such tenant.")
		}
		return fn(h, c, s, id)
	}
}

type leaveData struct {
	ID        int64
	Deletion  *Deletion
	Exports   []LeaveExport
	GraceDays int
}

var leaveNotices = map[string]string{
	"scheduled": "Deletion scheduled. The site stays up until then; cancel any time before.",
	"cancelled": "Deletion cancelled.",
	"exporting": "Archives requested: roost work builds them; reload to see them ready.",
}

func (h *Handler) leavePage(c *fiber.Ctx, s *session, id int64) error {
	return h.renderLeave(c, s, id, fiber.StatusOK, leaveNotices[c.Query("done")], "")
}

func (h *Handler) renderLeave(c *fiber.Ctx, s *session, id int64, status int, notice, msg string) error {
	ctx := c.UserContext()
	d := &leaveData{ID: id, GraceDays: 30}
	del, err := h.Leave.Deletion(ctx, id)
	switch {
	case err == nil:
		d.Deletion = del
	case errs.CodeOf(err) != errs.NotFound:
		return h.serverError(c, s, err)
	}
	if d.Exports, err = h.Leave.Exports(ctx, id); err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, status, "leave", &view{Page: titled("Leaving"), Data: d, Notice: notice, Error: msg})
}

// scheduleLeave schedules the deletion after grace_days (0: at once).
func (h *Handler) scheduleLeave(c *fiber.Ctx, s *session, id int64) error {
	days, err := strconv.Atoi(c.FormValue("grace_days"))
	if err != nil || days < 0 || days > 365 {
		return h.renderLeave(c, s, id, fiber.StatusUnprocessableEntity, "", "The grace period is a number of days from 0 to 365.")
	}
	due := h.now().Add(time.Duration(days) * 24 * time.Hour)
	if err := h.Leave.ScheduleDeletion(c.UserContext(), id, due, s.User.Email); err != nil {
		if errs.CodeOf(err) == errs.Conflict || errs.CodeOf(err) == errs.Invalid {
			return h.renderLeave(c, s, id, fiber.StatusConflict, "", errs.MessageOf(err))
		}
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/tenant/leave?id=%d&done=scheduled", id)), fiber.StatusSeeOther)
}

func (h *Handler) cancelLeave(c *fiber.Ctx, s *session, id int64) error {
	if err := h.Leave.CancelDeletion(c.UserContext(), id, s.User.Email); err != nil {
		if errs.CodeOf(err) == errs.Conflict || errs.CodeOf(err) == errs.NotFound {
			return h.renderLeave(c, s, id, fiber.StatusConflict, "", errs.MessageOf(err))
		}
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/tenant/leave?id=%d&done=cancelled", id)), fiber.StatusSeeOther)
}

func (h *Handler) exportAll(c *fiber.Ctx, s *session, id int64) error {
	if _, err := h.Leave.RequestExports(c.UserContext(), id); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/tenant/leave?id=%d&done=exporting", id)), fiber.StatusSeeOther)
}

func (h *Handler) downloadExport(c *fiber.Ctx, s *session, id int64) error {
	eid, err := strconv.ParseInt(c.Query("export"), 10, 64)
	if err != nil || eid <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No archive id.")
	}
	path, err := h.Leave.ExportFile(c.UserContext(), id, eid)
	if err != nil {
		return h.serverError(c, s, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Download(path, fmt.Sprintf("roost-archive-%d-%d.zip", id, eid))
}

type domainMoveData struct {
	ID      int64
	Domains []MoveDomain
	Moved   []string
}

// domainMovePage offers the change of domain: every account of one
// verified domain moves to another, followers follow through a Move.
func (h *Handler) domainMovePage(c *fiber.Ctx, s *session, id int64) error {
	return h.renderDomainMove(c, s, id, fiber.StatusOK, nil, "")
}

func (h *Handler) renderDomainMove(c *fiber.Ctx, s *session, id int64, status int, moved []string, msg string) error {
	ds, err := h.Leave.Domains(c.UserContext(), id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	notice := ""
	if moved != nil {
		notice = fmt.Sprintf("%d accounts moved; their followers' servers were sent a Move.", len(moved))
	}
	return h.render(c, s, status, "domainmove", &view{Page: titled("Change of domain"), Notice: notice, Error: msg,
		Data: &domainMoveData{ID: id, Domains: ds, Moved: moved}})
}

func (h *Handler) domainMove(c *fiber.Ctx, s *session, id int64) error {
	from, to := c.FormValue("from"), c.FormValue("to")
	if from == "" || to == "" || from == to {
		return h.renderDomainMove(c, s, id, fiber.StatusUnprocessableEntity, nil, "Choose the domain to move from and another to move to.")
	}
	moved, err := h.Leave.MoveDomain(c.UserContext(), id, from, to, s.User.Email)
	if err != nil {
		if code := errs.CodeOf(err); code == errs.Invalid || code == errs.Conflict || code == errs.NotFound {
			return h.renderDomainMove(c, s, id, fiber.StatusUnprocessableEntity, moved, errs.MessageOf(err))
		}
		return h.serverError(c, s, err)
	}
	if moved == nil {
		moved = []string{}
	}
	return h.renderDomainMove(c, s, id, fiber.StatusOK, moved, "")
}
