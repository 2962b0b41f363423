package webapp

import (
	"errors"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/valyala/fasthttp"
)

// Compose: a new post, a reply, an edit or a redraft, posted as a
// multipart form (the media files with it) and sent to the client API:
// each file to /api/v2/media with its alt text and focus, then the post
// to /api/v1/statuses (or PUT for an edit), with the form's idempotency
// key so a double submit posts once.

// Limits of the form, as the client API's.
const (
	maxMedia       = 4
	maxPollOptions = 4
)

// composeData is the compose form's.
type composeData struct {
	Title      string
	Text       string
	Spoiler    string
	Visibility string
	Language   string
	Sensitive  bool
	ReplyTo    *post
	// EditID is the post being edited ("" for a new one).
	EditID string
	// Media are the uploads already attached (an edit's, or a failed
	// submit's), kept by id.
	Media []attachment
	// Poll: options, expiry in seconds, multiple choice.
	PollOptions  []string
	PollExpires  string
	PollMultiple bool
	// Key is the idempotency key of this form.
	Key string
	// Inline is a compose box on another screen (home, a thread).
	Inline bool
	Error  string
}

// Visibilities are the choices of the form.
var visibilities = []struct{ Value, Label string }{
	{"public", "Public"}, {"unlisted", "Quiet public (unlisted)"}, {"private", "Followers only"}, {"direct", "Mentioned people only"},
}

// languages are the form's choices; "" lets the server decide.
var languages = []struct{ Code, Name string }{
	{"", "Default"}, {"en", "English"}, {"de", "Deutsch"}, {"es", "Español"}, {"fr", "Français"}, {"it", "Italiano"},
	{"ja", "日本語"}, {"ko", "한국어"}, {"nl", "Nederlands"}, {"pl", "Polski"}, {"pt", "Português"}, {"ru", "Русский"},
	{"sv", "Svenska"}, {"tr", "Türkçe"}, {"uk", "Українська"}, {"zh", "中文"},
}

// pollExpiries are the form's poll durations, in seconds.
var pollExpiries = []struct{ Seconds, Label string }{
	{"300", "5 minutes"}, {"1800", "30 minutes"}, {"3600", "1 hour"}, {"21600", "6 hours"}, {"86400", "1 day"},
	{"259200", "3 days"}, {"604800", "7 days"},
}

func newKey() string { return page.NewToken() }

// registerCompose mounts the compose screens and the completion endpoint.
func (h *Handler) registerCompose(r fiber.Router) {
	r.Get(ComposePath, h.app(h.composePage))
	r.Post(ComposePath, h.action(h.composeSubmit))
	r.Get("/statuses/:id/edit", h.app(h.editPage))
	r.Post("/statuses/:id/edit", h.action(h.editSubmit))
	r.Post("/statuses/:id/redraft", h.action(h.redraft))
	r.Get("/web/complete", h.app(h.complete))
}

// composePage is GET /compose, ?in_reply_to=ID for a reply.
func (h *Handler) composePage(c *fiber.Ctx) error {
	d := &composeData{Title: "New post", Visibility: "public", Key: newKey()}
	if id := c.Query("in_reply_to"); id != "" {
		if !validID(id) {
			return h.fail(c, errs.E(errs.NotFound, "no such post"))
		}
		var s mastodon.Status
		if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
			return h.fail(c, err)
		}
		d.Title, d.ReplyTo = "Reply", h.looks(c).post(&s)
		d.Visibility = replyVisibility(d.ReplyTo.Visibility)
		d.Text = mentionsFor(d.ReplyTo, viewer(c).Account.Username)
		d.Spoiler = d.ReplyTo.SpoilerText
	}
	return h.render(c, "compose", d)
}

// replyVisibility is a reply's default: never wider than the post's.
func replyVisibility(v string) string {
	if v == "" {
		return "public"
	}
	return v
}

// mentionsFor is the text a reply starts with: its author and the people
// it mentions, but not the viewer.
func mentionsFor(p *post, me string) string {
	var b strings.Builder
	seen := map[string]bool{me: true}
	add := func(acct string) {
		if acct != "" && !seen[acct] {
			seen[acct] = true
			b.WriteString("@" + acct + " ")
		}
	}
	if p.Account != nil {
		add(p.Account.Acct)
	}
	for _, m := range p.Mentions {
		add(m.Acct)
	}
	return b.String()
}

// readCompose reads the form into d and the status to send.
func readCompose(c *fiber.Ctx, d *composeData) map[string]any {
	d.Text, d.Spoiler = c.FormValue("status"), c.FormValue("spoiler_text")
	d.Visibility, d.Language = c.FormValue("visibility"), c.FormValue("language")
	d.Sensitive = c.FormValue("sensitive") != ""
	d.Key = c.FormValue("key")
	if !page.ValidToken(d.Key) {
		d.Key = newKey()
	}
	body := map[string]any{"status": d.Text, "spoiler_text": d.Spoiler, "sensitive": d.Sensitive}
	if d.Visibility != "" {
		body["visibility"] = d.Visibility
	}
	if d.Language != "" {
		body["language"] = d.Language
	}
	if r := c.FormValue("in_reply_to_id"); validID(r) {
		body["in_reply_to_id"] = r
	}
	var opts []string
	for i := 0; i < maxPollOptions; i++ {
		o := c.FormValue("poll_" + strconv.Itoa(i))
		d.PollOptions = append(d.PollOptions, o)
		if strings.TrimSpace(o) != "" {
			opts = append(opts, o)
		}
	}
	d.PollExpires, d.PollMultiple = c.FormValue("poll_expires_in"), c.FormValue("poll_multiple") != ""
	if len(opts) > 0 {
		exp, err := strconv.Atoi(d.PollExpires)
		if err != nil {
			exp = 86400
		}
		body["poll"] = map[string]any{"options": opts, "expires_in": exp, "multiple": d.PollMultiple}
	}
	return body
}

// uploadMedia sends the form's files (file0..3 with alt0..3 and
// focus0..3) to the client API and returns the ids of the kept uploads
// (media_id) and the new ones. An upload that fails stops the post.
func (h *Handler) uploadMedia(c *fiber.Ctx, d *composeData) ([]string, error) {
	var ids []string
	for _, id := range c.Request().PostArgs().PeekMulti("media_id") {
		if validID(string(id)) {
			ids = append(ids, string(id))
		}
	}
	form, err := c.MultipartForm()
	if err != nil {
		if errorsIsNotMultipart(err) {
			return ids, nil
		}
		return nil, errs.E(errs.Invalid, "the form could not be read")
	}
	for _, id := range form.Value["media_id"] {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	for i := 0; i < maxMedia; i++ {
		n := strconv.Itoa(i)
		fhs := form.File["file"+n]
		if len(fhs) == 0 || fhs[0].Size == 0 {
			continue
		}
		if len(ids) >= maxMedia {
			return ids, errs.E(errs.Invalid, "A post can have at most %d media attachments.", maxMedia)
		}
		a, err := h.uploadOne(c, fhs[0], c.FormValue("alt"+n), c.FormValue("focus"+n))
		if err != nil {
			return ids, err
		}
		ids = append(ids, a.ID)
		d.Media = append(d.Media, attachment{Attachment: *a, Alt: c.FormValue("alt" + n), Kind: a.Type})
	}
	return ids, nil
}

func (h *Handler) uploadOne(c *fiber.Ctx, fh *multipart.FileHeader, alt, focus string) (*mastodon.Attachment, error) {
	fields := url.Values{}
	if alt != "" {
		fields.Set("description", alt)
	}
	if focus = strings.TrimSpace(focus); focus != "" {
		fields.Set("focus", focus)
	}
	var a mastodon.Attachment
	if err := h.upload(c, "/api/v2/media", fields, "file", fh, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// errorsIsNotMultipart reports a urlencoded form (no files).
func errorsIsNotMultipart(err error) bool { return errors.Is(err, fasthttp.ErrNoMultipartForm) }

// composeSubmit is POST /compose: upload, then post; the form again with
// the client API's message when it refuses.
func (h *Handler) composeSubmit(c *fiber.Ctx) error {
	d := &composeData{Title: "New post"}
	body := readCompose(c, d)
	ids, err := h.uploadMedia(c, d)
	if err == nil {
		if len(ids) > 0 {
			body["media_ids"] = ids
		}
		var s mastodon.Status
		err = h.sendJSON(c, fiber.MethodPost, "/api/v1/statuses", body, &s, "Idempotency-Key", d.Key)
		if err == nil {
			return h.done(c, "/home")
		}
	}
	return h.composeFailed(c, d, ids, err)
}

// composeFailed shows the form again, with what was typed, the uploads
// kept, and why it was refused.
func (h *Handler) composeFailed(c *fiber.Ctx, d *composeData, ids []string, err error) error {
	status, msg := h.failure(c, err)
	if status >= 500 || status == fiber.StatusUnauthorized {
		return h.fail(c, err)
	}
	d.Error = msg
	kept := d.Media[:0:0]
	for _, id := range ids {
		a := attachment{Attachment: mastodon.Attachment{ID: id}, Kind: "media"}
		for _, m := range d.Media {
			if m.ID == id {
				a = m
			}
		}
		kept = append(kept, a)
	}
	d.Media = kept
	if r := c.FormValue("in_reply_to_id"); validID(r) {
		var s mastodon.Status
		if h.get(c, "/api/v1/statuses/"+r, nil, &s) == nil {
			d.ReplyTo = h.looks(c).post(&s)
		}
	}
	if wantsJSON(c) {
		return c.Status(status).JSON(fiber.Map{"error": msg})
	}
	return h.renderStatus(c, status, "compose", d)
}

// editPage is GET /statuses/:id/edit: the viewer's post in the form.
func (h *Handler) editPage(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	var src struct {
		Text        string `json:"text"`
		SpoilerText string `json:"spoiler_text"`
	}
	if err := h.get(c, "/api/v1/statuses/"+id+"/source", nil, &src); err != nil {
		return h.fail(c, err)
	}
	p := h.looks(c).post(&s)
	if !p.Mine {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	d := &composeData{Title: "Edit post", EditID: id, Text: src.Text, Spoiler: src.SpoilerText, Visibility: s.Visibility,
		Sensitive: s.Sensitive, Media: p.Media, Key: newKey()}
	if s.Language != nil {
		d.Language = *s.Language
	}
	if s.Poll != nil {
		for _, o := range s.Poll.Options {
			d.PollOptions = append(d.PollOptions, o.Title)
		}
		d.PollMultiple = s.Poll.Multiple
	}
	return h.render(c, "compose", d)
}

// editSubmit is POST /statuses/:id/edit: PUT /api/v1/statuses/:id with the
// kept and new media. The client API refuses another's post.
func (h *Handler) editSubmit(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	d := &composeData{Title: "Edit post", EditID: id}
	body := readCompose(c, d)
	delete(body, "visibility") // an edit keeps the audience
	delete(body, "in_reply_to_id")
	ids, err := h.uploadMedia(c, d)
	if err == nil {
		body["media_ids"] = ids
		var s mastodon.Status
		if err = h.sendJSON(c, fiber.MethodPut, "/api/v1/statuses/"+id, body, &s); err == nil {
			return h.done(c, "/statuses/"+id)
		}
	}
	return h.composeFailed(c, d, ids, err)
}

// redraft is POST /statuses/:id/redraft: the post is deleted (the client
// API answers its source) and its text and media put back in the form.
func (h *Handler) redraft(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.send(c, fiber.MethodDelete, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	d := &composeData{Title: "Redraft", Visibility: s.Visibility, Spoiler: s.SpoilerText, Sensitive: s.Sensitive, Key: newKey()}
	if s.Text != nil {
		d.Text = *s.Text
	}
	if s.Language != nil {
		d.Language = *s.Language
	}
	if s.InReplyToID != nil && validID(*s.InReplyToID) {
		var r mastodon.Status
		if h.get(c, "/api/v1/statuses/"+*s.InReplyToID, nil, &r) == nil {
			d.ReplyTo = h.looks(c).post(&r)
		}
	}
	if s.Poll != nil {
		for _, o := range s.Poll.Options {
			d.PollOptions = append(d.PollOptions, o.Title)
		}
		d.PollMultiple = s.Poll.Multiple
	}
	// As Mastodon's redraft: the deleted post's media outlive it,
	// detached, and the form keeps them attached, with their alt text
	// (and focus), to be posted again or unticked.
	d.Media = h.looks(c).post(&s).Media
	return h.render(c, "compose", d)
}
