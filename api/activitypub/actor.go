package activitypub

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// actor serves the actor document to ActivityPub clients and the profile
// page to everyone else, at both /users/:username and /@:username.
func (h *Handler) actor(c *fiber.Ctx) error {
	asAP := wantsActivityJSON(c.Get(fiber.HeaderAccept))
	if asAP {
		if err := h.authorize(c); err != nil {
			return err
		}
	} else if h.Pages != nil {
		c.Vary(fiber.HeaderAccept)
		return h.Pages.Profile(c, c.Params("username"))
	}
	acct, err := h.account(c, c.Params("username"))
	if asAP && errs.Is(err, errs.Gone) {
		// As Mastodon: a deleted actor is a Tombstone, so servers that
		// fetch it drop their copy.
		c.Status(fiber.StatusGone)
		return sendJSON(c, ap.ContentType, map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "type": "Tombstone",
			"id": httpx.Links(c, h.URL).Actor(c.Params("username")), "formerType": "Person"})
	}
	if err != nil {
		return err
	}
	c.Vary(fiber.HeaderAccept)
	if asAP {
		return sendJSON(c, ap.ContentType, ap.NewActor(acct, httpx.Links(c, h.URL)))
	}
	// A moved profile says where it went, as Mastodon's does, rather
	// than redirecting: movedTo is whatever the account holder set, so a
	// redirect would make every tenant domain an open redirect.
	return h.renderProfile(c, acct)
}

// instanceActor serves the site's instance actor, whose key signs the
// fetches made on the site's behalf (servers with authorized fetch check
// them).
func (h *Handler) instanceActor(c *fiber.Ctx) error {
	host := httpx.SiteOf(c).ActorHost()
	return sendJSON(c, ap.ContentType, ap.NewInstanceActor(host, h.InstanceKey, httpx.Links(c, h.URL)))
}

var profilePage = template.Must(template.New("profile").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}} (@{{.Handle}})</title>
<link rel="alternate" type="application/activity+json" href="{{.ActorID}}">
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
.handle{color:#666}.avatar{width:96px;height:96px;border-radius:12px;object-fit:cover}
</style>
</head>
<body>
<main class="h-card">
{{if .Avatar}}<img class="avatar u-photo" src="{{.Avatar}}" alt="">{{end}}
<h1 class="p-name">{{.Name}}</h1>
<p class="handle">@{{.Handle}}</p>
{{if .MovedTo}}<p class="moved">This account has moved to <a href="{{.MovedTo}}" rel="nofollow noopener noreferrer">{{.MovedTo}}</a>.</p>{{end}}
<div class="p-note">{{.Bio}}</div>
<p>Follow this account from your own fediverse server by searching for <code>@{{.Handle}}</code>.</p>
</main>
</body>
</html>
`))

type profileView struct {
	Name, Handle, ActorID, Avatar string
	// MovedTo is the new actor of a moved account, shown as a link.
	MovedTo string
	Bio     template.HTML
}

func (h *Handler) renderProfile(c *fiber.Ctx, a *federation.Account) error {
	links := httpx.Links(c, h.URL)
	name := a.DisplayName
	if strings.TrimSpace(name) == "" {
		name = a.Username
	}
	var b strings.Builder
	err := profilePage.Execute(&b, profileView{
		Name:    name,
		Handle:  a.Username + "@" + a.Domain,
		ActorID: links.Actor(a.Username),
		Avatar:  a.AvatarURL,
		MovedTo: movedLink(a.MovedTo),
		// TextToHTML escapes the owner's text; nothing else reaches Bio.
		Bio: template.HTML(ap.TextToHTML(a.Note)),
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'")
	return c.SendString(b.String())
}

// movedLink is an account's movedTo when it is an http(s) URL, the only
// kind a page may link to ("" otherwise: never a javascript: link).
func movedLink(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}
