package schedule

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// In-file fakes: a store of due posts, a poster told how to fail per post.

type fakeStore struct {
	federation.ScheduleStore
	due     []federation.ScheduledStatus
	dropped []int64
	claimAt time.Time
}

func (f *fakeStore) ClaimDueScheduled(_ context.Context, now time.Time, _ time.Duration, limit int) ([]federation.ScheduledStatus, error) {
	f.claimAt = now
	n := min(limit, len(f.due))
	out := f.due[:n]
	f.due = f.due[n:]
	return out, nil
}

func (f *fakeStore) DropScheduled(_ context.Context, id int64) error {
	f.dropped = append(f.dropped, id)
	return nil
}

type fakePoster struct {
	fail   map[int64]error
	posted []int64
}

func (p *fakePoster) CheckScheduled(federation.ScheduledParams, int) error { return nil }

func (p *fakePoster) PostScheduled(_ context.Context, _ *federation.Account, st federation.ScheduledStatus, _ string, _ []federation.Attachment) (*federation.Status, error) {
	if st.ID == 4 {
		panic("boom")
	}
	if err := p.fail[st.ID]; err != nil {
		return nil, err
	}
	p.posted = append(p.posted, st.ID)
	return &federation.Status{}, nil
}

type fakeAccounts struct{}

func (fakeAccounts) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	return &federation.Account{ID: id, TenantID: 1, Domain: "a.example", Username: "alice"}, nil
}

type noMedia struct{}

func (noMedia) ForStatus(context.Context, int64, []string, int64) ([]*media.Attachment, error) {
	return nil, errs.E(errs.Invalid, "media 9 was not found")
}

// A pass publishes what it can, drops what can never be published (a
// rule broken, an upload gone, a panic), leaves what failed for now to
// the next pass, and takes another worker's publication as done.
func TestIssue17SchedulePassOutcomes(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	store := &fakeStore{}
	for id := int64(1); id <= 6; id++ {
		st := federation.ScheduledStatus{ID: id, AccountID: 10}
		if id == 6 {
			st.Params.MediaIDs = []int64{9}
		}
		store.due = append(store.due, st)
	}
	poster := &fakePoster{fail: map[int64]error{
		2: errs.E(errs.Conflict, "already published"),
		3: errors.New("connection refused"),
		5: errs.E(errs.Invalid, "a post is at most 500 characters"),
	}}
	s := &Service{Store: store, Poster: poster, Now: func() time.Time { return now },
		Due: Due{Accounts: fakeAccounts{}, Media: noMedia{}}}
	err := s.Pass(context.Background())
	if err == nil || errs.CodeOf(err) != errs.Internal {
		t.Errorf("pass: %v, want the transient failure reported", err)
	}
	if !store.claimAt.Equal(now) {
		t.Errorf("claimed by %v, want the injected clock", store.claimAt)
	}
	if len(poster.posted) != 1 || poster.posted[0] != 1 {
		t.Errorf("posted %v, want [1]", poster.posted)
	}
	if want := []int64{4, 5, 6}; len(store.dropped) != 3 || store.dropped[0] != 4 || store.dropped[1] != 5 || store.dropped[2] != 6 {
		t.Errorf("dropped %v, want %v", store.dropped, want)
	}
}

func TestIssue17ScheduleAtLeastFiveMinutesAhead(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Service{Now: func() time.Time { return now }}
	for _, c := range []struct {
		at time.Duration
		ok bool
	}{{-time.Hour, false}, {0, false}, {MinAhead - time.Second, false}, {MinAhead, true}, {time.Hour, true}} {
		if err := s.checkAt(now.Add(c.at)); (err == nil) != c.ok {
			t.Errorf("%v ahead: %v", c.at, err)
		}
	}
}
