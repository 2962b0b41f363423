package activitypub

import (
	"bytes"
	"encoding/json"
	"github.com/roost-social/roost/internal/text"
	"html"
	"math"
	"mime"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// postTypes are the object types ParseStatus reads as statuses: Mastodon's
// first-class Note and Question, the types it converts (Article, Page,
// Video, Image, Audio, Event), and BookWyrm's own status types, which
// BookWyrm sends to servers it takes for BookWyrm.
var postTypes = []string{
	"Note", "Question", "Article", "Page", "Video", "Image", "Audio", "Event",
	"GeneratedNote", "Comment", "Quotation", "Review",
}

// titledTypes carry a title in "name" that is shown above the body (a
// Lemmy post's title, a PeerTube video's name, an article's headline).
var titledTypes = []string{"Article", "Page", "Video", "Image", "Audio", "Event", "Review"}

// attachmentTypes are the attachment entries kept as media.
var attachmentTypes = []string{"Document", "Image", "Video", "Audio", "Link"}

// Limits on what one remote status may bring in. A document is already
// capped in size by the fetcher and the inbox; these keep stored rows sane.
const (
	maxContentBytes     = 100_000 // raw remote HTML kept before sanitising
	maxSummaryBytes     = 5_000
	maxDescriptionBytes = 6_000 // alt text: Mastodon's 1,500 characters, in bytes
	maxAttachments      = 16
	maxPollOptions      = 64
	maxOptionBytes      = 1_000
	maxTagItems         = 256 // mentions and hashtags, each
	maxHashtagBytes     = 256
	maxDimension        = 1 << 20
)

// ParseStatus reads a post object (Note, Question, Article, Page, Video,
// Image, Audio, Event, or BookWyrm's GeneratedNote, Comment, Quotation,
// Review; a "type" array counts by any member) into a remote Status:
// TenantID and AccountID are zero, the caller fills AccountID.
//
// author is the first actor of attributedTo (a string, an object or an
// array), or of "actor" when attributedTo is absent; it must be on the same
// host as the object's id. It is "" when the object names no author at
// all, so the caller must then take the author from the enclosing activity
// and check that actor's host against st.URI itself.
//
// authorFollowers is the author's followers collection, when known, so a
// followers-only post addressed to an unusual collection URL is still
// recognised as private.
//
// Remote HTML is sanitised with SanitizeHTML; Summary (the content warning)
// and poll option titles are plain text, to be escaped when rendered.
func ParseStatus(doc []byte, authorFollowers string) (st *federation.Status, author string, err error) {
	m, err := decodeObject(doc)
	if err != nil {
		return nil, "", err
	}
	id := str(m, "id")
	if absURL(id) == nil {
		return nil, "", errs.E(errs.Invalid, "object id is not an absolute URL")
	}
	if !hasType(m, postTypes...) {
		return nil, "", errs.E(errs.Invalid, "document is not a post (type %v)", types(m))
	}
	author = idOf(m["attributedTo"])
	if author == "" {
		author = idOf(m["actor"])
	}
	if author != "" {
		if absURL(author) == nil {
			return nil, "", errs.E(errs.Invalid, "post author is not an absolute URL")
		}
		if HostOf(author) != HostOf(id) {
			return nil, "", errs.E(errs.Invalid, "post author is not on the post's host")
		}
	}

	// Content and language: content, else contentMap. The raw document is
	// read again only when a map holds several languages, to keep their
	// order.
	var raw map[string]json.RawMessage
	rawField := func(key string) json.RawMessage {
		if raw == nil {
			raw = map[string]json.RawMessage{}
			_ = json.Unmarshal(doc, &raw)
		}
		return raw[key]
	}
	content, lang := localised(m, "content", rawField)
	content = text.Cut(content, maxContentBytes)
	if str(m, "content") != "" {
		// Mastodon's rule: the language is the contentMap's first key.
		lang = firstKey(m, "contentMap", rawField)
	}
	if mt := mediaTypeBase(str(m, "mediaType")); mt == "text/plain" || mt == "text/markdown" {
		content = TextToHTML(content)
	}
	summary, _ := localised(m, "summary", rawField)

	u := pickURL(m["url"])
	if hasType(m, titledTypes...) {
		var b strings.Builder
		if name := strings.TrimSpace(str(m, "name")); name != "" {
			b.WriteString("<p><strong>")
			b.WriteString(html.EscapeString(text.Cut(name, maxSummaryBytes)))
			b.WriteString("</strong></p>")
		}
		body := content
		if strings.TrimSpace(body) == "" && strings.TrimSpace(summary) != "" {
			// No content: the summary is the body, not a content warning.
			body, summary = summary, ""
		}
		b.WriteString(text.Cut(body, maxContentBytes))
		if strings.TrimSpace(body) == "" {
			link := u
			if link == "" {
				link = id
			}
			e := html.EscapeString(link)
			b.WriteString(`<p><a href="` + e + `">` + e + `</a></p>`)
		}
		content = b.String()
	}

	st = &federation.Status{
		URI:          id,
		URL:          u,
		InReplyToURI: validURL(idOf(m["inReplyTo"])),
		Content:      SanitizeHTML(text.Cut(content, 2*maxContentBytes)),
		Summary:      plainText(summary, maxSummaryBytes),
		Language:     languageTag(lang),
		To:           addresses(m["to"]),
		Cc:           addresses(m["cc"]),
		Attachments:  parseAttachments(m["attachment"]),
		Published:    parseTime(m["published"]),
	}
	st.Sensitive = boolean(m, "sensitive") || st.Summary != ""
	st.Visibility = VisibilityOf(st.To, st.Cc, authorFollowers)
	if updated := parseTime(m["updated"]); !st.Published.IsZero() && updated.After(st.Published) {
		st.EditedAt = &updated
	}
	st.Mentions, st.Tags = parseTags(m["tag"])
	st.Emojis = ParseEmojis(m["tag"]) // emojis.go
	if hasType(m, "Question") {
		st.Poll = parsePoll(m, st.Published)
	}
	return st, author, nil
}

// localised returns m[key], or else the value of m[key+"Map"] for "en",
// or else its first language in document order, with the language used.
func localised(m map[string]any, key string, rawField func(string) json.RawMessage) (string, string) {
	if s := str(m, key); s != "" {
		return s, ""
	}
	cm, _ := m[key+"Map"].(map[string]any)
	if len(cm) == 0 {
		return "", ""
	}
	if s, ok := cm["en"].(string); ok && s != "" {
		return s, "en"
	}
	for _, k := range mapKeys(cm, func() json.RawMessage { return rawField(key + "Map") }) {
		if s, ok := cm[k].(string); ok && s != "" {
			return s, k
		}
	}
	return "", ""
}

// firstKey returns the first key of the object m[key] in document order.
func firstKey(m map[string]any, key string, rawField func(string) json.RawMessage) string {
	cm, _ := m[key].(map[string]any)
	if len(cm) == 0 {
		return ""
	}
	if keys := mapKeys(cm, func() json.RawMessage { return rawField(key) }); len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// mapKeys returns the keys of decoded object cm in the order raw (the same
// object, undecoded) lists them; Go maps forget it. A single key needs no
// second reading, so raw is only called for several.
func mapKeys(cm map[string]any, raw func() json.RawMessage) []string {
	if len(cm) == 1 {
		for k := range cm {
			return []string{k}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw()))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := tok.(string)
		if _, ok := cm[k]; ok {
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// languageTag accepts a BCP 47-shaped tag, dropping "und" (undetermined).
var languageRE = regexp.MustCompile(`^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$`)

func languageTag(s string) string {
	if len(s) > 35 || !languageRE.MatchString(s) || strings.EqualFold(s, "und") {
		return ""
	}
	return s
}

// mediaTypeBase returns a media type without parameters, lower case.
func mediaTypeBase(s string) string {
	if s == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return mt
}

// stripTags removes every tag, leaving escaped text; a space replaces each
// tag so words on either side stay apart.
var stripTags = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AddSpaceWhenStrippingTag(true)
	return p
}()

// plainText turns remote HTML into one line of plain text: sanitised,
// stripped of tags, unescaped, whitespace collapsed, truncated to n bytes.
func plainText(s string, n int) string {
	if s == "" {
		return ""
	}
	s = html.UnescapeString(stripTags.Sanitize(SanitizeHTML(text.Cut(s, 4*n))))
	return text.Cut(strings.Join(strings.Fields(s), " "), n)
}

// parseTime reads an RFC 3339 timestamp (fractions allowed), in UTC, or
// the zero time.
func parseTime(v any) time.Time {
	s, _ := v.(string)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// publicAliases are the spellings of the Public collection that servers
// use besides the full IRI (compacted JSON-LD, and the http: IRI).
var publicAliases = map[string]bool{
	"as:Public": true,
	"Public":    true,
	"http://www.w3.org/ns/activitystreams#Public": true,
}

// addresses reads a to/cc value (a string, an object or an array): the
// Public collection normalised to federation.PublicCollection, anything
// that is not an absolute http(s) URL dropped, duplicates removed.
func addresses(v any) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ids(v) {
		if publicAliases[s] {
			s = federation.PublicCollection
		}
		if seen[s] || absURL(s) == nil {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// objects returns the objects of a value that may be one object or an
// array (non-object items skipped).
func objects(v any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, item := range t {
			if m, ok := item.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// linkOf returns the URL and media type of a url value item: a string, or
// a Link object (href) or other object (id).
func linkOf(v any) (string, string) {
	switch t := v.(type) {
	case string:
		return t, ""
	case map[string]any:
		u := str(t, "href")
		if u == "" {
			u = str(t, "id")
		}
		return u, str(t, "mediaType")
	}
	return "", ""
}

// pickURL reads "url": a string, a Link, or an array of either, preferring
// an HTML page among several; only absolute http(s) URLs count.
func pickURL(v any) string {
	arr, ok := v.([]any)
	if !ok {
		u, _ := linkOf(v)
		return validURL(u)
	}
	first := ""
	for _, item := range arr {
		u, mt := linkOf(item)
		if absURL(u) == nil {
			continue
		}
		if mediaTypeBase(mt) == "text/html" {
			return u
		}
		if first == "" {
			first = u
		}
	}
	return first
}

// parseAttachments reads up to maxAttachments media entries; entries of
// other types or without a usable URL are skipped.
func parseAttachments(v any) []federation.Attachment {
	var out []federation.Attachment
	for _, a := range objects(v) {
		if len(out) == maxAttachments {
			break
		}
		typ := ""
		for _, t := range types(a) {
			if slices.Contains(attachmentTypes, t) {
				typ = t
				break
			}
		}
		if typ == "" {
			continue
		}
		var u, linkType string
		if typ == "Link" {
			u, linkType = linkOf(a["href"])
		}
		if u == "" {
			u, linkType = attachmentURL(a["url"])
		}
		if absURL(u) == nil {
			continue
		}
		mediaType := str(a, "mediaType")
		if mediaType == "" {
			mediaType = linkType
		}
		if typ == "Link" {
			typ = kindOf(mediaType)
		}
		desc := str(a, "name")
		if strings.TrimSpace(desc) == "" {
			desc = str(a, "summary") // GoToSocial puts alt text here
		}
		out = append(out, federation.Attachment{
			Type:        typ,
			MediaType:   text.Cut(mediaType, 255),
			URL:         u,
			Description: plainText(desc, maxDescriptionBytes),
			Blurhash:    blurhash(str(a, "blurhash")),
			Width:       dimension(a["width"]),
			Height:      dimension(a["height"]),
		})
		// The thumbnail Mastodon sends as the attachment's icon (videos,
		// audio): what the client API previews it by (issue 17).
		last := &out[len(out)-1]
		last.PreviewURL, last.PreviewWidth, last.PreviewHeight = attachmentIcon(a["icon"])
	}
	return out
}

// attachmentIcon reads an attachment's icon: the first Image object (or
// bare URL) with a usable URL, and its size when given.
func attachmentIcon(v any) (string, int, int) {
	if u, ok := v.(string); ok {
		return validURL(u), 0, 0
	}
	for _, o := range objects(v) {
		if u, _ := attachmentURL(o["url"]); validURL(u) != "" {
			return u, dimension(o["width"]), dimension(o["height"])
		}
	}
	return "", 0, 0
}

// attachmentURL reads an attachment's url: a string, a Link object, or an
// array of either (the first usable one).
func attachmentURL(v any) (string, string) {
	if arr, ok := v.([]any); ok {
		for _, item := range arr {
			if u, mt := linkOf(item); absURL(u) != nil {
				return u, mt
			}
		}
		return "", ""
	}
	return linkOf(v)
}

// kindOf names the attachment type of a bare Link by its media type.
func kindOf(mediaType string) string {
	switch mt := mediaTypeBase(mediaType); {
	case strings.HasPrefix(mt, "image/"):
		return "Image"
	case strings.HasPrefix(mt, "video/"):
		return "Video"
	case strings.HasPrefix(mt, "audio/"):
		return "Audio"
	}
	return "Document"
}

// blurhash keeps a plausible BlurHash (base 83 characters, sane length).
func blurhash(s string) string {
	if len(s) < 6 || len(s) > 200 {
		return ""
	}
	const base83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base83, s[i]) < 0 {
			return ""
		}
	}
	return s
}

// dimension reads a positive pixel size, or 0.
func dimension(v any) int {
	f, ok := v.(float64)
	if !ok || f < 1 || f > maxDimension || f != math.Trunc(f) {
		return 0
	}
	return int(f)
}

// count reads a non-negative count, or 0; huge values are capped.
func count(v any) int {
	f, ok := v.(float64)
	if !ok || f < 0 {
		return 0
	}
	if f > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(f)
}

// parseTags reads the Mention hrefs (absolute URLs) and the Hashtag names
// (without '#', lower case), each deduplicated in document order.
func parseTags(v any) (mentions, tags []string) {
	seenM, seenT := map[string]bool{}, map[string]bool{}
	for _, t := range objects(v) {
		switch {
		case hasType(t, "Mention"):
			href := str(t, "href")
			if len(mentions) < maxTagItems && !seenM[href] && absURL(href) != nil {
				seenM[href] = true
				mentions = append(mentions, href)
			}
		case hasType(t, "Hashtag"):
			name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(str(t, "name")), "#"))
			if len(tags) < maxTagItems && !seenT[name] && validHashtag(name) {
				seenT[name] = true
				tags = append(tags, name)
			}
		}
	}
	return mentions, tags
}

// validHashtag refuses empty, overlong names and names with spaces,
// control characters or another '#'.
func validHashtag(name string) bool {
	if name == "" || len(name) > maxHashtagBytes {
		return false
	}
	for _, r := range name {
		if r == '#' || r == unicode.ReplacementChar || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// parsePoll reads a Question's options: oneOf (single choice) or anyOf
// (multiple), each a named object whose replies.totalItems counts votes;
// endTime, else closed, is when it ends. A closed poll without a time ends
// at its last update, else at publication, so it reads as ended. It
// returns nil when the question has no usable option.
func parsePoll(m map[string]any, published time.Time) *federation.Poll {
	p := &federation.Poll{}
	items := objects(m["oneOf"])
	if len(items) == 0 {
		items = objects(m["anyOf"])
		p.Multiple = len(items) > 0
	}
	for _, o := range items {
		if len(p.Options) == maxPollOptions {
			break
		}
		title := plainText(str(o, "name"), maxOptionBytes)
		if title == "" {
			continue
		}
		votes := 0
		if r, ok := o["replies"].(map[string]any); ok {
			votes = count(r["totalItems"])
		}
		p.Options = append(p.Options, federation.PollOption{Title: title, Votes: votes})
	}
	if len(p.Options) == 0 {
		return nil
	}
	end := parseTime(m["endTime"])
	if end.IsZero() {
		end = parseTime(m["closed"])
	}
	if end.IsZero() && m["closed"] == true {
		if end = parseTime(m["updated"]); end.IsZero() {
			end = published
		}
	}
	if !end.IsZero() {
		p.EndsAt = &end
	}
	p.Voters = count(m["votersCount"])
	return p
}
