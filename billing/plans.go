package billing

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// PlanKind says how a plan is paid for.
type PlanKind string

// Plan kinds.
const (
	// Paid is a fixed price per interval, through a provider.
	Paid PlanKind = "paid"
	// Free costs nothing: choosing it activates the tenant with no
	// provider involved.
	Free PlanKind = "free"
	// Donation is pay what you want, or nothing: the tenant is hosted
	// (comped) whatever it gives; PriceMinor is the suggested amount.
	Donation PlanKind = "donation"
)

// Plan is one of the operator's offers, shown in the signup portal.
type Plan struct {
	ID   int64
	Name string
	Kind PlanKind
	// PriceMinor is in the currency's minor unit (cents).
	PriceMinor int64
	Currency   string // ISO 4217, lower case
	Interval   string // month or year
	// Domains is what the plan includes: "any", "subdomain" (of the
	// base domain) or "own" (a domain of the tenant's).
	Domains string
	// MaxAccounts and StorageBytes are soft limits (0: none): exceeding
	// them warns the tenant admin and never cuts service.
	MaxAccounts   int
	StorageBytes  int64
	StripePriceID string
	// StripeMeterEvent, for usage-priced plans, is the Stripe Billing
	// Meter event name each completed day's MeterFigure is reported
	// under; empty: usage is not reported.
	StripeMeterEvent string
	MeterFigure      string
	ArchivedAt       *time.Time
}

// MeterFigures are the usage figures a plan can be priced by.
var MeterFigures = []string{"accounts", "active_accounts", "posts", "storage_bytes", "deliveries"}

// Figure returns the usage figure named by name.
func (u *Usage) Figure(name string) int64 {
	switch name {
	case "accounts":
		return int64(u.Accounts)
	case "posts":
		return u.Posts
	case "storage_bytes":
		return u.StorageBytes
	case "deliveries":
		return u.Deliveries
	}
	return int64(u.ActiveAccounts)
}

// Price formats the plan's price for people: "8.00 USD / month".
func (p *Plan) Price() string {
	switch p.Kind {
	case Free:
		return "free"
	case Donation:
		if p.PriceMinor == 0 {
			return "pay what you want"
		}
		return "pay what you want (suggested " + Money(p.PriceMinor, p.Currency) + " / " + p.Interval + ")"
	}
	return Money(p.PriceMinor, p.Currency) + " / " + p.Interval
}

// Includes describes the plan's domain and limits for people.
func (p *Plan) Includes() string {
	var parts []string
	switch p.Domains {
	case "subdomain":
		parts = append(parts, "a subdomain")
	case "own":
		parts = append(parts, "your own domain")
	default:
		parts = append(parts, "a subdomain or your own domain")
	}
	if p.MaxAccounts > 0 {
		parts = append(parts, fmt.Sprintf("up to %d accounts", p.MaxAccounts))
	} else {
		parts = append(parts, "any number of accounts")
	}
	if p.StorageBytes > 0 {
		parts = append(parts, Bytes(p.StorageBytes)+" of media")
	}
	return strings.Join(parts, ", ")
}

var (
	currencyRe = regexp.MustCompile(`^[a-z]{3}$`)
	priceIDRe  = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)
	// meterEventRe is what the migration's check allows.
	meterEventRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)
)

// Validate checks a plan before it is stored; the error names the field.
func (p *Plan) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	p.Currency = strings.ToLower(strings.TrimSpace(p.Currency))
	p.StripePriceID = strings.TrimSpace(p.StripePriceID)
	if p.Interval == "" {
		p.Interval = "month"
	}
	if p.Domains == "" {
		p.Domains = "any"
	}
	if p.MeterFigure == "" {
		p.MeterFigure = "active_accounts"
	}
	figureOK := false
	for _, f := range MeterFigures {
		figureOK = figureOK || f == p.MeterFigure
	}
	switch {
	case p.Name == "" || len(p.Name) > 100:
		return errs.E(errs.Invalid, "name: 1 to 100 characters")
	case p.Kind != Paid && p.Kind != Free && p.Kind != Donation:
		return errs.E(errs.Invalid, "kind: paid, free or donation")
	case !currencyRe.MatchString(p.Currency):
		return errs.E(errs.Invalid, "currency: a three-letter code such as usd")
	case p.Interval != "month" && p.Interval != "year":
		return errs.E(errs.Invalid, "interval: month or year")
	case p.Domains != "any" && p.Domains != "subdomain" && p.Domains != "own":
		return errs.E(errs.Invalid, "domains: any, subdomain or own")
	case p.PriceMinor < 0 || p.MaxAccounts < 0 || p.StorageBytes < 0:
		return errs.E(errs.Invalid, "price, accounts and storage cannot be negative")
	case p.Kind == Paid && p.PriceMinor == 0:
		return errs.E(errs.Invalid, "price: a paid plan needs a price")
	case p.Kind == Free && (p.PriceMinor != 0 || p.StripePriceID != ""):
		return errs.E(errs.Invalid, "price: a free plan has no price")
	case p.StripePriceID != "" && !priceIDRe.MatchString(p.StripePriceID):
		return errs.E(errs.Invalid, "stripe price: an id such as price_123")
	case p.StripeMeterEvent != "" && !meterEventRe.MatchString(p.StripeMeterEvent):
		return errs.E(errs.Invalid, "stripe meter: an event name such as active_accounts")
	case !figureOK:
		return errs.E(errs.Invalid, "meter figure: one of %s", strings.Join(MeterFigures, ", "))
	}
	return nil
}

// Money formats an amount in minor units: "8.00 USD". Currencies without
// minor units (JPY and the like) are rare on community instances and
// shown with two decimals all the same.
func Money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, strings.ToUpper(currency))
}

// ParseMoney reads "8", "8.5" or "8.50" as minor units.
func ParseMoney(s string) (int64, error) {
	m := moneyRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, errs.E(errs.Invalid, "amount: a number such as 8 or 8.50")
	}
	w, _ := strconv.ParseInt(m[1], 10, 64)
	frac := (m[2] + "00")[:2]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, nil
}

var moneyRe = regexp.MustCompile(`^([0-9]{1,12})(?:\.([0-9]{1,2}))?$`)

// Bytes formats a size for people: "1.5 GB".
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// PlanStore keeps plans and each tenant's choice. Implementations MUST be
// safe for concurrent use.
type PlanStore interface {
	// AddPlan stores a validated plan; errs.Conflict when an active plan
	// has the name.
	AddPlan(ctx context.Context, p Plan) (*Plan, error)
	// Plans lists the plans on offer, cheapest first (with archived).
	Plans(ctx context.Context, archived bool) ([]Plan, error)
	// Plan returns a plan, archived or not, or errs.NotFound.
	Plan(ctx context.Context, id int64) (*Plan, error)
	// ArchivePlan withdraws a plan from offer; tenants on it keep it.
	ArchivePlan(ctx context.Context, id int64) error
	// SetTenantPlan records a tenant's choice of an offered plan;
	// errs.NotFound when the plan is archived or missing.
	SetTenantPlan(ctx context.Context, tenantID, planID int64) error
	// TenantPlan returns the tenant's plan, or nil when it chose none.
	TenantPlan(ctx context.Context, tenantID int64) (*Plan, error)
}
