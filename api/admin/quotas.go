package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Quotas backs the tenant page's quotas (tenant/quota Service): each
// tenant's limits with what it uses now, and the operator's edit.
type Quotas interface {
	Usage(ctx context.Context, tenantID int64) (*tenant.QuotaUsage, error)
	Set(ctx context.Context, by tenant.Actor, tenantID int64, q tenant.Quotas) error
}

// quotaRoutes need ManageTenants, an instance permission: no session on a
// tenant's /admin holds it, so a tenant's own admin cannot raise its
// quotas.
var quotaRoutes = []route{
	{"POST", "/tenant/quotas", ManageTenants, (*Handler).setQuotas},
}

// ActionQuotas is the audit action of a quota change.
const ActionQuotas = "tenant.quotas"

// setQuotas stores the quotas from the tenant page's form. Bad input is
// refused whole (422) and changes nothing.
func (h *Handler) setQuotas(c *fiber.Ctx, s *session) error {
	id, err := strconv.ParseInt(c.FormValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No tenant id.")
	}
	if h.Quotas == nil {
		return h.serverError(c, s, errs.E(errs.Unavailable, "quotas are not configured"))
	}
	q, err := parseQuotas(c.FormValue("requests_per_second"), c.FormValue("deliveries_per_hour"), c.FormValue("storage_gb"))
	if err == nil {
		err = h.Quotas.Set(c.UserContext(), s.actor(), id, q)
	}
	if errs.CodeOf(err) == errs.Invalid {
		return h.errorPage(c, s, fiber.StatusUnprocessableEntity, "Quotas not saved", errs.MessageOf(err))
	}
	if err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/tenant?id=%d&done=quotas", id)), fiber.StatusSeeOther)
}

// parseQuotas reads the form's figures: whole numbers for the rates,
// gigabytes (decimal, 1 GB = 10^9 bytes) for storage; empty is 0, no limit.
func parseQuotas(rps, dph, storageGB string) (tenant.Quotas, error) {
	num := func(name, v string) (int, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, errs.E(errs.Invalid, "%s: a whole number, 0 for no limit", name)
		}
		return n, nil
	}
	var q tenant.Quotas
	var err error
	if q.RequestsPerSecond, err = num("requests per second", rps); err != nil {
		return q, err
	}
	if q.DeliveriesPerHour, err = num("deliveries per hour", dph); err != nil {
		return q, err
	}
	if v := strings.TrimSpace(storageGB); v != "" {
		gb, err := strconv.ParseFloat(v, 64)
		if err != nil || gb < 0 || gb > 1e6 {
			return q, errs.E(errs.Invalid, "storage: a number of GB from 0 (no limit) to 1000000")
		}
		q.StorageBytes = int64(gb * 1e9)
	}
	return q, q.Validate()
}

// gigabytes writes bytes as the quota form's decimal GB figure.
func gigabytes(n int64) string { return strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64) }
