package bench

import (
	"slices"
	"testing"
	"time"
)

// The renewal plan at 100,000 tenants (a fifth on their own domain, a
// fifth of those with a service domain too): with the wildcard for the
// subdomains and renewals spread over the lifetime, the orders stay
// inside Let's Encrypt's limits with at least 3× headroom; without the
// wildcard the base domain alone would need far more certificates a week
// than its registered domain is allowed.
func TestIssue20RenewalPlanAt100kDomains(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var renewals []time.Time
	own := 24000
	step := 60 * 24 * time.Hour / time.Duration(own)
	for i := range own {
		renewals = append(renewals, start.Add(time.Duration(i)*step))
	}
	in := RenewalInput{OwnNames: own, BaseNames: 80000, Wildcard: true, Renewals: renewals, NewPerDay: own / 365}
	p := PlanRenewals(in, LetsEncrypt)
	if !p.Inside3x || p.Headroom < 3 {
		t.Fatalf("plan not inside 3×: %+v", p)
	}
	if p.RenewalsPerDay != 400 || p.LimitPerDay != 2400 || p.LimitPer3h != 300 || p.Busiest3h < 50 || p.Busiest3h > 60 {
		t.Fatalf("plan figures: %+v", p)
	}
	if p.MaxOwnNames3x != 48000 {
		t.Fatalf("one account carries %d own names at 3×, want 48000", p.MaxOwnNames3x)
	}
	// Roost's own budget (100 orders per 3 hours) carries the average
	// day and caps the busiest window the CA sees; a budget too small
	// for the average day would let certificates lapse.
	in.BudgetPer3h = 100
	if p := PlanRenewals(in, LetsEncrypt); !p.Inside3x || p.BudgetUse > 1 || p.Headroom < 3 {
		t.Fatalf("with the default budget: %+v", p)
	}
	in.BudgetPer3h = 50
	if p := PlanRenewals(in, LetsEncrypt); p.Inside3x || p.BudgetUse <= 1 {
		t.Fatalf("a budget below the average day: %+v", p)
	}
	in.BudgetPer3h = 0
	in.Wildcard = false
	if p := PlanRenewals(in, LetsEncrypt); p.Inside3x || p.BaseDomainWeek <= float64(LetsEncrypt.CertsPerDomainWeek) {
		t.Fatalf("without the wildcard the base domain cannot fit: %+v", p)
	}
	// Renewals bunched into one day (every certificate issued at once)
	// are caught by the busiest window even when the average fits.
	bunched := make([]time.Time, 2000)
	for i := range bunched {
		bunched[i] = start.Add(time.Duration(i) * time.Second)
	}
	if p := PlanRenewals(RenewalInput{OwnNames: 2000, Wildcard: true, Renewals: bunched}, LetsEncrypt); p.Inside3x || p.Busiest3h != 2000 {
		t.Fatalf("bunched renewals: %+v", p)
	}
}

// EXPLAIN's JSON plans (as auto_explain sends them) are searched for
// sequential scans at any depth.
func TestIssue20SeqScannedFindsNestedScans(t *testing.T) {
	t.Parallel()
	notice := `duration: 0.1 ms  plan:
{"Query Text": "select 1", "Plan": {"Node Type": "Limit", "Plans": [
 {"Node Type": "Nested Loop", "Plans": [
  {"Node Type": "Index Scan", "Relation Name": "domains"},
  {"Node Type": "Seq Scan", "Relation Name": "tenants"}]},
 {"Node Type": "Seq Scan", "Relation Name": "generate_series"}]}}`
	if got := seqScanned(notice); !slices.Equal(got, []string{"tenants", "generate_series"}) {
		t.Fatalf("seqScanned = %v", got)
	}
	if got := seqScanned("no plan here"); got != nil {
		t.Fatalf("seqScanned of text = %v", got)
	}
}
