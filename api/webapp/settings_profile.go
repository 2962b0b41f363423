package webapp

import (
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation/social/profile"
)

// Profile and preferences are the client API's update_credentials, as
// an app edits them: the same limits, images through the same media
// pipeline, the same Update to followers' servers and the same rel=me
// checks of link fields.

func (h *Handler) registerProfile(r fiber.Router) {
	r.Get("/settings/profile", h.app(h.profilePage))
	r.Post("/settings/profile", h.action(h.profileSave))
	r.Get("/settings/preferences", h.app(h.preferencesPage))
	r.Post("/settings/preferences", h.action(h.preferencesSave))
}

// profileField is one row of the fields form.
type profileField struct {
	Index       int
	Name, Value string
	// Link is set when the value is a link, which rel=me may verify.
	Link     bool
	Verified string // when it was verified; "" when not
}

// profileData is the profile page's.
type profileData struct {
	settingsData
	Account                   *mastodon.Account
	Note                      string
	Fields                    []profileField
	Locked, Bot, Discoverable bool
	// MaxFields is the instance's limit of profile fields.
	MaxFields int
}

func (h *Handler) settingsMe(c *fiber.Ctx) (*mastodon.Account, error) {
	var a mastodon.Account
	if err := h.get(c, "/api/v1/accounts/verify_credentials", nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (h *Handler) profilePage(c *fiber.Ctx) error { return h.showProfile(c, "") }

func (h *Handler) showProfile(c *fiber.Ctx, msg string) error {
	a, err := h.settingsMe(c)
	if err != nil {
		return h.fail(c, err)
	}
	d := &profileData{settingsData: settingsBase(c, "Profile"), Account: a, Locked: a.Locked, Bot: a.Bot,
		MaxFields: profile.MaxFields}
	d.Error = msg
	if a.Discoverable != nil {
		d.Discoverable = *a.Discoverable
	}
	var source []mastodon.Field
	if a.Source != nil {
		d.Note, source = a.Source.Note, a.Source.Fields
	}
	for i := 0; i < profile.MaxFields; i++ {
		f := profileField{Index: i}
		if i < len(source) {
			f.Name, f.Value = source[i].Name, source[i].Value
			f.Link = strings.HasPrefix(f.Value, "https://") || strings.HasPrefix(f.Value, "http://")
			// The rendered fields carry the verification, in the same order.
			if i < len(a.Fields) && a.Fields[i].Name == f.Name && a.Fields[i].VerifiedAt != nil {
				f.Verified = *a.Fields[i].VerifiedAt
			}
		}
		d.Fields = append(d.Fields, f)
	}
	return h.renderSettings(c, "settings_profile", d, msg)
}

// profileSave sends the form to update_credentials as a multipart form
// (the avatar and header are files).
func (h *Handler) profileSave(c *fiber.Ctx) error {
	form := url.Values{}
	form.Set("display_name", c.FormValue("display_name"))
	form.Set("note", c.FormValue("note"))
	for _, name := range []string{"locked", "bot", "discoverable"} {
		form.Set(name, strconv.FormatBool(c.FormValue(name) == "1"))
	}
	for i := 0; i < profile.MaxFields; i++ {
		n := strconv.Itoa(i)
		form.Set("fields_attributes["+n+"][name]", c.FormValue("field_name_"+n))
		form.Set("fields_attributes["+n+"][value]", c.FormValue("field_value_"+n))
	}
	files := map[string]*multipart.FileHeader{}
	for _, name := range []string{"avatar", "header"} {
		if fh := chosenFile(c, name); fh != nil {
			files[name] = fh
		}
	}
	if err := h.sendMultipart(c, fiber.MethodPatch, "/api/v1/accounts/update_credentials", form, files, nil); err != nil {
		return h.settingsBack(c, func(msg string) error { return h.showProfile(c, msg) }, err)
	}
	return c.Redirect("/settings/profile?done=saved", fiber.StatusSeeOther)
}

// preferencesData is the preferences page's.
type preferencesData struct {
	settingsData
	Privacy   string
	Sensitive bool
	Language  string
	Languages []prefLanguage
}

type prefLanguage struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// prefVisibilities are the default visibility's choices.
var prefVisibilities = []struct{ Value, Label string }{
	{"public", "Public"}, {"unlisted", "Quiet public (unlisted)"}, {"private", "Followers only"}, {"direct", "Mentioned people only"},
}

// Visibilities are the default visibility's choices.
func (preferencesData) Visibilities() []struct{ Value, Label string } { return prefVisibilities }

func (h *Handler) preferencesPage(c *fiber.Ctx) error { return h.showPreferences(c, "") }

func (h *Handler) showPreferences(c *fiber.Ctx, msg string) error {
	a, err := h.settingsMe(c)
	if err != nil {
		return h.fail(c, err)
	}
	d := &preferencesData{settingsData: settingsBase(c, "Preferences")}
	d.Error = msg
	if a.Source != nil {
		d.Privacy, d.Sensitive = a.Source.Privacy, a.Source.Sensitive
		if a.Source.Language != nil {
			d.Language = *a.Source.Language
		}
	}
	if err := h.get(c, "/api/v1/instance/languages", nil, &d.Languages); err != nil {
		return h.fail(c, err)
	}
	return h.renderSettings(c, "settings_preferences", d, msg)
}

// preferencesSave sends the posting defaults as update_credentials'
// source[…] parameters.
func (h *Handler) preferencesSave(c *fiber.Ctx) error {
	form := url.Values{}
	form.Set("source[privacy]", c.FormValue("privacy"))
	form.Set("source[language]", c.FormValue("language"))
	form.Set("source[sensitive]", strconv.FormatBool(c.FormValue("sensitive") == "1"))
	if err := h.send(c, fiber.MethodPatch, "/api/v1/accounts/update_credentials", form, nil); err != nil {
		return h.settingsBack(c, func(msg string) error { return h.showPreferences(c, msg) }, err)
	}
	return c.Redirect("/settings/preferences?done=saved", fiber.StatusSeeOther)
}

// renderSettings renders a settings page; with an error message the
// form was refused: 422, the form shown again.
func (h *Handler) renderSettings(c *fiber.Ctx, name string, data any, msg string) error {
	status := fiber.StatusOK
	if msg != "" {
		status = fiber.StatusUnprocessableEntity
	}
	return h.renderStatus(c, status, name, data)
}
