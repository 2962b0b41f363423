package push

import (
	"encoding/json"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/text"
)

// Payload is the JSON a push carries, as Mastodon's
// Web::NotificationSerializer writes it: apps show title, body and icon
// as is, and fetch the notification by id with access_token.
type Payload struct {
	AccessToken      string `json:"access_token"`
	PreferredLocale  string `json:"preferred_locale"`
	NotificationID   int64  `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// Bounds keeping a payload well inside one 4 KiB aes128gcm record: the
// body as Mastodon cuts it (140 characters), the name of who acted and
// the icon URL (a longer one falls back to the default avatar).
const (
	maxBody  = 140
	maxName  = 100
	maxIcon  = 1024
	fallback = "en"
)

// titles are Mastodon's English notification titles; %s is the name.
var titles = map[string]string{
	"mention":        "%s mentioned you",
	"status":         "%s just posted",
	"reblog":         "%s boosted your post",
	"follow":         "%s followed you",
	"follow_request": "New follow request from %s",
	"favourite":      "%s favorited your post",
	"poll":           "A poll by %s has ended",
	"update":         "%s edited a post",
	"quote":          "%s quoted your post",
	"quoted_update":  "%s edited a post you have quoted",
	"admin.sign_up":  "%s signed up",
	"admin.report":   "%s filed a report",
}

// payload builds the JSON of n for the subscription whose token is
// token; base is the recipient site's base URL (default avatar).
func payload(n federation.PushNotification, token, base string) ([]byte, error) {
	name := strings.TrimSpace(n.FromDisplayName)
	if name == "" {
		name = n.FromUsername
	}
	name = text.Clip(name, maxName)
	title, ok := titles[n.Type]
	if !ok {
		title = "%s sent you a notification"
	}
	locale := n.Locale
	if locale == "" {
		locale = fallback
	}
	return json.Marshal(Payload{
		AccessToken: token, PreferredLocale: locale, NotificationID: n.ID, NotificationType: n.Type,
		Icon: icon(n, base), Title: strings.Replace(title, "%s", name, 1), Body: body(n),
	})
}

// body is the status's content warning, else its text, else the
// actor's bio, as plain text cut to 140 characters.
func body(n federation.PushNotification) string {
	var s string
	switch {
	case n.StatusSummary != "":
		s = n.StatusSummary
	case n.StatusContent != "":
		s = federation.PlainText(n.StatusContent)
	case n.FromLocal:
		s = n.FromNote // typed as plain text
	default:
		s = federation.PlainText(n.FromNote) // sanitised HTML
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxBody {
		s = string(r[:maxBody-1]) + "…"
	}
	return s
}

// icon is the actor's avatar, or the site's default one.
func icon(n federation.PushNotification, base string) string {
	a := n.FromAvatarURL
	switch {
	case len(a) > maxIcon:
	case strings.HasPrefix(a, "https://"), strings.HasPrefix(a, "http://"):
		return a
	case strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "//"):
		return base + a // a local upload's path
	}
	return base + "/avatars/original/missing.png"
}
