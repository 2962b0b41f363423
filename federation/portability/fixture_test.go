package portability_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is a tenant with an importing account, its media on disk.
type world struct {
	db       *pgxpool.Pool
	store    *fedpg.Store
	tenants  *tenantpg.Store
	tenantID int64
	me       *federation.Account
	mediaDir string
	im       *portability.Importer
	now      time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	w := &world{db: db, store: fedpg.New(db), tenants: tenantpg.New(db), mediaDir: t.TempDir(),
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tn, err := w.tenants.CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	w.tenantID = tn.ID
	w.me = w.account(t, "importer")
	ms := &media.Service{Store: mediapg.New(db), Blobs: media.NewLocalStore(w.mediaDir)}
	w.im = &portability.Importer{Store: w.store, Media: ms, Now: func() time.Time { return w.now }}
	return w
}

func (w *world) account(t *testing.T, name string) *federation.Account {
	t.Helper()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.store.CreateAccount(context.Background(), federation.NewAccount{TenantID: w.tenantID, Domain: "a.example",
		Username: name, Email: name + "@a.example", Password: "x", PasswordHash: "x", Keys: kp})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// run imports the archive as a job of w.me and records its end, as the
// worker does.
func (w *world) run(t *testing.T, zipBytes []byte) (*portability.Summary, *archive.Job, error) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(path, zipBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := w.store.StartImport(ctx, w.tenantID, w.me.ID, "", false)
	if err != nil {
		t.Fatal(err)
	}
	links := federation.Links{Base: "https://a.example"}
	sum, err := w.im.Run(ctx, portability.Request{ImportID: j.ID, Local: w.me, Links: links, Path: path})
	result, failure := "", ""
	if err == nil {
		result = sum.String()
	} else {
		failure = err.Error()
	}
	if ferr := w.store.FinishJob(ctx, archive.ImportJob, j.ID, "", 0, result, failure); ferr != nil {
		t.Fatal(ferr)
	}
	j, jerr := w.store.Job(ctx, archive.ImportJob, w.tenantID, w.me.ID, j.ID)
	if jerr != nil {
		t.Fatal(jerr)
	}
	return sum, j, err
}

func (w *world) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// diskUsage is the number and bytes of files under dir.
func diskUsage(t *testing.T, dir string) (files int, size int64) {
	t.Helper()
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				files++
				size += fi.Size()
			}
		}
		return nil
	})
	return files, size
}

// zipOf builds an archive: an actor, then entries in order (a []byte, a
// string, or an io.Reader streamed in, which is how the bombs stay small
// to build), outbox.json empty unless given.
func zipOf(t *testing.T, entries ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, v any) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		switch v := v.(type) {
		case []byte:
			w.Write(v)
		case string:
			io.WriteString(w, v)
		case io.Reader:
			io.Copy(w, v)
		default:
			json.NewEncoder(w).Encode(v)
		}
	}
	put(archive.ActorFile, map[string]string{"id": oldActor, "followers": oldActor + "/followers"})
	hasOutbox := false
	for i := 0; i+1 < len(entries); i += 2 {
		name := entries[i].(string)
		hasOutbox = hasOutbox || name == archive.OutboxFile
		put(name, entries[i+1])
	}
	if !hasOutbox {
		put(archive.OutboxFile, outboxOf())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const oldActor = "https://old.example/users/me"

// outboxOf is an outbox of Creates of notes.
func outboxOf(notes ...map[string]any) map[string]any {
	items := []any{}
	for _, n := range notes {
		items = append(items, map[string]any{"type": "Create", "object": n})
	}
	return map[string]any{"type": "OrderedCollection", "orderedItems": items}
}

// note is a public note of the old actor, numbered n, with files named
// by its attachments.
func note(n int, text string, files ...string) map[string]any {
	var atts []any
	for _, f := range files {
		atts = append(atts, map[string]any{"type": "Document", "url": "/" + f, "name": "file " + f})
	}
	return map[string]any{"id": fmt.Sprintf("%s/statuses/%d", oldActor, n), "type": "Note", "attributedTo": oldActor,
		"content": "<p>" + text + "</p>", "to": []string{federation.PublicCollection},
		"published": time.Date(2024, 1, 1, 0, 0, n, 0, time.UTC).Format(time.RFC3339), "attachment": atts}
}

// lines is n CSV lines made by line.
func lines(n int, line func(i int) string) io.Reader {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	return &b
}

// zeros streams n zero bytes after a header.
func zeros(header string, n int64) io.Reader {
	return io.MultiReader(bytes.NewReader([]byte(header)), io.LimitReader(zeroReader{}, n))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
