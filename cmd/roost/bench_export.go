package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
)

// benchExport exports an account with -posts posts and -media bytes of
// media (generated: posts inserted in bulk, media uploaded as files
// through the media service, never all in memory), then imports the
// archive into a fresh tenant's account, and reports posts per second
// each way and the process's peak resident memory (VmHWM).
func benchExport(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	posts := fs.Int("posts", 100_000, "posts of the exported account")
	mediaBytes := fs.Int64("media", 2<<30, "bytes of media, spread over files of -media-file bytes attached to the first posts")
	fileSize := fs.Int64("media-file", 4<<20, "size of one media file (at most 16 MB, the upload limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *posts < 1 || *mediaBytes < 0 || *fileSize < 64 || *fileSize > 16<<20 {
		return errs.E(errs.Invalid, "--posts must be positive, --media-file between 64 bytes and 16 MB")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "roost-bench-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.MediaDir = filepath.Join(dir, "media")
	svc, stop, err := benchServices(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer stop()
	fd, err := newFed(cfg, quiet, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	mediaSv, err := newMedia(ctx, cfg, svc)
	if err != nil {
		return err
	}
	if _, err := svc.tenantSv.CreateTenant(ctx, "Export", "export.test", ""); err != nil {
		return err
	}
	if _, err := svc.tenantSv.CreateTenant(ctx, "Import", "import.test", ""); err != nil {
		return err
	}
	src, err := createAccount(ctx, svc, "export.test", "writer", "writer@export.test", "bench password", "Writer")
	if err != nil {
		return err
	}
	dst, err := createAccount(ctx, svc, "import.test", "reader", "reader@import.test", "bench password", "Reader")
	if err != nil {
		return err
	}
	srcLinks, err := fd.locals.Links(ctx, src)
	if err != nil {
		return err
	}
	dstLinks, err := fd.locals.Links(ctx, dst)
	if err != nil {
		return err
	}

	// Posts, in bulk: one statement, ids taken first for their URIs.
	fmt.Fprintf(os.Stderr, "generating %d posts...\n", *posts)
	if _, err := svc.db.Exec(ctx, `
		with ids as (select nextval(pg_get_serial_sequence('statuses', 'id')) as id, i from generate_series(1, $2::int) i)
		insert into statuses (id, account_id, tenant_id, uri, content, visibility, to_uris, cc_uris, published_at)
		select id, $1, $3, $4 || '/statuses/' || id, '<p>post number ' || i || ' with a few words of text to export</p>',
			case when i % 10 = 0 then 'private' else 'public' end,
			array['https://www.w3.org/ns/activitystreams#Public'], array[$5], now() - make_interval(mins => $2::int - i)
		from ids`, src.ID, *posts, src.TenantID, srcLinks.Actor(src.Username), srcLinks.Followers(src.Username)); err != nil {
		return fmt.Errorf("generate posts: %w", err)
	}
	// Media: files generated on disk through the media service, each
	// attached to one of the first posts.
	files := int(*mediaBytes / *fileSize)
	fmt.Fprintf(os.Stderr, "generating %d media files of %d bytes...\n", files, *fileSize)
	rows, err := svc.db.Query(ctx, `select id from statuses where account_id = $1 order by id limit $2`, src.ID, files)
	if err != nil {
		return err
	}
	var statusIDs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		statusIDs = append(statusIDs, id)
	}
	rows.Close()
	for i, sid := range statusIDs {
		att, err := mediaSv.Upload(ctx, mediaUpload(src, *fileSize, uint64(i)))
		if err != nil {
			return fmt.Errorf("generate media %d: %w", i, err)
		}
		fa, _ := json.Marshal([]federation.Attachment{att.Federation(srcLinks.Base)})
		if _, err := svc.db.Exec(ctx, `with a as (update media_attachments set status_id = $1 where id = $2)
			update statuses set attachments = $3 where id = $1`, sid, att.ID, fa); err != nil {
			return err
		}
	}

	zipPath := filepath.Join(dir, "export.zip")
	fmt.Fprintln(os.Stderr, "exporting...")
	t0 := time.Now()
	if err := exportArchive(ctx, svc.accounts, mediaSv, src, srcLinks, zipPath, nil); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	exportSecs := time.Since(t0).Seconds()
	exportPeak := peakRSSMB()
	fi, err := os.Stat(zipPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d posts, %d MB, in %.1f s; importing...\n", *posts, fi.Size()>>20, exportSecs)
	t0 = time.Now()
	honest := watchMemory()
	sum, err := importFile(ctx, svc, mediaSv, fd, dst, dstLinks, zipPath, false)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	importPeak := honest.stop()
	importSecs := time.Since(t0).Seconds()
	var imported int64
	if err := svc.db.QueryRow(ctx, `select count(*) from statuses where account_id = $1`, dst.ID).Scan(&imported); err != nil {
		return err
	}
	if imported != int64(*posts) {
		return fmt.Errorf("import created %d posts of %d (%s)", imported, *posts, sum)
	}
	hostile, err := benchHostileImports(ctx, svc, mediaSv, fd, dir)
	if err != nil {
		return err
	}
	var ms2 runtime.MemStats
	runtime.ReadMemStats(&ms2)
	out := map[string]any{
		"bench": "export", "posts": *posts, "media_bytes": int64(files) * *fileSize, "media_files": files,
		"archive_mb":         fi.Size() >> 20,
		"export_s":           round1(exportSecs),
		"import_s":           round1(importSecs),
		"export_posts_per_s": round1(float64(*posts) / exportSecs),
		"import_posts_per_s": round1(float64(*posts) / importSecs),
		"peak_mb":            peakRSSMB(),
		"export_peak_mb":     exportPeak,
		"go_heap_sys_mb":     ms2.HeapSys >> 20,
		"import_peak_mb":     importPeak.rssMB,
		"import_heap_mb":     importPeak.heapMB,
	}
	for k, v := range hostile {
		out[k] = v
	}
	return printResult(out)
}

// mediaUpload is a generated Ogg "audio" file (the media service stores
// audio as sent, so no decoding skews the figures): an OggS header and
// pseudo-random bytes, produced as read.
func mediaUpload(a *federation.Account, size int64, seed uint64) media.Upload {
	r := rand.New(rand.NewPCG(seed, 42))
	body := io.LimitReader(readerFunc(func(p []byte) (int, error) {
		for i := 0; i+8 <= len(p); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				p[i+j] = byte(v >> (8 * j))
			}
		}
		return len(p) - len(p)%8, nil
	}), size-4)
	return media.Upload{TenantID: a.TenantID, AccountID: a.ID, File: io.MultiReader(strings.NewReader("OggS"), body)}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) {
	if len(p) < 8 {
		var b [8]byte
		n, err := f(b[:])
		return copy(p, b[:n]), err
	}
	return f(p)
}

// peakRSSMB is the process's peak resident set (VmHWM), in MB.
func peakRSSMB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb >> 10
		}
	}
	return -1
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
