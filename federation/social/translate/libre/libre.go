// Package libre is a translate.Provider for LibreTranslate-compatible
// APIs (POST /translate, GET /languages), called through the safe
// outbound client (federation/fetch) with its address rules and caps.
package libre

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/roost-social/roost/federation/social/translate"
	"github.com/roost-social/roost/internal/errs"
)

// HTTP is the outbound client (federation/fetch.Client).
type HTTP interface {
	GetJSON(ctx context.Context, rawURL, accept string, allowedTypes []string) ([]byte, error)
	PostJSON(ctx context.Context, rawURL string, body []byte) (int, []byte, error)
}

// Client calls one LibreTranslate-compatible service.
type Client struct {
	// URL is the service's base URL (ROOST_TRANSLATE_URL), Key its API
	// key (ROOST_TRANSLATE_KEY; "": none).
	URL, Key string
	HTTP     HTTP
}

var _ translate.Provider = (*Client)(nil)

// Name is the provider as Mastodon's Translation entity names it.
func (c *Client) Name() string { return "LibreTranslate" }

func (c *Client) endpoint(path string) string { return strings.TrimRight(c.URL, "/") + path }

// Languages reads /languages: each language and its targets.
func (c *Client) Languages(ctx context.Context) (map[string][]string, error) {
	body, err := c.HTTP.GetJSON(ctx, c.endpoint("/languages"), "application/json", []string{"application/json"})
	if err != nil {
		return nil, unavailable(err)
	}
	var list []struct {
		Code    string   `json:"code"`
		Targets []string `json:"targets"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the translation service sent unreadable languages")
	}
	out := make(map[string][]string, len(list))
	for _, l := range list {
		targets := []string{}
		for _, t := range l.Targets {
			if t != l.Code {
				targets = append(targets, t)
			}
		}
		out[l.Code] = targets
	}
	return out, nil
}

type request struct {
	Q      []string `json:"q"`
	Source string   `json:"source"`
	Target string   `json:"target"`
	Format string   `json:"format"`
	APIKey string   `json:"api_key,omitempty"`
}

type detected struct {
	Language string `json:"language"`
}

type response struct {
	Text     json.RawMessage `json:"translatedText"`
	Detected json.RawMessage `json:"detectedLanguage"`
	Error    string          `json:"error"`
}

// Translate posts the texts as HTML and reads the translations, in order.
func (c *Client) Translate(ctx context.Context, texts []string, source, target string) ([]string, string, error) {
	body, err := json.Marshal(request{Q: texts, Source: source, Target: target, Format: "html", APIKey: c.Key})
	if err != nil {
		return nil, "", err
	}
	status, answer, err := c.HTTP.PostJSON(ctx, c.endpoint("/translate"), body)
	if err != nil {
		return nil, "", unavailable(err)
	}
	var r response
	jsonErr := json.Unmarshal(answer, &r)
	switch {
	case status == http.StatusBadRequest:
		return nil, "", errs.E(errs.Invalid, "the translation service cannot translate this: %s", short(r.Error))
	case status < 200 || status > 299:
		return nil, "", errs.E(errs.Unavailable, "the translation service answered %d", status)
	case jsonErr != nil:
		return nil, "", errs.Wrap(errs.Unavailable, jsonErr, "the translation service sent an unreadable answer")
	}
	var out []string
	if err := json.Unmarshal(r.Text, &out); err != nil {
		var one string
		if json.Unmarshal(r.Text, &one) != nil {
			return nil, "", errs.E(errs.Unavailable, "the translation service sent no translation")
		}
		out = []string{one}
	}
	return out, detectedLanguage(r.Detected), nil
}

// detectedLanguage reads detectedLanguage: one object, or one per text
// (the first, the content's, speaks for the post).
func detectedLanguage(raw json.RawMessage) string {
	var many []detected
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many[0].Language
	}
	var one detected
	_ = json.Unmarshal(raw, &one)
	return one.Language
}

// unavailable keeps an outbound failure's message but answers it as 503:
// the post is fine, the service is not.
func unavailable(err error) error {
	return errs.Wrap(errs.Unavailable, err, fmt.Sprintf("the translation service is unavailable (%s)", short(errs.MessageOf(err))))
}

func short(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200])
	}
	return s
}
