package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// ExportOptions are the flags of `roost bench export`.
type ExportOptions struct {
	Posts     int   // posts of the exported account
	Media     int64 // bytes of media, spread over files of MediaFile bytes attached to the first posts
	MediaFile int64 // size of one media file (at most 16 MB, the upload limit)
}

// Check refuses options the benchmark cannot run with.
func (o ExportOptions) Check() error {
	if o.Posts < 1 || o.Media < 0 || o.MediaFile < 64 || o.MediaFile > 16<<20 {
		return errs.E(errs.Invalid, "--posts must be positive, --media-file between 64 bytes and 16 MB")
	}
	return nil
}

// Export is what the export benchmark writes and reads archives with, as
// `roost account export` and `roost account import` do.
type Export struct {
	Env
	Locals federation.Locals
	Media  *media.Service
	// Export writes local's archive to path.
	Export func(ctx context.Context, local *federation.Account, links federation.Links, path string) error
	// Import imports the archive at path into local's account at once.
	Import func(ctx context.Context, local *federation.Account, links federation.Links, path string) (*portability.Summary, error)
	// Dir is a scratch directory for the archives.
	Dir string
}

// Run exports an account with o.Posts posts and o.Media bytes of media
// (generated: posts inserted in bulk, media uploaded as files through the
// media service, never all in memory), then imports the archive into a
// fresh tenant's account, and reports posts per second each way and the
// process's peak resident memory (VmHWM).
func (b Export) Run(ctx context.Context, o ExportOptions) (map[string]any, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	out := b.progress()
	if _, err := b.Tenants.CreateTenant(ctx, "Export", "export.test", ""); err != nil {
		return nil, err
	}
	if _, err := b.Tenants.CreateTenant(ctx, "Import", "import.test", ""); err != nil {
		return nil, err
	}
	src, err := b.CreateAccount(ctx, "export.test", "writer", "writer@export.test", "bench password", "Writer")
	if err != nil {
		return nil, err
	}
	dst, err := b.CreateAccount(ctx, "import.test", "reader", "reader@import.test", "bench password", "Reader")
	if err != nil {
		return nil, err
	}
	srcLinks, err := b.Locals.Links(ctx, src)
	if err != nil {
		return nil, err
	}
	dstLinks, err := b.Locals.Links(ctx, dst)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "generating %d posts...\n", o.Posts)
	if err := seedExportPosts(ctx, b.Env, src, srcLinks, o.Posts); err != nil {
		return nil, err
	}
	files := int(o.Media / o.MediaFile)
	fmt.Fprintf(out, "generating %d media files of %d bytes...\n", files, o.MediaFile)
	if err := b.seedMedia(ctx, src, srcLinks, files, o.MediaFile); err != nil {
		return nil, err
	}

	zipPath := filepath.Join(b.Dir, "export.zip")
	fmt.Fprintln(out, "exporting...")
	baseline := rssMB("VmRSS:") // the process before the export: the memory floor
	t0 := time.Now()
	if err := b.Export(ctx, src, srcLinks, zipPath); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	exportSecs := time.Since(t0).Seconds()
	exportPeak := peakRSSMB()
	fi, err := os.Stat(zipPath)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "exported %d posts, %d MB, in %.1f s; importing...\n", o.Posts, fi.Size()>>20, exportSecs)
	t0 = time.Now()
	honest := watchMemory()
	sum, err := b.Import(ctx, dst, dstLinks, zipPath)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	importPeak := honest.stop()
	importSecs := time.Since(t0).Seconds()
	var imported int64
	if err := b.DB.QueryRow(ctx, `select count(*) from statuses where account_id = $1`, dst.ID).Scan(&imported); err != nil {
		return nil, err
	}
	if imported != int64(o.Posts) {
		return nil, fmt.Errorf("import created %d posts of %d (%s)", imported, o.Posts, sum)
	}
	hostile, err := b.hostileImports(ctx)
	if err != nil {
		return nil, err
	}
	var ms2 runtime.MemStats
	runtime.ReadMemStats(&ms2)
	res := map[string]any{
		"bench": "export", "posts": o.Posts, "media_bytes": int64(files) * o.MediaFile, "media_files": files,
		"archive_mb":         fi.Size() >> 20,
		"export_s":           round1(exportSecs),
		"import_s":           round1(importSecs),
		"export_posts_per_s": round1(float64(o.Posts) / exportSecs),
		"import_posts_per_s": round1(float64(o.Posts) / importSecs),
		"peak_mb":            peakRSSMB(),
		"export_peak_mb":     exportPeak,
		"go_heap_sys_mb":     ms2.HeapSys >> 20,
		"import_peak_mb":     importPeak.rssMB,
		"import_heap_mb":     importPeak.heapMB,
		// The floors: what the process held before the export, and the
		// archive's size (a peak far under it: the archive streamed).
		"baseline_rss_mb":   baseline,
		"peak_over_archive": round3(float64(peakRSSMB()) / float64(max(fi.Size()>>20, 1))),
	}
	for k, v := range hostile {
		res[k] = v
	}
	return res, nil
}

// seedExportPosts inserts n posts of src in bulk: one statement, ids
// taken first for their URIs.
func seedExportPosts(ctx context.Context, e Env, src *federation.Account, links federation.Links, n int) error {
	if _, err := e.DB.Exec(ctx, `
		with ids as (select nextval(pg_get_serial_sequence('statuses', 'id')) as id, i from generate_series(1, $2::int) i)
		insert into statuses (id, account_id, tenant_id, uri, content, visibility, to_uris, cc_uris, published_at)
		select id, $1, $3, $4 || '/statuses/' || id, '<p>post number ' || i || ' with a few words of text to export</p>',
			case when i % 10 = 0 then 'private' else 'public' end,
			array['https://www.w3.org/ns/activitystreams#Public'], array[$5], now() - make_interval(mins => $2::int - i)
		from ids`, src.ID, n, src.TenantID, links.Actor(src.Username), links.Followers(src.Username)); err != nil {
		return fmt.Errorf("generate posts: %w", err)
	}
	return nil
}

// seedMedia generates files on disk through the media service, each
// attached to one of src's first posts.
func (b Export) seedMedia(ctx context.Context, src *federation.Account, links federation.Links, files int, size int64) error {
	rows, err := b.DB.Query(ctx, `select id from statuses where account_id = $1 order by id limit $2`, src.ID, files)
	if err != nil {
		return err
	}
	var statusIDs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		statusIDs = append(statusIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, sid := range statusIDs {
		att, err := b.Media.Upload(ctx, mediaUpload(src, size, uint64(i)))
		if err != nil {
			return fmt.Errorf("generate media %d: %w", i, err)
		}
		fa, err := json.Marshal([]federation.Attachment{att.Federation(links.Base)})
		if err != nil {
			return err
		}
		if _, err := b.DB.Exec(ctx, `with a as (update media_attachments set status_id = $1 where id = $2)
			update statuses set attachments = $3 where id = $1`, sid, att.ID, fa); err != nil {
			return err
		}
	}
	return nil
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
func peakRSSMB() int64 { return rssMB("VmHWM:") }

// rssMB is a memory line of /proc/self/status (VmHWM: the peak resident
// set, VmRSS: the current one) in MB, -1 when unreadable.
func rssMB(line string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), line); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb >> 10
		}
	}
	return -1
}
