// Package timeline is the use case of showing statuses and notifications
// to a viewer in one place (filter.Where: home, a list, the public and
// hashtag timelines, notifications, a thread, an account's page): which
// of them the viewer's domain blocks, exclusive lists and filters leave
// out, and which filters only warn. The caller names the place; the
// Mastodon API and the streaming API render what it decides.
package timeline

import (
	"context"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
)

// Viewings reads what a viewer hides in a place (filter.Service).
type Viewings interface {
	Viewing(ctx context.Context, viewerID int64, where filter.Where) (*filter.Viewing, error)
}

// Lens is what one viewer hides in one place on one site, read once.
type Lens struct {
	viewing    *filter.Viewing
	viewerID   int64
	siteDomain string
}

// Open reads viewerID's hides for where. siteDomain is the viewing site's
// domain: its own accounts are never hidden by a domain block.
func Open(ctx context.Context, v Viewings, viewerID int64, siteDomain string, where filter.Where) (*Lens, error) {
	viewing, err := v.Viewing(ctx, viewerID, where)
	if err != nil {
		return nil, err
	}
	return &Lens{viewing: viewing, viewerID: viewerID, siteDomain: siteDomain}, nil
}

// Verdict is what the lens decides for one status.
type Verdict struct {
	// Hidden leaves the status out.
	Hidden bool
	// Warn are the warn filters it matched, in order (shown with a warning).
	Warn []federation.FilterMatch
}

// Entry is one status as shown: its author, and for a boost the boosted
// status and its author (nil otherwise).
type Entry struct {
	Status        *federation.StatusView
	Author        *federation.AccountView
	Boosted       *federation.StatusView
	BoostedAuthor *federation.AccountView
}

// Status judges one entry: hidden when its author or the boosted author
// is on a domain the viewer blocks (where blocks apply), when its author
// is on one of the viewer's exclusive lists (at home), or when a hide
// filter matches the shown status; the viewer's own posts are never
// filtered.
func (l *Lens) Status(e Entry) Verdict {
	shown, shownAuthor := e.Status, e.Author
	if e.Boosted != nil {
		shown, shownAuthor = e.Boosted, e.BoostedAuthor
	}
	if l.hidesAccount(e.Author) || l.hidesAccount(shownAuthor) {
		return Verdict{Hidden: true}
	}
	if e.Author != nil && l.viewing.HidesAuthor(e.Author.ID) {
		return Verdict{Hidden: true}
	}
	if shown == nil || shown.AccountID == l.viewerID {
		return Verdict{}
	}
	hide, warn := l.viewing.Match(shown.ID, shown.Status)
	return Verdict{Hidden: hide, Warn: warn}
}

// HidesNotificationFrom reports whether a notification from a is left
// out: its account's domain is blocked by the viewer.
func (l *Lens) HidesNotificationFrom(a *federation.AccountView) bool {
	return l.hidesAccount(a)
}

// hidesAccount reports whether a's domain is hidden here; the viewing
// site's own accounts never are.
func (l *Lens) hidesAccount(a *federation.AccountView) bool {
	return a != nil && l.viewing.HidesDomain(l.domainOf(a))
}

// domainOf is the domain an account is known by from the viewing site
// ("" for the site's own accounts), lower case.
func (l *Lens) domainOf(a *federation.AccountView) string {
	if a.Remote == nil && a.Domain == l.siteDomain {
		return ""
	}
	return strings.ToLower(a.Domain)
}
