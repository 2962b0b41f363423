package soak

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// upload is an image a post carries: the attachment id the server gave
// it and the URL its file is served at.
type upload struct {
	id, url string
}

// tinyPNG is an 8×8 image whose colours come from the post's key, so
// uploads differ (no store could answer one from another) and a run is
// replayable.
func tinyPNG(key string) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			img.Set(x, y, color.RGBA{R: uint8(v >> (x * 8)), G: uint8(v >> (y * 8)), B: uint8(x*32 + y), A: 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // into memory: cannot fail
	return b.Bytes()
}

// uploadMedia uploads an image for the post keyed key, as an app does
// before posting: POST /api/v2/media (200 ready, or 202 processing, then
// GET /api/v1/media/:id until it answers 200). Uploads take no
// Idempotency-Key: one retried after a lost answer may leave an upload
// that nothing attaches, which is harmless (the checks ignore it).
func (w *world) uploadMedia(ctx context.Context, u *localUser, key string, due time.Time) (*upload, bool) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", key+".png")
	if err == nil {
		_, err = fw.Write(tinyPNG(key))
	}
	if err == nil {
		err = mw.WriteField("description", "soak image "+key)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		w.fail("upload for %s: %v", key, err)
		return nil, false
	}
	r, err := w.cl.do(ctx, call{method: "POST", path: "/api/v2/media", domain: u.domain, token: u.token, body: body.Bytes(),
		ctype: mw.FormDataContentType(), due: due})
	if err == nil && r.status != 200 && r.status != 202 {
		err = fmt.Errorf("%d %s", r.status, clip(string(r.body), 200))
	}
	if err != nil {
		w.fail("upload for post %s by %s: %v", key, u.acct(), err)
		return nil, false
	}
	a, err := decode[struct {
		ID  string  `json:"id"`
		URL *string `json:"url"`
	}](r.body)
	if err != nil || a.ID == "" {
		w.fail("upload for post %s by %s: unreadable answer %s", key, u.acct(), clip(string(r.body), 200))
		return nil, false
	}
	// Processing (202, or 206 on a read): asked again each half second,
	// for at most the client's retry budget.
	for deadline := time.Now().Add(w.cl.giveUp); r.status != 200; {
		if time.Now().After(deadline) {
			w.fail("upload %s for post %s by %s still processing after %s", a.ID, key, u.acct(), w.cl.giveUp)
			return nil, false
		}
		time.Sleep(500 * time.Millisecond)
		if r, err = w.cl.do(ctx, call{method: "GET", path: "/api/v1/media/" + a.ID, domain: u.domain, token: u.token}); err != nil {
			w.fail("upload %s for post %s by %s: %v", a.ID, key, u.acct(), err)
			return nil, false
		}
		if r.status != 200 && r.status != 206 {
			w.fail("upload %s for post %s by %s: read answered %d %s", a.ID, key, u.acct(), r.status, clip(string(r.body), 200))
			return nil, false
		}
		if a, err = decode[struct {
			ID  string  `json:"id"`
			URL *string `json:"url"`
		}](r.body); err != nil {
			w.fail("upload for post %s by %s: unreadable answer %s", key, u.acct(), clip(string(r.body), 200))
			return nil, false
		}
	}
	if a.URL == nil || *a.URL == "" {
		w.fail("upload %s for post %s by %s ready without a url: %s", a.ID, key, u.acct(), clip(string(r.body), 200))
		return nil, false
	}
	w.ack("upload")
	return &upload{id: a.ID, url: *a.URL}, true
}

// checkMedia: every acknowledged post with media that still exists has
// exactly its one attachment stored, and the file is served (200 through
// the balancer, as a browser fetches it).
func (w *world) checkMedia(ctx context.Context, c *cluster, t *tally) error {
	w.mu.Lock()
	var list []*post
	for _, p := range w.posts {
		if p.media != nil && !p.deleted {
			list = append(list, p)
		}
	}
	w.mu.Unlock()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, p := range list {
		rows, err := c.site.DB.Query(ctx, `select id from media_attachments where status_id = $1 order by position`, p.id)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if !slices.Equal(ids, []string{p.media.id}) {
			t.add(len(ids) == 0 || !slices.Contains(ids, p.media.id), "post %s (key %s by %s) acknowledged with attachment %s but stores attachments %v",
				p.id, p.key, p.author.acct(), p.media.id, ids)
			continue
		}
		u, err := url.Parse(p.media.url)
		if err != nil {
			t.add(false, "post %s: attachment %s has an unreadable url %q", p.id, p.media.id, p.media.url)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := w.cl.do(ctx, call{method: "GET", path: u.RequestURI(), domain: u.Host, addr: w.lb})
			if err != nil || r.status != 200 || len(r.body) == 0 {
				t.add(true, "post %s (key %s): its attachment %s at %s is not served: %v %d", p.id, p.key, p.media.id, p.media.url, err, r.status)
			}
		}()
	}
	wg.Wait()
	return nil
}
