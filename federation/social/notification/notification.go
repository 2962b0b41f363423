// Package notification is the use case of a person's notifications: the
// pages of the Mastodon API (one by one, and grouped as Mastodon 4.3+
// groups them), unread counts, and the notification policy with its
// requests. The store applies every filter it can express before the
// limit (federation.NotificationQuery); what only the viewer's filters can
// decide (a hide filter matching a notification's status) is applied here
// while the page is filled, with more rows read until it is full, the
// rows run out, or timeline.MaxScan more were read (timeline.Fill).
package notification

import (
	"context"
	"slices"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/timeline"
	"github.com/roost-social/roost/internal/errs"
)

// Views hydrates what the viewer's filters judge (federation.ViewStore).
type Views interface {
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
	AccountViews(ctx context.Context, ids []int64) (map[int64]*federation.AccountView, error)
}

// Markers reads where the viewer stopped reading (federation.ClientStore).
type Markers interface {
	Markers(ctx context.Context, accountID int64) ([]federation.Marker, error)
}

// Service is the notifications use case. Pages and Views are required;
// Store serves groups, counts, the policy and requests (nil: none);
// Viewings the viewer's filters (nil: none apply).
type Service struct {
	Pages    federation.NotificationPager
	Store    federation.NotificationStore
	Views    Views
	Viewings timeline.Viewings
	Markers  Markers
}

// Viewer is who reads, on which site.
type Viewer struct {
	ID         int64
	SiteDomain string
}

// Window is the ids a page covered, newest and oldest: the Link cursors
// (timeline.Fill, shared with the status lists).
type Window = timeline.Window

var errNotFound = errs.E(errs.NotFound, "Record not found")

// query completes q for v.
func query(v Viewer, q federation.NotificationQuery) federation.NotificationQuery {
	q.SiteDomain = v.SiteDomain
	return q
}

// lens reads what v hides in notifications; nil when no filters apply.
func (s *Service) lens(ctx context.Context, v Viewer) (*timeline.Lens, error) {
	if s.Viewings == nil {
		return nil, nil
	}
	return timeline.Open(ctx, s.Viewings, v.ID, v.SiteDomain, filter.Notifications)
}

// hidden reports which notifications of ns the lens leaves out: from a
// hidden domain, about a status gone from the viewer's sight, or one a
// hide filter matches.
func (s *Service) hidden(ctx context.Context, v Viewer, lens *timeline.Lens, ns []federation.Notification) (map[int64]bool, error) {
	if lens == nil || len(ns) == 0 {
		return nil, nil
	}
	var statusIDs, acctIDs []int64
	for _, n := range ns {
		acctIDs = append(acctIDs, n.FromAccountID)
		if n.StatusID != 0 {
			statusIDs = append(statusIDs, n.StatusID)
		}
	}
	views, err := s.Views.StatusViews(ctx, v.ID, statusIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*federation.StatusView, len(views))
	for _, sv := range views {
		byID[sv.ID] = sv
		acctIDs = append(acctIDs, sv.AccountID)
	}
	accounts, err := s.Views.AccountViews(ctx, acctIDs)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, n := range ns {
		if a := accounts[n.FromAccountID]; a != nil && lens.HidesNotificationFrom(a) {
			out[n.ID] = true
			continue
		}
		if n.StatusID == 0 {
			continue
		}
		sv := byID[n.StatusID]
		if sv == nil || lens.Status(timeline.Entry{Status: sv, Author: accounts[sv.AccountID]}).Hidden {
			out[n.ID] = true
		}
	}
	return out, nil
}

// Page is one page of v's notifications, one by one (GET
// /api/v1/notifications), and the window it read.
func (s *Service) Page(ctx context.Context, v Viewer, q federation.NotificationQuery, p federation.Page) ([]federation.Notification, Window, error) {
	q = query(v, q)
	lens, err := s.lens(ctx, v)
	if err != nil {
		return nil, Window{}, err
	}
	return timeline.Fill(ctx, p, func(n federation.Notification) int64 { return n.ID },
		func(cur federation.Page) ([]federation.Notification, error) {
			return s.Pages.Notifications(ctx, v.ID, q, cur)
		},
		func(ns []federation.Notification) ([]bool, error) {
			h, err := s.hidden(ctx, v, lens, ns)
			if err != nil {
				return nil, err
			}
			ok := make([]bool, len(ns))
			for i, n := range ns {
				ok[i] = !h[n.ID]
			}
			return ok, nil
		})
}

// Groups is one page of v's notification groups (GET
// /api/v2/notifications): grouped names the types grouped (nil: Mastodon's
// groupable ones). A group already on the page is not repeated when more
// rows are read to fill it.
func (s *Service) Groups(ctx context.Context, v Viewer, q federation.NotificationQuery, grouped []string, p federation.Page) ([]federation.NotificationGroup, Window, error) {
	if s.Store == nil {
		return nil, Window{}, errNotFound
	}
	q = query(v, q)
	if grouped == nil {
		grouped = federation.GroupableNotificationTypes
	}
	lens, err := s.lens(ctx, v)
	if err != nil {
		return nil, Window{}, err
	}
	onPage := map[string]bool{}
	return timeline.Fill(ctx, p, func(g federation.NotificationGroup) int64 { return g.Notification.ID },
		func(cur federation.Page) ([]federation.NotificationGroup, error) {
			return s.Store.NotificationGroups(ctx, v.ID, q, grouped, cur)
		},
		func(gs []federation.NotificationGroup) ([]bool, error) {
			ns := make([]federation.Notification, len(gs))
			for i, g := range gs {
				ns[i] = g.Notification
			}
			h, err := s.hidden(ctx, v, lens, ns)
			if err != nil {
				return nil, err
			}
			ok := make([]bool, len(gs))
			for i, g := range gs {
				ok[i] = !h[g.Notification.ID] && !onPage[g.Key]
				onPage[g.Key] = true
			}
			return ok, nil
		})
}

// Group is one of v's groups as a whole, or NotFound (also when the
// viewer's filters hide it).
func (s *Service) Group(ctx context.Context, v Viewer, key string) (*federation.NotificationGroup, error) {
	if s.Store == nil {
		return nil, errNotFound
	}
	g, err := s.Store.NotificationGroupByKey(ctx, v.ID, query(v, federation.NotificationQuery{IncludeFiltered: true}), key)
	if err != nil {
		return nil, err
	}
	lens, err := s.lens(ctx, v)
	if err != nil {
		return nil, err
	}
	h, err := s.hidden(ctx, v, lens, []federation.Notification{g.Notification})
	if err != nil {
		return nil, err
	}
	if h[g.Notification.ID] {
		return nil, errNotFound
	}
	return g, nil
}

// GroupAccounts lists the senders of one of v's groups, newest first.
func (s *Service) GroupAccounts(ctx context.Context, v Viewer, key string) ([]int64, error) {
	if _, err := s.Group(ctx, v, key); err != nil {
		return nil, err
	}
	return s.Store.NotificationGroupAccounts(ctx, v.ID, query(v, federation.NotificationQuery{IncludeFiltered: true}), key, 80)
}

// DismissGroup deletes one of v's groups; another's key changes nothing.
func (s *Service) DismissGroup(ctx context.Context, v Viewer, key string) error {
	if s.Store == nil {
		return errNotFound
	}
	return s.Store.DismissNotificationGroup(ctx, v.ID, key)
}

// Unread caps what an unread count counts, as Mastodon: 100 by default,
// at most 1000.
const (
	DefaultUnread = 100
	MaxUnread     = 1000
)

// UnreadCount counts v's notifications (grouped: their groups) newer than
// the notifications marker, up to limit.
func (s *Service) UnreadCount(ctx context.Context, v Viewer, q federation.NotificationQuery, grouped []string, asGroups bool, limit int) (int, error) {
	if s.Store == nil {
		return 0, errNotFound
	}
	if limit <= 0 {
		limit = DefaultUnread
	}
	limit = min(limit, MaxUnread)
	var last int64
	if s.Markers != nil {
		ms, err := s.Markers.Markers(ctx, v.ID)
		if err != nil {
			return 0, err
		}
		for _, m := range ms {
			if m.Timeline == "notifications" {
				last = m.LastReadID
			}
		}
	}
	q = query(v, q)
	if !asGroups {
		return s.Store.CountNotifications(ctx, v.ID, q, last, limit)
	}
	if grouped == nil {
		grouped = federation.GroupableNotificationTypes
	}
	return s.Store.CountNotificationGroups(ctx, v.ID, q, grouped, last, limit)
}

// KnownTypes keeps the notification types Roost creates, in order.
func KnownTypes(list []string) []string {
	var out []string
	for _, t := range list {
		if slices.Contains(federation.NotificationTypes, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// ValidKey reports whether key could name a group: bounded and printable.
func ValidKey(key string) bool {
	return key != "" && len(key) <= 200 && !strings.ContainsAny(key, " \t\r\n")
}
