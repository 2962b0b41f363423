// Package archive writes and reads account archives in Mastodon's layout:
// actor.json, outbox.json (Create activities wrapping the notes),
// likes.json and bookmarks.json, media under media_attachments/, and the
// CSVs of Mastodon's data export. Exports are streamed (posts are paged
// by id, never loaded at once); imports are validated whole before
// anything is written.
package archive

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// Kind names a list an export reads row by row.
type Kind string

// The row kinds, each with its CSV columns (likes and bookmarks: one URI).
const (
	Likes     Kind = "likes"     // status URI
	Bookmarks Kind = "bookmarks" // status URI
	Following Kind = "following" // address, show boosts, notify, languages
	Blocks    Kind = "blocks"    // address
	Mutes     Kind = "mutes"     // address, hide notifications
	Lists     Kind = "lists"     // list title, address
)

// Source is what an export reads.
type Source interface {
	// ArchiveStatuses pages an account's own posts (not boosts), newest
	// first, ids below beforeID (0: from the newest).
	ArchiveStatuses(ctx context.Context, accountID, beforeID int64, limit int) ([]*federation.Status, error)
	// ArchiveEach calls fn for each row of kind, streaming.
	ArchiveEach(ctx context.Context, accountID int64, kind Kind, fn func(row []string) error) error
}

// MediaOpener opens a local attachment's original file; nil skips media.
type MediaOpener func(ctx context.Context, a federation.Attachment) (io.ReadCloser, error)

// Export describes one export.
type Export struct {
	Account  *federation.Account
	Links    federation.Links
	Source   Source
	Media    MediaOpener
	PageSize int
	// Progress, when set, is told how many posts are written so far.
	Progress func(posts int)
}

// The archive's file names.
const (
	ActorFile     = "actor.json"
	OutboxFile    = "outbox.json"
	LikesFile     = "likes.json"
	BookmarksFile = "bookmarks.json"
	MediaDir      = "media_attachments/"
	FollowingCSV  = "following_accounts.csv"
	BlocksCSV     = "blocked_accounts.csv"
	MutesCSV      = "muted_accounts.csv"
	ListsCSV      = "lists.csv"
	BookmarksCSV  = "bookmarks.csv"
)

// MediaPath is where an attachment of a status is stored in the archive,
// as Mastodon lays it out (media_attachments/files/<id>/original/<name>).
func MediaPath(statusID int64, i int, a federation.Attachment) string {
	name := path.Base(a.URL)
	if name == "" || name == "." || name == "/" || strings.ContainsAny(name, "?#") {
		name = "file"
	}
	return MediaDir + "files/" + strconv.FormatInt(statusID, 10) + "/" + strconv.Itoa(i) + "/original/" + name
}

// Write streams the archive to w.
func (e *Export) Write(ctx context.Context, w io.Writer) error {
	if e.PageSize <= 0 {
		e.PageSize = 200
	}
	zw := zip.NewWriter(w)
	me := e.Links.Actor(e.Account.Username)
	if err := writeJSON(zw, ActorFile, ap.NewActor(e.Account, e.Links)); err != nil {
		return err
	}
	if err := e.writeOutbox(ctx, zw, me); err != nil {
		return err
	}
	for _, c := range []struct {
		file string
		kind Kind
	}{{LikesFile, Likes}, {BookmarksFile, Bookmarks}} {
		if err := e.writeURIs(ctx, zw, c.file, c.kind); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		file   string
		kind   Kind
		header []string
	}{
		{FollowingCSV, Following, []string{"Account address", "Show boosts", "Notify on new posts", "Languages"}},
		{BlocksCSV, Blocks, nil},
		{MutesCSV, Mutes, []string{"Account address", "Hide notifications"}},
		{ListsCSV, Lists, nil},
		{BookmarksCSV, Bookmarks, nil},
	} {
		if err := e.writeCSV(ctx, zw, c.file, c.kind, c.header); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeJSON(zw *zip.Writer, name string, v any) error {
	f, err := zw.Create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeOutbox writes the collection header, then each page of posts, and
// the media of each page into the zip after the outbox is closed would
// need buffering: zip entries are sequential, so media are recorded and
// copied once outbox.json is complete, one file at a time.
func (e *Export) writeOutbox(ctx context.Context, zw *zip.Writer, me string) error {
	f, err := zw.Create(OutboxFile)
	if err != nil {
		return err
	}
	// Media to copy once the outbox entry is finished; only keys, a few
	// bytes per attachment.
	type pending struct {
		path string
		att  federation.Attachment
	}
	var media []pending
	head := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"OrderedCollection","orderedItems":[`, OutboxFile)
	if _, err := io.WriteString(f, head); err != nil {
		return err
	}
	total, before := 0, int64(0)
	for {
		page, err := e.Source.ArchiveStatuses(ctx, e.Account.ID, before, e.PageSize)
		if err != nil {
			return fmt.Errorf("archive posts: %w", err)
		}
		for _, st := range page {
			url := e.Links.Profile(e.Account.Username) + "/" + strconv.FormatInt(st.ID, 10)
			cp := *st
			cp.Attachments = append([]federation.Attachment(nil), st.Attachments...)
			for i, a := range cp.Attachments {
				if a.MediaID != 0 && e.Media != nil {
					p := MediaPath(st.ID, i, a)
					media = append(media, pending{p, a})
					cp.Attachments[i].URL = "/" + p
				}
			}
			note := ap.NewNote(&cp, me, url)
			b, err := json.Marshal(ap.Wrap("Create", st.URI+"/activity", me, note, st.To, st.Cc))
			if err != nil {
				return err
			}
			if total > 0 {
				b = append([]byte{','}, b...)
			}
			if _, err := f.Write(b); err != nil {
				return err
			}
			total++
			before = st.ID
		}
		if e.Progress != nil {
			e.Progress(total)
		}
		if len(page) < e.PageSize {
			break
		}
	}
	if _, err := fmt.Fprintf(f, `],"totalItems":%d}`+"\n", total); err != nil {
		return err
	}
	for _, m := range media {
		rc, err := e.Media(ctx, m.att)
		if err != nil {
			return fmt.Errorf("media %s: %w", m.att.URL, err)
		}
		mf, err := zw.CreateHeader(&zip.FileHeader{Name: m.path, Method: zip.Store})
		if err == nil {
			_, err = io.Copy(mf, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("media %s: %w", m.att.URL, err)
		}
	}
	return nil
}

func (e *Export) writeURIs(ctx context.Context, zw *zip.Writer, name string, kind Kind) error {
	f, err := zw.Create(name)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"OrderedCollection","orderedItems":[`, name); err != nil {
		return err
	}
	n := 0
	err = e.Source.ArchiveEach(ctx, e.Account.ID, kind, func(row []string) error {
		b, _ := json.Marshal(row[0])
		if n > 0 {
			b = append([]byte{','}, b...)
		}
		n++
		_, err := f.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = fmt.Fprintf(f, `],"totalItems":%d}`+"\n", n)
	return err
}

func (e *Export) writeCSV(ctx context.Context, zw *zip.Writer, name string, kind Kind, header []string) error {
	f, err := zw.Create(name)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	if header != nil {
		if err := cw.Write(header); err != nil {
			return err
		}
	}
	if err := e.Source.ArchiveEach(ctx, e.Account.ID, kind, cw.Write); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cw.Flush()
	return cw.Error()
}
