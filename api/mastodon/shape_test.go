package mastodon

// Entity shape tests (issue 17): real responses of the handlers, decoded
// strictly against schemas written from Mastodon's entity documentation
// (docs.joinmastodon.org/entities): every required key present, every
// value of the exact JSON type (a string id is never a number, null only
// where Mastodon allows it); keys Mastodon does not document are
// tolerated (clients ignore them).
//
// Adding an entity (Card, grouped notifications, ...): put its schema in
// entitySchemas under its entity name from an init() in your own test
// file, e.g.
//
//	func init() { entitySchemas["PreviewCard"] = shape{"url": str, "title": str, ...} }
//
// then check a response with checkShape(t, "PreviewCard", body) (or
// checkShapeList for an array). A schema may point at another by name
// with ref("Name") / refN("Name") (nullable): Status.card is
// refN("PreviewCard") already, so a Card schema, once registered, is
// checked inside every Status too; until then only "object or null" is.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
)

// jtype is a JSON value's type.
type jtype int

const (
	tString jtype = iota
	tNumber
	tBool
	tObject
	tArray
	tAny // any JSON value, null included
)

// spec is what one value must be.
type spec struct {
	t        jtype
	null     bool   // null allowed
	optional bool   // the key may be absent
	obj      shape  // tObject: its keys (nil: any object)
	elem     *spec  // tArray: each element
	ref      string // tObject: the schema of entitySchemas[ref], when registered
	enum     []string
}

// shape is an object's documented keys.
type shape map[string]spec

var (
	str     = spec{t: tString}
	strN    = spec{t: tString, null: true}
	num     = spec{t: tNumber}
	numN    = spec{t: tNumber, null: true}
	boolean = spec{t: tBool}
	boolN   = spec{t: tBool, null: true}
	object  = spec{t: tObject}
	anyJSON = spec{t: tAny}
)

func ref(name string) spec        { return spec{t: tObject, ref: name} }
func refN(name string) spec       { return spec{t: tObject, ref: name, null: true} }
func arr(of spec) spec            { return spec{t: tArray, elem: &of} }
func arrN(of spec) spec           { return spec{t: tArray, elem: &of, null: true} }
func obj(s shape) spec            { return spec{t: tObject, obj: s} }
func oneOf(values ...string) spec { return spec{t: tString, enum: values} }
func opt(s spec) spec             { s.optional = true; return s }

// entitySchemas are Mastodon's entities as documented (4.3, with the
// 4.4/4.5 keys Roost serves).
var entitySchemas = map[string]shape{
	"CustomEmoji": {"shortcode": str, "url": str, "static_url": str, "visible_in_picker": boolean, "category": opt(strN)},
	"Field":       {"name": str, "value": str, "verified_at": strN},
	"Account": {
		"id": str, "username": str, "acct": str, "url": str, "uri": str, "display_name": str, "note": str,
		"avatar": str, "avatar_static": str, "header": str, "header_static": str, "locked": boolean,
		"fields": arr(ref("Field")), "emojis": arr(ref("CustomEmoji")), "bot": boolean, "group": boolean,
		"discoverable": boolN, "indexable": opt(boolean), "hide_collections": opt(boolN), "noindex": opt(boolN),
		"moved": opt(refN("Account")), "suspended": opt(boolean), "limited": opt(boolean), "created_at": str,
		"last_status_at": strN, "statuses_count": num, "followers_count": num, "following_count": num,
		"roles": opt(arr(object)), "source": opt(object), "role": opt(object),
	},
	"MediaAttachment": {
		"id": str, "type": oneOf("unknown", "image", "gifv", "video", "audio"), "url": strN, "preview_url": strN,
		"remote_url": strN, "preview_remote_url": opt(strN), "text_url": opt(strN), "meta": anyJSON,
		"description": strN, "blurhash": strN,
	},
	"Mention":    {"id": str, "username": str, "url": str, "acct": str},
	"StatusTag":  {"name": str, "url": str},
	"PollOption": {"title": str, "votes_count": numN},
	"Poll": {
		"id": str, "expires_at": strN, "expired": boolean, "multiple": boolean, "votes_count": num,
		"voters_count": numN, "options": arr(ref("PollOption")), "emojis": arr(ref("CustomEmoji")),
		"voted": opt(boolean), "own_votes": opt(arr(num)),
	},
	"Application":  {"name": str, "website": opt(strN)},
	"FilterResult": {"filter": ref("Filter"), "keyword_matches": arrN(str), "status_matches": arrN(str)},
	"Status": {
		"id": str, "uri": str, "url": strN, "created_at": str, "edited_at": strN, "account": ref("Account"),
		"content": str, "visibility": oneOf("public", "unlisted", "private", "direct"), "sensitive": boolean,
		"spoiler_text": str, "media_attachments": arr(ref("MediaAttachment")), "application": opt(refN("Application")),
		"mentions": arr(ref("Mention")), "tags": arr(ref("StatusTag")), "emojis": arr(ref("CustomEmoji")),
		"reblogs_count": num, "favourites_count": num, "replies_count": num, "in_reply_to_id": strN,
		"in_reply_to_account_id": strN, "reblog": refN("Status"), "poll": refN("Poll"), "card": refN("PreviewCard"),
		"language": strN, "text": opt(strN), "favourited": opt(boolean), "reblogged": opt(boolean),
		"muted": opt(boolean), "bookmarked": opt(boolean), "pinned": opt(boolean),
		"filtered": opt(arr(ref("FilterResult"))),
	},
	"Context": {"ancestors": arr(ref("Status")), "descendants": arr(ref("Status"))},
	"Relationship": {
		"id": str, "following": boolean, "showing_reblogs": boolean, "notifying": boolean, "languages": arrN(str),
		"followed_by": boolean, "blocking": boolean, "blocked_by": boolean, "muting": boolean,
		"muting_notifications": boolean, "requested": boolean, "requested_by": boolean, "domain_blocking": boolean,
		"endorsed": boolean, "note": str,
	},
	"Notification": {
		"id": str, "type": str, "created_at": str, "group_key": opt(str), "account": ref("Account"),
		"status": opt(refN("Status")), "report": opt(refN("Report")),
	},
	"TagHistory": {"day": str, "uses": str, "accounts": str},
	"Tag": {
		"name": str, "url": str, "history": arr(ref("TagHistory")), "following": opt(boolean),
		"featuring": opt(boolean), "id": opt(str),
	},
	"FilterKeyword": {"id": str, "keyword": str, "whole_word": boolean},
	"FilterStatus":  {"id": str, "status_id": str},
	"Filter": {
		"id": str, "title": str, "context": arr(oneOf("home", "notifications", "public", "thread", "account")),
		"expires_at": strN, "filter_action": oneOf("warn", "hide", "blur"),
		"keywords": opt(arr(ref("FilterKeyword"))), "statuses": opt(arr(ref("FilterStatus"))),
	},
	"Rule": {"id": str, "text": str, "hint": opt(str)},
	"InstanceV2": {
		"domain": str, "title": str, "version": str, "source_url": str, "description": str,
		"usage":     obj(shape{"users": obj(shape{"active_month": num})}),
		"thumbnail": obj(shape{"url": str, "blurhash": opt(str), "versions": opt(object)}),
		"icon":      opt(arr(obj(shape{"src": str, "size": str}))), "languages": arr(str),
		"configuration": obj(shape{
			"urls": obj(shape{"streaming": str, "status": strN, "about": opt(str), "privacy_policy": opt(strN),
				"terms_of_service": opt(strN)}),
			"vapid": obj(shape{"public_key": str}),
			"accounts": obj(shape{"max_featured_tags": num, "max_pinned_statuses": num, "max_note_length": opt(num),
				"max_profile_fields": opt(num), "profile_field_name_limit": opt(num), "profile_field_value_limit": opt(num)}),
			"statuses": obj(shape{"max_characters": num, "max_media_attachments": num, "characters_reserved_per_url": num}),
			"media_attachments": obj(shape{"supported_mime_types": arr(str), "description_limit": opt(num),
				"image_size_limit": num, "image_matrix_limit": num, "video_size_limit": num,
				"video_frame_rate_limit": num, "video_matrix_limit": num}),
			"polls": obj(shape{"max_options": num, "max_characters_per_option": num, "min_expiration": num,
				"max_expiration": num}),
			"translation":        obj(shape{"enabled": boolean}),
			"limited_federation": opt(boolean),
		}),
		"registrations": obj(shape{"enabled": boolean, "approval_required": boolean, "message": strN,
			"reason_required": opt(boolN), "min_age": opt(numN), "url": opt(strN)}),
		"api_versions": opt(obj(shape{"mastodon": num})),
		"contact":      obj(shape{"email": str, "account": refN("Account")}),
		"rules":        arr(ref("Rule")),
	},
}

// checkShape decodes body as one entity and reports every mismatch.
func checkShape(t *testing.T, entity, body string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s: not JSON (%v): %.300s", entity, err, body)
	}
	for _, p := range matchShape(entity, ref(entity), v) {
		t.Errorf("%s: %s\n%.500s", entity, p, body)
	}
}

// checkShapeList decodes body as an array of entities (at least one).
func checkShapeList(t *testing.T, entity, body string) {
	t.Helper()
	var v []any
	if err := json.Unmarshal([]byte(body), &v); err != nil || len(v) == 0 {
		t.Fatalf("%s list: %v, %.300s", entity, err, body)
	}
	for i, e := range v {
		for _, p := range matchShape(fmt.Sprintf("%s[%d]", entity, i), ref(entity), e) {
			t.Errorf("%s", p)
		}
	}
}

// matchShape lists how v differs from s at path.
func matchShape(path string, s spec, v any) []string {
	if v == nil {
		if s.null || s.t == tAny {
			return nil
		}
		return []string{path + ": null where Mastodon never sends null"}
	}
	var got jtype
	switch v.(type) {
	case string:
		got = tString
	case float64:
		got = tNumber
	case bool:
		got = tBool
	case map[string]any:
		got = tObject
	case []any:
		got = tArray
	}
	if s.t != tAny && got != s.t {
		return []string{fmt.Sprintf("%s: %s, want %s", path, typeName(got), typeName(s.t))}
	}
	var out []string
	switch x := v.(type) {
	case string:
		if len(s.enum) > 0 && !slices.Contains(s.enum, x) {
			out = append(out, fmt.Sprintf("%s: %q is none of %v", path, x, s.enum))
		}
	case []any:
		if s.elem != nil {
			for i, e := range x {
				out = append(out, matchShape(fmt.Sprintf("%s[%d]", path, i), *s.elem, e)...)
			}
		}
	case map[string]any:
		keys := s.obj
		if s.ref != "" {
			keys = entitySchemas[s.ref] // nil until registered: any object
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			val, ok := x[k]
			if !ok {
				if !keys[k].optional {
					out = append(out, path+"."+k+": missing")
				}
				continue
			}
			out = append(out, matchShape(path+"."+k, keys[k], val)...)
		}
	}
	return out
}

func typeName(t jtype) string {
	return [...]string{"string", "number", "boolean", "object", "array", "any"}[t]
}

// TestIssue17ShapeChecker: the checker itself finds a missing key, a
// number id, a wrong null and an unknown enum value, and tolerates
// unknown keys.
func TestIssue17ShapeChecker(t *testing.T) {
	bad := `{"id":1,"keyword":null,"whole_word":true,"extra":"fine"}`
	var v any
	_ = json.Unmarshal([]byte(bad), &v)
	got := strings.Join(matchShape("FilterKeyword", ref("FilterKeyword"), v), "; ")
	if got != "FilterKeyword.id: number, want string; FilterKeyword.keyword: null where Mastodon never sends null" {
		t.Errorf("checker: %s", got)
	}
	_ = json.Unmarshal([]byte(`{"id":"1","status_id":"2","more":[]}`), &v)
	if p := matchShape("FilterStatus", ref("FilterStatus"), v); len(p) != 0 {
		t.Errorf("unknown keys: %v", p)
	}
	_ = json.Unmarshal([]byte(`{"id":"1"}`), &v)
	if p := matchShape("FilterStatus", ref("FilterStatus"), v); len(p) != 1 || !strings.Contains(p[0], "status_id: missing") {
		t.Errorf("missing: %v", p)
	}
	_ = json.Unmarshal([]byte(`"flat"`), &v)
	if p := matchShape("x", oneOf("warn", "hide"), v); len(p) != 1 {
		t.Errorf("enum: %v", p)
	}
}

// TestIssue17EntityShapes: real answers of the handlers, signed in and
// signed out, against Mastodon's documented entities.
func TestIssue17EntityShapes(t *testing.T) {
	f := newSRFixture(t)
	f.w.posts[103] = &federation.Status{ID: 103, AccountID: 30, Visibility: federation.Public, URI: "https://r.example/103",
		Content: "vote", Tags: []string{"polls"}, MentionIDs: []int64{10}, InReplyToURI: "https://a.example/users/alice/statuses/100",
		Poll: &federation.Poll{Options: []federation.PollOption{{Title: "yes", Votes: 2}, {Title: "no"}}}}
	for _, token := range []string{"alice", ""} {
		for _, path := range []string{"/api/v1/statuses/100", "/api/v1/statuses/102", "/api/v1/statuses/103"} {
			code, body := f.do(t, "GET", "a.example", path, token, "")
			if code != 200 {
				t.Fatalf("%s: %d %s", path, code, body)
			}
			checkShape(t, "Status", body)
		}
		body := f.get(t, "/api/v1/statuses?id[]=100&id[]=103", token)
		checkShapeList(t, "Status", body)
		body = f.get(t, "/api/v1/accounts/10", token)
		checkShape(t, "Account", body)
		body = f.get(t, "/api/v1/accounts/30", token)
		checkShape(t, "Account", body)
		body = f.get(t, "/api/v1/statuses/103/context", token)
		checkShape(t, "Context", body)
		body = f.get(t, "/api/v1/polls/103", token)
		checkShape(t, "Poll", body)
		body = f.get(t, "/api/v2/instance", token)
		checkShape(t, "InstanceV2", body)
	}
	body := f.get(t, "/api/v1/accounts/relationships?id[]=20&id[]=30", "alice")
	checkShapeList(t, "Relationship", body)
	body = f.get(t, "/api/v1/media/7", "alice")
	checkShape(t, "MediaAttachment", body)

	r := newRig(nil)
	r.views.notifications = []federation.Notification{{ID: 50, Type: "mention", FromAccountID: 2, StatusID: 20},
		{ID: 51, Type: "follow", FromAccountID: 4}}
	_, body = r.do(t, "GET", "/api/v1/notifications", "")
	checkShapeList(t, "Notification", body)

	sh := newSHFixture(t)
	_, body = sh.do(t, "GET", "a.example", "/api/v2/search?type=hashtags&q=%23Dogs", "", nil)
	var found struct{ Hashtags json.RawMessage }
	if json.Unmarshal([]byte(body), &found) != nil {
		t.Fatalf("search: %s", body)
	}
	checkShapeList(t, "Tag", string(found.Hashtags))
	_, body = sh.do(t, "GET", "a.example", "/api/v2/filters/5", "alice", nil)
	checkShape(t, "Filter", body)
}

// get answers a GET on a.example, which must be a 200.
func (f *srFixture) get(t *testing.T, path, token string) string {
	t.Helper()
	code, body := f.do(t, "GET", "a.example", path, token, "")
	if code != 200 {
		t.Fatalf("%s as %q: %d %s", path, token, code, body)
	}
	return body
}

// The fixture's views beyond statuses and accounts, for the shapes.

// Relationships: alice follows rita and mutes bob.
func (v srViews) Relationships(_ context.Context, viewer int64, ids []int64) ([]federation.Relationship, error) {
	out := make([]federation.Relationship, 0, len(ids))
	for _, id := range ids {
		out = append(out, federation.Relationship{ID: id, Following: viewer == 10 && id == 30,
			ShowingReblogs: viewer == 10 && id == 30, Muting: viewer == 10 && id == 20})
	}
	return out, nil
}

func (v srViews) Context(_ context.Context, _ int64, id int64) ([]int64, []int64, error) {
	if id == 103 {
		return []int64{100}, nil, nil
	}
	return nil, nil, nil
}
