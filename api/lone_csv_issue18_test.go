package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
)

// Issue 18 (left 4): Mastodon's import page takes one list as a CSV file
// of a chosen type; Roost read lists only inside a zip. Each type is
// accepted alone from /settings/import and imported by the archive
// import (one parser); overwrite replaces what can be replaced; a
// malformed file, an unknown type or a refused mode is a clear error with
// nothing queued or changed.
func TestIssue18LoneCSVImports(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	alice := w.signIn(t, w.aliceA)
	alice.open(t, "/settings/import")
	uri := "https://remote.example/users/r"
	r, err := w.accounts.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.example", Username: "r",
		Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	bobsPost, err := w.accounts.UpsertRemoteStatus(ctx, &federation.Status{AccountID: r.ID, URI: uri + "/statuses/1",
		Content: "<p>keep me</p>", Visibility: federation.Public, To: []string{federation.PublicCollection}, Published: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := w.db.QueryRow(ctx, q, w.aliceA.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// run imports alice's newest queued import as roost work does.
	run := func(t *testing.T) *portability.Summary {
		t.Helper()
		jobs, err := w.accounts.AccountJobs(ctx, archive.ImportJob, w.tenantA.ID, w.aliceA.ID, 1)
		if err != nil || len(jobs) == 0 {
			t.Fatalf("no import queued: %v", err)
		}
		im := &portability.Importer{Store: w.accounts}
		sum, err := im.Run(ctx, portability.Request{ImportID: jobs[0].ID, Local: w.aliceA,
			Links: federation.Links{Base: "https://a.example"}, Path: jobs[0].Path})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if err := w.accounts.FinishJob(ctx, archive.ImportJob, jobs[0].ID, "", 0, "", ""); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	queued := func() int { return count(`select count(*) from archive_imports where account_id = $1`) }
	for _, c := range []struct {
		typ, mode, file string
		check           string // counts alice's rows of the kind
		want            int
	}{
		{"following", "merge", "Account address,Show boosts,Notify on new posts,Languages\nr@remote.example,true,false,\n",
			`select count(*) from import_follows where account_id = $1`, 1},
		{"blocking", "merge", "bob@a.example\n", `select count(*) from blocks where account_id = $1`, 1},
		{"muting", "", "Account address,Hide notifications\nbob@a.example,true\n", `select count(*) from mutes where account_id = $1`, 1},
		{"domain_blocking", "merge", "#domain\nspam.example\nEVIL.example.\n", `select count(*) from account_domain_blocks where account_id = $1`, 2},
		{"bookmarks", "merge", "#uri\n" + bobsPost.URI + "\n", `select count(*) from bookmarks where account_id = $1`, 1},
		{"lists", "merge", "Friends,bob@a.example\nFriends,r@remote.example\n", `select count(*) from list_accounts la join lists l on l.id = la.list_id where l.account_id = $1`, 2},
		// Overwrite: r replaces bob among the blocks.
		{"blocking", "overwrite", "r@remote.example\n", `select count(*) from blocks b join accounts a on a.id = b.target_id where b.account_id = $1 and a.domain = 'remote.example'`, 1},
		{"domain_blocking", "overwrite", "#domain\nother.example\n", `select count(*) from account_domain_blocks where account_id = $1`, 1},
	} {
		t.Run(c.typ+"-"+c.mode, func(t *testing.T) {
			before := queued()
			code, loc := alice.multipart(t, "/settings/import", url.Values{"type": {c.typ}, "mode": {c.mode}},
				map[string][]byte{"file": []byte(c.file)})
			if code != http.StatusSeeOther || queued() != before+1 {
				t.Fatalf("upload: %d %.300s", code, loc)
			}
			run(t)
			if got := count(c.check); got != c.want {
				t.Errorf("%d rows after the import, want %d", got, c.want)
			}
		})
	}
	if n := count(`select count(*) from blocks where account_id = $1`); n != 1 {
		t.Errorf("after overwriting, %d blocks, want r's only", n)
	}
	// Refused: nothing queued, nothing changed.
	digest := func() string {
		var s string
		if err := w.db.QueryRow(ctx, `select concat_ws(',', (select count(*) from archive_imports where account_id = $1),
			(select count(*) from blocks where account_id = $1), (select count(*) from account_domain_blocks where account_id = $1))`,
			w.aliceA.ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := digest()
	for _, c := range []struct{ typ, mode, file, want string }{
		{"blocking", "merge", "bob@a.example\n\"unterminated,\n", "blocked_accounts.csv: parse error on line 2"},
		{"lists", "merge", "Friends\n", "lists.csv: line 1: expected 2 fields"},
		{"following", "overwrite", "r@remote.example\n", "merging only"},
		{"likes", "merge", "x\n", "unknown import type"},
		{"blocking", "replace", "bob@a.example\n", "merge or overwrite"},
	} {
		code, page := alice.multipart(t, "/settings/import", url.Values{"type": {c.typ}, "mode": {c.mode}},
			map[string][]byte{"file": []byte(c.file)})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) {
			t.Errorf("%s %s %q: %d, want 422 saying %q: %.400s", c.typ, c.mode, c.file, code, c.want, page)
		}
	}
	if after := digest(); after != before {
		t.Errorf("refused imports changed rows: %s -> %s", before, after)
	}
	// Another tenant's account imports into itself only.
	carol, code, _ := w.signInForm(t, "b.example", "alice@b.example")
	if code != http.StatusSeeOther {
		t.Fatalf("B's alice signs in: %d", code)
	}
	carol.open(t, "/settings/import")
	if code, _ := carol.multipart(t, "/settings/import", url.Values{"type": {"blocking"}}, map[string][]byte{"file": []byte("bob@a.example\n")}); code != http.StatusSeeOther {
		t.Fatalf("B's alice imports: %d", code)
	}
	if after := digest(); after != before {
		t.Errorf("B's import changed alice's rows: %s -> %s", before, after)
	}
}
