package status

import (
	"context"
	"fmt"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Statuses: 1 alice's public post, 2 bob's boost of 1, 3 bob's private
// post, 4 alice's unlisted post; viewer 10 (alice) sees all but 5.
type fakeViews struct{}

var posts = map[int64]*federation.StatusView{
	1: {Status: &federation.Status{ID: 1, AccountID: 10, URI: "u1", Visibility: federation.Public}},
	2: {Status: &federation.Status{ID: 2, AccountID: 20, URI: "u2", Visibility: federation.Public}, ReblogOfID: 1},
	3: {Status: &federation.Status{ID: 3, AccountID: 20, URI: "u3", Visibility: federation.Private}},
	4: {Status: &federation.Status{ID: 4, AccountID: 10, URI: "u4", Visibility: federation.Unlisted}, Favourited: true},
}

func (fakeViews) StatusViews(_ context.Context, _ int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		if v, ok := posts[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

type recorder struct{ calls []string }

func (r *recorder) SetBookmark(_ context.Context, _, id int64, on bool) error {
	r.calls = append(r.calls, "bookmark")
	return nil
}

func (r *recorder) SetPin(_ context.Context, _, id int64, on bool) error {
	r.calls = append(r.calls, "pin")
	return nil
}

func (r *recorder) Like(_ context.Context, _ *federation.Account, uri string, undo bool) error {
	r.calls = append(r.calls, "like "+uri)
	return nil
}

func (r *recorder) Boost(_ context.Context, _ *federation.Account, uri string, undo bool) (int64, error) {
	r.calls = append(r.calls, fmt.Sprintf("boost %s undo=%v", uri, undo))
	if undo {
		return 0, nil
	}
	return 99, nil
}

func newService() (*Service, *recorder) {
	r := &recorder{}
	return &Service{Views: fakeViews{}, Marks: r, Publisher: r}, r
}

var alice = &federation.Account{ID: 10}

func TestActingOnABoostActsOnWhatItBoosted(t *testing.T) {
	s, r := newService()
	id, err := s.Favourite(context.Background(), alice, 2, true)
	if err != nil || id != 1 || len(r.calls) != 1 || r.calls[0] != "like u1" {
		t.Errorf("favourite boost: %d %v %v", id, err, r.calls)
	}
}

func TestRepeatedFavouriteSendsNothing(t *testing.T) {
	s, r := newService()
	if id, err := s.Favourite(context.Background(), alice, 4, true); err != nil || id != 4 || len(r.calls) != 0 {
		t.Errorf("favourite again: %d %v %v", id, err, r.calls)
	}
}

func TestOnlyPublicAndUnlistedPostsAreBoosted(t *testing.T) {
	s, r := newService()
	if _, err := s.Reblog(context.Background(), alice, 3, true); errs.CodeOf(err) != errs.Forbidden || len(r.calls) != 0 {
		t.Errorf("boosting a private post: %v %v", err, r.calls)
	}
	if id, err := s.Reblog(context.Background(), alice, 4, true); err != nil || id != 99 {
		t.Errorf("boosting an unlisted post: %d %v, want the boost's own id 99", id, err)
	}
}

func TestPinAndOwnNeedOnesOwnPost(t *testing.T) {
	ctx := context.Background()
	s, r := newService()
	if _, err := s.Pin(ctx, alice, 3, true); errs.CodeOf(err) != errs.Invalid || len(r.calls) != 0 {
		t.Errorf("pinning another's post: %v", err)
	}
	if id, err := s.Pin(ctx, alice, 2, true); err != nil || id != 1 {
		t.Errorf("pinning through a boost of one's own: %d %v", id, err)
	}
	for _, id := range []int64{2, 3, 5, 0} {
		if _, err := s.Own(ctx, alice, id); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("Own(%d): %v", id, err)
		}
	}
	if v, err := s.Own(ctx, alice, 1); err != nil || v.ID != 1 {
		t.Errorf("Own(1): %v", err)
	}
	if _, err := s.Bookmark(ctx, alice, 5, true); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("bookmarking an unseen post: %v", err)
	}
}
