package httpx

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The security-header policy every response of the app gets, whatever
// handler, error page or middleware produced it (api's observe applies
// it once, last). Pages keep their own Content-Security-Policy; the
// policy only makes sure of what every page must have.
const (
	// DefaultPageCSP is the policy of an HTML page that brings none: no
	// script, no plugin, no framing, forms only to itself.
	DefaultPageCSP = "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// DefaultResourceCSP is the policy of anything else that brings none
	// (JSON, ActivityPub, images, text): should a browser ever open it as
	// a document, it runs sandboxed, loads nothing and cannot be framed.
	DefaultResourceCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
)

// SecureHeaders applies the policy to c's response as it stands:
// nosniff on every response; on HTML, no framing (X-Frame-Options and
// frame-ancestors 'none' in its CSP, added when the page's own lacks it),
// a Referrer-Policy unless the page chose one, and a default CSP for a
// page without one; on anything else a CSP that sandboxes it if opened
// as a document (SECURITY 10 for media, class-wide).
func SecureHeaders(c *fiber.Ctx) {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	csp := string(h.Peek(fiber.HeaderContentSecurityPolicy))
	if !IsDocument(string(h.ContentType())) {
		if csp == "" {
			csp = DefaultResourceCSP
		}
		h.Set(fiber.HeaderContentSecurityPolicy, withDirective(csp, "sandbox"))
		return
	}
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	if len(h.Peek(fiber.HeaderReferrerPolicy)) == 0 {
		h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	}
	if csp == "" {
		csp = DefaultPageCSP
	}
	h.Set(fiber.HeaderContentSecurityPolicy, withDirective(csp, "frame-ancestors 'none'"))
}

// IsDocument reports whether a Content-Type is a page a browser renders
// with its own origin's rights (HTML or XHTML).
func IsDocument(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// withDirective returns csp with directive (name and value) in place of
// any directive of the same name: the policy's value wins over a
// handler's looser one. A csp that has it already is returned as it is.
func withDirective(csp, directive string) string {
	name, _, _ := strings.Cut(directive, " ")
	var out []string
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		if strings.EqualFold(d, directive) {
			return csp
		}
		if n, _, _ := strings.Cut(d, " "); d == "" || strings.EqualFold(n, name) {
			continue
		}
		out = append(out, d)
	}
	return strings.Join(append(out, directive), "; ")
}
