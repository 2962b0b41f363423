package mastodon

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// The entities issue 17 added after the first shape tests: PreviewCard
// (Status.card, trends/links) and grouped notifications (v2), from
// Mastodon's entity documentation.
func init() {
	entitySchemas["PreviewCardAuthor"] = shape{"name": str, "url": str, "account": opt(refN("Account"))}
	entitySchemas["PreviewCard"] = shape{
		"url": str, "title": str, "description": str, "type": oneOf("link", "photo", "video", "rich"),
		"author_name": str, "author_url": str, "provider_name": str, "provider_url": str, "html": str,
		"width": num, "height": num, "image": strN, "embed_url": str, "blurhash": strN,
		"image_description": opt(str), "language": opt(strN), "published_at": opt(strN),
		"authors": opt(arr(ref("PreviewCardAuthor"))), "history": opt(arr(object)),
	}
	entitySchemas["PartialAccountWithAvatar"] = shape{
		"id": str, "acct": str, "url": str, "avatar": str, "avatar_static": str, "locked": boolean, "bot": boolean,
	}
	entitySchemas["NotificationGroup"] = shape{
		"group_key": str, "notifications_count": num,
		"type": oneOf("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
			"admin.sign_up", "admin.report", "severed_relationships", "moderation_warning", "quote", "quoted_update",
			"annual_report"),
		"most_recent_notification_id": anyJSON, "page_min_id": opt(str), "page_max_id": opt(str),
		"latest_page_notification_at": opt(str), "sample_account_ids": arr(str), "status_id": opt(strN),
		"report": opt(object), "event": opt(object), "moderation_warning": opt(object),
	}
	entitySchemas["GroupedNotificationsResults"] = shape{
		"accounts": arr(ref("Account")), "partial_accounts": opt(arr(ref("PartialAccountWithAvatar"))),
		"statuses": arr(ref("Status")), "notification_groups": arr(ref("NotificationGroup")),
	}
}

// TestIssue17ShapesOfCardsAndGroupedNotifications checks rendered cards
// (a bare link and a full video card) and the grouped notifications of
// the v2 render test's world, signed in with full and partial accounts.
func TestIssue17ShapesOfCardsAndGroupedNotifications(t *testing.T) {
	published := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []*federation.Card{
		{URL: "https://x.example/", Title: "t", Type: "link"},
		{URL: "https://x.example/v", Title: "v", Type: "video", HTML: "<iframe></iframe>", Width: 640, Height: 360,
			ImageKey: "cards/abc/preview.png", Blurhash: "LKO2", Language: "en", PublishedAt: &published,
			AuthorName: "Ann", AuthorURL: "https://x.example/ann"},
	} {
		b, err := json.Marshal(cardEntity("https://a.example", c))
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, "PreviewCard", string(b))
	}
	app := groupsApp(&fakeGroups{})
	for _, q := range []string{"", "?expand_accounts=partial_avatars"} {
		code, body := getAs(t, app, "/api/v2/notifications"+q)
		if code != 200 {
			t.Fatalf("v2 notifications%s: %d %s", q, code, body)
		}
		checkShape(t, "GroupedNotificationsResults", string(body))
	}
}
