package archive

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// A list of the archive: the CSV it is read from and its columns. Likes
// are not imported (favouriting again would notify every author), so
// likes.json is not read.
type list struct {
	kind Kind
	file string
	cols int
}

var lists = []list{
	{Following, FollowingCSV, 1},
	{Blocks, BlocksCSV, 1},
	{Mutes, MutesCSV, 1},
	{Lists, ListsCSV, 2},
	{Bookmarks, BookmarksCSV, 1},
	{DomainBlocks, DomainBlocksCSV, 1}, // lone CSVs only (lone.go)
}

// headers are first fields of Mastodon's header rows, skipped on line 1.
var headers = []string{"account address", "#uri", "list name", "#domain"}

// countRows reads every list once, checking its structure and counting
// its rows against MaxRows (MaxFollows for follows) and all of them
// against MaxTotalRows; nothing is kept.
func (a *Archive) countRows() error {
	total := 0
	n, err := a.eachBookmarkItem(func(string) error { return a.countRow(Bookmarks, BookmarksFile, &total) })
	if err != nil {
		return err
	}
	a.bookmarksJSON = n > 0
	for _, l := range lists {
		if l.kind == Bookmarks && a.bookmarksJSON {
			continue
		}
		if err := a.eachCSV(l, func([]string) error { return a.countRow(l.kind, l.file, &total) }); err != nil {
			return err
		}
	}
	return nil
}

func (a *Archive) countRow(kind Kind, name string, total *int) error {
	a.Rows[kind]++
	max := a.lim.MaxRows
	if kind == Following {
		max = a.lim.MaxFollows
	}
	if a.Rows[kind] > max {
		return invalid("%s: more than %d rows, over the limit of %d", name, max, max)
	}
	if *total++; *total > a.lim.MaxTotalRows {
		return invalid("more than %d rows in the archive's lists, over the limit of %d", a.lim.MaxTotalRows, a.lim.MaxTotalRows)
	}
	return nil
}

// EachRow calls fn with each row of a list, trimmed, streaming: for
// Following, Blocks, Mutes its address first; Lists: title, address;
// Bookmarks: the status URI (from bookmarks.json, else bookmarks.csv).
func (a *Archive) EachRow(kind Kind, fn func(row []string) error) error {
	if kind == Bookmarks && a.bookmarksJSON {
		_, err := a.eachBookmarkItem(func(u string) error { return fn([]string{u}) })
		return err
	}
	for _, l := range lists {
		if l.kind == kind {
			return a.eachCSV(l, fn)
		}
	}
	return invalid("no list %q in an archive", kind)
}

// eachBookmarkItem streams bookmarks.json's items (URIs, or objects with
// an id), each at most MaxRecord bytes.
func (a *Archive) eachBookmarkItem(fn func(uri string) error) (int, error) {
	n := 0
	err := a.eachJSONItem(BookmarksFile, false, a.lim.MaxRecord, "an item", func(i int, raw json.RawMessage) error {
		u, ok := uriItem(raw)
		if !ok {
			return invalid("%s: item %d is neither a URI nor an object with an id", BookmarksFile, i+1)
		}
		n++
		return fn(strings.TrimSpace(u))
	})
	return n, err
}

// eachCSV streams a CSV's records of at least l.cols fields, each at most
// MaxRecord bytes, skipping a header row.
func (a *Archive) eachCSV(l list, fn func([]string) error) error {
	f := a.files[l.file]
	if f == nil {
		return nil
	}
	m, c, err := a.open(f)
	if err != nil {
		return err
	}
	defer c.Close()
	// csv.Reader buffers 4 KB ahead of the record it returns.
	m.perItem(a.lim.MaxRecord, 4<<10, "a record").limit = a.lim.MaxList
	cr := csv.NewReader(m)
	cr.FieldsPerRecord = -1
	for first := true; ; first = false {
		m.mark = m.n
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(l.file, err)
		}
		if first && isHeader(rec[0]) {
			continue
		}
		if len(rec) < l.cols || strings.TrimSpace(rec[0]) == "" {
			line, _ := cr.FieldPos(0)
			return invalid("%s: line %d: expected %d fields", l.file, line, l.cols)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func isHeader(field string) bool {
	field = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(field, "\ufeff")))
	for _, h := range headers {
		if field == h {
			return true
		}
	}
	return false
}

// csvError names the file and line of a parse error, and keeps this
// package's own errors (budget, line length), which csv returns as read.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid("%s: %v", name, err)
	}
	return readError(name, err)
}
