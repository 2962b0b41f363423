package list

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// fakeStore keeps lists in memory, each owned by one account.
type fakeStore struct {
	federation.ListStore // methods the tests do not reach panic
	lists                map[int64]federation.List
	saved                []federation.List
	added                [][]int64
	timeline             bool
}

func (f *fakeStore) List(_ context.Context, ownerID, id int64) (*federation.List, error) {
	l, ok := f.lists[id]
	if !ok || l.AccountID != ownerID {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return &l, nil
}

func (f *fakeStore) SaveList(_ context.Context, ownerID int64, l federation.List) (*federation.List, error) {
	l.AccountID = ownerID
	f.saved = append(f.saved, l)
	return &l, nil
}

func (f *fakeStore) AddListMembers(_ context.Context, _, _ int64, ids []int64) error {
	f.added = append(f.added, ids)
	return nil
}

func (f *fakeStore) ListTimeline(context.Context, int64, *federation.List, federation.Page) ([]int64, error) {
	f.timeline = true
	return []int64{3, 2, 1}, nil
}

func newService() (*Service, *fakeStore) {
	st := &fakeStore{lists: map[int64]federation.List{
		1: {ID: 1, AccountID: 10, Title: "mine", RepliesPolicy: federation.RepliesList},
		2: {ID: 2, AccountID: 20, Title: "theirs", RepliesPolicy: federation.RepliesList},
		3: {ID: 3, AccountID: 10, Title: federation.ForYouTitle, ForYou: true},
	}}
	return &Service{Store: st}, st
}

func ptr[T any](v T) *T { return &v }

func TestCreateValidatesTitleAndRepliesPolicy(t *testing.T) {
	cases := []struct {
		name string
		ch   Changes
		want string // "" saves
	}{
		{"no title", Changes{}, "Title can't be blank"},
		{"blank title", Changes{Title: ptr("  ")}, "Title can't be blank"},
		{"long title", Changes{Title: ptr(strings.Repeat("é", MaxTitle+1))}, "Title is too long (maximum is 200 characters)"},
		{"bad policy", Changes{Title: ptr("x"), RepliesPolicy: ptr("all")}, "replies_policy must be followed, list or none"},
		{"ok", Changes{Title: ptr(" Friends "), RepliesPolicy: ptr(federation.RepliesNone), Exclusive: ptr(true)}, ""},
	}
	for _, c := range cases {
		s, st := newService()
		l, err := s.Create(context.Background(), 10, c.ch)
		if c.want != "" {
			if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) || len(st.saved) != 0 {
				t.Errorf("%s: %v (saved %d)", c.name, err, len(st.saved))
			}
			continue
		}
		if err != nil || l.Title != "Friends" || l.RepliesPolicy != federation.RepliesNone || !l.Exclusive {
			t.Errorf("%s: %+v, %v", c.name, l, err)
		}
	}
}

func TestUpdateKeepsWhatIsNotChangedAndOnlyTheOwners(t *testing.T) {
	s, st := newService()
	l, err := s.Update(context.Background(), 10, 1, Changes{Exclusive: ptr(true)})
	if err != nil || l.Title != "mine" || l.RepliesPolicy != federation.RepliesList || !l.Exclusive {
		t.Fatalf("update = %+v, %v", l, err)
	}
	if _, err := s.Update(context.Background(), 10, 2, Changes{Title: ptr("x")}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("another's list: %v", err)
	}
	if len(st.saved) != 1 {
		t.Errorf("saved %d lists, want 1", len(st.saved))
	}
}

func TestAddMembersBoundsAndOwnership(t *testing.T) {
	ctx := context.Background()
	s, st := newService()
	if err := s.AddMembers(ctx, 10, 2, []int64{5}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("another's list: %v", err)
	}
	if err := s.AddMembers(ctx, 10, 1, nil); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("no ids: %v", err)
	}
	many := make([]int64, MaxMembersAtOnce+1)
	if err := s.AddMembers(ctx, 10, 1, many); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("too many ids: %v", err)
	}
	if err := s.AddMembers(ctx, 10, 1, []int64{5, 6}); err != nil || len(st.added) != 1 {
		t.Errorf("add: %v (%d calls)", err, len(st.added))
	}
}

func TestTimelineOfForYouIsTheRankedFeed(t *testing.T) {
	ctx := context.Background()
	s, st := newService()
	ids, forYou, err := s.Timeline(ctx, 10, 3, federation.Page{Limit: 20})
	if err != nil || !forYou || ids != nil || st.timeline {
		t.Fatalf("For you: %v %v %v (store read: %v)", ids, forYou, err, st.timeline)
	}
	ids, forYou, err = s.Timeline(ctx, 10, 1, federation.Page{Limit: 20})
	if err != nil || forYou || len(ids) != 3 {
		t.Fatalf("list: %v %v %v", ids, forYou, err)
	}
	if _, _, err := s.Timeline(ctx, 10, 2, federation.Page{}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("another's list: %v", err)
	}
}
