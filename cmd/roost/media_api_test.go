package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// Media uploads and polls through the client API, driven by go-mastodon
// against a real `roost serve` and `roost work` (one node, two tenants),
// and between two nodes for federation.

// mediaNode is apiNode with uploads kept in a temporary directory.
func mediaNode(t *testing.T) (*node, string) {
	t.Helper()
	addr := freeAddr(t)
	n := startNode(t, "media", addr, "")
	n.env = append(n.env, "ROOST_MEDIA_DIR="+t.TempDir())
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, a := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@"+a[0], "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	return n, addr
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// clientDo sends a request with c's token and returns the status and body.
func clientDo(t *testing.T, c *mastodon.Client, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.Config.Server+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Config.AccessToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// multipartUpload posts file (and fields) to path as a multipart form.
func multipartUpload(t *testing.T, c *mastodon.Client, path string, file []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "upload.bin")
	fw.Write(file)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return clientDo(t, c, "POST", path, mw.FormDataContentType(), &b)
}

// fetchURL GETs a URL on the node with extra headers.
func fetchURL(t *testing.T, addr, rawURL string, header ...string) (*http.Response, []byte) {
	t.Helper()
	hc := hostClient(addr)
	req, _ := http.NewRequest("GET", rawURL, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestMediaUploadsWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, addr := mediaNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")

	// v2 upload: processed before the answer, so ready at once.
	att, err := alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(testPNG(t, 1200, 800)),
		Description: "a gradient", Focus: "0.25,-0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if att.Type != "image" || !strings.HasPrefix(att.URL, "http://a.test/media/") || att.PreviewURL == "" ||
		att.PreviewURL == att.URL || att.RemoteURL != "" || att.BlurHash == "" || att.Description != "a gradient" {
		t.Fatalf("attachment %+v", att)
	}
	if m := att.Meta; m.Original.Width != 1200 || m.Original.Height != 800 || m.Small.Width != 640 || m.Small.Height != 426 ||
		m.Focus.X != 0.25 || m.Focus.Y != -0.5 {
		t.Fatalf("meta %+v", att.Meta)
	}
	if err := alice.GetMediaStatus(ctx, att); err != nil {
		t.Fatalf("GET /api/v1/media/%s: %v", att.ID, err)
	}
	// Only the uploader sees or changes it.
	if code, _ := clientDo(t, bob, "GET", "/api/v1/media/"+string(att.ID), "", nil); code != 404 {
		t.Fatalf("bob reading alice's upload: %d", code)
	}
	if code, _ := clientDo(t, carol, "PUT", "/api/v1/media/"+string(att.ID), "application/x-www-form-urlencoded",
		strings.NewReader("description=mine")); code != 404 {
		t.Fatalf("carol changing alice's upload: %d", code)
	}
	code, body := clientDo(t, alice, "PUT", "/api/v1/media/"+string(att.ID), "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"description": {"a blue gradient"}}.Encode()))
	if code != 200 || !strings.Contains(string(body), `"description":"a blue gradient"`) {
		t.Fatalf("PUT media: %d %s", code, body)
	}

	// v1 upload answers 200 too; what is not an image, video or audio, or
	// would decode into too many pixels, is refused with 422.
	if code, body := multipartUpload(t, alice, "/api/v1/media", testPNG(t, 20, 10), nil); code != 200 ||
		!strings.Contains(string(body), `"type":"image"`) {
		t.Fatalf("v1 upload: %d %s", code, body)
	}
	for name, data := range map[string][]byte{
		"svg":  []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"html": []byte(`<html><script>alert(document.cookie)</script></html>`),
		"json": []byte(`{"type":"Person","id":"http://a.test/users/mallory"}`),
	} {
		if _, err := alice.UploadMediaFromBytes(ctx, data); apiStatus(err) != 422 {
			t.Errorf("%s upload: %v, want 422", name, err)
		}
	}
	bomb := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\xc3\x50\x00\x00\xc3\x50\x08\x06\x00\x00\x00"), 0, 0, 0, 0)
	if code, body := multipartUpload(t, alice, "/api/v2/media", bomb, nil); code != 422 {
		t.Fatalf("50000×50000 PNG header: %d %s", code, body)
	}
	if code, _ := multipartUpload(t, alice, "/api/v2/media", testPNG(t, 4, 4), map[string]string{"focus": "3,3"}); code != 422 {
		t.Fatalf("focus out of range: %d", code)
	}

	// Another account, even on another tenant, cannot attach it.
	for who, c := range map[string]*mastodon.Client{"bob": bob, "carol": carol} {
		if _, err := c.PostStatus(ctx, &mastodon.Toot{Status: "stolen", MediaIDs: []mastodon.ID{att.ID}}); apiStatus(err) != 422 {
			t.Fatalf("%s attaching alice's upload: %v, want 422", who, err)
		}
	}
	// alice posts it, without text; bob sees it.
	post, err := alice.PostStatus(ctx, &mastodon.Toot{MediaIDs: []mastodon.ID{att.ID}, Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := bob.GetStatus(ctx, post.ID)
	if err != nil || len(got.MediaAttachments) != 1 || got.MediaAttachments[0].ID != att.ID ||
		got.MediaAttachments[0].URL != att.URL || got.MediaAttachments[0].Description != "a blue gradient" {
		t.Fatalf("status media: %+v %v", got, err)
	}
	if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "again", MediaIDs: []mastodon.ID{att.ID}}); apiStatus(err) != 422 {
		t.Fatalf("attaching an attached upload: %v, want 422", err)
	}
	if code, _ := clientDo(t, alice, "PUT", "/api/v1/media/"+string(att.ID), "application/x-www-form-urlencoded",
		strings.NewReader("description=late")); code != 422 {
		t.Fatalf("changing an attached upload: %d", code)
	}

	// The file (SECURITY 10): its stored type whatever is asked, never as
	// ActivityStreams, never sniffed, sandboxed.
	resp, data := fetchURL(t, addr, att.URL, "Accept", "application/activity+json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
		resp.Header.Get("Content-Disposition") != "inline" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("media file: %d %v", resp.StatusCode, resp.Header)
	}
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("served file: %v", err)
	}
	if resp, data = fetchURL(t, addr, att.PreviewURL); resp.StatusCode != 200 {
		t.Fatalf("preview: %d", resp.StatusCode)
	} else if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() != 640 {
		t.Fatalf("preview file: %v", err)
	}
	// Tenant A's files are not served on tenant B's domain.
	if resp, _ := fetchURL(t, addr, strings.Replace(att.URL, "a.test", "b.test", 1)); resp.StatusCode != 404 {
		t.Fatalf("alice's file on b.test: %d", resp.StatusCode)
	}
	if resp, _ := fetchURL(t, addr, "http://a.test/media/../../etc/passwd"); resp.StatusCode != 404 {
		t.Fatalf("a path outside the store: %d", resp.StatusCode)
	}

	// The Note carries the attachment as Mastodon sends it.
	_, noteJSON := fetchURL(t, addr, post.URI, "Accept", "application/activity+json")
	var note struct {
		Attachment []map[string]any `json:"attachment"`
	}
	if err := json.Unmarshal(noteJSON, &note); err != nil || len(note.Attachment) != 1 {
		t.Fatalf("note: %v %s", err, noteJSON)
	}
	a := note.Attachment[0]
	if a["url"] != att.URL || a["mediaType"] != "image/png" || a["name"] != "a blue gradient" || a["blurhash"] != att.BlurHash ||
		a["width"] != 1200.0 || a["height"] != 800.0 || a["mediaId"] != nil {
		t.Fatalf("note attachment %v", a)
	}
	if fp, _ := a["focalPoint"].([]any); len(fp) != 2 || fp[0] != 0.25 || fp[1] != -0.5 {
		t.Fatalf("focalPoint %v", a["focalPoint"])
	}
}

func TestPollsWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, addr := mediaNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")

	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Tea or coffee?", Visibility: "public",
		Poll: &mastodon.TootPoll{Options: []string{"tea", "coffee"}, ExpiresInSeconds: 3600}})
	if err != nil {
		t.Fatal(err)
	}
	p := post.Poll
	if p == nil || len(p.Options) != 2 || p.Options[1].Title != "coffee" || p.Expired || p.Multiple || p.ExpiresAt.IsZero() || !p.Voted {
		t.Fatalf("poll %+v", p)
	}
	// bob votes once; counts and his own votes show.
	voted, err := bob.PollVote(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if voted.Options[1].VotesCount != 1 || voted.VotesCount != 1 || !voted.Voted || !slices.Equal(voted.OwnVotes, []int{1}) {
		t.Fatalf("after bob's vote: %+v", voted)
	}
	if _, err := bob.PollVote(ctx, p.ID, 0); apiStatus(err) != 422 {
		t.Fatalf("bob voting twice: %v, want 422", err)
	}
	if _, err := alice.PollVote(ctx, p.ID, 0); apiStatus(err) != 422 {
		t.Fatalf("alice voting on her own poll: %v, want 422", err)
	}
	if _, err := carol.PollVote(ctx, p.ID, 0, 1); apiStatus(err) != 422 {
		t.Fatalf("two choices on a single-choice poll: %v, want 422", err)
	}
	if _, err := carol.PollVote(ctx, p.ID, 0); err != nil {
		t.Fatalf("carol's vote: %v", err)
	}
	got, err := alice.GetPoll(ctx, p.ID)
	if err != nil || got.VotesCount != 2 || got.VotersCount != 2 || got.Options[0].VotesCount != 1 || len(got.OwnVotes) != 0 {
		t.Fatalf("alice's view: %+v %v", got, err)
	}
	if st, err := bob.GetStatus(ctx, post.ID); err != nil || st.Poll == nil || !slices.Equal(st.Poll.OwnVotes, []int{1}) {
		t.Fatalf("bob's status view: %+v %v", st, err)
	}

	// A multiple-choice poll takes several choices in one vote.
	multi, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Pick any",
		Poll: &mastodon.TootPoll{Options: []string{"a", "b", "c"}, ExpiresInSeconds: 600, Multiple: true}})
	if err != nil {
		t.Fatal(err)
	}
	if voted, err = bob.PollVote(ctx, multi.Poll.ID, 0, 2); err != nil || voted.VotesCount != 2 || voted.VotersCount != 1 {
		t.Fatalf("multiple choice: %+v %v", voted, err)
	}

	// Invalid polls are refused.
	for name, poll := range map[string]*mastodon.TootPoll{
		"one option":   {Options: []string{"only"}, ExpiresInSeconds: 3600},
		"five options": {Options: []string{"1", "2", "3", "4", "5"}, ExpiresInSeconds: 3600},
		"too short":    {Options: []string{"a", "b"}, ExpiresInSeconds: 10},
		"too long":     {Options: []string{"a", "b"}, ExpiresInSeconds: 31 * 24 * 3600},
		"long option":  {Options: []string{strings.Repeat("x", 51), "b"}, ExpiresInSeconds: 3600},
	} {
		if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "bad poll", Poll: poll}); apiStatus(err) != 422 {
			t.Errorf("%s: %v, want 422", name, err)
		}
	}
	att, err := alice.UploadMediaFromBytes(ctx, testPNG(t, 8, 8))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"status": {"both"}, "media_ids[]": {string(att.ID)}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"3600"}}
	if code, body := clientDo(t, alice, "POST", "/api/v1/statuses", "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode())); code != 422 {
		t.Fatalf("media and a poll: %d %s", code, body)
	}

	// The Question as other servers see it.
	_, doc := fetchURL(t, addr, post.URI, "Accept", "application/activity+json")
	if !strings.Contains(string(doc), `"type":"Question"`) || !strings.Contains(string(doc), `"oneOf":[{"type":"Note","name":"tea","replies":{"totalItems":1,"type":"Collection"}}`) ||
		!strings.Contains(string(doc), `"endTime":`) {
		t.Fatalf("question: %s", doc)
	}
}

// Two nodes: bob@b.test follows alice@a.test; alice's media post and poll
// reach B, and bob's vote on B goes back to A as Create(Note) and counts.
func TestMediaAndPollsFederate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "media-a", addrA, resolve)
	b := startNode(t, "media-b", addrB, resolve)
	for _, n := range []*node{a, b} {
		n.env = append(n.env, "ROOST_MEDIA_DIR="+t.TempDir())
	}
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)
	b.run(t, "follow", "--account", "bob@b.test", "--target", "alice@a.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		where r.uri = 'http://a.test/users/alice'`)

	alice := signIn(t, addrA, "http://a.test", "alice@a.test", "read write")
	bob := signIn(t, addrB, "http://b.test", "bob@b.test", "read write")
	att, err := alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(testPNG(t, 300, 200)), Description: "alt"})
	if err != nil {
		t.Fatal(err)
	}
	withMedia, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "look", MediaIDs: []mastodon.ID{att.ID}})
	if err != nil {
		t.Fatal(err)
	}
	b.eventually(t, att.URL+" image/png alt", `select a->>'url' || ' ' || (a->>'mediaType') || ' ' || (a->>'name')
		from statuses, jsonb_array_elements(attachments) a where uri = $1`, withMedia.URI)

	poll, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Yes or no?",
		Poll: &mastodon.TootPoll{Options: []string{"yes", "no"}, ExpiresInSeconds: 3600}})
	if err != nil {
		t.Fatal(err)
	}
	b.eventually(t, "2", `select jsonb_array_length(poll->'options') from statuses where uri = $1`, poll.URI)
	remoteID := b.query(t, `select id from statuses where uri = $1`, poll.URI)
	voted, err := bob.PollVote(ctx, mastodon.ID(remoteID), 1)
	if err != nil || !voted.Voted || !slices.Equal(voted.OwnVotes, []int{1}) {
		t.Fatalf("bob's vote on B: %+v %v", voted, err)
	}
	if _, err := bob.PollVote(ctx, mastodon.ID(remoteID), 0); apiStatus(err) != 422 {
		t.Fatalf("bob voting twice: %v, want 422", err)
	}
	// A receives the vote (a Create of a Note named "no") and counts it.
	eventuallyTrue(t, "bob's vote counted on A", func() bool {
		p, err := alice.GetPoll(ctx, poll.Poll.ID)
		return err == nil && p.Options[1].VotesCount == 1 && p.VotesCount == 1
	})
	a.eventually(t, "http://b.test/users/bob", `select r.uri from poll_votes v join accounts r on r.id = v.account_id`)
	if got := a.query(t, `select count(*) from statuses where in_reply_to_uri = $1`, poll.URI); got != "0" {
		t.Fatalf("the vote was stored as a reply on A (%s)", got)
	}
}
