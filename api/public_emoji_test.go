package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
)

// Issue 18, smaller gaps: custom emoji shown as images, RSS enclosures
// with their sizes, a moved account saying where it went.

func TestIssue18CustomEmojiShownAsImages(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.accounts.AddCustomEmoji(context.Background(), federation.CustomEmoji{TenantID: w.tenantA.ID,
		Shortcode: "roost", ContentType: "image/png", Image: pic.Bytes(), VisibleInPicker: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"display_name": "Alice :roost:", "note": "bio :roost: here",
		"fields_attributes": map[string]any{"0": map[string]any{"name": "home :roost:", "value": "nest :roost:"}}})
	if r := w.do(t, http.MethodPatch, "a.example", "/api/v1/accounts/update_credentials", bytes.NewReader(b),
		"Authorization", "Bearer "+w.tokens[w.aliceA.ID], "Content-Type", "application/json"); r.StatusCode != 200 {
		t.Fatalf("update_credentials: %d", r.StatusCode)
	}
	st := w.post(t, w.aliceA, map[string]any{"status": "hello :roost: and :unknown_one: and https://x.example/:roost:/y"})
	img := `<img class="emoji" src="https://a.example/custom_emojis/roost.png" alt=":roost:" title=":roost:" width="20" height="20">`
	code, body, h := w.page(t, "https://a.example/@alice/"+st.ID)
	wantPage(t, "post", code, body, h, "hello "+img, ":unknown_one:", `<a class="name" href="https://a.example/@alice">Alice `+img)
	if strings.Contains(body, `href="https://x.example/<img`) || strings.Contains(body, `x.example/:roost:/y"`) == false {
		t.Errorf("a shortcode inside a link's address was touched:\n%s", body)
	}
	code, body, h = w.page(t, "https://a.example/@alice")
	wantPage(t, "profile", code, body, h, `<h1 class="p-name">Alice `+img+`</h1>`, "bio "+img, "<dt>home "+img+"</dt>", "nest "+img)
	// The image is served on the page's own origin, which its policy allows.
	if r := w.get(t, "a.example", "/custom_emojis/roost.png"); r.StatusCode != 200 {
		t.Errorf("emoji image: %d", r.StatusCode)
	}
	// Another tenant's page shows its own emoji only: b.example has none.
	w.post(t, w.aliceB, map[string]any{"status": "over here :roost:"})
	code, body, h = w.page(t, "https://b.example/@alice")
	wantPage(t, "b profile", code, body, h, "over here :roost:")
	if strings.Contains(body, "custom_emojis") {
		t.Error("tenant B's page shows tenant A's emoji")
	}
}

func TestIssue18RSSEnclosureLengthIsTheStoredSize(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	pic := w.upload(t, w.aliceA, "a dot")
	w.post(t, w.aliceA, map[string]any{"status": "with a picture", "media_ids": []string{pic}})
	var size int64
	if err := w.db.QueryRow(context.Background(), `select file_size from media_attachments where id = $1`, pic).Scan(&size); err != nil || size <= 0 {
		t.Fatalf("stored size %d: %v", size, err)
	}
	r := w.get(t, "a.example", "/@alice.rss")
	var feed struct {
		Items []struct {
			Enclosures []struct {
				Length string `xml:"length,attr"`
			} `xml:"enclosure"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal([]byte(readAll(t, r.Body)), &feed); err != nil || len(feed.Items) != 1 || len(feed.Items[0].Enclosures) != 1 {
		t.Fatalf("feed: %+v %v", feed, err)
	}
	if got := feed.Items[0].Enclosures[0].Length; got != strconv.FormatInt(size, 10) {
		t.Errorf("enclosure length %s, stored size %d", got, size)
	}
}

func TestIssue18MovedAccountSaysWhereItWent(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	st := w.post(t, w.aliceA, map[string]any{"status": "an old post"})
	if _, err := w.db.Exec(context.Background(), `update accounts set moved_to_uri = 'https://a.example/users/bob' where id = $1`,
		w.aliceA.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/@alice", "/@alice/" + st.ID} {
		code, body, h := w.page(t, "https://a.example"+p)
		wantPage(t, p, code, body, h, `This account has moved to <a href="https://a.example/@bob" rel="nofollow noopener noreferrer">@bob</a>`)
	}
	// A moved account's profile no longer offers to follow it (visitors
	// follow where it went); an account that stayed still does.
	if _, body, _ := w.page(t, "https://a.example/@alice"); strings.Contains(body, `value="follow"`) {
		t.Errorf("a moved account's profile still offers Follow")
	}
	if _, body, _ := w.page(t, "https://a.example/@bob"); !strings.Contains(body, `value="follow"`) {
		t.Errorf("a profile that did not move offers no Follow")
	}
}
