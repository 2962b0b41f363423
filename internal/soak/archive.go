package soak

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation/portability/archive"
)

// Archives during the soak: now and then an account asks for its export
// (POST /api/v1/roost/exports), waits for `roost work` to build it and
// downloads it; now and then one imports a lone CSV of accounts to follow
// (POST /api/v1/roost/imports, type following, mode merge). Both run on
// their own goroutine, as remote operations do, so the account's queue is
// never held by a job's wait.

// jobWait bounds the wait for an export or import job to finish: a job
// takes a second on an idle worker; the bound covers workers killed and
// PostgreSQL restarted under it.
const jobWait = 3 * time.Minute

// exportAck is an export downloaded: the account, when the server created
// its job (posts acknowledged before then are in it), when it was
// downloaded, and the post keys its outbox.json holds.
type exportAck struct {
	user       *localUser
	job        string
	created    time.Time
	downloaded time.Time
	keys       map[string]bool
	posts      int // Creates in outbox.json, as Roost's archive reader counts them
}

// importAck is a follow list imported: the accounts it named.
type importAck struct {
	user  *localUser
	job   string
	accts []string
}

// jobJSON is what the soak reads of an export's or import's state.
type jobJSON struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	URL       string    `json:"url"`
}

// claimAge is how long a job's claim may go without a heartbeat
// (portability.HeartbeatEvery) before the soak treats it as left behind
// (see waitJob).
const claimAge = 45 * time.Second

// waitJob reads path until the job is done (or failed, or jobWait passes).
//
// A job a worker claimed and never finished — the worker killed under
// it, or its end not recorded while PostgreSQL restarted — stays running
// until its claim is stale (portability.StaleAfter, 2 minutes without
// its worker's heartbeat). A job whose claim has had no heartbeat for
// claimAge is noted with its row and its claim aged past the stale
// time, as an operator would ask for it to be taken over (the drain's
// "retry now" for deliveries); a job whose worker still beats is left
// alone.
func (w *world) waitJob(ctx context.Context, u *localUser, path string) (jobJSON, error) {
	deadline := time.Now().Add(jobWait)
	running := time.Time{}
	for {
		r, err := w.cl.do(ctx, call{method: "GET", path: path, domain: u.domain, token: u.token})
		if err != nil {
			return jobJSON{}, err
		}
		if !r.ok() {
			return jobJSON{}, fmt.Errorf("%s answered %d %s", path, r.status, clip(string(r.body), 200))
		}
		j, err := decode[jobJSON](r.body)
		if err != nil {
			return j, fmt.Errorf("%s: unreadable answer %s", path, clip(string(r.body), 200))
		}
		switch {
		case j.State == "done":
			return j, nil
		case j.State == "failed":
			return j, fmt.Errorf("job %s failed: %s", j.ID, j.Error)
		case time.Now().After(deadline) || ctx.Err() != nil:
			return j, fmt.Errorf("job %s still %s after %s", j.ID, j.State, jobWait)
		case j.State != "running":
			running = time.Time{}
		case running.IsZero():
			running = time.Now()
		case time.Since(running) > claimAge:
			w.ageClaim(ctx, strings.Contains(path, "/exports/"), j.ID)
			running = time.Time{}
		}
		time.Sleep(time.Second)
	}
}

// doExport asks for u's export, waits for it and downloads it.
func (w *world) doExport(ctx context.Context, u *localUser, due time.Time) {
	// A retried request (its first answer lost) finds the job the first
	// made: the server keeps one export per account a day.
	r, err := w.cl.do(ctx, call{method: "POST", path: "/api/v1/roost/exports", domain: u.domain, token: u.token, due: due})
	if err == nil && !r.ok() {
		err = fmt.Errorf("%d %s", r.status, clip(string(r.body), 200))
	}
	if err != nil {
		w.fail("export of %s: %v", u.acct(), err)
		return
	}
	j, err := decode[jobJSON](r.body)
	if err != nil || j.ID == "" {
		w.fail("export of %s: unreadable answer %s", u.acct(), clip(string(r.body), 200))
		return
	}
	created := j.CreatedAt
	if j, err = w.waitJob(ctx, u, "/api/v1/roost/exports/"+j.ID); err != nil {
		w.fail("export of %s: %v", u.acct(), err)
		return
	}
	dl, err := w.cl.do(ctx, call{method: "GET", path: "/api/v1/roost/exports/" + j.ID + "/download", domain: u.domain, token: u.token})
	if err == nil && dl.status != 200 {
		err = fmt.Errorf("%d %s", dl.status, clip(string(dl.body), 200))
	}
	if err != nil {
		w.fail("export %s of %s: download: %v", j.ID, u.acct(), err)
		return
	}
	got := exportAck{user: u, job: j.ID, created: created, downloaded: time.Now(), keys: map[string]bool{}}
	// Readable: Roost's own archive reader (what an import runs) accepts
	// it, and outbox.json, read apart with archive/zip, names the posts.
	a, err := archive.Open(bytes.NewReader(dl.body), int64(len(dl.body)), archive.Limits{})
	if err != nil {
		w.fail("export %s of %s (%d bytes) is not a readable archive: %v", j.ID, u.acct(), len(dl.body), err)
		return
	}
	got.posts = a.NumPosts
	zr, err := zip.NewReader(bytes.NewReader(dl.body), int64(len(dl.body)))
	if err != nil {
		w.fail("export %s of %s: %v", j.ID, u.acct(), err)
		return
	}
	for _, f := range zr.File {
		if strings.TrimPrefix(f.Name, "/") != archive.OutboxFile {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			w.fail("export %s of %s: %s: %v", j.ID, u.acct(), f.Name, err)
			return
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			w.fail("export %s of %s: %s: %v", j.ID, u.acct(), f.Name, err)
			return
		}
		for _, m := range keyInText.FindAllStringSubmatch(string(b), -1) {
			got.keys[m[1]] = true
		}
	}
	w.mu.Lock()
	w.exports = append(w.exports, got)
	w.mu.Unlock()
	w.ack("export")
}

// planImport picks the accounts an import of u names: up to two local
// accounts u follows by the plan, pinned so that no unfollow of them is
// planned afterwards. Importing follows of accounts already followed
// keeps the model of who follows whom (which the home and streaming
// checks rebuild from the acknowledged follows) exact: the import's
// follows cannot land after an acknowledged unfollow, nor add a followee
// the checks do not know of.
func (w *world) planImport(u *localUser, pick uint64) []string {
	var pool []string
	for acct, on := range u.plannedFollows {
		if on && w.byAcct[acct] != nil {
			pool = append(pool, acct)
		}
	}
	slices.Sort(pool) // map order is not the seed's
	var accts []string
	for i := 0; i < 2 && len(pool) > 0; i++ {
		j := int((pick >> (8 * i)) % uint64(len(pool)))
		accts = append(accts, pool[j])
		u.pinned[pool[j]] = true
		pool = slices.Delete(pool, j, j+1)
	}
	return accts
}

// startImport runs on u's queue, after every operation planned before it:
// it keeps the accounts whose follow was acknowledged (a follow that
// failed is not followed) and starts the import on its own goroutine.
func (w *world) startImport(ctx context.Context, u *localUser, planned []string, due time.Time) {
	var accts []string
	for _, a := range planned {
		if u.followed[a] {
			accts = append(accts, a)
		}
	}
	if len(accts) == 0 || !u.importing.CompareAndSwap(false, true) {
		return // nothing to import, or an import of u still running
	}
	w.remoteWG.Add(1)
	go func() {
		defer w.remoteWG.Done()
		defer u.importing.Store(false)
		w.doImport(ctx, u, accts, due)
	}()
}

// doImport uploads a Mastodon following_accounts.csv of accts (merge) and
// waits for the import job.
func (w *world) doImport(ctx context.Context, u *localUser, accts []string, due time.Time) {
	var csv strings.Builder
	csv.WriteString("Account address,Show boosts,Notify on new posts,Languages\n")
	for _, a := range accts {
		csv.WriteString(a + ",true,false,\n")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "following_accounts.csv")
	if err == nil {
		_, err = fw.Write([]byte(csv.String()))
	}
	for _, kv := range [][2]string{{"type", "following"}, {"mode", "merge"}} {
		if err == nil {
			err = mw.WriteField(kv[0], kv[1])
		}
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		w.fail("import by %s: %v", u.acct(), err)
		return
	}
	c := call{method: "POST", path: "/api/v1/roost/imports", domain: u.domain, token: u.token, body: body.Bytes(), ctype: mw.FormDataContentType(), due: due}
	var r reply
	// 409: an import of u is queued or running. After a lost answer it is
	// this one's first attempt (imports take no Idempotency-Key): done, its
	// job unknown. Else an earlier import's job (whose answer was lost, so
	// not waited for) is still under way: asked again a little later.
	for deadline := time.Now().Add(jobWait); ; {
		if r, err = w.cl.do(ctx, c); err != nil {
			w.fail("import by %s: %v", u.acct(), err)
			return
		}
		if r.status != 409 || r.attempts > 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	got := importAck{user: u, accts: accts}
	switch {
	case r.status == 409 && r.attempts > 1:
	case !r.ok():
		w.fail("import by %s of %v: %d %s", u.acct(), accts, r.status, clip(string(r.body), 200))
		return
	default:
		j, err := decode[jobJSON](r.body)
		if err != nil || j.ID == "" {
			w.fail("import by %s: unreadable answer %s", u.acct(), clip(string(r.body), 200))
			return
		}
		if j, err = w.waitJob(ctx, u, "/api/v1/roost/imports/"+url.PathEscape(j.ID)); err != nil {
			w.fail("import by %s of %v: %v", u.acct(), accts, err)
			return
		}
		got.job = j.ID
	}
	w.mu.Lock()
	w.imports = append(w.imports, got)
	w.mu.Unlock()
	w.ack("import")
}

// checkArchives: every downloaded export holds each post its account had
// acknowledged before the export was requested (unless a delete of it
// was sent before the download); every acknowledged import's follows
// are stored, accepted.
func (w *world) checkArchives(ctx context.Context, c *cluster, t *tally) error {
	w.mu.Lock()
	exports, imports := slices.Clone(w.exports), slices.Clone(w.imports)
	var posts []post
	for _, p := range w.posts {
		posts = append(posts, *p)
	}
	w.mu.Unlock()
	for _, e := range exports {
		var missing []string
		owed := 0
		for _, p := range posts {
			if p.author != e.user || !p.ackedAt.Before(e.created) || (!p.delStarted.IsZero() && p.delStarted.Before(e.downloaded)) {
				continue
			}
			owed++
			if !e.keys[p.key] {
				missing = append(missing, p.id+" ("+p.key+")")
			}
		}
		if len(missing) > 0 {
			t.add(true, "export %s of %s (requested %s) lacks %d of the %d posts acknowledged before it: %s",
				e.job, e.user.acct(), e.created.Format(time.RFC3339Nano), len(missing), owed, strings.Join(missing[:min(len(missing), 10)], ", "))
		}
		if e.posts < owed {
			t.add(true, "export %s of %s: Roost's reader counts %d posts in it, %d were owed", e.job, e.user.acct(), e.posts, owed)
		}
	}
	for _, im := range imports {
		for _, acct := range im.accts {
			o := w.byAcct[acct]
			var state string
			if err := c.site.DB.QueryRow(ctx, `select coalesce((select state from follows where follower_id = $1 and followee_id = $2), 'none')`,
				im.user.id, o.id).Scan(&state); err != nil {
				return err
			}
			if state != "accepted" {
				t.add(true, "import %s by %s named %s; the follow is %s", im.job, im.user.acct(), acct, state)
			}
		}
	}
	return nil
}

// ageClaim notes a job left running and back-dates its claim past the
// stale time, so that a worker takes it over (waitJob).
func (w *world) ageClaim(ctx context.Context, export bool, id string) {
	table := "archive_imports"
	if export {
		table = "archive_exports"
	}
	var claimed time.Time
	var progress int64
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		fmt.Fprintf(w.o.Progress, "soak: note: %s job %q: %v\n", table, id, err)
		return
	}
	err = w.site.DB.QueryRow(ctx, `update `+table+` set claimed_at = claimed_at - interval '1 hour'
		where id = $1 and state = 'running' and claimed_at < now() - $2::interval
		returning claimed_at + interval '1 hour', progress`, n, fmt.Sprintf("%d seconds", int(claimAge.Seconds()))).Scan(&claimed, &progress)
	if errors.Is(err, pgx.ErrNoRows) {
		return // its worker beats (or it just ended): nothing left behind
	}
	if err != nil {
		fmt.Fprintf(w.o.Progress, "soak: note: %s job %s running %s: could not age its claim: %v\n", table, id, claimAge, err)
		return
	}
	w.mu.Lock()
	t0 := w.t0
	w.mu.Unlock()
	fmt.Fprintf(w.o.Progress, "soak: note: %s job %s without a heartbeat for %s since %.1fs (progress %d): its worker is gone; claim aged for a takeover\n",
		table, id, time.Since(claimed).Round(time.Second), claimed.Sub(t0).Seconds(), progress)
}
