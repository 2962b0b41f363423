package billing

import (
	"fmt"
	"math"
	"strings"
)

// BooksView is the open books formatted for a page (public or the
// operator's), with the chart's geometry computed on the server so the
// page needs no script.
type BooksView struct {
	Currency                              string
	Reserve, Balance, AverageBurn, Runway string
	Sustainable                           bool
	Months                                []MonthView
	Chart                                 Chart
	OtherCurrencies                       int
}

// MonthView is one month's row.
type MonthView struct {
	Month, Costs, Income, Net, CostPerMember, Balance string
	Categories                                        []CategoryView
	PayingTenants, Accounts                           int
	Empty                                             bool
}

// CategoryView is one category's cost in a month.
type CategoryView struct{ Category, Amount string }

// Chart is a bar chart of costs against income per month, as SVG
// coordinates in a 0 0 Width Height view box.
type Chart struct {
	Width, Height, Baseline int
	Bars                    []ChartMonth
	Max                     string
	Title                   string
}

// ChartMonth is one month's pair of bars and its label.
type ChartMonth struct {
	Label                          string
	CostX, IncomeX, W              int
	CostY, CostH, IncomeY, IncomeH int
	LabelX                         int
	CostTitle, IncomeTitle         string
}

// View formats b for a page.
func (b *Books) View() *BooksView {
	cur := b.Currency
	v := &BooksView{Currency: strings.ToUpper(cur), Reserve: Money(b.Reserve, cur), Balance: Money(b.Balance, cur),
		AverageBurn: Money(max(b.AverageBurn, 0), cur), Sustainable: b.Sustainable(), OtherCurrencies: b.OtherCurrencies}
	switch {
	case v.Sustainable:
		v.Runway = "income covers costs"
	default:
		v.Runway = fmt.Sprintf("%.1f months", b.Runway)
	}
	for _, m := range b.Months {
		mv := MonthView{Month: m.Month.Format("January 2006"), Costs: Money(m.TotalCosts, cur), Income: Money(m.Income, cur),
			Net: Money(m.Net, cur), Balance: Money(m.Balance, cur), PayingTenants: m.PayingTenants, Accounts: m.Accounts,
			CostPerMember: "—", Empty: m.TotalCosts == 0 && m.Income == 0}
		if m.CostPerMember >= 0 {
			mv.CostPerMember = Money(m.CostPerMember, cur)
		}
		for _, c := range m.Costs {
			mv.Categories = append(mv.Categories, CategoryView{c.Category, Money(c.AmountMinor, cur)})
		}
		v.Months = append(v.Months, mv)
	}
	v.Chart = chart(b)
	return v
}

func chart(b *Books) Chart {
	const w, h, top, bottom, slot = 720, 240, 20, 30, 60
	c := Chart{Width: w, Height: h, Baseline: h - bottom, Title: "Costs and income per month, " + strings.ToUpper(b.Currency)}
	var peak int64 = 1
	for _, m := range b.Months {
		peak = max(peak, m.TotalCosts, m.Income)
	}
	c.Max = Money(peak, b.Currency)
	scale := float64(h-top-bottom) / float64(peak)
	// Oldest on the left.
	for i := len(b.Months) - 1; i >= 0; i-- {
		m := b.Months[i]
		x := (len(b.Months) - 1 - i) * slot
		ch := int(math.Round(float64(m.TotalCosts) * scale))
		ih := int(math.Round(float64(m.Income) * scale))
		c.Bars = append(c.Bars, ChartMonth{Label: m.Month.Format("Jan 06"), W: 22,
			CostX: x + 6, CostY: c.Baseline - ch, CostH: ch, IncomeX: x + 30, IncomeY: c.Baseline - ih, IncomeH: ih,
			LabelX: x + slot/2, CostTitle: m.Month.Format("Jan 2006") + " costs " + Money(m.TotalCosts, b.Currency),
			IncomeTitle: m.Month.Format("Jan 2006") + " income " + Money(m.Income, b.Currency)})
	}
	c.Width = max(w, len(b.Months)*slot)
	return c
}
