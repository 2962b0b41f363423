package webapp

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/tenant/factor"
	"github.com/roost-social/roost/tenant/oauth"
)

// The settings pages (Mastodon's paths: /settings/profile,
// /settings/preferences, /filters, /oauth/authorized_applications, …),
// search, profiles inside the app and follow requests. Like every screen
// they call the client API as the viewer (client.go), so what they may
// change and how is decided there, once; the two things the client API
// has no route for — the apps holding the account's tokens, and
// two-factor sign-in — call their use cases (Settings) with the signed-in
// account of the request's tenant and nothing else.

// Settings are the use cases the settings pages call directly.
type Settings struct {
	// Apps lists and revokes the apps acting for the account; nil leaves
	// /oauth/authorized_applications out.
	Apps *oauth.Authorizations
	// Factors is two-factor sign-in; nil leaves /settings/otp_authentication
	// out and signs in with the password alone.
	Factors *factor.Service
	// Deletions deletes the signed-in account (settings_account.go); nil
	// leaves /settings/delete out.
	Deletions *portability.AccountDeletions
	// Archives lists and serves the account's archive jobs
	// (settings_archives.go); nil leaves /settings/export and
	// /settings/import out.
	Archives ArchiveJobs
}

// settingsPages are the settings' sections, in the menu's order.
var settingsPages = []navItem{
	{"/settings/profile", "Profile", ""}, {"/settings/preferences", "Preferences", ""}, {"/filters", "Filters", ""},
	{"/oauth/authorized_applications", "Authorised apps", ""}, {"/follow_requests", "Follow requests", ""},
	{"/settings/aliases", "Account aliases", ""}, {"/settings/migration", "Move to another account", ""},
	{"/settings/otp_authentication", "Two-factor sign-in", ""},
	{"/settings/export", "Export", ""}, {"/settings/import", "Import", ""}, {"/settings/delete", "Delete account", ""},
}

// registerSettings mounts the settings pages, search, remote profiles and
// follow requests.
func (h *Handler) registerSettings(r fiber.Router) {
	r.Get("/settings", h.app(h.settingsIndex))
	h.registerProfile(r)
	h.registerFilters(r)
	h.registerApps(r)
	h.registerSearch(r)
	h.registerAccounts(r)
	h.registerFactors(r)
	h.registerMoves(r)
	h.registerArchives(r) // settings_archives.go
	h.registerDeletion(r) // settings_account.go
}

// settingsData is what every settings page's data embeds: its title,
// the section menu and the notice of the action that led here.
type settingsData struct {
	Title  string
	Notice string
	Error  string
}

// Sections is the settings menu.
func (settingsData) Sections() []navItem { return settingsPages }

// settingsNotices are the "done" messages the actions redirect with.
var settingsNotices = map[string]string{
	"saved": "Saved.", "deleted": "Deleted.", "revoked": "Access revoked.", "added": "Added.", "removed": "Removed.",
	"requested": "Requested. The page shows it when it is ready.", "queued": "Queued. The page shows how it went.",
	"moved": "Your followers are being moved to the new account.", "otp-on": "Two-factor sign-in is on.",
	"otp-off": "Two-factor sign-in is off.", "followed": "Followed.", "unfollowed": "Unfollowed.",
	"requested-follow": "Follow requested.", "accepted": "Accepted.", "rejected": "Rejected.",
	"export-requested": "Export requested: this page shows it when it is ready.",
	"import-queued":    "Import queued: this page shows how it went.",
}

// settingsBase is the common part of a settings page's data.
func settingsBase(c *fiber.Ctx, title string) settingsData {
	return settingsData{Title: title, Notice: settingsNotices[c.Query("done")]}
}

// settingsIndex is /settings: the sections.
func (h *Handler) settingsIndex(c *fiber.Ctx) error {
	d := settingsBase(c, "Settings")
	return h.render(c, "settings_index", &d)
}

// sendMultipart calls the client API with a multipart form: fields, and
// the files that were chosen (a file input left empty sends none).
func (h *Handler) sendMultipart(c *fiber.Ctx, method, path string, fields url.Values, files map[string]*multipart.FileHeader, out any) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				return err
			}
		}
	}
	for name, fh := range files {
		if err := copyFile(w, name, fh); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	_, err := h.call(c, method, path, w.FormDataContentType(), b.Bytes(), out)
	return err
}

func copyFile(w *multipart.Writer, field string, fh *multipart.FileHeader) error {
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	part, err := w.CreateFormFile(field, fh.Filename)
	if err != nil {
		return err
	}
	_, err = io.Copy(part, f)
	return err
}

// chosenFile is the form's file of name when one was chosen.
func chosenFile(c *fiber.Ctx, name string) *multipart.FileHeader {
	fh, err := c.FormFile(name)
	if err != nil || fh.Size == 0 {
		return nil
	}
	return fh
}

// back answers a refused form: the page again with the API's message.
func (h *Handler) settingsBack(c *fiber.Ctx, show func(msg string) error, err error) error {
	if e, ok := err.(*apiError); ok && e.Status >= 400 && e.Status < 500 && e.Status != fiber.StatusNotFound {
		return show(e.Message)
	}
	return h.fail(c, err)
}
