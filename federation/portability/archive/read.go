package archive

import (
	"archive/zip"
	"encoding/json"
	"github.com/roost-social/roost/internal/text"
	"io"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Post is one post of an archive, ready to recreate.
type Post struct {
	OriginalURI string
	Status      *federation.Status // Content, Summary, Sensitive, Visibility, Language, Tags, Poll, Published, InReplyToURI; remote Attachments
	// Media are the post's files in the archive, each named once, at most
	// maxMediaRefs of them; MediaRefs counts every distinct one it names.
	Media     []Media
	MediaRefs int
}

// maxMediaRefs bounds the files kept per post: more than the client API
// allows, so the importer can tell how many there were and refuse.
const maxMediaRefs = 16

// Media is an attachment's file inside the archive.
type Media struct {
	Path        string
	Description string
	Size        int64 // as the zip declares it
}

// Archive is a validated archive: its structure parsed, its lists
// counted, every referenced file present. Nothing is kept: EachPost and
// EachRow read the entries again, item by item, so memory does not grow
// with the archive, and every byte inflated counts against one budget.
type Archive struct {
	files     map[string]*zip.File
	lim       Limits
	budget    int64
	inflated  int64
	ActorURI  string
	Followers string
	NumPosts  int // posts (Creates) in outbox.json
	// OldestFirst: outbox.json lists its oldest post first (Mastodon and
	// Roost list the newest first).
	OldestFirst bool
	// Rows counts the rows of each list.
	Rows map[Kind]int
	// bookmarksJSON: bookmarks come from bookmarks.json, else bookmarks.csv.
	bookmarksJSON bool
	// Overwrite is the list a lone CSV imported in overwrite mode
	// replaces ("": merged, as every archive's lists are; lone.go).
	Overwrite Kind
}

func invalid(format string, a ...any) error { return errs.E(errs.Invalid, format, a...) }

// Open validates a whole archive, reading each list and outbox.json once
// (media files are only looked up, not read); any problem is an
// errs.Invalid error naming the file (and line or item) at fault. It
// refuses an archive whose import would inflate more than its budget.
func Open(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	lim = lim.orDefault()
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, invalid("not a zip archive, or a truncated one: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, invalid("the archive holds %d files, over the limit of %d", len(zr.File), lim.MaxEntries)
	}
	a := &Archive{files: make(map[string]*zip.File, len(zr.File)), lim: lim, budget: lim.budgetFor(size), Rows: map[Kind]int{}}
	for _, f := range zr.File {
		if cap := a.capOf(f.Name); cap > 0 && f.UncompressedSize64 > uint64(cap) {
			return nil, invalid("%s: declared size %d bytes is over the limit of %d", text.Clip(f.Name, maxNameInMessage), f.UncompressedSize64, cap)
		}
		a.files[strings.TrimPrefix(f.Name, "/")] = f
	}
	if err := a.readActor(); err != nil {
		return nil, err
	}
	if err := a.readMode(); err != nil { // lone.go
		return nil, err
	}
	actorBytes := a.inflated
	media, err := a.readOutbox()
	if err != nil {
		return nil, err
	}
	if err := a.countRows(); err != nil {
		return nil, err
	}
	// The import reads outbox.json and the lists again, and each media
	// file once: refuse now what would run out of budget half-way.
	if need := a.inflated + (a.inflated - actorBytes) + media; need > a.budget {
		return nil, invalid("the archive would inflate to %s in all, over its limit of %s", mb(need), mb(a.budget))
	}
	return a, nil
}

// capOf is the inflated size allowed for a named entry (0: not read as a
// whole; media are bounded when opened).
func (a *Archive) capOf(name string) int64 {
	switch strings.TrimPrefix(name, "/") {
	case ActorFile:
		return a.lim.MaxActor
	case OutboxFile:
		return a.lim.MaxOutbox
	case BookmarksFile, FollowingCSV, BlocksCSV, MutesCSV, ListsCSV, BookmarksCSV, DomainBlocksCSV:
		return a.lim.MaxList
	}
	return 0
}

// readActor reads actor.json, at most MaxActor bytes.
func (a *Archive) readActor() error {
	f := a.files[ActorFile]
	if f == nil {
		return invalid("%s is missing", ActorFile)
	}
	m, c, err := a.open(f)
	if err != nil {
		return err
	}
	defer c.Close()
	m.limit = a.lim.MaxActor
	b, err := io.ReadAll(m)
	if err != nil {
		return readError(ActorFile, err)
	}
	var actor struct {
		ID        string `json:"id"`
		Followers string `json:"followers"`
	}
	if err := json.Unmarshal(b, &actor); err != nil {
		return invalid("%s: %v", ActorFile, err)
	}
	a.ActorURI, a.Followers = actor.ID, actor.Followers
	return nil
}

// readError passes on the errors of this package (budget, item size) and
// calls any other a damaged entry.
func readError(name string, err error) error {
	if errs.CodeOf(err) == errs.Invalid {
		return err
	}
	return invalid("%s: damaged or truncated: %v", text.Clip(name, maxNameInMessage), err)
}

// readOutbox validates outbox.json item by item, keeping no post: only
// their count, the order of their dates, and the declared bytes of the
// distinct media files they name (what the import will inflate for them).
func (a *Archive) readOutbox() (int64, error) {
	n := 0
	var first, last time.Time
	seen := map[*zip.File]bool{}
	var media int64
	err := a.eachItem(func(i int, raw json.RawMessage) error {
		if n >= a.lim.MaxPosts {
			return invalid("%s: more than %d posts, over the limit of %d", OutboxFile, a.lim.MaxPosts, a.lim.MaxPosts)
		}
		p, err := a.outboxItem(i, raw)
		if err != nil || p == nil {
			return err
		}
		if n == 0 {
			first = p.Status.Published
		}
		last = p.Status.Published
		n++
		for _, m := range p.Media {
			if f := a.files[m.Path]; !seen[f] {
				seen[f] = true
				media += a.mediaCost(f)
			}
		}
		return nil
	})
	a.NumPosts, a.OldestFirst = n, first.Before(last)
	return media, err
}

// mediaCost is the most the import may inflate for a media file.
func (a *Archive) mediaCost(f *zip.File) int64 {
	if f.UncompressedSize64 > uint64(a.lim.MaxMedia) {
		return 0 // skipped unread
	}
	return min(int64(f.UncompressedSize64), a.mediaLimit(f))
}

// mediaLimit is how far a media file may inflate: MediaRatio times its
// compressed size, plus 64 KB for headers of small files.
func (a *Archive) mediaLimit(f *zip.File) int64 {
	return min(a.lim.MaxMedia+1, 64<<10+a.lim.MediaRatio*int64(min(f.CompressedSize64, 1<<40)))
}

// EachPost calls fn with each post of the archive, in the order of
// outbox.json (for Mastodon and Roost, newest first: a reply usually
// comes before its parent, so threading is resolved after the import).
// Open validated the archive already.
func (a *Archive) EachPost(fn func(Post) error) error {
	return a.eachItem(func(i int, raw json.RawMessage) error {
		p, err := a.outboxItem(i, raw)
		if err != nil || p == nil {
			return err
		}
		return fn(*p)
	})
}

// outboxItem validates one outbox item (i counts from 0) and returns it
// as a post when it is a Create (nil otherwise).
func (a *Archive) outboxItem(i int, raw json.RawMessage) (*Post, error) {
	var act struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(raw, &act); err != nil {
		return nil, invalid("%s: item %d: %v", OutboxFile, i+1, err)
	}
	if act.Type != "Create" || len(act.Object) == 0 || act.Object[0] != '{' {
		return nil, nil // Announces (boosts) are not the owner's posts
	}
	st, _, err := ap.ParseStatus(act.Object, a.Followers)
	if err != nil {
		return nil, invalid("%s: item %d: %s", OutboxFile, i+1, errs.MessageOf(err))
	}
	if st.Published.IsZero() {
		st.Published = time.Now().UTC()
	}
	p := &Post{OriginalURI: st.URI, Status: st}
	return p, a.postMedia(i, act.Object, p)
}

// postMedia collects the archive files a post's attachments name, each
// once: a file named twice by one post is one attachment.
func (a *Archive) postMedia(i int, object json.RawMessage, p *Post) error {
	var note struct {
		Attachment []struct {
			URL  any    `json:"url"`
			Name string `json:"name"`
		} `json:"attachment"`
	}
	_ = json.Unmarshal(object, &note)
	seen := map[string]bool{}
	for _, att := range note.Attachment {
		u, _ := att.URL.(string)
		if u == "" || strings.Contains(u, "://") {
			continue // remote media stays where it is (Status.Attachments)
		}
		name := strings.TrimPrefix(u, "/")
		f := a.files[name]
		if f == nil {
			return invalid("%s: item %d: media file %s is missing from the archive", OutboxFile, i+1, text.Clip(name, maxNameInMessage))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		p.MediaRefs++
		if len(p.Media) < maxMediaRefs {
			p.Media = append(p.Media, Media{Path: name, Description: att.Name, Size: int64(f.UncompressedSize64)})
		}
	}
	return nil
}

// OpenMedia opens a media file of the archive for one read: a file over
// MaxMedia is refused unread (errs.TooLarge), and one inflating past
// MediaRatio times its compressed size fails while it is read.
func (a *Archive) OpenMedia(name string) (io.ReadCloser, error) {
	f := a.files[name]
	if f == nil {
		return nil, errs.E(errs.NotFound, "%s is missing from the archive", text.Clip(name, maxNameInMessage))
	}
	if f.UncompressedSize64 > uint64(a.lim.MaxMedia) {
		return nil, errs.E(errs.TooLarge, "%s is larger than %s", text.Clip(name, maxNameInMessage), mb(a.lim.MaxMedia))
	}
	m, c, err := a.open(f)
	if err != nil {
		return nil, err
	}
	m.limit = a.mediaLimit(f)
	m.over = invalid("%s inflates to more than %d times its compressed size, which media files do not: refused",
		text.Clip(name, maxNameInMessage), a.lim.MediaRatio)
	return struct {
		io.Reader
		io.Closer
	}{m, c}, nil
}
