package filter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// fakeStore keeps filters in memory; SaveFilter records what it was asked
// to write and applies it as the real store does.
type fakeStore struct {
	federation.FilterStore
	filters map[int64]*federation.Filter
	saves   []federation.Filter
	drops   [][]int64
	deleted []string
	next    int64
}

func (f *fakeStore) Filters(_ context.Context, ownerID int64) ([]*federation.Filter, error) {
	var out []*federation.Filter
	for _, x := range f.filters {
		if x.AccountID == ownerID {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeStore) Filter(_ context.Context, ownerID, id int64) (*federation.Filter, error) {
	x, ok := f.filters[id]
	if !ok || x.AccountID != ownerID {
		return nil, errNotFound
	}
	cp := *x
	cp.Keywords = append([]federation.FilterKeyword(nil), x.Keywords...)
	return &cp, nil
}

func (f *fakeStore) FilterOfKeyword(ctx context.Context, ownerID, keywordID int64) (*federation.Filter, error) {
	for _, x := range f.filters {
		for _, k := range x.Keywords {
			if k.ID == keywordID && x.AccountID == ownerID {
				return f.Filter(ctx, ownerID, x.ID)
			}
		}
	}
	return nil, errNotFound
}

func (f *fakeStore) SaveFilter(_ context.Context, ownerID int64, in *federation.Filter, drop []int64) (*federation.Filter, error) {
	f.saves = append(f.saves, *in)
	f.drops = append(f.drops, drop)
	out := *in
	out.AccountID = ownerID
	if out.ID == 0 {
		f.next++
		out.ID = 100 + f.next
	}
	var kws []federation.FilterKeyword
	if old, ok := f.filters[out.ID]; ok {
		kws = old.Keywords
	}
	for _, k := range in.Keywords {
		if k.ID == 0 {
			f.next++
			k.ID = 1000 + f.next
			kws = append(kws, k)
			continue
		}
		for i := range kws {
			if kws[i].ID == k.ID {
				kws[i] = k
			}
		}
	}
	out.Keywords = kws
	f.filters[out.ID] = &out
	return &out, nil
}

func (f *fakeStore) DeleteFilter(_ context.Context, _, id int64) error {
	f.deleted = append(f.deleted, "filter")
	return nil
}

func (f *fakeStore) DeleteFilterKeyword(_ context.Context, _, id int64) error {
	f.deleted = append(f.deleted, "keyword")
	return nil
}

func (f *fakeStore) AddFilterStatus(_ context.Context, _, filterID, statusID int64) (*federation.FilterStatus, error) {
	return &federation.FilterStatus{ID: 9, FilterID: filterID, StatusID: statusID}, nil
}

// fakeViews lets the viewer see status 50 only.
type fakeViews struct{}

func (fakeViews) StatusViews(_ context.Context, _ int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		if id == 50 {
			out = append(out, &federation.StatusView{Status: &federation.Status{ID: 50}})
		}
	}
	return out, nil
}

type fakeHidden struct {
	domains   []string
	exclusive []int64
}

func (h fakeHidden) Hidden(context.Context, int64) ([]string, []int64, error) {
	return h.domains, h.exclusive, nil
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newService() (*Service, *fakeStore) {
	st := &fakeStore{filters: map[int64]*federation.Filter{
		1: {ID: 1, AccountID: 10, Title: "spoilers", Context: []string{"home"}, Action: federation.FilterWarn,
			Keywords: []federation.FilterKeyword{{ID: 11, FilterID: 1, Keyword: "finale", WholeWord: true}}},
		2: {ID: 2, AccountID: 20, Title: "theirs", Context: []string{"home"}, Action: federation.FilterHide,
			Keywords: []federation.FilterKeyword{{ID: 21, FilterID: 2, Keyword: "x"}}},
	}}
	return &Service{Store: st, Statuses: fakeViews{}, Hidden: fakeHidden{}, Now: func() time.Time { return t0 }}, st
}

func ptr[T any](v T) *T { return &v }

func TestCreateValidation(t *testing.T) {
	ok := Settings{Title: ptr("t"), Context: ptr([]string{"home"})}
	with := func(f func(*Settings)) Settings { s := ok; f(&s); return s }
	cases := []struct {
		name string
		st   Settings
		kws  []KeywordChange
		want string
	}{
		{"no title", with(func(s *Settings) { s.Title = nil }), nil, "Title can't be blank"},
		{"long title", with(func(s *Settings) { s.Title = ptr(strings.Repeat("a", federation.MaxFilterTitleChar+1)) }), nil, "Title is too long"},
		{"no context", with(func(s *Settings) { s.Context = nil }), nil, "Context can't be blank"},
		{"bad context", with(func(s *Settings) { s.Context = ptr([]string{"home", "everywhere"}) }), nil, `context "everywhere"`},
		{"bad action", with(func(s *Settings) { s.Action = ptr("delete") }), nil, "filter_action must be warn or hide"},
		{"bad expiry", with(func(s *Settings) { s.ExpiresIn = ptr("soon") }), nil, "expires_in"},
		{"expiry too far", with(func(s *Settings) { s.ExpiresIn = ptr("315360001") }), nil, "expires_in"},
		{"blank keyword", ok, []KeywordChange{{Keyword: ""}}, "Keyword can't be blank"},
		{"long keyword", ok, []KeywordChange{{Keyword: strings.Repeat("k", federation.MaxFilterKeyword+1)}}, "Keyword is too long"},
	}
	for _, c := range cases {
		s, st := newService()
		_, err := s.Create(context.Background(), 10, c.st, c.kws)
		if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) || len(st.saves) != 0 {
			t.Errorf("%s: %v (saves %d)", c.name, err, len(st.saves))
		}
	}
}

func TestCreateDefaultsAndExpiryFromTheClock(t *testing.T) {
	s, st := newService()
	f, err := s.Create(context.Background(), 10, Settings{Title: ptr(" t "), Context: ptr([]string{"home", "home", "public"}),
		ExpiresIn: ptr("3600")}, []KeywordChange{{Keyword: "a"}, {Keyword: "b", WholeWord: ptr(false)}, {Keyword: "c", Destroy: true}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "t" || f.Action != federation.FilterWarn || strings.Join(f.Context, ",") != "home,public" {
		t.Errorf("filter = %+v", f)
	}
	if f.ExpiresAt == nil || !f.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("expires at %v, want %v", f.ExpiresAt, t0.Add(time.Hour))
	}
	kws := st.saves[0].Keywords
	if len(kws) != 2 || !kws[0].WholeWord || kws[1].WholeWord {
		t.Errorf("keywords written = %+v", kws)
	}
}

func TestUpdateWritesOnlyChangedKeywordsAndRefusesOthers(t *testing.T) {
	ctx := context.Background()
	s, st := newService()
	// Unchanged keyword 11 is not written; a new one is.
	if _, err := s.Update(ctx, 10, 1, Settings{}, []KeywordChange{{ID: 11, Keyword: "finale"}, {Keyword: "ending"}}); err != nil {
		t.Fatal(err)
	}
	if kws := st.saves[0].Keywords; len(kws) != 1 || kws[0].Keyword != "ending" {
		t.Errorf("written %+v", kws)
	}
	if _, err := s.Update(ctx, 10, 1, Settings{}, []KeywordChange{{ID: 11, Destroy: true}}); err != nil || len(st.drops[1]) != 1 {
		t.Errorf("destroy: %v, drops %v", err, st.drops)
	}
	// Another filter's keyword, or a malformed id (-1), is not found.
	for _, id := range []int64{21, -1} {
		if _, err := s.Update(ctx, 10, 1, Settings{}, []KeywordChange{{ID: id, Keyword: "y"}}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("keyword %d: %v", id, err)
		}
	}
	if _, err := s.Update(ctx, 10, 2, Settings{Title: ptr("mine now")}, nil); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("another's filter: %v", err)
	}
}

func TestKeywordsAndStatusesStayTheOwners(t *testing.T) {
	ctx := context.Background()
	s, _ := newService()
	if _, err := s.AddKeyword(ctx, 10, 2, "x", nil); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("keyword on another's filter: %v", err)
	}
	if _, err := s.UpdateKeyword(ctx, 10, 21, ptr("y"), nil); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("another's keyword: %v", err)
	}
	k, err := s.AddKeyword(ctx, 10, 1, " twist ", nil)
	if err != nil || k.Keyword != "twist" || !k.WholeWord || k.ID == 0 {
		t.Errorf("AddKeyword = %+v, %v", k, err)
	}
	if _, err := s.AddStatus(ctx, 10, 1, 51); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("status the owner cannot see: %v", err)
	}
	if fs, err := s.AddStatus(ctx, 10, 1, 50); err != nil || fs.StatusID != 50 {
		t.Errorf("AddStatus = %+v, %v", fs, err)
	}
}

func TestV1CreateTitlesAfterThePhraseAndDeleteTakesTheLastKeywordsFilter(t *testing.T) {
	ctx := context.Background()
	s, st := newService()
	long := strings.Repeat("p", federation.MaxFilterTitleChar+5)
	f, k, err := s.CreateV1(ctx, 10, V1Changes{Phrase: ptr(long), Context: ptr([]string{"public"}), Irreversible: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len([]rune(f.Title)) != federation.MaxFilterTitleChar || f.Action != federation.FilterHide || k.Keyword != long || !k.WholeWord {
		t.Errorf("v1 filter %+v keyword %+v", f, k)
	}
	if err := s.DeleteV1(ctx, 10, k.ID); err != nil || st.deleted[0] != "filter" {
		t.Errorf("deleting the last keyword: %v %v", err, st.deleted)
	}
	if _, _, err := s.CreateV1(ctx, 10, V1Changes{Phrase: ptr("x")}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("v1 without context: %v", err)
	}
}

func TestViewingHidesByPlace(t *testing.T) {
	s, _ := newService()
	s.Hidden = fakeHidden{domains: []string{"spam.example"}, exclusive: []int64{7}}
	home, err := s.Viewing(context.Background(), 10, Home)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := s.Viewing(context.Background(), 10, Account)
	list, _ := s.Viewing(context.Background(), 10, List)
	if !home.HidesDomain("a.spam.example") || home.HidesDomain("") || acct.HidesDomain("spam.example") {
		t.Error("domain blocks apply at home, not on an account's page")
	}
	if !home.HidesAuthor(7) || list.HidesAuthor(7) {
		t.Error("exclusive list members are hidden at home only")
	}
	st := &federation.Status{Content: "<p>the finale!</p>"}
	if hide, m := list.Match(1, st); hide || len(m) != 1 || m[0].Keywords[0] != "finale" {
		t.Errorf("a list is filtered as home: %v %v", hide, m)
	}
	if _, m := acct.Match(1, st); len(m) != 0 {
		t.Errorf("a home filter matched on an account page: %v", m)
	}
	s.Store.(*fakeStore).filters[1].Action = federation.FilterHide
	if hide, _ := home.Match(1, st); !hide {
		t.Error("a hide filter did not hide")
	}
	expired := t0.Add(-time.Second)
	s.Store.(*fakeStore).filters[1].ExpiresAt = &expired
	if hide, m := home.Match(1, st); hide || len(m) != 0 {
		t.Error("an expired filter still applies")
	}
}
