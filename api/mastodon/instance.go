package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/media"
)

// Limits apps read from the instance configuration.
var (
	statusConfig = map[string]any{
		"max_characters":              outbox.MaxChars,
		"max_media_attachments":       media.MaxPerStatus,
		"characters_reserved_per_url": 23,
	}
	mediaConfig = map[string]any{
		"supported_mime_types": []string{"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4",
			"video/quicktime", "video/webm", "audio/mp4", "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac"},
		"image_size_limit": media.MaxBytes, "image_matrix_limit": media.MaxPixels,
		"video_size_limit": media.MaxBytes, "video_frame_rate_limit": 120, "video_matrix_limit": media.MaxPixels,
		"description_limit": media.MaxDescription,
	}
	pollConfig = map[string]any{
		"max_options": outbox.MaxPollOptions, "max_characters_per_option": outbox.MaxPollOptionChars,
		"min_expiration": int(outbox.MinPollExpiry.Seconds()), "max_expiration": int(outbox.MaxPollExpiry.Seconds()),
	}
)

func (h *Handler) registerInstance(api fiber.Router) {
	api.Get("/v1/instance", h.instanceV1)
	api.Get("/v2/instance", h.instanceV2)
}

func (h *Handler) version() string {
	v := h.Instance.Version
	if v == "" {
		v = "dev"
	}
	// Apps read Mastodon's version to decide which features to use
	// (instance_routes.go).
	return versionString(v)
}

// instanceBase is the tenant site's own base URL and websocket URL.
func (h *Handler) instanceBase(c *fiber.Ctx) (string, string) {
	base := httpx.SiteBase(c, h.URL)
	ws := "wss" + strings.TrimPrefix(base, "https")
	if strings.HasPrefix(base, "http://") {
		ws = "ws" + strings.TrimPrefix(base, "http")
	}
	return base, ws
}

func (h *Handler) instanceV1(c *fiber.Ctx) error {
	return h.instanceDoc(c, "v1", h.instanceV1Doc) // instance_cache.go
}

func (h *Handler) instanceV1Doc(c *fiber.Ctx) (map[string]any, *Account, error) {
	site := httpx.SiteOf(c)
	usage, err := h.Accounts.Usage(c.UserContext(), site.TenantID)
	if err != nil {
		return nil, nil, err
	}
	_, ws := h.instanceBase(c)
	contact, err := h.contactAccount(c) // instance_routes.go
	if err != nil {
		return nil, nil, err
	}
	rules, err := h.rules(c) // instance_routes.go
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{
		"uri": site.Domain, "title": site.TenantName, "short_description": "", "description": "",
		"email": h.Instance.ContactEmail, "version": h.version(), "urls": map[string]any{"streaming_api": ws},
		"stats":     map[string]any{"user_count": usage.Users, "status_count": usage.Statuses, "domain_count": usage.Domains},
		"thumbnail": nil, "languages": []string{"en"}, "registrations": false, "approval_required": true,
		"invites_enabled": false,
		"configuration": map[string]any{
			"accounts":          map[string]any{"max_featured_tags": 10, "max_pinned_statuses": 5},
			"statuses":          statusConfig,
			"media_attachments": mediaConfig,
			"polls":             pollConfig,
		},
		"contact_account": contact, "rules": rules,
	}, contact, nil
}

func (h *Handler) instanceV2(c *fiber.Ctx) error {
	return h.instanceDoc(c, "v2", h.instanceV2Doc) // instance_cache.go
}

func (h *Handler) instanceV2Doc(c *fiber.Ctx) (map[string]any, *Account, error) {
	site := httpx.SiteOf(c)
	usage, err := h.Accounts.Usage(c.UserContext(), site.TenantID)
	if err != nil {
		return nil, nil, err
	}
	base, ws := h.instanceBase(c)
	contact, err := h.contactAccount(c) // instance_routes.go
	if err != nil {
		return nil, nil, err
	}
	rules, err := h.rules(c) // instance_routes.go
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{
		"domain": site.Domain, "title": site.TenantName, "version": h.version(),
		"source_url": "https://github.com/roost-social/roost", "description": "",
		"usage":     map[string]any{"users": map[string]any{"active_month": usage.ActiveMonth}},
		"thumbnail": map[string]any{"url": base + "/avatars/original/missing.png"},
		"icon":      []any{}, "languages": []string{"en"},
		"configuration": map[string]any{
			"urls":              map[string]any{"streaming": ws, "status": nil, "about": base + "/about", "privacy_policy": nil, "terms_of_service": nil},
			"vapid":             map[string]any{"public_key": h.vapidKey(c)},
			"accounts":          accountsConfig(), // instance_routes.go
			"statuses":          statusConfig,
			"media_attachments": mediaConfig,
			"polls":             pollConfig,
			"translation":       map[string]any{"enabled": h.Translate.Enabled()}, // translate.go
			"timelines_access": map[string]any{
				"live_feeds":          map[string]any{"local": "public", "remote": "public"},
				"hashtag_feeds":       map[string]any{"local": "public", "remote": "public"},
				"trending_link_feeds": map[string]any{"local": "disabled", "remote": "disabled"},
			},
			"limited_federation": false, // tenants federate openly, less their domain blocks
		},
		"registrations": registrationsV2(),
		"api_versions":  map[string]any{"mastodon": mastodonAPIVersion},
		"contact":       map[string]any{"email": h.Instance.ContactEmail, "account": contact},
		"rules":         rules,
	}, contact, nil
}
