package page

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
)

// Page is what every page's template gets; an area's view type embeds it
// and adds its own fields.
type Page struct {
	// Title is the page's heading and window title.
	Title string
	// Host is the host the page is served on, for its title and footer.
	Host string
	// CSS is the area's one style sheet (set by Render).
	CSS template.CSS
	// CSRF is the token every form of the page posts as CSRFField.
	CSRF string
	// Message is an error page's text.
	Message string
	// RequestID is the request's id (set by Render): an error page shows
	// it, so whoever reports the problem names the server's log lines.
	RequestID string
	// Home is where an error page's way back leads; "" shows none.
	Home string
}

// Common returns p: through an embedded Page, an area's view type has it
// and so is a View.
func (p *Page) Common() *Page { return p }

// View is a page's template data: an area's type embedding Page.
type View interface{ Common() *Page }

//go:embed templates/*.html
var sharedFS embed.FS

// Renderer renders one area's pages: its templates, with the shared ones
// (the error page), and its one style sheet.
type Renderer struct {
	templates *template.Template
	css       string
	cssHash   string
	// keepOpener leaves out Cross-Origin-Opener-Policy (KeepOpener).
	keepOpener bool
	// images gives a request's img-src and media-src sources (Images);
	// nil: none, as default-src 'none' says.
	images func(c *fiber.Ctx) []string
	// scripts allows script files and fetches from the page's own origin
	// (Scripts).
	scripts bool
}

// Scripts lets r's pages run script files served from their own origin,
// and those scripts fetch from it: script-src and connect-src 'self',
// never inline script. The signed-in web app (api/webapp) needs it for
// its live updates and optimistic actions; every other area runs none.
func (r *Renderer) Scripts() *Renderer {
	r.scripts = true
	return r
}

// Images lets r's pages show images and play media from the sources fn
// gives for a request (its own origin, the instance's media origin), and
// from nowhere else: the public pages (api/public) show avatars and
// uploads, which the other areas' pages never do.
func (r *Renderer) Images(fn func(c *fiber.Ctx) []string) *Renderer {
	r.images = fn
	return r
}

// KeepOpener makes r's pages keep the window that opened them: no
// Cross-Origin-Opener-Policy: same-origin, which would sever a pop-up from
// the app on another origin that opened it. The OAuth sign-in pages need
// it: web apps (Phanpy) sign in through a pop-up they watch and that hands
// them the code. Framing stays refused (frame-ancestors 'none', DENY).
func (r *Renderer) KeepOpener() *Renderer {
	r.keepOpener = true
	return r
}

// NewRenderer parses the shared templates and then the area's (patterns
// in fsys), with Funcs and the area's funcs, for pages styled by css. It
// panics on a bad template, as template.Must: templates are embedded, so
// any test of the area catches one. The area's templates define "head"
// and "foot" (the error page uses them) and may redefine "error-main",
// which the error page puts between them.
func NewRenderer(css string, funcs template.FuncMap, fsys fs.FS, patterns ...string) *Renderer {
	t := template.New("").Funcs(Funcs()).Funcs(funcs)
	t = template.Must(t.ParseFS(sharedFS, "templates/*.html"))
	t = template.Must(t.ParseFS(fsys, patterns...))
	sum := sha256.Sum256([]byte(css))
	return &Renderer{templates: t, css: css, cssHash: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}
}

// Render answers with the page name of v and status, and the headers
// every page sends (Headers).
func (r *Renderer) Render(c *fiber.Ctx, status int, name string, v View, formAction ...string) error {
	p := v.Common()
	p.CSS = template.CSS(r.css)
	p.RequestID = c.GetRespHeader(fiber.HeaderXRequestID)
	var b bytes.Buffer
	if err := r.templates.ExecuteTemplate(&b, name, v); err != nil {
		return err
	}
	r.Headers(c, formAction...)
	return c.Status(status).Send(b.Bytes())
}

// Headers sets what every page needs: a CSP that allows nothing but the
// area's style (by hash) and form posts to this origin and to the
// formAction sources (browsers apply form-action to the redirect a post
// is answered with, too), no framing, sniffing, caching or referrer, a
// browsing context group of its own (unless KeepOpener), and the app's
// header policy.
func (r *Renderer) Headers(c *fiber.Ctx, formAction ...string) {
	action := strings.Join(append([]string{"'self'"}, formAction...), " ")
	media := ""
	if r.images != nil {
		src := strings.Join(r.images(c), " ")
		media = "; img-src " + src + "; media-src " + src
	}
	if r.scripts {
		media += "; script-src 'self'; connect-src 'self'"
	}
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src "+r.cssHash+media+
		"; form-action "+action+"; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !r.keepOpener {
		c.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	httpx.SecureHeaders(c)
}
