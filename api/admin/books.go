package admin

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
)

// BillingPages is what the billing, plans and open-books pages read and
// change (billing/postgres; wired in cmd/roost). Plans and the books are
// the instance's: only the operator host shows them. The billing page
// shows the operator every tenant's usage, and a tenant's /admin that
// tenant's own.
type BillingPages struct {
	Plans   billing.PlanStore
	Records billing.Store
	Usage   billing.UsageStore
	Books   billing.BooksStore
	// Currency is the open books' currency (ROOST_BOOKS_CURRENCY).
	Currency string
}

// Billing audit actions.
const (
	ActionPlanAdd     = "billing.plan_add"
	ActionPlanArchive = "billing.plan_archive"
	ActionCostAdd     = "books.cost_add"
	ActionCostDelete  = "books.cost_delete"
	ActionReserve     = "books.reserve"
)

func init() {
	Actions = append(Actions, ActionPlanAdd, ActionPlanArchive, ActionCostAdd, ActionCostDelete, ActionReserve)
	navLinks = append(navLinks, navLink{"/billing", "Billing", "nav-billing", ManageBilling})
}

// booksRoutes are the open-books costs and billing pages.
var booksRoutes = []route{
	{"GET", "/billing", ManageBilling, billingPage((*Handler).billingUsage)},
	{"GET", "/plans", ManageBilling, instanceBilling((*Handler).plansPage)},
	{"POST", "/plans", ManageBilling, instanceBilling((*Handler).addPlan)},
	{"POST", "/plans/archive", ManageBilling, instanceBilling((*Handler).archivePlan)},
	{"GET", "/books", ManageBilling, instanceBilling((*Handler).booksPage)},
	{"POST", "/books/cost", ManageBilling, instanceBilling((*Handler).addCost)},
	{"POST", "/books/cost/delete", ManageBilling, instanceBilling((*Handler).deleteCost)},
	{"POST", "/books/reserve", ManageBilling, instanceBilling((*Handler).setReserve)},
}

func billingPage(fn func(h *Handler, c *fiber.Ctx, s *session) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return func(h *Handler, c *fiber.Ctx, s *session) error {
		if h.Billing == nil {
			return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available", "The billing pages are not available on this node.")
		}
		return fn(h, c, s)
	}
}

// instanceBilling pages are the operator's: a tenant's /admin never has
// them, whatever its role grants.
func instanceBilling(fn func(h *Handler, c *fiber.Ctx, s *session) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return billingPage(func(h *Handler, c *fiber.Ctx, s *session) error {
		if s.Tenant != 0 {
			return h.errorPage(c, s, fiber.StatusForbidden, "Not allowed", "Plans and the open books are the operator's.")
		}
		return fn(h, c, s)
	})
}

// usageRow is one tenant's latest usage for the billing page.
type usageRow struct {
	billing.TenantUsage
	Day, Storage, Plan, State string
	Warnings                  []string
}

func newUsageRow(tu billing.TenantUsage) usageRow {
	r := usageRow{TenantUsage: tu, Day: tu.Day.Format("2 Jan 2006"), Storage: billing.Bytes(tu.StorageBytes), Plan: "—", State: "—"}
	if tu.Plan != nil {
		r.Plan = tu.Plan.Name
	}
	if tu.Account != nil {
		r.State = string(tu.Account.State) + " (" + tu.Account.Provider + ")"
	}
	r.Warnings = billing.Warnings(tu.Plan, &tu.Usage)
	return r
}

type billingData struct {
	Tenant int64
	Rows   []usageRow
	// A tenant's own page: its plan, standing and recent days.
	Plan     *billing.Plan
	Price    string
	State    string
	Warnings []string
}

// billingUsage is GET /billing: every tenant's latest usage, plan and
// standing for the operator, or the tenant's own for its admins.
func (h *Handler) billingUsage(c *fiber.Ctx, s *session) error {
	ctx := c.UserContext()
	d := &billingData{Tenant: s.Tenant}
	if s.Tenant == 0 {
		latest, err := h.Billing.Usage.Latest(ctx)
		if err != nil {
			return h.serverError(c, s, err)
		}
		for _, tu := range latest {
			d.Rows = append(d.Rows, newUsageRow(tu))
		}
		return h.render(c, s, fiber.StatusOK, "billing", &view{Page: titled("Billing"), Data: d})
	}
	plan, err := h.Billing.Plans.TenantPlan(ctx, s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Plan = plan
	if plan != nil {
		d.Price = plan.Price()
	}
	acct, err := h.Billing.Records.Account(ctx, s.Tenant)
	switch {
	case err == nil:
		d.State = string(acct.State)
	case !errs.Is(err, errs.NotFound):
		return h.serverError(c, s, err)
	}
	days, err := h.Billing.Usage.Usage(ctx, s.Tenant, h.now(), 30)
	if err != nil {
		return h.serverError(c, s, err)
	}
	for i, u := range days {
		tu := billing.TenantUsage{Usage: u, Plan: plan}
		d.Rows = append(d.Rows, newUsageRow(tu))
		if i == 0 {
			d.Warnings = billing.Warnings(plan, &u)
		}
	}
	return h.render(c, s, fiber.StatusOK, "billing", &view{Page: titled("Billing"), Data: d})
}

type plansData struct {
	Plans   []planRow
	Form    map[string]string
	Figures []string
}

type planRow struct {
	billing.Plan
	PriceText, Includes string
}

var billingNotices = map[string]string{
	"added":    "Plan added: newcomers see it in the signup portal now.",
	"archived": "Plan archived: no longer offered; tenants on it keep it.",
	"cost":     "Cost added to the open books.",
	"deleted":  "Cost deleted.",
	"reserve":  "Reserve saved.",
}

func (h *Handler) plansPage(c *fiber.Ctx, s *session) error {
	return h.renderPlans(c, s, fiber.StatusOK, nil, "")
}

func (h *Handler) renderPlans(c *fiber.Ctx, s *session, status int, form map[string]string, msg string) error {
	plans, err := h.Billing.Plans.Plans(c.UserContext(), true)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &plansData{Form: form, Figures: billing.MeterFigures}
	if d.Form == nil {
		d.Form = map[string]string{"currency": h.Billing.Currency, "interval": "month", "domains": "any", "kind": "paid", "meter_figure": "active_accounts"}
	}
	for _, p := range plans {
		d.Plans = append(d.Plans, planRow{Plan: p, PriceText: p.Price(), Includes: p.Includes()})
	}
	return h.render(c, s, status, "plans", &view{Page: titled("Plans"), Data: d, Error: msg, Notice: billingNotices[c.Query("done")]})
}

func formValues(c *fiber.Ctx, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = strings.TrimSpace(c.FormValue(n))
	}
	return m
}

// addPlan is POST /plans.
func (h *Handler) addPlan(c *fiber.Ctx, s *session) error {
	f := formValues(c, "name", "kind", "price", "currency", "interval", "domains", "max_accounts", "storage_gb", "stripe_price", "stripe_meter", "meter_figure")
	fail := func(err error) error {
		if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
			return h.renderPlans(c, s, fiber.StatusUnprocessableEntity, f, errs.MessageOf(err))
		}
		return h.serverError(c, s, err)
	}
	price := f["price"]
	if price == "" {
		price = "0"
	}
	n, err := billing.ParseMoney(price)
	if err != nil {
		return fail(err)
	}
	maxAccounts, err := strconv.Atoi(orZero(f["max_accounts"]))
	if err != nil || maxAccounts < 0 {
		return fail(errs.E(errs.Invalid, "accounts: a whole number, 0 for no limit"))
	}
	gb, err := strconv.ParseFloat(orZero(f["storage_gb"]), 64)
	if err != nil || gb < 0 || gb > 1e6 {
		return fail(errs.E(errs.Invalid, "storage: a number of GB, 0 for no limit"))
	}
	p, err := h.Billing.Plans.AddPlan(c.UserContext(), billing.Plan{Name: f["name"], Kind: billing.PlanKind(f["kind"]), PriceMinor: n,
		Currency: f["currency"], Interval: f["interval"], Domains: f["domains"], MaxAccounts: maxAccounts,
		StorageBytes: int64(gb * 1e9), StripePriceID: f["stripe_price"], StripeMeterEvent: f["stripe_meter"], MeterFigure: f["meter_figure"]})
	if err != nil {
		return fail(err)
	}
	h.record(c, s.actor(), ActionPlanAdd, p.Name, nil, p.Price())
	return c.Redirect(link(c, "/plans?done=added"), fiber.StatusSeeOther)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// archivePlan is POST /plans/archive.
func (h *Handler) archivePlan(c *fiber.Ctx, s *session) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	if err := h.Billing.Plans.ArchivePlan(c.UserContext(), id); err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionPlanArchive, "plan "+strconv.FormatInt(id, 10), nil, "")
	return c.Redirect(link(c, "/plans?done=archived"), fiber.StatusSeeOther)
}

type booksData struct {
	Books      *billing.BooksView
	Costs      []costRow
	Categories []string
	Form       map[string]string
	Currency   string
}

type costRow struct {
	billing.Cost
	MonthText, Amount string
}

func (h *Handler) booksPage(c *fiber.Ctx, s *session) error {
	return h.renderBooks(c, s, fiber.StatusOK, nil, "")
}

func (h *Handler) renderBooks(c *fiber.Ctx, s *session, status int, form map[string]string, msg string) error {
	ctx := c.UserContext()
	now := h.now()
	b, err := billing.LoadBooks(ctx, h.Billing.Books, h.Billing.Currency, now)
	if err != nil {
		return h.serverError(c, s, err)
	}
	costs, err := h.Billing.Books.Costs(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &booksData{Books: b.View(), Categories: billing.Categories, Form: form, Currency: strings.ToUpper(h.Billing.Currency)}
	if d.Form == nil {
		d.Form = map[string]string{"month": now.UTC().Format("2006-01")}
	}
	for _, ct := range costs {
		d.Costs = append(d.Costs, costRow{Cost: ct, MonthText: ct.Month.Format("2006-01"), Amount: billing.Money(ct.AmountMinor, ct.Currency)})
	}
	return h.render(c, s, status, "books", &view{Page: titled("Open books"), Data: d, Error: msg, Notice: billingNotices[c.Query("done")]})
}

// addCost is POST /books/cost.
func (h *Handler) addCost(c *fiber.Ctx, s *session) error {
	f := formValues(c, "month", "category", "amount", "note")
	fail := func(err error) error {
		if errs.Is(err, errs.Invalid) {
			return h.renderBooks(c, s, fiber.StatusUnprocessableEntity, f, errs.MessageOf(err))
		}
		return h.serverError(c, s, err)
	}
	m, err := billing.ParseMonth(f["month"])
	if err != nil {
		return fail(err)
	}
	n, err := billing.ParseMoney(f["amount"])
	if err != nil {
		return fail(err)
	}
	cost, err := h.Billing.Books.AddCost(c.UserContext(), billing.Cost{Month: m, Category: f["category"], AmountMinor: n,
		Currency: h.Billing.Currency, Note: f["note"]})
	if err != nil {
		return fail(err)
	}
	h.record(c, s.actor(), ActionCostAdd, cost.Category, nil, cost.Month.Format("2006-01")+" "+billing.Money(cost.AmountMinor, cost.Currency))
	return c.Redirect(link(c, "/books?done=cost"), fiber.StatusSeeOther)
}

// deleteCost is POST /books/cost/delete.
func (h *Handler) deleteCost(c *fiber.Ctx, s *session) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	if err := h.Billing.Books.DeleteCost(c.UserContext(), id); err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionCostDelete, "cost "+strconv.FormatInt(id, 10), nil, "")
	return c.Redirect(link(c, "/books?done=deleted"), fiber.StatusSeeOther)
}

// setReserve is POST /books/reserve.
func (h *Handler) setReserve(c *fiber.Ctx, s *session) error {
	f := formValues(c, "reserve")
	n, err := billing.ParseMoney(f["reserve"])
	if err != nil {
		return h.renderBooks(c, s, fiber.StatusUnprocessableEntity, nil, errs.MessageOf(err))
	}
	if err := h.Billing.Books.SetReserve(c.UserContext(), n, h.Billing.Currency); err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionReserve, "reserve", nil, billing.Money(n, h.Billing.Currency))
	return c.Redirect(link(c, "/books?done=reserve"), fiber.StatusSeeOther)
}
