package billing

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Categories are the open books' kinds of cost, in the order shown.
var Categories = []string{"hosting", "storage", "email", "domains", "moderation", "other"}

// Cost is one of the operator's monthly costs.
type Cost struct {
	ID          int64
	Month       time.Time // the first of the month, UTC
	Category    string
	AmountMinor int64
	Currency    string
	Note        string
}

// Validate checks a cost before it is stored; the error names the field.
func (c *Cost) Validate() error {
	c.Category = strings.ToLower(strings.TrimSpace(c.Category))
	c.Currency = strings.ToLower(strings.TrimSpace(c.Currency))
	c.Note = strings.TrimSpace(c.Note)
	known := false
	for _, k := range Categories {
		known = known || k == c.Category
	}
	switch {
	case !known:
		return errs.E(errs.Invalid, "category: one of %s", strings.Join(Categories, ", "))
	case c.AmountMinor <= 0:
		return errs.E(errs.Invalid, "amount: more than zero")
	case !currencyRe.MatchString(c.Currency):
		return errs.E(errs.Invalid, "currency: a three-letter code such as usd")
	case len(c.Note) > 500:
		return errs.E(errs.Invalid, "note: at most 500 characters")
	case c.Month.IsZero() || c.Month.Year() < 2000 || c.Month.Year() > 2200:
		return errs.E(errs.Invalid, "month: a month such as 2026-11")
	}
	y, m, _ := c.Month.UTC().Date()
	c.Month = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return nil
}

// ParseMonth reads "2026-11".
func ParseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, errs.E(errs.Invalid, "month: a month such as 2026-11")
	}
	return t, nil
}

// MonthFigures are one month's raw figures in the books' currency, as
// the store sums them.
type MonthFigures struct {
	Month time.Time
	// Costs by category.
	Costs  map[string]int64
	Income int64
	// PayingTenants paid something during the month.
	PayingTenants int
	// Accounts is the local accounts at the month's last metered day.
	Accounts int
}

// Ledger is what the store returns for the books.
type Ledger struct {
	Currency string
	Months   []MonthFigures // oldest first, every month of the window
	// Reserve is the operator's opening balance; AllCosts and AllIncome
	// are everything recorded (not only the window), for the balance.
	Reserve, AllCosts, AllIncome int64
	// OtherCurrencies counts entries not in Currency, left out.
	OtherCurrencies int
}

// BooksStore keeps the open books. Implementations MUST be safe for
// concurrent use.
type BooksStore interface {
	AddCost(ctx context.Context, c Cost) (*Cost, error)
	// DeleteCost removes a cost entered by mistake; errs.NotFound when
	// there is none.
	DeleteCost(ctx context.Context, id int64) error
	// Costs lists costs of the months from..to (inclusive), newest first.
	Costs(ctx context.Context, from, to time.Time) ([]Cost, error)
	// SetReserve sets the opening balance in currency.
	SetReserve(ctx context.Context, minor int64, currency string) error
	// Ledger sums the months from..to in currency.
	Ledger(ctx context.Context, currency string, from, to time.Time) (*Ledger, error)
}

// MonthRow is one month of the public books.
type MonthRow struct {
	Month         time.Time
	Costs         []CategoryCost
	TotalCosts    int64
	Income        int64
	Net           int64 // income - costs
	PayingTenants int
	Accounts      int
	// CostPerMember is costs / accounts, in minor units; -1 without
	// accounts.
	CostPerMember int64
	// Balance is the running balance at the end of the month.
	Balance int64
}

// CategoryCost is one category's total in a month.
type CategoryCost struct {
	Category    string
	AmountMinor int64
}

// Books is the open-books page's content.
type Books struct {
	Currency string
	Months   []MonthRow // newest first
	Reserve  int64
	// Balance is the reserve plus all income minus all costs.
	Balance int64
	// AverageBurn is the mean monthly costs minus income over the
	// months of the window with any figures; not positive when income
	// covers costs.
	AverageBurn int64
	// Runway is Balance / AverageBurn in months; +Inf when nothing
	// burns, 0 when the balance is gone.
	Runway          float64
	OtherCurrencies int
}

// Sustainable reports whether income covers costs (no runway needed).
func (b *Books) Sustainable() bool { return math.IsInf(b.Runway, 1) }

// ComputeBooks turns a ledger into the page's figures.
func ComputeBooks(l *Ledger) *Books {
	b := &Books{Currency: l.Currency, Reserve: l.Reserve, Balance: l.Reserve + l.AllIncome - l.AllCosts,
		OtherCurrencies: l.OtherCurrencies}
	// The running balance at the window's start: everything before it.
	var inWindow int64
	for _, m := range l.Months {
		for _, v := range m.Costs {
			inWindow -= v
		}
		inWindow += m.Income
	}
	running := b.Balance - inWindow
	var burn int64
	var burnMonths int64
	rows := make([]MonthRow, 0, len(l.Months))
	for _, m := range l.Months {
		r := MonthRow{Month: m.Month, Income: m.Income, PayingTenants: m.PayingTenants, Accounts: m.Accounts, CostPerMember: -1}
		for _, k := range Categories {
			if v := m.Costs[k]; v > 0 {
				r.Costs = append(r.Costs, CategoryCost{Category: k, AmountMinor: v})
				r.TotalCosts += v
			}
		}
		r.Net = r.Income - r.TotalCosts
		running += r.Net
		r.Balance = running
		if r.Accounts > 0 {
			r.CostPerMember = (r.TotalCosts + int64(r.Accounts)/2) / int64(r.Accounts)
		}
		if r.TotalCosts > 0 || r.Income > 0 {
			burn += -r.Net
			burnMonths++
		}
		rows = append(rows, r)
	}
	if burnMonths > 0 {
		b.AverageBurn = burn / burnMonths
	}
	switch {
	case b.AverageBurn <= 0:
		b.Runway = math.Inf(1)
	case b.Balance <= 0:
		b.Runway = 0
	default:
		b.Runway = float64(b.Balance) / float64(b.AverageBurn)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	b.Months = rows
	return b
}

// BooksMonths is how many months the open books show.
const BooksMonths = 12

// LoadBooks reads the open books of the BooksMonths months up to now's.
func LoadBooks(ctx context.Context, s BooksStore, currency string, now time.Time) (*Books, error) {
	y, m, _ := now.UTC().Date()
	to := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	l, err := s.Ledger(ctx, currency, to.AddDate(0, 1-BooksMonths, 0), to)
	if err != nil {
		return nil, err
	}
	return ComputeBooks(l), nil
}
