package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/federation/social/schedule"
	"github.com/roost-social/roost/internal/errs"
)

// Scheduled posts on a real database, published by the real outbox:
// exactly once across concurrent workers, stale workers and failed
// transactions; limits; reserved uploads; each account's apart.

type schedLocals struct{ federation.Locals }

func (schedLocals) Links(_ context.Context, a *federation.Account) (federation.Links, error) {
	return federation.Links{Base: "https://" + a.Domain}, nil
}

type schedNoDispatch struct{}

func (schedNoDispatch) Dispatch(context.Context, bool, []int64) error { return nil }

type schedWorld struct {
	*moreWorld
	clock time.Time
	mu    sync.Mutex
}

func (w *schedWorld) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

func (w *schedWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = w.clock.Add(d)
}

// service is one worker's use case: its own outbox over the shared store.
func (w *schedWorld) service() *schedule.Service {
	ob := &outbox.Service{Locals: schedLocals{}, Publisher: w.s, Dispatch: schedNoDispatch{}, Store: w.s}
	return &schedule.Service{Store: w.s, Poster: ob, Now: w.now, Due: schedule.Due{Accounts: w.s, Views: w.s,
		Media: &media.Service{Store: mediapg.New(w.db)}, Links: schedLocals{}}}
}

func newSchedWorld(t *testing.T) *schedWorld {
	return &schedWorld{moreWorld: newMoreWorld(t), clock: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (w *schedWorld) schedule(who *federation.Account, text string, in time.Duration) *federation.ScheduledStatus {
	w.t.Helper()
	sc, err := w.service().Schedule(context.Background(), who, w.now().Add(in),
		federation.ScheduledParams{Text: text, Visibility: federation.Public})
	if err != nil {
		w.t.Fatal(err)
	}
	return sc
}

func (w *schedWorld) posts(who *federation.Account, text string) int64 {
	return count(w.t, w.db, `select count(*) from statuses where account_id = $1 and text = $2`, who.ID, text)
}

func TestIssue17ScheduledPublishedOnceByConcurrentWorkers(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	const n = 60       // more than one batch
	for i := range n { // stored directly: more than a day's limit
		if _, err := w.s.Schedule(ctx, federation.ScheduledStatus{AccountID: w.alice.ID, TenantID: w.alice.TenantID,
			ScheduledAt: w.now().Add(10*time.Minute + time.Duration(i)*time.Second),
			Params:      federation.ScheduledParams{Text: fmt.Sprintf("post %d", i), Visibility: federation.Public}}, federation.ScheduleLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	later := w.schedule(w.alice, "later", 48*time.Hour)
	if err := w.service().Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(t, w.db, `select count(*) from statuses where account_id = $1`, w.alice.ID); c != 0 {
		t.Fatalf("%d posts published before they were due", c)
	}
	w.advance(20 * time.Minute)
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- w.service().Pass(ctx) }()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if c := w.posts(w.alice, fmt.Sprintf("post %d", i)); c != 1 {
			t.Errorf("post %d published %d times", i, c)
		}
	}
	if _, err := w.s.ScheduledStatus(ctx, w.alice.ID, later.ID); err != nil {
		t.Errorf("the post not yet due: %v", err)
	}
	if c := count(t, w.db, `select count(*) from scheduled_statuses where account_id = $1`, w.alice.ID); c != 1 {
		t.Errorf("%d scheduled rows left, want 1 (the later one)", c)
	}
}

// A worker that claimed a post and stalled (or crashed) past its lease:
// another worker publishes it; when the first resumes, its publication
// finds the row consumed and posts nothing. Racing publications of one
// row: one wins. A publication whose transaction fails leaves the row
// to be published once later.
func TestIssue17ScheduledStaleWorkerAndFailedTransactionPostOnce(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	sc := w.schedule(w.alice, "once", 10*time.Minute)
	w.advance(11 * time.Minute)
	claimed, err := w.s.ClaimDueScheduled(ctx, w.now(), schedule.Lease, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if again, _ := w.s.ClaimDueScheduled(ctx, w.now(), schedule.Lease, 10); len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %v", again)
	}
	w.advance(schedule.Lease + time.Second) // the first worker is gone
	if err := w.service().Pass(ctx); err != nil {
		t.Fatal(err)
	}
	ob := &outbox.Service{Locals: schedLocals{}, Publisher: w.s, Dispatch: schedNoDispatch{}, Store: w.s}
	if _, err := ob.PostScheduled(ctx, w.alice, claimed[0], "", nil); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("the stale worker's publication: %v, want a conflict", err)
	}
	if c := w.posts(w.alice, "once"); c != 1 {
		t.Fatalf("published %d times", c)
	}

	// Two publications of one row at once.
	race := w.schedule(w.alice, "race", 10*time.Minute)
	var wg sync.WaitGroup
	results := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ob.PostScheduled(ctx, w.alice, *race, "", nil)
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errs.CodeOf(err) != errs.Conflict:
			t.Errorf("racing publication: %v", err)
		}
	}
	if won != 1 || w.posts(w.alice, "race") != 1 {
		t.Errorf("%d publications won, %d posts", won, w.posts(w.alice, "race"))
	}

	// A publication whose transaction fails after consuming the row.
	failed := w.schedule(w.alice, "retried", 10*time.Minute)
	_, _, err = w.s.Publish(ctx, &federation.Status{AccountID: w.alice.ID, TenantID: w.alice.TenantID, Text: "retried",
		Content: "<p>retried</p>", Visibility: federation.Public, ScheduledID: failed.ID, Published: w.now()},
		func(id int64) string { return fmt.Sprintf("https://a.example/users/alice/statuses/%d", id) },
		func(*federation.Status) (string, []byte, error) { return "", nil, fmt.Errorf("the worker died") })
	if err == nil {
		t.Fatal("the failing publication succeeded")
	}
	if _, err := w.s.ScheduledStatus(ctx, w.alice.ID, failed.ID); err != nil {
		t.Fatalf("the row went with the failed transaction: %v", err)
	}
	w.advance(11 * time.Minute)
	if err := w.service().Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.posts(w.alice, "retried"); c != 1 {
		t.Errorf("retried post published %d times", c)
	}
	_ = sc
}

func TestIssue17ScheduledLimitsAndTime(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	svc := w.service()
	p := federation.ScheduledParams{Text: "x", Visibility: federation.Public}
	if _, err := svc.Schedule(ctx, w.alice, w.now().Add(4*time.Minute), p); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("4 minutes ahead: %v, want invalid", err)
	}
	day := w.now().Add(24 * time.Hour).Truncate(24 * time.Hour)
	for i := range schedule.MaxPerDay {
		if _, err := svc.Schedule(ctx, w.alice, day.Add(time.Duration(i)*time.Minute), p); err != nil {
			t.Fatalf("post %d of the day: %v", i, err)
		}
	}
	if _, err := svc.Schedule(ctx, w.alice, day.Add(23*time.Hour), p); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("post 26 of the day: %v, want invalid", err)
	}
	other, err := svc.Schedule(ctx, w.alice, day.Add(25*time.Hour), p)
	if err != nil {
		t.Fatalf("the next day: %v", err)
	}
	if _, err := svc.Reschedule(ctx, w.alice, other.ID, day.Add(time.Hour)); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("moved into a full day: %v, want invalid", err)
	}
	if _, err := svc.Schedule(ctx, w.bob, day.Add(time.Hour), p); err != nil {
		t.Errorf("bob's own limit: %v", err)
	}
	// The 300 in all: fill the rest directly, over many days.
	if _, err := w.db.Exec(ctx, `insert into scheduled_statuses (tenant_id, account_id, scheduled_at, params)
		select $1, $2, $3::timestamptz + g * interval '1 day', '{"text":"x"}' from generate_series(10, 283) g`,
		w.alice.TenantID, w.alice.ID, day); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Schedule(ctx, w.alice, day.Add(5*24*time.Hour), p); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("post 301: %v, want invalid", err)
	}
	// Bad input changes nothing.
	if c := count(t, w.db, `select count(*) from scheduled_statuses where account_id = $1`, w.alice.ID); c != schedule.MaxTotal {
		t.Errorf("%d scheduled, want %d", c, schedule.MaxTotal)
	}
}

// Another account's scheduled post is not found to read, move or cancel.
func TestIssue17ScheduledOtherAccountsNotFound(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	svc := w.service()
	sc := w.schedule(w.alice, "mine", time.Hour)
	for _, who := range []*federation.Account{w.bob, w.carol} {
		if _, err := svc.Get(ctx, who, sc.ID); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%s reads: %v", who.Username, err)
		}
		if _, err := svc.Reschedule(ctx, who, sc.ID, w.now().Add(2*time.Hour)); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%s moves: %v", who.Username, err)
		}
		if err := svc.Cancel(ctx, who, sc.ID); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%s cancels: %v", who.Username, err)
		}
		if list, err := svc.List(ctx, who, federation.Page{Limit: 40}); err != nil || len(list) != 0 {
			t.Errorf("%s lists: %v %v", who.Username, list, err)
		}
	}
	got, err := svc.Get(ctx, w.alice, sc.ID)
	if err != nil || !got.ScheduledAt.Equal(w.now().Add(time.Hour)) {
		t.Errorf("unchanged: %v %v", got, err)
	}
}

// An upload a scheduled post holds is taken by no other post, scheduled
// or not, until the scheduled one publishes with it.
func TestIssue17ScheduledMediaStaysReserved(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	var m int64
	if err := w.db.QueryRow(ctx, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, state)
		values ($1, $2, 'image', 'image/png', 'sched-test-key', 10, 'ready') returning id`, w.alice.TenantID, w.alice.ID).Scan(&m); err != nil {
		t.Fatal(err)
	}
	svc := w.service()
	p := federation.ScheduledParams{Text: "with a picture", Visibility: federation.Public, MediaIDs: []int64{m}}
	sc, err := svc.Schedule(ctx, w.alice, w.now().Add(time.Hour), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Schedule(ctx, w.alice, w.now().Add(2*time.Hour), p); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("a second scheduled post with it: %v, want invalid", err)
	}
	ob := &outbox.Service{Locals: schedLocals{}, Publisher: w.s, Dispatch: schedNoDispatch{}, Store: w.s}
	if _, err := ob.Post(ctx, w.alice, outbox.NewPost{Text: "now", Media: []federation.Attachment{{MediaID: m, URL: "https://a.example/m"}}}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("a post now with it: %v, want invalid", err)
	}
	w.advance(2 * time.Hour)
	if err := svc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	var on int64
	if err := w.db.QueryRow(ctx, `select s.id from statuses s join media_attachments m on m.status_id = s.id
		where m.id = $1 and s.text = 'with a picture'`, m).Scan(&on); err != nil {
		t.Fatalf("published without its upload: %v", err)
	}
	if _, err := svc.Get(ctx, w.alice, sc.ID); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("still scheduled after publishing: %v", err)
	}
}

// A post being published (claimed) cannot be moved; a suspended
// account's or tenant's due posts are held, not published, until lifted.
func TestIssue17ScheduledClaimedAndSuspendedHeld(t *testing.T) {
	t.Parallel()
	w := newSchedWorld(t)
	ctx := context.Background()
	svc := w.service()
	sc := w.schedule(w.alice, "claimed", 10*time.Minute)
	w.advance(11 * time.Minute)
	if _, err := w.s.ClaimDueScheduled(ctx, w.now(), schedule.Lease, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reschedule(ctx, w.alice, sc.ID, w.now().Add(time.Hour)); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("moving a claimed post: %v, want invalid", err)
	}

	held := w.schedule(w.bob, "bob's", 10*time.Minute)
	tenantHeld := w.schedule(w.carol, "carol's", 10*time.Minute)
	if _, err := w.db.Exec(ctx, `insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`,
		w.bob.ID, w.bob.TenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `update tenants set status = 'suspended' where id = $1`, w.tb); err != nil {
		t.Fatal(err)
	}
	w.advance(schedule.Lease + 11*time.Minute)
	if err := svc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if w.posts(w.bob, "bob's") != 0 || w.posts(w.carol, "carol's") != 0 || w.posts(w.alice, "claimed") != 1 {
		t.Fatalf("published: bob %d, carol %d, alice %d", w.posts(w.bob, "bob's"), w.posts(w.carol, "carol's"), w.posts(w.alice, "claimed"))
	}
	for _, who := range []struct {
		a  *federation.Account
		id int64
	}{{w.bob, held.ID}, {w.carol, tenantHeld.ID}} {
		if _, err := svc.Get(ctx, who.a, who.id); err != nil {
			t.Errorf("%s's post is no longer held: %v", who.a.Username, err)
		}
	}
	if _, err := w.db.Exec(ctx, `delete from account_limits where account_id = $1`, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if w.posts(w.bob, "bob's") != 1 {
		t.Error("bob's post was not published once his suspension was lifted")
	}
}
