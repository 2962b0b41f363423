package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/federation/portability/archive"
)

// Issue 18 (settings: delete the account, export, import).

// getActor fetches an actor document on host as a server would.
func (w *settingsWorld) getActor(t *testing.T, host, path string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = host
	req.Header.Set("Accept", "application/activity+json")
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// Issue 18: the settings page deletes the signed-in account. A wrong
// password, or the box not ticked, changes nothing; the right one
// signs the person out, the session and the password stop working, the
// actor answers 410 Gone with a Tombstone, and the tenant's other
// account (and the same login's account on another tenant) go on. A
// tenant's last account is refused, pointing at leaving.
func TestIssue18SettingsDeleteAccount(t *testing.T) {
	w := newSettingsWorld(t)
	alice, bob := w.signIn(t, w.aliceA), w.signIn(t, w.bob)
	code, page := alice.open(t, "/settings/delete")
	wantStatus(t, "delete page", code, 200, page)
	wantIn(t, "delete page", page, `id="delete-account"`, "stays taken", `name="password"`)
	count := func() string {
		var s string
		if err := w.db.QueryRow(context.Background(), `select concat_ws(',', (select count(*) from account_deletions),
			(select count(*) from account_limits), (select count(*) from oauth_tokens where revoked_at is not null))`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := count()
	code, page = alice.post(t, "/settings/delete", url.Values{"password": {"wrong"}, "understood": {"1"}})
	wantStatus(t, "wrong password", code, http.StatusUnprocessableEntity, page)
	wantIn(t, "wrong password", page, "The password is wrong.")
	code, page = alice.post(t, "/settings/delete", url.Values{"password": {"correct horse battery"}})
	wantStatus(t, "not ticked", code, http.StatusUnprocessableEntity, page)
	if got := count(); got != before {
		t.Fatalf("a refused deletion changed rows: %s -> %s", before, got)
	}

	code, page = alice.post(t, "/settings/delete", url.Values{"password": {"correct horse battery"}, "understood": {"1"}})
	wantStatus(t, "delete", code, 200, page)
	wantIn(t, "deleted page", page, `id="deleted"`, "@alice@a.example is deleted")
	if strings.Contains(page, `action="/auth/sign_out"`) {
		t.Error("the page after the deletion is still a signed-in one")
	}
	if code, _ := alice.open(t, "/settings"); code != http.StatusSeeOther {
		t.Errorf("the session still works: %d", code)
	}
	if _, code, page := w.signInForm(t, "a.example", "alice@a.example"); code == http.StatusSeeOther {
		t.Errorf("the password still signs in to the deleted account: %s", page)
	}
	code, page = w.getActor(t, "a.example", "/users/alice")
	wantStatus(t, "deleted actor", code, http.StatusGone, page)
	wantIn(t, "deleted actor", page, `"type":"Tombstone"`, `"id":"https://a.example/users/alice"`)
	if code, _ := w.getActor(t, "a.example", "/users/bob"); code != 200 {
		t.Errorf("bob's actor: %d", code)
	}
	if code, page := bob.open(t, "/settings/delete"); code != 200 {
		t.Errorf("bob's session: %d %s", code, page)
	}
	// The same login's account on tenant B signs in, and is tenant B's
	// only account: its deletion is refused.
	carol, code, _ := w.signInForm(t, "b.example", "alice@b.example")
	wantStatus(t, "B's alice signs in", code, http.StatusSeeOther, "")
	carol.open(t, "/settings/delete")
	code, page = carol.post(t, "/settings/delete", url.Values{"password": {"correct horse battery"}, "understood": {"1"}})
	wantStatus(t, "last account", code, http.StatusUnprocessableEntity, page)
	wantIn(t, "last account", page, "only account of this site")
}

// testZip is a small archive: an actor and an empty outbox.
func testZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{archive.ActorFile: `{"id":"https://old.example/users/me"}`,
		archive.OutboxFile: `{"type":"OrderedCollection","orderedItems":[]}`} {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Issue 18: the export page requests an archive and lists it with its
// state; once built it links its download, which only its account gets.
// The import page queues an uploaded zip (not anything else) and shows
// it.
func TestIssue18SettingsExportImport(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	alice, bob := w.signIn(t, w.aliceA), w.signIn(t, w.bob)
	code, page := alice.open(t, "/settings/export")
	wantStatus(t, "export page", code, 200, page)
	wantIn(t, "export page", page, `id="export-request"`, "None yet.")
	code, loc := alice.post(t, "/settings/export", url.Values{})
	wantStatus(t, "request export", code, http.StatusSeeOther, loc)
	code, page = alice.open(t, loc)
	wantStatus(t, "export page after", code, 200, page)
	wantIn(t, "export page after", page, "Export requested", "pending")
	jobs, err := w.accounts.AccountJobs(ctx, archive.ExportJob, w.tenantA.ID, w.aliceA.ID, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("export jobs: %v %v", jobs, err)
	}
	id := strconv.FormatInt(jobs[0].ID, 10)
	if code, _ := alice.open(t, "/settings/export/"+id+"/download"); code != http.StatusGone {
		t.Errorf("download before it is built: %d", code)
	}
	path := filepath.Join(t.TempDir(), "export.zip")
	if err := os.WriteFile(path, testZip(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.accounts.FinishJob(ctx, archive.ExportJob, jobs[0].ID, path, 200, "", ""); err != nil {
		t.Fatal(err)
	}
	_, page = alice.open(t, "/settings/export")
	wantIn(t, "built export", page, `id="download-`+id+`"`, "done")
	code, body := alice.open(t, "/settings/export/"+id+"/download")
	if code != 200 || !strings.HasPrefix(body, "PK") {
		t.Fatalf("download: %d %.40q", code, body)
	}
	for _, p := range []string{"/settings/export/" + id + "/download", "/settings/export/999999/download", "/settings/export/x/download"} {
		if code, body := bob.open(t, p); code != http.StatusNotFound || strings.HasPrefix(body, "PK") {
			t.Errorf("bob downloading %s: %d", p, code)
		}
	}
	if _, page := bob.open(t, "/settings/export"); strings.Contains(page, "download-"+id) {
		t.Error("bob's export page lists alice's archive")
	}

	code, page = alice.open(t, "/settings/import")
	wantStatus(t, "import page", code, 200, page)
	wantIn(t, "import page", page, `enctype="multipart/form-data"`, "Up to 16 MB")
	code, page = alice.multipart(t, "/settings/import", url.Values{}, map[string][]byte{"file": []byte("not a zip at all")})
	wantStatus(t, "import of a non-zip", code, http.StatusUnprocessableEntity, page)
	code, page = alice.post(t, "/settings/import", url.Values{})
	wantStatus(t, "import without a file", code, http.StatusUnprocessableEntity, page)
	wantIn(t, "import without a file", page, "Choose an archive")
	code, loc = alice.multipart(t, "/settings/import", url.Values{"publish": {"1"}}, map[string][]byte{"file": testZip(t)})
	wantStatus(t, "import", code, http.StatusSeeOther, loc)
	_, page = alice.open(t, loc)
	wantIn(t, "import page after", page, "Import queued", "pending")
	imports, err := w.accounts.AccountJobs(ctx, archive.ImportJob, w.tenantA.ID, w.aliceA.ID, 10)
	if err != nil || len(imports) != 1 || !imports[0].Publish {
		t.Fatalf("imports: %+v %v", imports, err)
	}
	if _, page := bob.open(t, "/settings/import"); !strings.Contains(page, "None yet.") {
		t.Error("bob's import page lists alice's import")
	}
}

// Issue 18: delete-and-redraft keeps the post's media, as Mastodon's
// redraft does: the form shows them attached with their alt text, and
// posting it again carries them (same attachment, alt text and focus)
// to the new post.
func TestIssue18WebAppRedraftKeepsMedia(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	b := w.browser(t, "a.example")
	b.signIn(w.aliceA)
	b.get("/compose")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": b.csrf(), "status": "a picture to redo", "alt0": "a blue dot", "focus0": "0.25,0.5"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file0", "dot.png")
	fw.Write(pngFile(t))
	mw.Close()
	if p := b.send(http.MethodPost, "/compose", mw.FormDataContentType(), &body); p.code != http.StatusSeeOther {
		t.Fatalf("compose: %d %s", p.code, p.body)
	}
	type posted struct {
		ID               string
		MediaAttachments []struct {
			ID, Description string
			Meta            struct{ Focus struct{ X, Y float64 } }
		} `json:"media_attachments"`
	}
	statuses := func() []posted {
		_, list := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/accounts/"+strconv.FormatInt(w.aliceA.ID, 10)+"/statuses", nil)
		var ss []posted
		if err := json.Unmarshal([]byte(list), &ss); err != nil {
			t.Fatalf("%v %s", err, list)
		}
		return ss
	}
	ss := statuses()
	if len(ss) != 1 || len(ss[0].MediaAttachments) != 1 {
		t.Fatalf("posted: %+v", ss)
	}
	media := ss[0].MediaAttachments[0]
	p := b.form("/statuses/"+ss[0].ID+"/redraft", url.Values{})
	wantWeb(t, "redraft", p, 200, ">a picture to redo</textarea>", `name="media_id" value="`+media.ID+`" checked`, "a blue dot")
	if strings.Contains(p.body, "attach them again") {
		t.Error("the redraft still says the media were lost")
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(p.body)
	if key == nil {
		t.Fatalf("no key in the redraft form: %s", p.body)
	}
	if p := b.form("/compose", url.Values{"status": {"a picture, redone"}, "media_id": {media.ID}, "key": {key[1]}}); p.code != http.StatusSeeOther {
		t.Fatalf("post the redraft: %d %s", p.code, p.body)
	}
	ss = statuses()
	if len(ss) != 1 || len(ss[0].MediaAttachments) != 1 || ss[0].MediaAttachments[0].ID != media.ID ||
		ss[0].MediaAttachments[0].Description != "a blue dot" || ss[0].MediaAttachments[0].Meta.Focus.X != 0.25 {
		t.Fatalf("the redrafted post: %+v", ss)
	}
}

// Issue 18: with two-factor sign-in on, deleting the account asks for a
// code beside the password; the password alone, or a wrong code,
// changes nothing; a recovery code does.
func TestIssue18SettingsDeleteAccountAsksForTheCode(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	if err := w.factors.Begin(ctx, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	st, err := w.factors.Status(ctx, w.bob.ID, "a.example", "bob@a.example")
	if err != nil || st.Enrolment == nil {
		t.Fatalf("enrolment: %+v %v", st, err)
	}
	otp, err := totp.GenerateCode(st.Enrolment.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := w.factors.Confirm(ctx, w.bob.ID, otp)
	if err != nil {
		t.Fatal(err)
	}
	bob := w.signIn(t, w.bob)
	code, page := bob.open(t, "/settings/delete")
	wantStatus(t, "delete page", code, 200, page)
	wantIn(t, "delete page", page, `id="code"`)
	for _, form := range []url.Values{
		{"password": {"correct horse battery"}, "understood": {"1"}},
		{"password": {"correct horse battery"}, "understood": {"1"}, "code": {"000000"}},
		{"password": {"wrong"}, "understood": {"1"}, "code": {recovery[0]}},
	} {
		code, page := bob.post(t, "/settings/delete", form)
		wantStatus(t, "refused", code, http.StatusUnprocessableEntity, page)
	}
	deletions := func() (n int) {
		if err := w.db.QueryRow(ctx, `select count(*) from account_deletions where account_id = $1`, w.bob.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := deletions(); n != 0 {
		t.Fatalf("%d deletions recorded", n)
	}
	code, page = bob.post(t, "/settings/delete", url.Values{"password": {"correct horse battery"}, "understood": {"1"}, "code": {recovery[1]}})
	wantStatus(t, "delete with a recovery code", code, 200, page)
	if deletions() != 1 {
		t.Fatal("not deleted")
	}
}
