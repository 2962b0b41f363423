package webapp

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ComposePath is the compose form's target.
const ComposePath = "/compose"

// Upload reports whether a POST to path is a form that carries media (a
// new post, an edit) or an archive (an import), which api allows the
// upload size (api.MaxUpload).
func Upload(path string) bool {
	return path == ComposePath || path == ImportPath || strings.HasPrefix(path, "/statuses/") && strings.HasSuffix(path, "/edit")
}

// registerScreens mounts the app's screens and the actions on posts.
func (h *Handler) registerScreens(r fiber.Router) {
	h.registerTimelines(r)
	h.registerNotifications(r)
	h.registerCompose(r)
	h.registerActions(r)
	h.registerLists(r)
	h.registerPostLinks(r) // post_links.go
	r.Get("/web/stream", h.app(h.stream))
}
