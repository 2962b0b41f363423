// Package portability imports account archives (federation/portability/archive reads
// them): posts with their media, blocks, mutes, lists and bookmarks, and
// follows queued to be sent over time. Every cost an archive can cause is
// bounded: rows and inflated bytes by archive.Limits, each post by the
// client API's own limits, each media file stored once, the follows to
// one server spread by archive.FollowSpread, and the result kept to
// counts and the first problems (Summary).
package portability

import (
	"context"
	"os"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
)

// Store is what an import writes to.
type Store interface {
	ReserveStatusIDs(ctx context.Context, n int) ([]int64, error)
	ImportedURIs(ctx context.Context, accountID int64, originalURIs []string) (map[string]bool, error)
	ImportPosts(ctx context.Context, local *federation.Account, posts []archive.ImportedPost,
		uriFor func(id int64) string) ([]*federation.Status, int, error)
	ResolveImportedReplies(ctx context.Context, accountID int64) (int64, error)
	PendingPublications(ctx context.Context, accountID, afterID int64, limit int) ([]*federation.Status, error)
	PublishImported(ctx context.Context, st *federation.Status, render func(*federation.Status) (string, []byte, error)) ([]int64, error)
	RestoreRows(ctx context.Context, local *federation.Account, kind archive.Kind, rows [][]string) (int, []string, error)
	// ClearRows removes the account's rows of a list an overwrite import
	// replaces (blocks, mutes, domain blocks, bookmarks).
	ClearRows(ctx context.Context, local *federation.Account, kind archive.Kind) error
	QueueFollows(ctx context.Context, importID int64, local *federation.Account, targets, hosts []string,
		spread archive.FollowSpread, now time.Time) (queued, over int, err error)
}

// Uploader stores a media file (media.Service).
type Uploader interface {
	Upload(ctx context.Context, u media.Upload) (*media.Attachment, error)
}

// Dispatcher hands stored deliveries to the delivery workers.
type Dispatcher interface {
	Dispatch(ctx context.Context, express bool, ids []int64) error
}

// Importer runs imports.
type Importer struct {
	Store    Store
	Media    Uploader
	Dispatch Dispatcher
	Limits   archive.Limits       // zero: archive.DefaultLimits
	Spread   archive.FollowSpread // zero: archive.DefaultSpread
	Now      func() time.Time
}

// Request is one import: an archive on disk for a local account, run as
// the job ImportID (its follows are queued under it).
type Request struct {
	ImportID int64
	Local    *federation.Account
	Links    federation.Links
	Path     string
	Publish  bool
	// Progress, when set, is told how many posts are handled so far.
	Progress func(done, total int)
}

// batch is how many posts, or rows, one transaction takes.
const batch = 100

// Run validates the archive (nothing is written for a malformed one,
// and the error says why), then imports posts, publishes them when asked,
// queues follows and restores the rest. It is safe to run again: posts
// are keyed by their original URI, rows are idempotent.
func (im *Importer) Run(ctx context.Context, req Request) (*Summary, error) {
	f, err := os.Open(req.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := archive.Open(f, fi.Size(), im.Limits)
	if err != nil {
		return nil, err
	}
	run := &run{im: im, req: req, a: a, sum: &Summary{}, used: map[string]int{}}
	for _, step := range []func(context.Context) error{run.posts, run.publish, run.follows, run.restore} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	run.sum.Inflated = a.Inflated()
	return run.sum, nil
}

// run is one import under way.
type run struct {
	im   *Importer
	req  Request
	a    *archive.Archive
	sum  *Summary
	used map[string]int // media files taken already, and how often named
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now()
	}
	return time.Now()
}
