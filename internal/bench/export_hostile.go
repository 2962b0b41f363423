package bench

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation/portability/archive"
)

// memWatch samples the Go heap while something runs, and the process's
// peak resident set since it started (VmHWM, reset at the start).
type memWatch struct {
	peakHeap atomic.Uint64
	done     chan struct{}
	stopped  chan struct{}
}

type memPeak struct{ rssMB, heapMB int64 }

func watchMemory() *memWatch {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM (Linux)
	w := &memWatch{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > w.peakHeap.Load() {
				w.peakHeap.Store(v)
			}
			select {
			case <-w.done:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *memWatch) stop() memPeak {
	close(w.done)
	<-w.stopped
	return memPeak{rssMB: peakRSSMB(), heapMB: int64(w.peakHeap.Load() >> 20)}
}

// benchHostileImports imports two hostile archives, each into a fresh
// account, and reports their peak memory and what the import did: one at
// every limit (rows, follows to one server, a zip bomb named by every
// post, repeated attachments, a tag list on each post), and the 8 MB
// one-character CSV of the attack, refused.
func (b Export) hostileImports(ctx context.Context) (map[string]any, error) {
	out := map[string]any{}
	for i, h := range []struct {
		name  string
		write func(*zip.Writer) error
	}{{"hostile", writeHostileArchive}, {"onechar", writeOneCharArchive}} {
		path := filepath.Join(b.Dir, h.name+".zip")
		if err := writeZip(path, h.write); err != nil {
			return nil, err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		user := "hostile" + strconv.Itoa(i)
		local, err := b.CreateAccount(ctx, "import.test", user, user+"@import.test", "bench password", "Hostile")
		if err != nil {
			return nil, err
		}
		links, err := b.Locals.Links(ctx, local)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(b.progress(), "importing the %s archive (%d KB)...\n", h.name, fi.Size()>>10)
		w := watchMemory()
		t0 := time.Now()
		sum, err := b.Import(ctx, local, links, path)
		peak := w.stop()
		result := ""
		if err != nil {
			result = "refused: " + err.Error()
		} else {
			result = strings.Join(sum.Lines()[:1], "")
		}
		var stored int64
		if err := b.DB.QueryRow(ctx, `select coalesce(sum(file_size), 0)::bigint from media_attachments where account_id = $1`,
			local.ID).Scan(&stored); err != nil {
			return nil, err
		}
		out[h.name+"_archive_kb"] = fi.Size() >> 10
		out[h.name+"_peak_mb"] = peak.rssMB
		out[h.name+"_heap_mb"] = peak.heapMB
		out[h.name+"_s"] = round1(time.Since(t0).Seconds())
		out[h.name+"_media_stored_kb"] = stored >> 10
		out[h.name+"_result"] = result
	}
	return out, nil
}

func writeZip(path string, fn func(*zip.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	if err := fn(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

const hostileActor = "https://old.example/users/h"

func writeActor(zw *zip.Writer) error {
	w, err := zw.Create(archive.ActorFile)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(map[string]string{"id": hostileActor, "followers": hostileActor + "/followers"})
}

// writeHostileArchive writes an archive at every limit: 20,000 posts each
// naming a 16 MB zip bomb ten times and carrying 60 hashtags, 1,000
// posts with ten distinct files, 7,500 follows of one server, and 50,000
// rows of lists naming no known account or post.
func writeHostileArchive(zw *zip.Writer) error {
	if err := writeActor(zw); err != nil {
		return err
	}
	const bomb = "media_attachments/bomb.wav"
	if err := writeEntry(zw, bomb, func(w io.Writer) error {
		if _, err := io.WriteString(w, "RIFF\x24\x00\x00\x01WAVEfmt "); err != nil {
			return err
		}
		_, err := io.CopyN(w, zeros{}, 16<<20-16)
		return err
	}); err != nil {
		return err
	}
	for i := 0; i < 10; i++ {
		if err := writeEntry(zw, fmt.Sprintf("media_attachments/f%d.ogg", i), func(w io.Writer) error {
			_, err := io.WriteString(w, "OggS"+strings.Repeat("x", 1000))
			return err
		}); err != nil {
			return err
		}
	}
	if err := writeEntry(zw, archive.OutboxFile, writeHostileOutbox); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		rows int
		row  func(i int) string
	}{
		{archive.FollowingCSV, 7_500, func(i int) string { return fmt.Sprintf("u%d@hostile.invalid", i) }},
		{archive.BlocksCSV, 19_000, func(i int) string { return fmt.Sprintf("%d%s@nowhere.invalid", i, strings.Repeat("b", 900)) }},
		{archive.MutesCSV, 10_000, func(i int) string { return fmt.Sprintf("m%d@nowhere.invalid,true", i) }},
		{archive.ListsCSV, 1_500, func(i int) string { return fmt.Sprintf("list %d,u%d@nowhere.invalid", i%300, i) }},
		{archive.BookmarksCSV, 12_000, func(i int) string { return fmt.Sprintf("https://nowhere.invalid/statuses/%d", i) }},
	} {
		if err := writeEntry(zw, c.name, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			for i := 0; i < c.rows; i++ {
				bw.WriteString(c.row(i) + "\n")
			}
			return bw.Flush()
		}); err != nil {
			return err
		}
	}
	return nil
}

func writeHostileOutbox(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"type":"OrderedCollection","orderedItems":[`)
	var tags []map[string]string
	for t := 0; t < 60; t++ {
		tags = append(tags, map[string]string{"type": "Hashtag", "name": "#tag" + strconv.Itoa(t)})
	}
	for i := 0; i < 21_000; i++ {
		var atts []map[string]string
		for k := 0; k < 10; k++ {
			name := "/media_attachments/bomb.wav"
			if i%21 == 0 {
				name = fmt.Sprintf("/media_attachments/f%d.ogg", k)
			}
			atts = append(atts, map[string]string{"type": "Document", "url": name})
		}
		id := fmt.Sprintf("%s/statuses/%d", hostileActor, i)
		b, err := json.Marshal(map[string]any{"type": "Create", "object": map[string]any{
			"id": id, "type": "Note", "attributedTo": hostileActor, "content": "<p>" + strings.Repeat("word ", 90) + "</p>",
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "published": "2024-01-01T00:00:00Z",
			"attachment": atts, "tag": tags}})
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}

// writeOneCharArchive is the attack's shape: blocked_accounts.csv of 8 MB
// of one-character lines.
func writeOneCharArchive(zw *zip.Writer) error {
	if err := writeActor(zw); err != nil {
		return err
	}
	if err := writeEntry(zw, archive.OutboxFile, func(w io.Writer) error {
		_, err := io.WriteString(w, `{"orderedItems":[]}`)
		return err
	}); err != nil {
		return err
	}
	return writeEntry(zw, archive.BlocksCSV, func(w io.Writer) error {
		_, err := io.CopyN(w, repeat("a\n"), 8<<20)
		return err
	})
}

func writeEntry(zw *zip.Writer, name string, fn func(io.Writer) error) error {
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	return fn(w)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// repeat reads s over and over.
func repeat(s string) io.Reader {
	i := 0
	return readerFunc(func(p []byte) (int, error) {
		for k := range p {
			p[k] = s[i%len(s)]
			i++
		}
		return len(p), nil
	})
}
