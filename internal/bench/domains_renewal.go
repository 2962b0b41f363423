package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The renewal plan of `roost bench domains`: how many ACME orders an
// instance with a given mix of tenants places per day and per 3-hour
// window, against a CA's published limits. It is plain arithmetic over
// the stored certificates' renewal times, kept apart so the certificate
// code (ARI windows, the wildcard) can be checked against the same
// figures.

// CALimits are a CA's published issuance limits.
type CALimits struct {
	Name string
	// OrdersPer3h is new orders per ACME account per 3 hours (a token
	// bucket: the refill is one every 3h/OrdersPer3h).
	OrdersPer3h int
	// CertsPerDomainWeek is certificates per registered domain per 7 days.
	CertsPerDomainWeek int
	// SameSetPerWeek is certificates for the exact same set of names per 7 days.
	SameSetPerWeek int
	// Lifetime is a certificate's validity.
	Lifetime time.Duration
}

// LetsEncrypt are Let's Encrypt's limits as published
// (https://letsencrypt.org/docs/rate-limits/, 2025): 300 new orders per
// account per 3 hours, 50 certificates per registered domain per week,
// 5 per exact set of names per week, 90-day certificates. Renewals that
// follow the CA's renewal information (ARI) are exempt from the limits;
// the plan below does not count on that exemption.
var LetsEncrypt = CALimits{Name: "Let's Encrypt", OrdersPer3h: 300, CertsPerDomainWeek: 50, SameSetPerWeek: 5,
	Lifetime: 90 * 24 * time.Hour}

// RenewalInput describes an instance's certificates.
type RenewalInput struct {
	// OwnNames are host names on tenants' own domains (handle and service
	// domains), each with a certificate of its own.
	OwnNames int
	// BaseNames are tenants under ROOST_BASE_DOMAIN.
	BaseNames int
	// Wildcard: one *.ROOST_BASE_DOMAIN certificate (DNS-01) serves every
	// BaseNames tenant; without it each needs its own.
	Wildcard bool
	// NewPerDay are new own-domain names a day (first certificates).
	NewPerDay int
	// Renewals are the own-domain certificates' renewal times (a third of
	// their lifetime left, or their ARI window), when known; they give the
	// busiest 3-hour window.
	Renewals []time.Time
	// RenewAt is the part of the lifetime after which a certificate is
	// renewed (0: 2/3, certmagic's default and Let's Encrypt's ARI advice).
	RenewAt float64
	// BudgetPer3h is the instance's own order budget per 3 hours
	// (ROOST_ACME_ORDER_LIMIT; 0: none). Orders over it wait, so the
	// busiest window the CA sees is at most the budget.
	BudgetPer3h int
}

// RenewalPlan is the plan's figures.
type RenewalPlan struct {
	CA string `json:"ca"`
	// OrdersPerDay: renewals of own-domain names, plus new names, plus the
	// wildcard's renewal, on an average day.
	RenewalsPerDay float64 `json:"renewals_per_day"`
	NewPerDay      int     `json:"new_per_day"`
	WildcardOrders float64 `json:"wildcard_orders_per_day"`
	OrdersPerDay   float64 `json:"orders_per_day"`
	LimitPerDay    int     `json:"limit_orders_per_day"`
	// Busiest3h is the most orders in any 3-hour window over the next
	// lifetime (renewals as stored, plus a 3-hour share of new names).
	Busiest3h  int `json:"busiest_3h_orders"`
	LimitPer3h int `json:"limit_3h_orders"`
	// BudgetPer3h and BudgetUse: the instance's own order budget and the
	// share of it an average day uses (over 1: certificates would lapse).
	BudgetPer3h int     `json:"budget_3h_orders,omitempty"`
	BudgetUse   float64 `json:"budget_use,omitempty"`
	// Headroom is the smaller of limit/average and limit/busiest window
	// (the busiest as the budget lets it through).
	Headroom float64 `json:"headroom"`
	// PerDomainWeek is certificates per registered domain per week: an own
	// domain renews at most its two names (handle, service) in a window;
	// the base domain's count is the wildcard's (or every subdomain's).
	PerDomainWeek      float64 `json:"own_domain_certs_per_week"`
	BaseDomainWeek     float64 `json:"base_domain_certs_per_week"`
	LimitPerDomainWeek int     `json:"limit_certs_per_domain_week"`
	// MaxOwnNames3x is how many own-domain names one ACME account carries
	// with 3× headroom at this renewal point.
	MaxOwnNames3x int  `json:"max_own_names_at_3x"`
	Inside3x      bool `json:"inside_3x"`
}

// PlanRenewals computes the plan of in against limits.
func PlanRenewals(in RenewalInput, limits CALimits) RenewalPlan {
	at := in.RenewAt
	if at <= 0 || at >= 1 {
		at = 2.0 / 3
	}
	days := limits.Lifetime.Hours() / 24
	cycle := days * at // days between two renewals of one name
	p := RenewalPlan{CA: limits.Name, NewPerDay: in.NewPerDay, LimitPerDay: limits.OrdersPer3h * 8,
		LimitPer3h: limits.OrdersPer3h, LimitPerDomainWeek: limits.CertsPerDomainWeek}
	p.RenewalsPerDay = float64(in.OwnNames) / cycle
	base := float64(in.BaseNames) / cycle // one order per subdomain per cycle without the wildcard
	if in.Wildcard {
		base = 1 / cycle // *.base and base on one certificate
	}
	p.WildcardOrders = round3(base)
	p.OrdersPerDay = round1(p.RenewalsPerDay + float64(in.NewPerDay) + base)
	p.RenewalsPerDay = round1(p.RenewalsPerDay)
	p.Busiest3h = busiestWindow(in.Renewals, 3*time.Hour) + (in.NewPerDay+7)/8
	if len(in.Renewals) == 0 {
		p.Busiest3h = int(p.OrdersPerDay/8 + 0.999)
	}
	busiest := p.Busiest3h
	if in.BudgetPer3h > 0 {
		p.BudgetPer3h = in.BudgetPer3h
		p.BudgetUse = round3(p.OrdersPerDay / float64(in.BudgetPer3h*8))
		busiest = min(busiest, in.BudgetPer3h)
	}
	p.Headroom = round1(min(float64(p.LimitPerDay)/max(p.OrdersPerDay, 1e-9), float64(p.LimitPer3h)/float64(max(busiest, 1))))
	p.PerDomainWeek = round3(2 * 7 / cycle)
	p.BaseDomainWeek = round1(7 * base)
	p.MaxOwnNames3x = int(float64(p.LimitPerDay) / 3 * cycle)
	p.Inside3x = p.Headroom >= 3 && p.BudgetUse <= 1 && p.PerDomainWeek*3 <= float64(limits.CertsPerDomainWeek) &&
		p.BaseDomainWeek*3 <= float64(limits.CertsPerDomainWeek)
	return p
}

// busiestWindow is the most times falling in any window of length w.
func busiestWindow(ts []time.Time, w time.Duration) int {
	s := append([]time.Time(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	most, lo := 0, 0
	for hi := range s {
		for s[hi].Sub(s[lo]) >= w {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// Table is the plan as text lines.
func (p RenewalPlan) Table() string {
	var s strings.Builder
	fmt.Fprintf(&s, "  renewal plan (%s, not counting the ARI exemption):\n", p.CA)
	fmt.Fprintf(&s, "    orders/day %.1f (renewals %.1f + new %d + wildcard %.3f) of %d: busiest 3 h %d of %d → headroom %.1f×\n",
		p.OrdersPerDay, p.RenewalsPerDay, p.NewPerDay, p.WildcardOrders, p.LimitPerDay, p.Busiest3h, p.LimitPer3h, p.Headroom)
	if p.BudgetPer3h > 0 {
		fmt.Fprintf(&s, "    Roost's own budget %d orders per 3 h (%d a day): an average day uses %.0f%% of it\n",
			p.BudgetPer3h, p.BudgetPer3h*8, p.BudgetUse*100)
	}
	fmt.Fprintf(&s, "    certs per registered domain per week: own %.2f, base %.1f (limit %d); one account carries %d own names at 3×; inside 3×: %v\n",
		p.PerDomainWeek, p.BaseDomainWeek, p.LimitPerDomainWeek, p.MaxOwnNames3x, p.Inside3x)
	return s.String()
}
