package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Limits bound what an import accepts.
type Limits struct {
	MaxFile  int64 // declared uncompressed size of any one entry
	MaxPosts int
}

// DefaultLimits are generous for a person's archive and small for a bomb.
var DefaultLimits = Limits{MaxFile: 256 << 20, MaxPosts: 200_000}

// Post is one post of an archive, ready to recreate.
type Post struct {
	OriginalURI string
	Status      *federation.Status // Content, Summary, Sensitive, Visibility, Language, Tags, Published, InReplyToURI
	Media       []Media
}

// Media is an attachment's file inside the archive.
type Media struct {
	Path        string
	Description string
	Size        int64
}

// Archive is a validated archive: everything parsed, every referenced
// file present and readable. Posts are not kept: EachPost reads
// outbox.json again, item by item, so memory does not grow with the
// archive.
type Archive struct {
	zr        *zip.Reader
	files     map[string]*zip.File
	ActorURI  string
	Followers string
	NumPosts  int // posts (Creates) in outbox.json
	// OldestFirst: outbox.json lists its oldest post first (Mastodon and
	// Roost list the newest first).
	OldestFirst bool
	Likes       []string
	Bookmarks   []string // status URIs or URLs
	Following   [][]string
	Blocks      [][]string
	Mutes       [][]string
	Lists       [][]string // title, address
}

func invalid(format string, a ...any) error { return errs.E(errs.Invalid, format, a...) }

// Open validates a whole archive; any problem is an errs.Invalid error
// naming the file (and line or item) at fault.
func Open(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	if lim.MaxFile == 0 {
		lim = DefaultLimits
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, invalid("not a zip archive, or a truncated one: %v", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if f.UncompressedSize64 > uint64(lim.MaxFile) {
			return nil, invalid("%s: declared size %d bytes is over the limit of %d", f.Name, f.UncompressedSize64, lim.MaxFile)
		}
		files[strings.TrimPrefix(f.Name, "/")] = f
	}
	a := &Archive{zr: zr, files: files}
	actor, err := readJSON[struct {
		ID        string `json:"id"`
		Followers string `json:"followers"`
	}](files, ActorFile, true)
	if err != nil {
		return nil, err
	}
	a.ActorURI, a.Followers = actor.ID, actor.Followers
	if err := a.readOutbox(files, lim); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		into *[]string
	}{{LikesFile, &a.Likes}, {BookmarksFile, &a.Bookmarks}} {
		col, err := readJSON[struct {
			Items []json.RawMessage `json:"orderedItems"`
		}](files, c.name, false)
		if err != nil {
			return nil, err
		}
		for i, raw := range col.Items {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var o struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(raw, &o) != nil || o.ID == "" {
					return nil, invalid("%s: item %d is neither a URI nor an object with an id", c.name, i+1)
				}
				s = o.ID
			}
			*c.into = append(*c.into, s)
		}
	}
	if len(a.Bookmarks) == 0 {
		rows, err := readCSV(files, BookmarksCSV, 1, "")
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			a.Bookmarks = append(a.Bookmarks, r[0])
		}
	}
	for _, c := range []struct {
		name   string
		cols   int
		header string
		into   *[][]string
	}{
		{FollowingCSV, 1, "Account address", &a.Following},
		{BlocksCSV, 1, "", &a.Blocks},
		{MutesCSV, 1, "Account address", &a.Mutes},
		{ListsCSV, 2, "", &a.Lists},
	} {
		rows, err := readCSV(files, c.name, c.cols, c.header)
		if err != nil {
			return nil, err
		}
		*c.into = rows
	}
	return a, nil
}

// readBytes reads an entry whole (it is under the size limit), checking
// its checksum: a damaged or truncated entry is an error.
func readBytes(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, invalid("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, invalid("%s: damaged or truncated: %v", f.Name, err)
	}
	return b, nil
}

// jsonError names the line and column of a decoding error.
func jsonError(name string, b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return invalid("%s: %v", name, err)
	}
	off = min(off, int64(len(b)))
	line := bytes.Count(b[:off], []byte{'\n'}) + 1
	col := off - int64(bytes.LastIndexByte(b[:off], '\n'))
	return invalid("%s: line %d, column %d (offset %d): %v", name, line, col, off, err)
}

func readJSON[T any](files map[string]*zip.File, name string, required bool) (*T, error) {
	v := new(T)
	f := files[name]
	if f == nil {
		if required {
			return nil, invalid("%s is missing", name)
		}
		return v, nil
	}
	b, err := readBytes(f)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, jsonError(name, b, err)
	}
	return v, nil
}

// readCSV reads rows of at least cols fields, skipping a header row
// whose first field is header.
func readCSV(files map[string]*zip.File, name string, cols int, header string) ([][]string, error) {
	f := files[name]
	if f == nil {
		return nil, nil
	}
	b, err := readBytes(f)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	var rows [][]string
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, invalid("%s: %v", name, err)
		}
		if line == 1 && header != "" && strings.EqualFold(strings.TrimSpace(rec[0]), header) {
			continue
		}
		if len(rec) < cols || strings.TrimSpace(rec[0]) == "" {
			row, _ := cr.FieldPos(0)
			return nil, invalid("%s: line %d: expected %d fields", name, row, cols)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, rec)
	}
}

// readOutbox validates outbox.json item by item from the zip entry, so
// only one item's bytes are held at a time and no post is kept; every
// referenced media file is read through (checksum checked). A syntax
// error is located afterwards by reading the entry whole, which names its
// line and column.
func (a *Archive) readOutbox(files map[string]*zip.File, lim Limits) error {
	n := 0
	var first, last time.Time
	err := a.eachItem(func(i int, raw json.RawMessage) error {
		if i+1 > lim.MaxPosts {
			return invalid("%s: more than %d items, over the limit of %d", OutboxFile, lim.MaxPosts, lim.MaxPosts)
		}
		p, err := a.outboxItem(i, raw, true)
		if p != nil {
			if n == 0 {
				first = p.Status.Published
			}
			last = p.Status.Published
			n++
		}
		return err
	})
	a.NumPosts, a.OldestFirst = n, first.Before(last)
	return err
}

// eachItem streams the items of outbox.json, turning a decoding error
// into an errs.Invalid one that names the file (and line and column).
func (a *Archive) eachItem(fn func(i int, raw json.RawMessage) error) error {
	f := a.files[OutboxFile]
	if f == nil {
		return invalid("%s is missing", OutboxFile)
	}
	rc, err := f.Open()
	if err != nil {
		return invalid("%s: %v", OutboxFile, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	n := 0
	err = streamItems(dec, func(raw json.RawMessage) error {
		n++
		if err := fn(n-1, raw); err != nil {
			return callbackError{err}
		}
		return nil
	})
	if ce, ok := err.(callbackError); ok {
		return ce.err // the caller's own error, as it was
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) {
			// Read again whole, for the line and column.
			if _, werr := readJSON[struct {
				Items []json.RawMessage `json:"orderedItems"`
			}](a.files, OutboxFile, true); werr != nil {
				return werr
			}
		}
		return invalid("%s: damaged or truncated: %v", OutboxFile, err)
	}
	return err
}

// callbackError carries an error of eachItem's fn through streamItems,
// apart from decoding errors.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// EachPost calls fn with each post of the archive, in the order of
// outbox.json (for Mastodon and Roost, newest first: a reply usually
// comes before its parent, so threading is resolved after the import,
// see ResolveImportedReplies). Open validated the archive already.
func (a *Archive) EachPost(fn func(Post) error) error {
	return a.eachItem(func(i int, raw json.RawMessage) error {
		p, err := a.outboxItem(i, raw, false)
		if err != nil || p == nil {
			return err
		}
		return fn(*p)
	})
}

// streamItems calls fn with each element of the top-level object's
// orderedItems array; other members are skipped.
func streamItems(dec *json.Decoder, fn func(json.RawMessage) error) error {
	if tok, err := dec.Token(); err != nil {
		return err
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: reflect.TypeOf(map[string]any{}), Offset: dec.InputOffset()}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if key, _ := tok.(string); key != "orderedItems" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: reflect.TypeOf([]any{}), Offset: dec.InputOffset()}
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// outboxItem validates one outbox item (i counts from 0) and returns it
// as a post when it is a Create (nil otherwise). checkMedia reads every
// media file through, so a damaged one is found before anything is
// written.
func (a *Archive) outboxItem(i int, raw json.RawMessage, checkMedia bool) (*Post, error) {
	files := a.files
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
	var note struct {
		Attachment []struct {
			URL  any    `json:"url"`
			Name string `json:"name"`
		} `json:"attachment"`
	}
	_ = json.Unmarshal(act.Object, &note)
	p := Post{OriginalURI: st.URI, Status: st}
	for _, att := range note.Attachment {
		u, _ := att.URL.(string)
		if u == "" || strings.Contains(u, "://") {
			continue // remote media stays where it is
		}
		name := strings.TrimPrefix(u, "/")
		f := files[name]
		if f == nil {
			return nil, invalid("%s: item %d: media file %s is missing from the archive", OutboxFile, i+1, name)
		}
		if checkMedia {
			rc, err := f.Open()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if err != nil {
				return nil, invalid("%s: damaged or truncated: %v", name, err)
			}
		}
		p.Media = append(p.Media, Media{Path: name, Description: att.Name, Size: int64(f.UncompressedSize64)})
	}
	return &p, nil
}

// OpenMedia opens a media file of the archive.
func (a *Archive) OpenMedia(name string) (io.ReadCloser, error) {
	f, err := a.zr.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}
