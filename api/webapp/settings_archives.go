package webapp

import (
	"context"
	"fmt"
	"mime/multipart"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
)

// Exporting and importing the account's archive (Mastodon's
// /settings/export and /settings/import). Requesting an export and
// uploading an import call the client API (/api/v1/roost/exports,
// /api/v1/roost/imports), whose use cases queue the job for roost work;
// the pages list the account's own jobs with their state, and the
// download is served here from the job the account owns (the client API
// serves it to bearer tokens only, and the browser holds a cookie). The
// CSV lists (following, blocks, mutes, bookmarks, lists) travel inside
// the archive, as Mastodon's export puts them.

// ArchiveJobs reads the account's archive jobs (federation/postgres).
type ArchiveJobs interface {
	// Job finds a job of the account, or errs.NotFound.
	Job(ctx context.Context, kind archive.JobKind, tenantID, accountID, id int64) (*archive.Job, error)
	// AccountJobs lists the account's newest jobs of a kind.
	AccountJobs(ctx context.Context, kind archive.JobKind, tenantID, accountID int64, limit int) ([]*archive.Job, error)
}

// ImportPath is the import form's target, which may carry an archive
// up to MaxImport (Upload).
const ImportPath = "/settings/import"

// MaxImport bounds an archive uploaded from the import page: within the
// app's upload limit (api.MaxUpload), less the form's envelope.
const MaxImport = 16 << 20

// jobsShown bounds the jobs a page lists.
const jobsShown = 10

func (h *Handler) registerArchives(r fiber.Router) {
	if h.Settings.Archives == nil {
		return
	}
	r.Get("/settings/export", h.app(h.exportPage))
	r.Post("/settings/export", h.action(h.requestExport))
	r.Get("/settings/export/:id/download", h.app(h.downloadExport))
	r.Get(ImportPath, h.app(h.importPage))
	r.Post(ImportPath, h.action(h.requestImport))
}

// jobView is one job as the pages show it.
type jobView struct {
	ID                    int64
	State, Created, Error string
	Progress, Total       int64
	Size                  string
	Expires               string
	// Download is set for a finished, unexpired export.
	Download bool
	Result   []string
	// Follows: an import's queued follows, sent and failed so far.
	Follows                 bool
	Queued, Sent, FollowErr int64
	Publish                 bool
}

// archivesData is the export and import pages'.
type archivesData struct {
	settingsData
	Jobs  []jobView
	MaxMB int
}

func (h *Handler) showArchives(c *fiber.Ctx, kind archive.JobKind, msg string) error {
	v := viewer(c)
	js, err := h.Settings.Archives.AccountJobs(c.UserContext(), kind, v.Site.TenantID, v.Account.ID, jobsShown)
	if err != nil {
		return h.fail(c, err)
	}
	name, title := "settings_export", "Export"
	if kind == archive.ImportJob {
		name, title = "settings_import", "Import"
	}
	d := &archivesData{settingsData: settingsBase(c, title), MaxMB: MaxImport >> 20}
	d.Error = msg
	now := time.Now()
	for _, j := range js {
		d.Jobs = append(d.Jobs, viewJob(j, now))
	}
	return h.renderSettings(c, name, d, msg)
}

func viewJob(j *archive.Job, now time.Time) jobView {
	out := jobView{ID: j.ID, State: j.State, Created: j.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Error: j.Error,
		Progress: j.Progress, Total: j.Total, Publish: j.Publish}
	if j.Size > 0 {
		out.Size = fmt.Sprintf("%.1f MB", float64(j.Size)/(1<<20))
	}
	if j.ExpiresAt != nil {
		out.Expires = j.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	out.Download = j.Kind == archive.ExportJob && downloadable(j, now)
	if j.Result != "" {
		out.Result = splitLines(j.Result)
	}
	if j.FollowsQueued > 0 {
		out.Follows, out.Queued, out.Sent, out.FollowErr = true, j.FollowsQueued, j.FollowsSent, j.FollowsFailed
	}
	return out
}

// downloadable: built, still on disk and not expired.
func downloadable(j *archive.Job, now time.Time) bool {
	return j.State == archive.Done && j.Path != "" && (j.ExpiresAt == nil || j.ExpiresAt.After(now))
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func (h *Handler) exportPage(c *fiber.Ctx) error { return h.showArchives(c, archive.ExportJob, "") }

func (h *Handler) importPage(c *fiber.Ctx) error { return h.showArchives(c, archive.ImportJob, "") }

// requestExport asks for an archive; asked again within a day, the
// client API returns the same one.
func (h *Handler) requestExport(c *fiber.Ctx) error {
	if err := h.send(c, fiber.MethodPost, "/api/v1/roost/exports", url.Values{}, nil); err != nil {
		return h.settingsBack(c, func(msg string) error { return h.showArchives(c, archive.ExportJob, msg) }, err)
	}
	return c.Redirect("/settings/export?done=export-requested", fiber.StatusSeeOther)
}

// downloadExport sends one of the account's finished archives; another
// account's id, or an unknown one, is not found.
func (h *Handler) downloadExport(c *fiber.Ctx) error {
	v := viewer(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return h.fail(c, errs.E(errs.NotFound, "no such archive"))
	}
	j, err := h.Settings.Archives.Job(c.UserContext(), archive.ExportJob, v.Site.TenantID, v.Account.ID, id)
	if err != nil {
		return h.fail(c, err)
	}
	if !downloadable(j, time.Now()) {
		return h.fail(c, errs.E(errs.Gone, "This archive is not ready, or has expired: request a new one."))
	}
	f, err := os.Open(j.Path)
	if err != nil {
		return h.fail(c, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return h.fail(c, err)
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="archive-`+strconv.FormatInt(j.ID, 10)+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(f, int(fi.Size())) // fasthttp closes f
}

// requestImport hands the chosen archive (at most MaxImport) to the
// client API, which checks it is a zip and queues it.
func (h *Handler) requestImport(c *fiber.Ctx) error {
	back := func(msg string) error { return h.showArchives(c, archive.ImportJob, msg) }
	fh := chosenFile(c, "file")
	if fh == nil {
		return back("Choose an archive (.zip), or a list's CSV file, to import.")
	}
	if fh.Size > MaxImport {
		return back(fmt.Sprintf("The archive is larger than %d MB: import it with `roost account import` on the server.", MaxImport>>20))
	}
	fields := url.Values{}
	if c.FormValue("publish") == "1" {
		fields.Set("publish", "true")
	}
	// A lone CSV list (Mastodon's import types); the client API checks
	// the file and refuses a malformed one before anything is queued.
	if typ := c.FormValue("type"); typ != "" && typ != "archive" {
		fields.Set("type", typ)
		fields.Set("mode", c.FormValue("mode"))
	}
	if err := h.sendMultipart(c, fiber.MethodPost, "/api/v1/roost/imports", fields, map[string]*multipart.FileHeader{"file": fh}, nil); err != nil {
		return h.settingsBack(c, back, err)
	}
	return c.Redirect(ImportPath+"?done=import-queued", fiber.StatusSeeOther)
}
