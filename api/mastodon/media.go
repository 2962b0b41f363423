package mastodon

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// registerMedia mounts uploads (docs.joinmastodon.org/methods/media) on
// the API group, and the stored files at /media/* on every tenant domain.
func (h *Handler) registerMedia(r, api fiber.Router) {
	if h.Media == nil {
		return
	}
	api.Post("/v1/media", h.need("write:media"), h.uploadMedia)
	api.Post("/v2/media", h.need("write:media"), h.uploadMedia)
	api.Get("/v1/media/:id", h.need("write:media"), h.getMedia)
	api.Put("/v1/media/:id", h.need("write:media"), h.updateMedia)
	r.Get("/media/*", h.serveMedia)
}

// uploadMedia takes a multipart upload. Processing is done before the
// answer, so it is 200 with the attachment ready (v1 and v2 alike; v2
// would answer 202 with a null url while processing).
func (h *Handler) uploadMedia(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errs.E(errs.Invalid, "file is missing: send the upload as a multipart field named file")
	}
	if fh.Size > media.MaxBytes {
		return errs.E(errs.TooLarge, "the file is larger than %d MB", media.MaxBytes>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := h.Media.Upload(c.UserContext(), media.Upload{TenantID: me.TenantID, AccountID: me.ID, File: f,
		Description: strings.Clone(c.FormValue("description")), Focus: strings.Clone(c.FormValue("focus"))})
	if err != nil {
		return err
	}
	return h.sendMedia(c, me, a, fiber.StatusAccepted)
}

func (h *Handler) getMedia(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := h.Media.Get(c.UserContext(), me.ID, id)
	if err != nil {
		return err
	}
	return h.sendMedia(c, me, a, fiber.StatusPartialContent)
}

// updateMedia changes the description or focus of an unattached upload.
func (h *Handler) updateMedia(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var ch media.Change
	if p.has("description") {
		d := p.str("description")
		ch.Description = &d
	}
	if p.has("focus") {
		f := p.str("focus")
		ch.Focus = &f
	}
	a, err := h.Media.Update(c.UserContext(), me.ID, id, ch)
	if err != nil {
		return err
	}
	return h.sendMedia(c, me, a, fiber.StatusPartialContent)
}

// sendMedia renders an upload: 200 when ready, else pending (202 after an
// upload, 206 on a read) with a null url, as Mastodon answers.
func (h *Handler) sendMedia(c *fiber.Ctx, me *federation.Account, a *media.Attachment, pending int) error {
	out := renderAttachment(0, 0, a.Federation(h.renderer(c).linksFor(me.Domain).Base))
	if a.State == media.Ready {
		return c.JSON(out)
	}
	return c.Status(pending).JSON(struct {
		Attachment
		URL *string `json:"url"`
	}{Attachment: out})
}

// serveMedia serves a stored file of the site's tenant with the type it
// was stored as — never one the request asks for — and headers that keep
// a browser from running or sniffing it (SECURITY 10).
func (h *Handler) serveMedia(c *fiber.Ctx) error {
	key := strings.Clone(c.Params("*"))
	f, err := h.Media.Open(c.UserContext(), httpx.SiteOf(c).TenantID, key)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderContentDisposition, "inline")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	// One byte range (RFC 7233), for players seeking in video and audio.
	// Several ranges, an unreadable header or an If-Range (the files carry
	// no validator it could match) get the whole file, as the RFC allows.
	if rng := c.Get(fiber.HeaderRange); rng != "" && c.Get(fiber.HeaderIfRange) == "" {
		start, end, ok, valid := byteRange(rng, f.Size)
		if valid && !ok {
			f.Body.Close()
			c.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(f.Size, 10))
			return c.SendStatus(fiber.StatusRequestedRangeNotSatisfiable)
		}
		if ok {
			body, err := skipTo(f.Body, start)
			if err != nil {
				f.Body.Close()
				return err
			}
			n := end - start + 1
			c.Status(fiber.StatusPartialContent)
			c.Set(fiber.HeaderContentRange, "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+
				"/"+strconv.FormatInt(f.Size, 10))
			return c.SendStream(readCloser{io.LimitReader(body, n), f.Body}, int(n))
		}
	}
	return c.SendStream(f.Body, int(f.Size))
}

// byteRange reads a Range header of one byte range over a file of size
// bytes: the first and last byte served (ok), or, for a well-formed
// header, !ok when no byte of it exists (416). valid is false for what is
// not one byte range (to be ignored).
func byteRange(h string, size int64) (start, end int64, ok, valid bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	num := func(s string) (int64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch {
	case first == "": // the last n bytes
		n, good := num(last)
		if !good {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, false, true
		}
		return max(size-n, 0), size - 1, true, true
	default:
		a, good := num(first)
		if !good {
			return 0, 0, false, false
		}
		b := size - 1
		if last != "" {
			if b, good = num(last); !good || b < a {
				return 0, 0, false, false
			}
		}
		if a >= size {
			return 0, 0, false, true
		}
		return a, min(b, size-1), true, true
	}
}

// skipTo positions body at offset: by seeking when it can, by reading
// past the bytes before otherwise.
func skipTo(body io.Reader, offset int64) (io.Reader, error) {
	if offset == 0 {
		return body, nil
	}
	if sk, ok := body.(io.Seeker); ok {
		if _, err := sk.Seek(offset, io.SeekStart); err == nil {
			return body, nil
		}
	}
	if _, err := io.CopyN(io.Discard, body, offset); err != nil {
		return nil, err
	}
	return body, nil
}

// readCloser reads a part of a file and closes the whole.
type readCloser struct {
	io.Reader
	io.Closer
}

// localAttachment renders one of our uploads: its own id, the preview,
// no remote URL, and meta with both sizes and the focus.
func localAttachment(a federation.Attachment) Attachment {
	out := Attachment{ID: idStr(a.MediaID), Type: mediaKind(a), URL: a.URL, PreviewURL: strPtr(a.PreviewURL),
		Description: strPtr(a.Description), Blurhash: strPtr(a.Blurhash), Meta: map[string]any{}}
	meta := map[string]any{}
	if a.Width > 0 && a.Height > 0 {
		meta["original"] = sizeMeta(a.Width, a.Height)
		meta["focus"] = map[string]any{"x": a.FocusX, "y": a.FocusY}
	}
	if a.PreviewWidth > 0 && a.PreviewHeight > 0 {
		meta["small"] = sizeMeta(a.PreviewWidth, a.PreviewHeight)
	}
	out.Meta = meta
	return out
}

func mediaKind(a federation.Attachment) string {
	switch mt := a.MediaType; {
	case strings.HasPrefix(mt, "image/"):
		return string(media.Image)
	case strings.HasPrefix(mt, "video/"):
		return string(media.Video)
	case strings.HasPrefix(mt, "audio/"):
		return string(media.Audio)
	}
	return string(media.Unknown)
}

func sizeMeta(w, h int) map[string]any {
	return map[string]any{"width": w, "height": h, "size": strconv.Itoa(w) + "x" + strconv.Itoa(h),
		"aspect": float64(w) / float64(h)}
}

// statusMedia reads media_ids[] of a status of me (statusID 0: a new
// one): me's own ready uploads, unattached or already on this status, at
// most four, in the order given.
func (h *Handler) statusMedia(c *fiber.Ctx, me *federation.Account, p params, statusID int64) ([]federation.Attachment, error) {
	ids := p.list("media_ids")
	if len(ids) == 0 {
		return nil, nil
	}
	if h.Media == nil {
		return nil, errs.E(errs.Invalid, "media uploads are not available on this server")
	}
	as, err := h.Media.ForStatus(c.UserContext(), me.ID, ids, statusID)
	if err != nil {
		return nil, err
	}
	base := h.renderer(c).linksFor(me.Domain).Base
	out := make([]federation.Attachment, 0, len(as))
	for _, a := range as {
		out = append(out, a.Federation(base))
	}
	return out, nil
}
