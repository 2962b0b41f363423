package portal

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/verify"
)

// Billing is what the portal needs for plans, payment, usage and the
// public open books. A nil Handler.Billing hides all of it.
type Billing struct {
	Plans   billing.PlanStore
	Records billing.Store
	Usage   billing.UsageStore
	Books   billing.BooksStore
	// Manual activates free and donation plans with no provider call.
	Manual *billing.Manual
	// Provider takes payment for paid plans (stripe); nil when the
	// operator arranges payment (the manual provider).
	Provider billing.Provider
	// Currency is the open books' currency.
	Currency string
	// Grace is how long a past-due tenant keeps running (the reminder
	// names the day it ends).
	Grace time.Duration
}

func init() {
	routes["GET /plans"] = (*Handler).plansPage
	routes["POST /plans/choose"] = (*Handler).choosePlan
	routes["POST /plans/pay"] = (*Handler).pay
	routes["POST /plans/manage"] = (*Handler).managePayment
	routes["GET /books"] = (*Handler).books
}

// billingView is the plans page's content and the site page's billing
// summary.
type billingView struct {
	Plans    []planView
	Plan     *planView
	State    string
	Paying   bool
	Usage    *usageView
	Warnings []string
	// CanPay: the plan is paid through the provider and not paid yet;
	// CanManage: there is a provider customer to manage.
	CanPay, CanManage bool
	Manual            bool
	Notice            string
	Books             *billing.BooksView
}

type planView struct {
	ID                      int64
	Name, Kind, Price, Incl string
	Chosen                  bool
}

type usageView struct {
	Day                      string
	Accounts, ActiveAccounts int
	Posts, Deliveries        int64
	Storage                  string
}

func viewPlan(p *billing.Plan, chosen int64) planView {
	return planView{ID: p.ID, Name: p.Name, Kind: string(p.Kind), Price: p.Price(), Incl: p.Includes(), Chosen: p.ID == chosen}
}

// baseURL is the portal's own origin, for the provider's return URLs.
func (h *Handler) baseURL() string {
	scheme := h.URL.Scheme
	if scheme == "" {
		scheme = "https"
	}
	u := scheme + "://" + h.Host
	if h.URL.Port != 0 && !(scheme == "https" && h.URL.Port == 443) && !(scheme == "http" && h.URL.Port == 80) {
		u += ":" + strconv.Itoa(h.URL.Port)
	}
	return u
}

// billingFor builds a tenant's billing view; nil without Billing.
func (h *Handler) billingFor(ctx context.Context, sg *verify.Signup) (*billingView, error) {
	b := h.Billing
	if b == nil {
		return nil, nil
	}
	plans, err := b.Plans.Plans(ctx, false)
	if err != nil {
		return nil, err
	}
	chosen, err := b.Plans.TenantPlan(ctx, sg.TenantID)
	if err != nil {
		return nil, err
	}
	v := &billingView{Manual: b.Provider == nil}
	var chosenID int64
	if chosen != nil {
		chosenID = chosen.ID
		pv := viewPlan(chosen, chosenID)
		v.Plan = &pv
	}
	for i := range plans {
		v.Plans = append(v.Plans, viewPlan(&plans[i], chosenID))
	}
	acct, err := b.Records.Account(ctx, sg.TenantID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	if acct != nil {
		v.State, v.Paying = string(acct.State), acct.State.Paying()
		v.CanManage = b.Provider != nil && acct.Provider == b.Provider.Name() && acct.CustomerID != ""
	}
	if chosen != nil && chosen.StripePriceID != "" && b.Provider != nil && chosen.Kind != billing.Free {
		v.CanPay = acct == nil || !acct.State.Paying() || acct.Provider != b.Provider.Name()
	}
	if b.Usage != nil {
		us, err := b.Usage.Usage(ctx, sg.TenantID, h.now(), 1)
		if err != nil {
			return nil, err
		}
		if len(us) == 1 {
			u := us[0]
			v.Usage = &usageView{Day: u.Day.Format("2 Jan 2006"), Accounts: u.Accounts, ActiveAccounts: u.ActiveAccounts,
				Posts: u.Posts, Deliveries: u.Deliveries, Storage: billing.Bytes(u.StorageBytes)}
			v.Warnings = billing.Warnings(chosen, &u)
		}
	}
	if r := billing.Reminder(acct, b.Grace, h.now()); r != "" {
		v.Warnings = append([]string{r}, v.Warnings...)
	}
	return v, nil
}

// needsPlan reports whether a newcomer should choose a plan before the
// domain step: plans are on offer and none is chosen.
func (h *Handler) needsPlan(ctx context.Context, sg *verify.Signup) (bool, error) {
	if h.Billing == nil || sg.Claim != nil {
		return false, nil
	}
	p, err := h.Billing.Plans.TenantPlan(ctx, sg.TenantID)
	if err != nil || p != nil {
		return false, err
	}
	plans, err := h.Billing.Plans.Plans(ctx, false)
	return len(plans) > 0, err
}

// renderPlans shows the plans page; its CSP also lets forms lead to the
// payment provider's pages (Chrome applies form-action to redirects).
func (h *Handler) renderPlans(c *fiber.Ctx, status int, sg *verify.Signup, v *billingView, fe verify.FieldErrors) error {
	return h.render(c, status, "plans", &view{Page: titled("Plans"), Signup: sg, Billing: v, Errors: fe},
		"https://checkout.stripe.com", "https://billing.stripe.com")
}

// plansPage is GET /plans: the plans on offer, the tenant's choice and
// standing, its usage and any over-quota warning.
func (h *Handler) plansPage(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if h.Billing == nil {
		return h.errorPage(c, fiber.StatusNotFound, "Not found", "This server has no plans to choose from.")
	}
	v, err := h.billingFor(c.UserContext(), sg)
	if err != nil {
		return h.serverError(c, err)
	}
	switch c.Query("checkout") {
	case "done":
		v.Notice = "Thank you! Your payment is being confirmed; this page shows it as soon as the payment provider tells us."
	case "canceled":
		v.Notice = "Payment canceled; nothing was charged."
	}
	return h.renderPlans(c, fiber.StatusOK, sg, v, nil)
}

// choosePlan is POST /plans/choose. A free plan activates the tenant at
// once, a donation plan hosts it whatever it gives, both with no
// provider call; a paid plan waits for payment.
func (h *Handler) choosePlan(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if h.Billing == nil {
		return h.errorPage(c, fiber.StatusNotFound, "Not found", "This server has no plans to choose from.")
	}
	ctx := c.UserContext()
	id, _ := strconv.ParseInt(c.FormValue("plan"), 10, 64)
	var plan *billing.Plan
	if id > 0 {
		plan, err = h.Billing.Plans.Plan(ctx, id)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return h.serverError(c, err)
		}
	}
	if plan == nil || plan.ArchivedAt != nil {
		v, err := h.billingFor(ctx, sg)
		if err != nil {
			return h.serverError(c, err)
		}
		return h.renderPlans(c, fiber.StatusUnprocessableEntity, sg, v, verify.FieldErrors{"plan": "Choose one of the plans on offer."})
	}
	if err := h.Billing.Plans.SetTenantPlan(ctx, sg.TenantID, plan.ID); err != nil {
		return h.serverError(c, err)
	}
	acct, err := h.Billing.Records.Account(ctx, sg.TenantID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return h.serverError(c, err)
	}
	// A subscription already paid through the provider is left alone:
	// the payer changes it in the provider's portal.
	paidElsewhere := acct != nil && acct.Provider != "manual" && acct.State.Paying()
	if !paidElsewhere {
		var err error
		switch plan.Kind {
		case billing.Free:
			_, err = h.Billing.Manual.Activate(ctx, sg.TenantID, billing.Active)
		case billing.Donation:
			_, err = h.Billing.Manual.Activate(ctx, sg.TenantID, billing.Comped)
		}
		if err != nil {
			return h.serverError(c, err)
		}
	}
	if sg.Claim == nil {
		return seeSite(c) // on to the domain step
	}
	return c.Redirect("/plans", fiber.StatusSeeOther)
}

// pay is POST /plans/pay: a Checkout Session for the chosen plan, and
// off to the provider's page. The webhook records the outcome.
func (h *Handler) pay(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if h.Billing == nil || h.Billing.Provider == nil {
		return h.errorPage(c, fiber.StatusConflict, "No online payment", "This server takes payment directly: contact its operator.")
	}
	ctx := c.UserContext()
	plan, err := h.Billing.Plans.TenantPlan(ctx, sg.TenantID)
	if err != nil {
		return h.serverError(c, err)
	}
	if plan == nil || plan.StripePriceID == "" || plan.Kind == billing.Free {
		return h.errorPage(c, fiber.StatusConflict, "Nothing to pay", "Choose a paid plan first.")
	}
	base := h.baseURL()
	u, err := h.Billing.Provider.Checkout(ctx, billing.CheckoutRequest{TenantID: sg.TenantID, Plan: plan, Email: sg.Email,
		SuccessURL: base + "/plans?checkout=done", CancelURL: base + "/plans?checkout=canceled"})
	if err != nil {
		return h.serverError(c, err)
	}
	return c.Redirect(u, fiber.StatusSeeOther)
}

// managePayment is POST /plans/manage: the provider's portal to change
// or cancel what the tenant pays.
func (h *Handler) managePayment(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if h.Billing == nil || h.Billing.Provider == nil {
		return h.errorPage(c, fiber.StatusConflict, "No online payment", "This server takes payment directly: contact its operator.")
	}
	acct, err := h.Billing.Records.Account(c.UserContext(), sg.TenantID)
	if err != nil {
		return h.serverError(c, err)
	}
	u, err := h.Billing.Provider.Portal(c.UserContext(), acct, h.baseURL()+"/plans")
	if err != nil {
		return h.serverError(c, err)
	}
	return c.Redirect(u, fiber.StatusSeeOther)
}

// books is GET /books: the instance's open books, public.
func (h *Handler) books(c *fiber.Ctx) error {
	if h.Billing == nil || h.Billing.Books == nil {
		return h.errorPage(c, fiber.StatusNotFound, "Not found", "This server does not publish its books.")
	}
	b, err := billing.LoadBooks(c.UserContext(), h.Billing.Books, h.Billing.Currency, h.now())
	if err != nil {
		return h.serverError(c, err)
	}
	sg, err := h.signup(c)
	if err != nil {
		return h.serverError(c, err)
	}
	return h.render(c, fiber.StatusOK, "books", &view{Page: titled("Open books"), Signup: sg, Billing: &billingView{Books: b.View()}})
}

// planAllows refuses a domain of a kind ("subdomain" or "own") the
// tenant's plan does not include, as an error on field.
func (h *Handler) planAllows(ctx context.Context, sg *verify.Signup, kind, field string) error {
	if h.Billing == nil {
		return nil
	}
	p, err := h.Billing.Plans.TenantPlan(ctx, sg.TenantID)
	if err != nil || p == nil || p.Domains == "any" || p.Domains == kind {
		return err
	}
	what := "your own domain"
	if p.Domains == "subdomain" {
		what = "a subdomain only"
	}
	return verify.FieldErrors{field: "The " + p.Name + " plan includes " + what + ". Choose another plan on the plans page to use this."}
}
