package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// archiveCall calls the archive API with c's token; body, when set, is
// uploaded as the multipart field "file".
func archiveCall(t *testing.T, c *mastodon.Client, method, path string, file []byte, fields ...string) (int, []byte, http.Header) {
	t.Helper()
	var body io.Reader
	ct := ""
	if file != nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile("file", "archive.zip")
		w.Write(file)
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		mw.Close()
		body, ct = &buf, mw.FormDataContentType()
	}
	req, err := http.NewRequest(method, c.Config.Server+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+c.Config.AccessToken)
	resp, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

type archiveJob struct {
	ID       string   `json:"id"`
	State    string   `json:"state"`
	Progress int64    `json:"progress"`
	Result   []string `json:"result"`
	Error    string   `json:"error"`
	URL      string   `json:"url"`
}

func waitJob(t *testing.T, c *mastodon.Client, path string) archiveJob {
	t.Helper()
	var j archiveJob
	eventuallyTrue(t, path+" done", func() bool {
		code, b, _ := archiveCall(t, c, "GET", path, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		json.Unmarshal(b, &j)
		return j.State == "done" || j.State == "failed"
	})
	return j
}

func TestArchiveAPIExportDownloadImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, addr := mediaNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")
	aliceReadOnly := signIn(t, addr, "http://a.test", "alice@a.test", "read")
	for _, v := range []string{"public", "private", "direct"} {
		if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "a " + v + " post", Visibility: v}); err != nil {
			t.Fatal(err)
		}
	}

	if code, _, _ := archiveCall(t, aliceReadOnly, "POST", "/api/v1/roost/exports", nil); code != 403 {
		t.Errorf("export with a read-only token: %d, want 403", code)
	}
	code, b, _ := archiveCall(t, alice, "POST", "/api/v1/roost/exports", nil)
	var req archiveJob
	if code != 202 || json.Unmarshal(b, &req) != nil || req.ID == "" {
		t.Fatalf("request export: %d %s", code, b)
	}
	j := waitJob(t, alice, "/api/v1/roost/exports/"+req.ID)
	j0 := j
	if j.State != "done" || j.Progress != 3 || !strings.HasSuffix(j.URL, "/api/v1/roost/exports/"+req.ID+"/download") {
		t.Fatalf("export: %+v", j)
	}
	// Only the owner sees it or downloads it, on their own tenant.
	for _, c := range []*mastodon.Client{bob, carol} {
		for _, p := range []string{"", "/download"} {
			if code, _, _ := archiveCall(t, c, "GET", "/api/v1/roost/exports/"+req.ID+p, nil); code != 404 {
				t.Errorf("someone else GET export%s: %d, want 404", p, code)
			}
		}
	}
	code, zipBytes, h := archiveCall(t, alice, "GET", "/api/v1/roost/exports/"+req.ID+"/download", nil)
	if code != 200 || h.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", code, h.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	var outbox struct {
		Type  string `json:"type"`
		Total int    `json:"totalItems"`
		Items []struct {
			Type   string `json:"type"`
			Object struct {
				Content string `json:"content"`
			} `json:"object"`
		} `json:"orderedItems"`
	}
	for _, f := range zr.File {
		if f.Name == "outbox.json" {
			rc, _ := f.Open()
			json.NewDecoder(rc).Decode(&outbox)
			rc.Close()
		}
	}
	if outbox.Type != "OrderedCollection" || outbox.Total != 3 || len(outbox.Items) != 3 || outbox.Items[0].Type != "Create" ||
		!strings.Contains(outbox.Items[0].Object.Content, "a direct post") {
		t.Fatalf("outbox: %+v", outbox)
	}

	// A malformed upload is refused at once and queues nothing.
	before := n.query(t, `select count(*) from archive_imports`)
	code, b, _ = archiveCall(t, carol, "POST", "/api/v1/roost/imports", []byte("not a zip at all"))
	if code != 422 || !strings.Contains(string(b), "not a zip archive") {
		t.Errorf("malformed import: %d %s", code, b)
	}
	if after := n.query(t, `select count(*) from archive_imports`); after != before {
		t.Errorf("malformed import queued a job: %s -> %s", before, after)
	}

	// carol, on the other tenant, imports alice's archive and publishes
	// it: bob, who follows her, gets the posts but the direct one.
	n.run(t, "follow", "--account", "bob@a.test", "--target", "carol@b.test")
	code, b, _ = archiveCall(t, carol, "POST", "/api/v1/roost/imports", zipBytes, "publish", "true")
	if code != 202 || json.Unmarshal(b, &req) != nil {
		t.Fatalf("request import: %d %s", code, b)
	}
	if code, _, _ := archiveCall(t, alice, "GET", "/api/v1/roost/imports/"+req.ID, nil); code != 404 {
		t.Errorf("someone else's import: %d, want 404", code)
	}
	j = waitJob(t, carol, "/api/v1/roost/imports/"+req.ID)
	if j.State != "done" || j.Progress != 3 || len(j.Result) == 0 || !strings.Contains(j.Result[0], "posts: 3 created, 0 already imported, 0 refused, 3 published") {
		t.Fatalf("import: %+v", j)
	}
	if got := n.query(t, `select string_agg(visibility, ',' order by published_at, id) from statuses
		where account_id = (select id from accounts where username = 'carol')`); got != "public,private,direct" {
		t.Errorf("carol's posts: %s", got)
	}
	// Seven days later the export is gone.
	n.query(t, `update archive_exports set expires_at = now() - interval '1 minute' returning 1`)
	if code, _, _ := archiveCall(t, alice, "GET", "/api/v1/roost/exports/"+j0.ID+"/download", nil); code != 410 {
		t.Errorf("expired download: %d, want 410", code)
	}
	if got := n.query(t, `select string_agg(s.visibility, ',' order by s.published_at, s.id) from home_feeds h join statuses s on s.id = h.status_id
		where h.account_id = (select id from accounts where username = 'bob') and s.account_id = (select id from accounts where username = 'carol')`); got != "public,private" {
		t.Errorf("bob's home feed has carol's imported posts %s, want public,private", got)
	}
}

// The attack through the API: an 8 MB CSV of one-character lines, a few
// KB zipped. The request inflates nothing (it stores the upload and
// queues it); the worker refuses the archive at the row limit, says why in
// the job, and removes the upload. The job is read back bounded.
func TestIssue14Finding4ImportValidatedInWorker(t *testing.T) {
	t.Parallel()
	n, addr := mediaNode(t)
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{"actor.json": `{"id":"https://old.example/users/c"}`,
		"outbox.json": `{"orderedItems":[]}`, "blocked_accounts.csv": strings.Repeat("a\n", 4<<20)} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	code, b, _ := archiveCall(t, carol, "POST", "/api/v1/roost/imports", buf.Bytes())
	var req archiveJob
	if code != 202 || json.Unmarshal(b, &req) != nil || req.State != "pending" {
		t.Fatalf("upload of %d bytes: %d %s", buf.Len(), code, b)
	}
	j := waitJob(t, carol, "/api/v1/roost/imports/"+req.ID)
	if j.State != "failed" || !strings.Contains(j.Error, "blocked_accounts.csv: more than 20000 rows, over the limit of 20000") {
		t.Fatalf("import: %+v", j)
	}
	if got := n.query(t, `select count(*) from blocks`); got != "0" {
		t.Errorf("%s blocks from a refused archive", got)
	}
	var mediaDir string
	for _, e := range n.env {
		if v, ok := strings.CutPrefix(e, "ROOST_MEDIA_DIR="); ok {
			mediaDir = v
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(mediaDir), "roost-archives", "import-*.zip"))
	if len(left) != 0 {
		t.Errorf("uploads left on disk: %v", left)
	}
}
