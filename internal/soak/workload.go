package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// post is a status a client created and the server acknowledged (id set
// then), with what the soak later checks of it.
type post struct {
	key        string // Idempotency-Key, also written in the text
	author     *localUser
	visibility string
	mentions   []string // accts mentioned
	replyTo    string   // status id replied to
	id, uri    string
	content    string // the last acknowledged text
	edited     bool
	deleted    bool
	ackedAt    time.Time
	// delStarted is when its delete was first sent (zero: never): an
	// export built after it may or may not hold the post.
	delStarted time.Time
	// withMedia: it uploads an image first and carries it; media is the
	// upload it was acknowledged with.
	withMedia bool
	media     *upload
}

// localUser is a local account with its client-side state, all of it
// touched only by the account's own queue (FIFO), so operations of one
// account run in the order planned.
type localUser struct {
	*account
	q chan func()

	// Planning state (the generator goroutine only).
	plannedFollows map[string]bool // acct → following after the planned ops
	ownPlanned     []*post         // own posts not yet planned for edit/delete
	// pinned are follows an import of this account names: never planned
	// to be undone afterwards, so the import's follow cannot land after
	// an acknowledged unfollow (archive.go).
	pinned map[string]bool

	// importing: one import of the account at a time (the server refuses
	// a second while one is queued or running).
	importing atomic.Bool

	// Execution state (the account's queue only).
	candidates []apiStatus        // statuses seen in its home timeline
	targetIDs  map[string]string  // acct → account id on this tenant
	mu         sync.Mutex         // everFollow: streaming clients read it too
	everFollow map[string]bool    // accts it ever followed or tried to
	followed   map[string]bool    // acked state
	followLog  map[string][]event // acct → acknowledged follow / unfollow
}

// event is an acknowledged follow (true) or unfollow (false) and when the
// request was sent and answered.
type event struct {
	follow     bool
	sent, done time.Time
}

// world is the soak's model of what it did and what it was told.
type world struct {
	o       Options
	cl      *client
	locals  []*localUser
	byAcct  map[string]*localUser
	remotes []*remoteNode
	edges   []*edgeActor
	lb      string
	site    *Site // the cluster's database (archive jobs left claimed: archive.go)

	rnd *rand.Rand // the generator's, seeded
	seq int

	mu         sync.Mutex
	posts      []*post
	favs       []ackedRef // favourites acknowledged
	boosts     []ackedRef // boosts acknowledged
	inbox202   []inboxAck // signed POSTs the cluster answered 202
	violations []string   // invariant violations found while running (privacy)
	dups       int        // deliveries a receiver accepted more than once
	remoteWG   sync.WaitGroup
	otherErrs  []string // answers a retry could not repeat, or none at all
	acked      int
	byKind     map[string]int
	exports    []exportAck // archives downloaded (archive.go)
	imports    []importAck // follow lists imported (archive.go)
	streams    *streams    // the streaming clients, for the progress line
	t0         time.Time   // the loaded window's start
	// homes are each local account's home timeline as the API pages it
	// after the run (checkHomes), for checkStreams.
	homes map[int64]map[int64]bool

	// over is set when the loaded window ends: operations still queued
	// behind a slow one then are dropped (notStarted), never sent, so the
	// end of a run is bounded by the clients' retry budget rather than by
	// a backlog that an overloaded cluster let grow.
	over       atomic.Bool
	notStarted atomic.Int64
}

// ackedRef is an acknowledged favourite or boost.
type ackedRef struct {
	user     *localUser
	statusID string
	resultID string // the boost's own status id
}

// inboxAck is an activity the cluster accepted (202) at a tenant's inbox.
type inboxAck struct {
	domain, activity string
	skew             time.Duration
}

func (w *world) ack(kind string) {
	w.mu.Lock()
	w.acked++
	w.byKind[kind]++
	w.mu.Unlock()
}

func (w *world) fail(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.otherErrs) < 20 { // as they happen, beside the faults under way
		fmt.Fprintf(w.o.Progress, "soak: error at %s: %s\n", time.Now().UTC().Format(time.TimeOnly), clip(msg, 400))
	}
	if len(w.otherErrs) < 1000 {
		w.otherErrs = append(w.otherErrs, msg)
	}
}

func (w *world) violate(format string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.violations) < 1000 {
		w.violations = append(w.violations, fmt.Sprintf(format, a...))
	}
}

// startQueues runs each account's FIFO of operations.
func (w *world) startQueues(wg *sync.WaitGroup) {
	for _, u := range w.locals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range u.q {
				if w.over.Load() {
					w.notStarted.Add(1)
					continue
				}
				f()
			}
		}()
	}
}

// mix is the share of each kind of operation, per mille. Exports and
// imports are rare, as people ask for them (a few a minute at the
// default rate); each runs on its own goroutine, waiting for its job.
var mix = []struct {
	kind  string
	share int
}{
	{"post", 200}, {"reply", 70}, {"dm", 60}, {"favourite", 100}, {"boost", 50}, {"follow", 40}, {"unfollow", 30},
	{"edit", 50}, {"delete", 40}, {"home", 205}, {"remote_post", 60}, {"remote_follow", 20}, {"edge_inbox", 60},
	{"export", 10}, {"import", 5},
}

// plan draws the next operation and queues it; due is its open-loop time.
func (w *world) plan(ctx context.Context, due time.Time) {
	w.seq++
	x, kind := w.rnd.IntN(1000), ""
	for _, m := range mix {
		if x < m.share {
			kind = m.kind
			break
		}
		x -= m.share
	}
	u := w.locals[w.rnd.IntN(len(w.locals))]
	pick := w.rnd.Uint64()
	n := w.seq
	switch kind {
	case "post", "dm", "reply":
		p := w.planPost(u, kind, n)
		u.q <- func() { w.doPost(ctx, u, p, pick, due) }
	case "favourite", "boost":
		u.q <- func() { w.doReact(ctx, u, kind, pick, due) }
	case "follow", "unfollow":
		acct := w.planFollow(u, kind == "follow", pick)
		if acct == "" {
			return
		}
		u.q <- func() { w.doFollow(ctx, u, acct, kind == "follow", due) }
	case "edit", "delete":
		if len(u.ownPlanned) == 0 {
			return
		}
		i := int(pick % uint64(len(u.ownPlanned)))
		p := u.ownPlanned[i]
		u.ownPlanned = slices.Delete(u.ownPlanned, i, i+1)
		u.q <- func() { w.doChange(ctx, u, p, kind == "delete", n, due) }
	case "home":
		u.q <- func() { w.readHome(ctx, u, due) }
	case "export":
		u.q <- func() {
			w.remoteWG.Add(1) // before the queues are drained, so before the wait
			go func() { defer w.remoteWG.Done(); w.doExport(ctx, u, due) }()
		}
	case "import":
		accts := w.planImport(u, pick)
		if len(accts) == 0 {
			return
		}
		u.q <- func() { w.startImport(ctx, u, accts, due) }
	case "remote_post", "remote_follow":
		if len(w.remotes) == 0 {
			return
		}
		r := w.remotes[int(pick%uint64(len(w.remotes)))]
		ra := r.users[int(pick>>8)%len(r.users)]
		target := w.locals[int(pick>>16)%len(w.locals)]
		w.remoteWG.Add(1)
		go func() { defer w.remoteWG.Done(); w.remoteOp(ctx, r, ra, kind, target, n, pick, due) }()
	case "edge_inbox":
		e := w.edges[int(pick%uint64(len(w.edges)))]
		target := w.locals[int(pick>>8)%len(w.locals)]
		skew := time.Duration(int64(pick>>16)%3600-1800) * time.Second // ±30 min
		w.remoteWG.Add(1)
		go func() { defer w.remoteWG.Done(); w.edgePost(ctx, e, target, n, skew, due) }()
	}
}

var visibilities = []string{"public", "unlisted", "private", "direct"}

func (w *world) planPost(u *localUser, kind string, n int) *post {
	p := &post{key: fmt.Sprintf("soak-%d-%d", w.o.Seed, n), author: u, visibility: visibilities[w.rnd.IntN(3)]}
	if kind == "dm" {
		p.visibility = "direct"
	} else {
		p.withMedia = w.rnd.IntN(6) == 0 // one in six public, unlisted or private posts
	}
	// Mentions: another local account (any tenant), sometimes a remote one.
	for range 1 + w.rnd.IntN(2) {
		if kind != "dm" && w.rnd.IntN(3) == 0 {
			break
		}
		if len(w.remotes) > 0 && w.rnd.IntN(4) == 0 {
			r := w.remotes[w.rnd.IntN(len(w.remotes))]
			p.mentions = append(p.mentions, r.users[w.rnd.IntN(len(r.users))].acct())
			continue
		}
		if o := w.locals[w.rnd.IntN(len(w.locals))]; o != u {
			p.mentions = append(p.mentions, o.acct())
		}
	}
	if kind == "dm" && len(p.mentions) == 0 {
		p.mentions = []string{w.locals[(slices.Index(w.locals, u)+1)%len(w.locals)].acct()}
	}
	if kind == "reply" {
		p.replyTo = "?" // a status from its home timeline, chosen when it runs
	}
	if w.rnd.IntN(2) == 0 {
		u.ownPlanned = append(u.ownPlanned, p)
	}
	return p
}

func (p *post) text() string {
	var b strings.Builder
	for _, m := range p.mentions {
		b.WriteString("@" + m + " ")
	}
	fmt.Fprintf(&b, "soak post [%s] %s", p.key, p.visibility)
	return b.String()
}

func (w *world) doPost(ctx context.Context, u *localUser, p *post, pick uint64, due time.Time) {
	form := url.Values{"status": {p.text()}, "visibility": {p.visibility}}
	var up *upload
	if p.withMedia {
		var ok bool
		if up, ok = w.uploadMedia(ctx, u, p.key, due); !ok {
			return // failed: recorded
		}
		form.Set("media_ids[]", up.id)
	}
	if p.replyTo != "" {
		p.replyTo = ""
		if len(u.candidates) > 0 {
			p.replyTo = u.candidates[int(pick%uint64(len(u.candidates)))].ID
			form.Set("in_reply_to_id", p.replyTo)
		}
	}
	r, err := w.cl.do(ctx, call{method: "POST", path: "/api/v1/statuses", domain: u.domain, token: u.token, form: form, key: p.key, due: due})
	if err != nil {
		w.fail("post %s by %s: %v", p.key, u.acct(), err)
		return
	}
	if !r.ok() {
		if r.status == 404 && p.replyTo != "" {
			return // the parent was deleted meanwhile
		}
		w.fail("post %s by %s: %d %s", p.key, u.acct(), r.status, clip(string(r.body), 200))
		return
	}
	st, err := decode[apiStatus](r.body)
	if err != nil || st.ID == "" {
		w.fail("post %s by %s: unreadable answer %s", p.key, u.acct(), clip(string(r.body), 200))
		return
	}
	if up != nil && (len(st.MediaAttachments) != 1 || st.MediaAttachments[0].ID != up.id) {
		w.fail("post %s by %s with upload %s acknowledged with attachments %+v", st.ID, u.acct(), up.id, st.MediaAttachments)
	}
	w.mu.Lock()
	p.id, p.uri, p.content, p.ackedAt, p.media = st.ID, st.URI, form.Get("status"), time.Now(), up
	w.posts = append(w.posts, p)
	w.mu.Unlock()
	w.ack("post")
}

func (w *world) doReact(ctx context.Context, u *localUser, kind string, pick uint64, due time.Time) {
	var pool []apiStatus
	for _, s := range u.candidates {
		if s.Reblog == nil && (kind == "favourite" || s.Visibility == "public" || s.Visibility == "unlisted") {
			pool = append(pool, s)
		}
	}
	if len(pool) == 0 {
		return
	}
	s := pool[int(pick%uint64(len(pool)))]
	path := "/api/v1/statuses/" + s.ID + "/" + map[string]string{"favourite": "favourite", "boost": "reblog"}[kind]
	r, err := w.cl.do(ctx, call{method: "POST", path: path, domain: u.domain, token: u.token, due: due})
	if err != nil {
		w.fail("%s of %s by %s: %v", kind, s.ID, u.acct(), err)
		return
	}
	if r.status == 404 {
		return // deleted since it was read
	}
	if !r.ok() {
		w.fail("%s of %s by %s: %d %s", kind, s.ID, u.acct(), r.status, clip(string(r.body), 200))
		return
	}
	ref := ackedRef{user: u, statusID: s.ID}
	if kind == "boost" {
		b, _ := decode[apiStatus](r.body)
		ref.resultID = b.ID
	}
	w.mu.Lock()
	if kind == "boost" {
		w.boosts = append(w.boosts, ref)
	} else {
		w.favs = append(w.favs, ref)
	}
	w.mu.Unlock()
	w.ack(kind)
}

// planFollow picks whom u follows or stops following: local accounts
// only (follows of remote accounts are made once, before the run).
func (w *world) planFollow(u *localUser, follow bool, pick uint64) string {
	var pool []string
	for _, o := range w.locals {
		if o != u && u.plannedFollows[o.acct()] != follow && (follow || !u.pinned[o.acct()]) {
			pool = append(pool, o.acct())
		}
	}
	if len(pool) == 0 {
		return ""
	}
	acct := pool[int(pick%uint64(len(pool)))]
	u.plannedFollows[acct] = follow
	return acct
}

func (w *world) doFollow(ctx context.Context, u *localUser, acct string, follow bool, due time.Time) {
	id, err := w.resolve(ctx, u, acct)
	if err != nil {
		w.fail("resolve %s for %s: %v", acct, u.acct(), err)
		return
	}
	verb := map[bool]string{true: "follow", false: "unfollow"}[follow]
	sent := time.Now()
	if follow {
		u.mu.Lock()
		u.everFollow[acct] = true
		u.mu.Unlock()
	}
	r, err := w.cl.do(ctx, call{method: "POST", path: "/api/v1/accounts/" + id + "/" + verb, domain: u.domain, token: u.token, due: due})
	if err == nil && !r.ok() {
		err = fmt.Errorf("%d %s", r.status, clip(string(r.body), 200))
	}
	if err != nil {
		w.fail("%s %s by %s: %v", verb, acct, u.acct(), err)
		return
	}
	u.followed[acct] = follow
	u.followLog[acct] = append(u.followLog[acct], event{follow: follow, sent: sent, done: time.Now()})
	w.ack(verb)
}

// resolve finds acct's account id on u's tenant (search with resolve:
// WebFinger and the actor fetched when it is not known yet).
func (w *world) resolve(ctx context.Context, u *localUser, acct string) (string, error) {
	if id := u.targetIDs[acct]; id != "" {
		return id, nil
	}
	q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "type": {"accounts"}}
	var r reply
	var res struct {
		Accounts []struct{ ID, Acct string } `json:"accounts"`
	}
	// A resolve whose fetch timed out (a loaded machine, a remote behind a
	// toxic) finds nothing: asked again, a few times.
	for try := 0; try < 6 && len(res.Accounts) == 0; try++ {
		if try > 0 {
			time.Sleep(2 * time.Second)
		}
		var err error
		if r, err = w.cl.do(ctx, call{method: "GET", path: "/api/v2/search?" + q.Encode(), domain: u.domain, token: u.token}); err != nil {
			return "", err
		}
		if r.ok() {
			res, _ = decode[struct {
				Accounts []struct{ ID, Acct string } `json:"accounts"`
			}](r.body)
		}
	}
	if len(res.Accounts) == 0 {
		return "", fmt.Errorf("search answered %d %s", r.status, clip(string(r.body), 200))
	}
	u.targetIDs[acct] = res.Accounts[0].ID
	return res.Accounts[0].ID, nil
}

func (w *world) doChange(ctx context.Context, u *localUser, p *post, del bool, n int, due time.Time) {
	w.mu.Lock()
	id, up := p.id, p.media
	if del && id != "" {
		p.delStarted = time.Now()
	}
	w.mu.Unlock()
	if id == "" {
		return // never acknowledged
	}
	c := call{method: "DELETE", path: "/api/v1/statuses/" + id, domain: u.domain, token: u.token, due: due}
	text := ""
	if !del {
		text = fmt.Sprintf("%s (edit %d)", p.text(), n)
		c.method, c.form = "PUT", url.Values{"status": {text}}
		if up != nil { // an edit lists the media it keeps, as apps send it
			c.form.Set("media_ids[]", up.id)
		}
	}
	r, err := w.cl.do(ctx, c)
	if err != nil {
		w.fail("%s %s: %v", c.method, id, err)
		return
	}
	// A delete whose first answer was lost finds nothing the second time.
	if !r.ok() && !(del && r.status == 404 && r.attempts > 1) {
		w.fail("%s %s by %s: %d %s", c.method, id, u.acct(), r.status, clip(string(r.body), 200))
		return
	}
	w.mu.Lock()
	if del {
		p.deleted = true
	} else {
		p.edited, p.content = true, text
	}
	w.mu.Unlock()
	w.ack(map[bool]string{true: "delete", false: "edit"}[del])
}

// readHome reads two pages of u's home timeline, checking every status
// against what u may see, and keeps them as targets for reactions.
func (w *world) readHome(ctx context.Context, u *localUser, due time.Time) {
	path := "/api/v1/timelines/home?limit=20"
	var got []apiStatus
	for page := 0; page < 2; page++ {
		r, err := w.cl.do(ctx, call{method: "GET", path: path, domain: u.domain, token: u.token, due: due})
		if err != nil || !r.ok() {
			w.fail("home of %s: %v %d", u.acct(), err, r.status)
			return
		}
		sts, err := decode[[]apiStatus](r.body)
		if err != nil {
			w.fail("home of %s: %v", u.acct(), err)
			return
		}
		got = append(got, sts...)
		if len(sts) < 20 {
			break
		}
		path = "/api/v1/timelines/home?limit=20&max_id=" + sts[len(sts)-1].ID
	}
	for _, s := range got {
		w.checkVisible(u, s, "home")
	}
	u.candidates = append(got, u.candidates...)
	if len(u.candidates) > 200 {
		u.candidates = u.candidates[:200]
	}
	w.ack("home")
}

// fullAcct makes a same-tenant acct ("u1") absolute.
func fullAcct(acct, domain string) string {
	if strings.Contains(acct, "@") {
		return acct
	}
	return acct + "@" + domain
}

// checkVisible: a private or direct status shown to u must be u's own,
// mention u, or (private) be by someone u follows or ever tried to; any
// other is another account's — maybe another tenant's — private data.
func (w *world) checkVisible(u *localUser, s apiStatus, where string) {
	if s.Reblog != nil {
		if s.Reblog.Visibility == "private" || s.Reblog.Visibility == "direct" {
			w.violate("privacy: %s saw a boost %s of a %s status %s in %s", u.acct(), s.ID, s.Reblog.Visibility, s.Reblog.ID, where)
		}
		w.checkVisible(u, *s.Reblog, where)
		return
	}
	if s.Visibility != "private" && s.Visibility != "direct" {
		return
	}
	author := fullAcct(s.Account.Acct, u.domain)
	if author == u.acct() {
		return
	}
	for _, m := range s.Mentions {
		if fullAcct(m.Acct, u.domain) == u.acct() {
			return
		}
	}
	if s.Visibility == "private" && u.followedEver(author) {
		return
	}
	w.violate("privacy: %s (tenant %s) saw %s status %s by %s in %s", u.acct(), u.domain, s.Visibility, s.ID, author, where)
}

func (u *localUser) followedEver(acct string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.everFollow[acct]
}
