package billing

import (
	"math"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

func TestBillingMoneyParsingAndFormatting(t *testing.T) {
	for in, want := range map[string]int64{"8": 800, "8.5": 850, "8.50": 850, "0": 0, "0.05": 5, "1234.99": 123499} {
		if got, err := ParseMoney(in); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "8.555", "8,50", "1e3", "abc", ".5", "8."} {
		if _, err := ParseMoney(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseMoney(%q) accepted", bad)
		}
	}
	if got := Money(123456, "eur"); got != "1234.56 EUR" {
		t.Errorf("Money = %q", got)
	}
	if got := Money(-450, "usd"); got != "-4.50 USD" {
		t.Errorf("Money = %q", got)
	}
	if got := Bytes(2_500_000_000); got != "2.5 GB" {
		t.Errorf("Bytes = %q", got)
	}
	if m, err := ParseMonth("2026-11"); err != nil || !m.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseMonth = %v %v", m, err)
	}
	if _, err := ParseMonth("November"); !errs.Is(err, errs.Invalid) {
		t.Error("ParseMonth accepted a name")
	}
}

// Books with nothing burning have infinite runway; a spent balance none.
func TestBillingBooksRunwayEdges(t *testing.T) {
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b := ComputeBooks(&Ledger{Currency: "usd", Months: []MonthFigures{{Month: nov, Costs: map[string]int64{}}}})
	if !math.IsInf(b.Runway, 1) || b.Months[0].CostPerMember != -1 {
		t.Fatalf("empty books %+v", b)
	}
	b = ComputeBooks(&Ledger{Currency: "usd", Reserve: 100, AllCosts: 500,
		Months: []MonthFigures{{Month: nov, Costs: map[string]int64{"hosting": 500}}}})
	if b.Runway != 0 || b.Balance != -400 || b.View().Runway != "0.0 months" {
		t.Fatalf("spent books %+v", b)
	}
}
