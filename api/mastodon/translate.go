package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation/social/translate"
)

// Translation (docs.joinmastodon.org/methods/statuses/#translate and
// /methods/instance/#translation_languages) through the operator's
// provider (federation/social/translate); off unless configured.

// TranslationJSON is Mastodon's Translation entity.
type TranslationJSON struct {
	Content                string            `json:"content"`
	SpoilerText            string            `json:"spoiler_text"`
	Poll                   *TranslatedPoll   `json:"poll,omitempty"`
	MediaAttachments       []TranslatedMedia `json:"media_attachments"`
	DetectedSourceLanguage string            `json:"detected_source_language"`
	Language               string            `json:"language"`
	Provider               string            `json:"provider"`
}

// TranslatedPoll is a poll's translated options.
type TranslatedPoll struct {
	ID      string                 `json:"id"`
	Options []TranslatedPollOption `json:"options"`
}

// TranslatedPollOption is one translated option.
type TranslatedPollOption struct {
	Title string `json:"title"`
}

// TranslatedMedia is an attachment's translated description.
type TranslatedMedia struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

func (h *Handler) registerTranslate(v1 fiber.Router) {
	v1.Get("/instance/translation_languages", h.translationLanguages)
	v1.Post("/statuses/:id/translate", h.need("read:statuses"), h.translateStatus)
}

// translationLanguages maps each source language to its targets ({}
// when translation is off or the provider cannot say).
func (h *Handler) translationLanguages(c *fiber.Ctx) error {
	langs, err := h.Translate.Languages(c.UserContext())
	if err != nil {
		httpx.Log(c).WarnContext(c.UserContext(), "translation languages unavailable", "err", err)
	}
	return c.JSON(langs)
}

// translateStatus translates a post the viewer may see into lang (else
// the request's Accept-Language, else English).
func (h *Handler) translateStatus(c *fiber.Ctx) error {
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
	lang := p.str("lang")
	if lang == "" {
		lang, _, _ = strings.Cut(c.Get(fiber.HeaderAcceptLanguage), ",")
		lang, _, _ = strings.Cut(lang, ";")
	}
	if strings.TrimSpace(lang) == "" || lang == "*" {
		lang = "en"
	}
	tr := h.Translate
	if tr == nil { // off, but a post the viewer may not see is still missing (404), not 503
		tr = &translate.Service{Views: h.Views}
	}
	t, err := tr.Status(c.UserContext(), me.ID, id, lang)
	if err != nil {
		return err
	}
	out := TranslationJSON{Content: t.Content, SpoilerText: t.SpoilerText, MediaAttachments: []TranslatedMedia{},
		DetectedSourceLanguage: t.Detected, Language: t.Language, Provider: t.Provider}
	if st := t.Of; st.Poll != nil {
		out.Poll = &TranslatedPoll{ID: idStr(st.ID), Options: []TranslatedPollOption{}}
		for _, o := range t.PollOptions {
			out.Poll.Options = append(out.Poll.Options, TranslatedPollOption{Title: o})
		}
	}
	for i, d := range t.MediaDescriptions {
		out.MediaAttachments = append(out.MediaAttachments, TranslatedMedia{ID: renderAttachment(t.Of.ID, i, t.Of.Attachments[i]).ID, Description: d})
	}
	return c.JSON(out)
}
