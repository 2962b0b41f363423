package filter

import (
	"context"
	"time"

	"github.com/roost-social/roost/federation"
)

// Where is where statuses are being shown, which decides the filters,
// domain blocks and exclusive lists that apply.
type Where string

// The places statuses are shown.
const (
	Home          Where = "home"
	List          Where = "list"
	Public        Where = "public" // public and hashtag timelines
	Notifications Where = "notifications"
	Thread        Where = "thread"
	Account       Where = "account" // an account's own statuses
)

// filterContext is the filter context of a place: a list is filtered as
// the home timeline.
func (w Where) filterContext() string {
	if w == List {
		return federation.FilterHome
	}
	return string(w)
}

// hidesDomains reports whether domain blocks apply: the timelines,
// notifications and threads, not an account's own page.
func (w Where) hidesDomains() bool {
	switch w {
	case Home, List, Public, Notifications, Thread:
		return true
	}
	return false
}

// Viewing is what one viewer hides in one place, read once.
type Viewing struct {
	where     Where
	now       time.Time
	filters   []*federation.Filter
	domains   []string
	exclusive map[int64]bool
}

// Viewing reads the viewer's filters, blocked domains and exclusive list
// members for showing statuses in where.
func (s *Service) Viewing(ctx context.Context, viewerID int64, where Where) (*Viewing, error) {
	filters, err := s.Store.Filters(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	domains, exclusive, err := s.Hidden.Hidden(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	v := &Viewing{where: where, now: s.now(), filters: filters, domains: domains, exclusive: map[int64]bool{}}
	for _, id := range exclusive {
		v.exclusive[id] = true
	}
	return v, nil
}

// HidesDomain reports whether an account of domain (lower case; "" for a
// local one) is hidden here.
func (v *Viewing) HidesDomain(domain string) bool {
	return domain != "" && v.where.hidesDomains() && federation.DomainHidden(v.domains, domain)
}

// HidesAuthor reports whether a post by accountID is left out because
// the account is on one of the viewer's exclusive lists: at home only.
func (v *Viewing) HidesAuthor(accountID int64) bool {
	return v.where == Home && v.exclusive[accountID]
}

// Match applies the viewer's filters to a status: hide leaves it out;
// otherwise matches are the warn filters it matched, in order.
func (v *Viewing) Match(statusID int64, st *federation.Status) (hide bool, matches []federation.FilterMatch) {
	if len(v.filters) == 0 {
		return false, nil
	}
	for _, m := range federation.MatchFilters(v.filters, v.where.filterContext(), v.now, statusID, federation.FilterText(st)) {
		if m.Filter.Action == federation.FilterHide {
			return true, nil
		}
		matches = append(matches, m)
	}
	return false, matches
}
