package archive

import "time"

// Limits bound what an import accepts and what reading it may cost. An
// archive is untrusted input of at most a few MB (the upload) that names
// rows, posts and files: every count below is checked while reading, so
// no limit depends on sizes the zip declares.
type Limits struct {
	MaxPosts  int   // Create activities in outbox.json
	MaxOutbox int64 // outbox.json, inflated
	MaxList   int64 // one CSV or bookmarks.json, inflated (Mastodon: 20 MB)
	MaxActor  int64 // actor.json, inflated (an inbox takes 1 MB)
	MaxItem   int64 // one item of outbox.json (about: what the decoder reads for it)
	MaxRecord int64 // one CSV record or bookmarks.json item (about: readers buffer a few KB ahead)
	// MaxMedia is the largest media file taken (the upload limit); a
	// larger one is skipped unread.
	MaxMedia int64
	// MaxRows bounds the rows of one CSV (or bookmarks.json items), as
	// Mastodon's import does; MaxFollows those of following_accounts.csv,
	// Mastodon's follow limit; MaxTotalRows every list together.
	MaxRows, MaxFollows, MaxTotalRows int
	MaxEntries                        int // files in the zip
	// Every byte inflated, over every pass of the import, counts against
	// InflateBase + InflateRatio × the zip's size, and never more than
	// MaxInflated: a small zip cannot make the instance inflate gigabytes.
	InflateBase, InflateRatio, MaxInflated int64
	// MediaRatio bounds one media file's inflated size to this many times
	// its compressed size (plus 64 KB): images, video and audio are
	// compressed already, so a file that deflates far better is padding
	// meant to fill the disk.
	MediaRatio int64
}

// DefaultLimits are generous for a person's archive and small for a bomb.
// Row limits are Mastodon's (ROWS_PROCESSING_LIMIT, FollowLimitValidator).
var DefaultLimits = Limits{
	MaxPosts:     200_000,
	MaxOutbox:    256 << 20,
	MaxList:      20 << 20,
	MaxActor:     1 << 20,
	MaxItem:      1 << 20,
	MaxRecord:    4 << 10,
	MaxMedia:     16 << 20,
	MaxRows:      20_000,
	MaxFollows:   7_500,
	MaxTotalRows: 50_000,
	MaxEntries:   250_000,
	InflateBase:  768 << 20, // outbox.json and every list at their caps, read twice

	InflateRatio: 20,
	MaxInflated:  64 << 30,
	MediaRatio:   4,
}

// orDefault fills the zero fields of l from DefaultLimits, so a caller
// may set only what it changes.
func (l Limits) orDefault() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int64 }{
		{&l.MaxOutbox, &d.MaxOutbox}, {&l.MaxList, &d.MaxList}, {&l.MaxActor, &d.MaxActor}, {&l.MaxItem, &d.MaxItem},
		{&l.MaxRecord, &d.MaxRecord}, {&l.MaxMedia, &d.MaxMedia}, {&l.InflateBase, &d.InflateBase},
		{&l.InflateRatio, &d.InflateRatio}, {&l.MaxInflated, &d.MaxInflated}, {&l.MediaRatio, &d.MediaRatio},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	for _, f := range []struct{ v, def *int }{
		{&l.MaxPosts, &d.MaxPosts}, {&l.MaxRows, &d.MaxRows}, {&l.MaxFollows, &d.MaxFollows},
		{&l.MaxTotalRows, &d.MaxTotalRows}, {&l.MaxEntries, &d.MaxEntries},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// budgetFor is how many bytes an archive of size bytes may inflate in all.
func (l Limits) budgetFor(size int64) int64 {
	return min(l.MaxInflated, l.InflateBase+l.InflateRatio*max(size, 0))
}

// FollowSpread is how an import's follows to one host are spread over
// time: the first Burst queued for a host are due at once, each further
// one Interval after the one before, counting the host's rows already
// queued by any import.
type FollowSpread struct {
	Burst    int
	Interval time.Duration
	// Max bounds the accounts one account follows and has queued, as
	// Mastodon's follow limit does; past it rows are not queued.
	Max int
}

// DefaultSpread matches the budget of key fetches per host (a burst of
// 10, then one per 6 s): an archive naming 300 accounts on one server
// sends it their WebFinger, actor and Follow requests over half an hour.
var DefaultSpread = FollowSpread{Burst: 10, Interval: 6 * time.Second, Max: 7_500}
