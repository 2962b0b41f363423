package cached

import (
	"context"
	"slices"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/hotcache"
)

// ViewersSize and ViewersTTL bound the cache of what viewers hide: one
// entry per signed-in reader (their filters, blocked domains and
// exclusive lists' members).
const (
	ViewersSize = 20_000
	ViewersTTL  = 5 * time.Minute
)

// HiddenStore reads the domains a viewer blocks and the members of their
// exclusive lists (filter.Hidden).
type HiddenStore interface {
	Hidden(ctx context.Context, accountID int64) ([]string, []int64, error)
}

// Viewers answers the per-request reads of what a viewer hides (their
// filters; their blocked domains and exclusive lists) from memory; every
// other FilterStore method goes to the store. A change to any of them is
// announced by the database ('v <account>') and drops the viewer's entry
// on every node.
type Viewers struct {
	federation.FilterStore
	hidden  HiddenStore
	filters *hotcache.Cache[int64, []*federation.Filter]
	hides   *hotcache.Cache[int64, hides]
}

type hides struct {
	domains   []string
	exclusive []int64
}

// NewViewers caches filters' and hidden's per-viewer reads in set.
func NewViewers(set *hotcache.Set, filters federation.FilterStore, hidden HiddenStore) *Viewers {
	return &Viewers{FilterStore: filters, hidden: hidden,
		filters: hotcache.New[int64, []*federation.Filter](set, "viewer_filters", ViewersSize, ViewersTTL),
		hides:   hotcache.New[int64, hides](set, "viewer_hides", ViewersSize, ViewersTTL)}
}

func viewerTags(id int64) []hotcache.Tag {
	// The account tag too: a deleted or moved account's entries go.
	return []hotcache.Tag{{Kind: hotcache.Viewer, ID: id}, {Kind: hotcache.Account, ID: id}}
}

// Filters returns the viewer's filters. The filters are shared with other
// requests: callers only read them (expiry is decided at match time).
func (v *Viewers) Filters(ctx context.Context, ownerID int64) ([]*federation.Filter, error) {
	return v.filters.Load(ctx, ownerID, func(ctx context.Context) ([]*federation.Filter, []hotcache.Tag, error) {
		fs, err := v.FilterStore.Filters(ctx, ownerID)
		return fs, viewerTags(ownerID), err
	})
}

// Hidden returns the domains the viewer blocks and the members of their
// exclusive lists, as copies.
func (v *Viewers) Hidden(ctx context.Context, accountID int64) ([]string, []int64, error) {
	h, err := v.hides.Load(ctx, accountID, func(ctx context.Context) (hides, []hotcache.Tag, error) {
		d, e, err := v.hidden.Hidden(ctx, accountID)
		return hides{domains: d, exclusive: e}, viewerTags(accountID), err
	})
	if err != nil {
		return nil, nil, err
	}
	return slices.Clone(h.domains), slices.Clone(h.exclusive), nil
}
