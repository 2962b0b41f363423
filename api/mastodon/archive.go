package mastodon

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
)

// Archives is the account archive API: exports built and imports run by
// `roost work`, both owned by the account that asked.
type Archives struct {
	Jobs archive.Jobs
	Dir  string // where uploaded archives wait for the worker
	// MaxUpload bounds an uploaded archive.
	MaxUpload int64
}

// ArchiveJSON is an export's or import's state.
type ArchiveJSON struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	Progress   int64      `json:"progress"`
	Total      int64      `json:"total,omitempty"`
	Size       int64      `json:"size,omitempty"`
	Publish    bool       `json:"publish,omitempty"`
	Result     []string   `json:"result,omitempty"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	URL        string     `json:"url,omitempty"` // exports: the download, once done
	// Follows are an import's follows, sent over time by the worker.
	Follows *FollowsJSON `json:"follows,omitempty"`
}

// FollowsJSON counts an import's follows: queued, and of those sent or
// failed so far.
type FollowsJSON struct {
	Queued int64 `json:"queued"`
	Sent   int64 `json:"sent"`
	Failed int64 `json:"failed"`
}

func (h *Handler) registerArchives(v1 fiber.Router) {
	if h.Archives == nil {
		return
	}
	v1.Post("/roost/exports", h.need("write:accounts"), h.requestExport)
	v1.Get("/roost/exports/:id", h.need("read:accounts"), h.archiveJob(archive.ExportJob))
	v1.Get("/roost/exports/:id/download", h.need("read:accounts"), h.downloadExport)
	v1.Post("/roost/imports", h.need("write:accounts"), h.requestImport)
	v1.Get("/roost/imports/:id", h.need("read:accounts"), h.archiveJob(archive.ImportJob))
}

func archiveJSON(c *fiber.Ctx, j *archive.Job) ArchiveJSON {
	out := ArchiveJSON{ID: idStr(j.ID), State: j.State, Progress: j.Progress, Total: j.Total, Size: j.Size, Publish: j.Publish,
		Error: j.Error, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt, ExpiresAt: j.ExpiresAt}
	if j.Result != "" {
		out.Result = strings.Split(strings.TrimSpace(j.Result), "\n")
	}
	if j.Kind == archive.ImportJob && j.FollowsQueued > 0 {
		out.Follows = &FollowsJSON{Queued: j.FollowsQueued, Sent: j.FollowsSent, Failed: j.FollowsFailed}
	}
	if j.Kind == archive.ExportJob && j.State == archive.Done && j.Path != "" {
		out.URL = c.BaseURL() + "/api/v1/roost/exports/" + idStr(j.ID) + "/download"
	}
	return out
}

func (h *Handler) requestExport(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	j, err := h.Archives.Jobs.RequestExport(c.UserContext(), me.TenantID, me.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(archiveJSON(c, j))
}

func (h *Handler) ownJob(c *fiber.Ctx, kind archive.JobKind) (*archive.Job, error) {
	me, err := h.me(c)
	if err != nil {
		return nil, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	j, err := h.Archives.Jobs.Job(c.UserContext(), kind, me.TenantID, me.ID, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errNotFound
	}
	return j, err
}

func (h *Handler) archiveJob(kind archive.JobKind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		j, err := h.ownJob(c, kind)
		if err != nil {
			return err
		}
		return c.JSON(archiveJSON(c, j))
	}
}

func (h *Handler) downloadExport(c *fiber.Ctx) error {
	j, err := h.ownJob(c, archive.ExportJob)
	if err != nil {
		return err
	}
	if j.State != archive.Done {
		return c.Status(fiber.StatusConflict).JSON(fiber.Map{"error": "The archive is not ready yet"})
	}
	if j.Path == "" || (j.ExpiresAt != nil && j.ExpiresAt.Before(time.Now())) {
		return c.Status(fiber.StatusGone).JSON(fiber.Map{"error": "The archive has expired: request a new one"})
	}
	f, err := os.Open(j.Path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="archive-`+strconv.FormatInt(j.ID, 10)+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(f, int(fi.Size())) // fasthttp closes f
}

// requestImport stores the upload (bounded by MaxUpload and the body
// limit), tells a zip from anything else by its end record alone, and
// queues it: the worker validates and imports it. Nothing is inflated
// here, so a hostile archive costs a request no more than its bytes.
func (h *Handler) requestImport(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errs.E(errs.Invalid, "file is missing: send the archive as a multipart field named file")
	}
	if h.Archives.MaxUpload > 0 && fh.Size > h.Archives.MaxUpload {
		return errs.E(errs.TooLarge, "the archive is larger than %d MB", h.Archives.MaxUpload>>20)
	}
	publish, _ := strconv.ParseBool(c.FormValue("publish"))
	var path string
	if typ := c.FormValue("type"); typ != "" && typ != "archive" {
		path, err = h.storeLoneCSV(fh, typ, c.FormValue("mode")) // archive_lone.go
	} else {
		path, err = h.storeUpload(fh)
	}
	if err != nil {
		return err
	}
	j, err := h.Archives.Jobs.RequestImport(c.UserContext(), me.TenantID, me.ID, path, publish)
	if err != nil {
		os.Remove(path)
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(archiveJSON(c, j))
}

// storeUpload copies an uploaded archive into the archive directory,
// under a name no one can guess, and checks it is a zip.
func (h *Handler) storeUpload(fh *multipart.FileHeader) (string, error) {
	src, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := os.MkdirAll(h.Archives.Dir, 0o700); err != nil {
		return "", err
	}
	var tok [12]byte
	rand.Read(tok[:])
	path := filepath.Join(h.Archives.Dir, "import-"+hex.EncodeToString(tok[:])+".zip")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(dst, io.LimitReader(src, fh.Size))
	if err == nil {
		err = archive.Sniff(dst, n)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}
