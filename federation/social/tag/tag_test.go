package tag

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func TestIssue17TagNames(t *testing.T) {
	for raw, want := range map[string]string{"#Cats": "cats", " dogs ": "dogs", "Ünïcode_1": "ünïcode_1"} {
		if got, ok := Name(raw); !ok || got != want {
			t.Errorf("Name(%q) = %q %v, want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", "#", "two words", "a-b", "x" + string(make([]byte, 100))} {
		if _, ok := Name(raw); ok {
			t.Errorf("Name(%q) is a hashtag", raw)
		}
	}
}

func TestIssue17TimelineFilterModes(t *testing.T) {
	base := federation.TimelineFilter{Local: true, OnlyMedia: true}
	f, ok := TimelineFilter(Modes{Any: []string{"A", "#a", "b", "c", "d", "e"}, None: []string{"bad tag", "x"}}, base)
	if !ok || !f.Local || !f.OnlyMedia || !slices.Equal(f.Any, []string{"a", "b", "c", "d"}) || !slices.Equal(f.None, []string{"x"}) {
		t.Errorf("modes: %+v %v", f, ok)
	}
	if _, ok := TimelineFilter(Modes{All: []string{"ok", "not ok"}}, base); ok {
		t.Error("all[] with a non-hashtag can still match")
	}
}

// fakeStore answers states and histories for any name; it records the
// follows asked for.
type fakeStore struct {
	federation.TagStore
	followed []string
}

func (f *fakeStore) TagStates(_ context.Context, _ int64, names []string) ([]federation.TagState, error) {
	var out []federation.TagState
	for i, n := range names {
		out = append(out, federation.TagState{ID: int64(i + 1), Name: n, Following: slices.Contains(f.followed, n)})
	}
	return out, nil
}

func (f *fakeStore) TagHistories(_ context.Context, _ int64, names []string) ([]federation.TagStats, error) {
	var out []federation.TagStats
	for _, n := range names {
		out = append(out, federation.TagStats{Name: n, History: []federation.TagDay{{Uses: 1}}})
	}
	return out, nil
}

func (f *fakeStore) FollowTag(_ context.Context, _ int64, name string) error {
	f.followed = append(f.followed, name)
	return nil
}

func TestIssue17FollowNormalisesAndShows(t *testing.T) {
	st := &fakeStore{}
	s := &Service{Store: st}
	got, err := s.Follow(context.Background(), 1, 10, "#Cats")
	if err != nil || got.Name != "cats" || !got.Following || len(got.History) != 1 || !slices.Equal(st.followed, []string{"cats"}) {
		t.Fatalf("follow: %+v %v %v", got, err, st.followed)
	}
	if _, err := s.Follow(context.Background(), 1, 10, "not a tag"); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("follow a non-hashtag: %v", err)
	}
	if _, err := s.Feature(context.Background(), 10, "not a tag"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("feature a non-hashtag: %v", err)
	}
	if len(st.followed) != 1 {
		t.Errorf("a refused name reached the store: %v", st.followed)
	}
}
