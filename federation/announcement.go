package federation

import (
	"context"
	"time"
)

// Announcement is news from the people running a site, shown in apps
// above the home timeline: the operator's (TenantID 0) on every tenant,
// a tenant admin's on that tenant only.
type Announcement struct {
	ID          int64
	TenantID    int64  // 0: the instance's, shown on every tenant
	Text        string // as its author typed it
	Content     string // the HTML shown
	StartsAt    *time.Time
	EndsAt      *time.Time
	AllDay      bool
	PublishedAt *time.Time // nil: a draft, shown to nobody
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AnnouncementView is an announcement as one reader sees it: whether
// they dismissed it, and their tenant's reactions.
type AnnouncementView struct {
	Announcement
	Read      bool
	Reactions []AnnouncementReaction
}

// AnnouncementReaction is one emoji's reactions from a tenant's people.
type AnnouncementReaction struct {
	Name  string // a unicode emoji, or a custom emoji's shortcode
	Count int
	Me    bool
}

// AnnouncementStore keeps announcements. A reader's calls are scoped by
// their tenant (they see the instance's and their tenant's published
// ones, and only their tenant's reactions); an author's by scope (0: the
// operator, who writes the instance's; a tenant id: that tenant's own).
type AnnouncementStore interface {
	// ActiveAnnouncements lists the announcements published for the
	// reader's tenant that have not ended by now, oldest first; dismissed
	// ones only withDismissed.
	ActiveAnnouncements(ctx context.Context, tenantID, accountID int64, now time.Time, withDismissed bool) ([]AnnouncementView, error)
	// DismissAnnouncement marks one the reader may see as read
	// (errs.NotFound for any other).
	DismissAnnouncement(ctx context.Context, tenantID, accountID, id int64, now time.Time) error
	// ReactToAnnouncement adds (on) or removes the reader's reaction name
	// to one they may see; adding refuses (errs.Invalid) a name that would
	// make more than maxNames distinct names on the tenant.
	ReactToAnnouncement(ctx context.Context, tenantID, accountID, id int64, name string, on bool, now time.Time, maxNames int) error
	// AuthoredAnnouncements lists scope's own announcements, newest first.
	AuthoredAnnouncements(ctx context.Context, scope int64) ([]Announcement, error)
	// AuthoredAnnouncement finds one of scope's own, or errs.NotFound.
	AuthoredAnnouncement(ctx context.Context, scope, id int64) (*Announcement, error)
	// SaveAnnouncement creates (ID 0) or replaces one of scope's own.
	SaveAnnouncement(ctx context.Context, scope int64, a Announcement) (*Announcement, error)
	// DeleteAnnouncement deletes one of scope's own, or errs.NotFound.
	DeleteAnnouncement(ctx context.Context, scope, id int64) (*Announcement, error)
}
