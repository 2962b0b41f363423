package archive

import (
	"archive/zip"
	"encoding/json"
	"io"
	"strings"
)

// Lone CSV imports (issue 18): Mastodon's import page takes one list at a
// time as a CSV file of a chosen type. Roost reads such a file the way it
// reads the same list inside an archive — wrapped as the only list of an
// archive with an empty actor and outbox — so one parser, one set of
// limits and one import job serve both.

// DomainBlocks are the domains an account hides (domain_blocks.csv,
// Mastodon's: one domain a row, under a "#domain" header); they travel
// as a lone CSV only.
const DomainBlocks Kind = "domain_blocks"

// DomainBlocksCSV is the domain blocks list's file name.
const DomainBlocksCSV = "domain_blocks.csv"

// ModeFile marks an archive made from a lone CSV imported with Mastodon's
// "overwrite" mode: the list replaces the account's rows of its kind.
const ModeFile = "roost_import.json"

// loneKinds are the lists a lone CSV may be, by the type Mastodon's
// import form names them.
var loneKinds = map[string]Kind{
	"following": Following, "blocking": Blocks, "muting": Mutes, "domain_blocking": DomainBlocks,
	"bookmarks": Bookmarks, "lists": Lists,
}

// LoneKind is the list a lone CSV of Mastodon's import type is (its form's
// values: following, blocking, muting, domain_blocking, bookmarks, lists;
// Roost's kind names are taken too).
func LoneKind(typ string) (Kind, error) {
	typ = strings.ToLower(strings.TrimSpace(typ))
	if k, ok := loneKinds[typ]; ok {
		return k, nil
	}
	for _, k := range loneKinds {
		if string(k) == typ {
			return k, nil
		}
	}
	return "", invalid("unknown import type %q: following, blocking, muting, domain_blocking, bookmarks or lists", typ)
}

// Overwritable reports whether a list may be imported in overwrite mode:
// rows only this account holds (follows and lists are merged only: ending
// follows would tell other servers, and lists are kept by name).
func Overwritable(k Kind) bool {
	return k == Blocks || k == Mutes || k == DomainBlocks || k == Bookmarks
}

// WrapCSV writes to dst an archive whose one list, of kind k, is src (at
// most limit bytes: a longer src is an error), marked for overwrite when
// asked. Open it to validate it as any archive.
func WrapCSV(dst io.Writer, k Kind, src io.Reader, limit int64, overwrite bool) error {
	name := ""
	for _, l := range lists {
		if l.kind == k {
			name = l.file
		}
	}
	if name == "" {
		return invalid("no list %q", k)
	}
	if overwrite && !Overwritable(k) {
		return invalid("%s are imported by merging only", k)
	}
	zw := zip.NewWriter(dst)
	files := map[string]string{ActorFile: `{"id":""}`, OutboxFile: `{"type":"OrderedCollection","orderedItems":[]}`}
	if overwrite {
		b, _ := json.Marshal(map[string]any{"overwrite": string(k)})
		files[ModeFile] = string(b)
	}
	for n, body := range files {
		w, err := zw.Create(n)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return err
		}
	}
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(src, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return invalid("the file is larger than %d bytes", limit)
	}
	return zw.Close()
}

// readMode reads ModeFile: the kind an overwrite import replaces.
func (a *Archive) readMode() error {
	f := a.files[ModeFile]
	if f == nil {
		return nil
	}
	m, c, err := a.open(f)
	if err != nil {
		return err
	}
	defer c.Close()
	m.limit = 1 << 10
	b, err := io.ReadAll(m)
	if err != nil {
		return readError(ModeFile, err)
	}
	var mode struct {
		Overwrite Kind `json:"overwrite"`
	}
	if err := json.Unmarshal(b, &mode); err != nil || (mode.Overwrite != "" && !Overwritable(mode.Overwrite)) {
		return invalid("%s: not an import mode", ModeFile)
	}
	a.Overwrite = mode.Overwrite
	return nil
}
