package status

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// fakeDrafts: alice's defaults are private, sensitive, "de"; key "k1"
// already created status 7.
type fakeDrafts struct{ remembered map[string]int64 }

func (f *fakeDrafts) Preferences(context.Context, int64) (federation.Preferences, error) {
	return federation.Preferences{Privacy: federation.Private, Sensitive: true, Language: "de"}, nil
}

func (f *fakeDrafts) IdempotentStatus(_ context.Context, _ int64, key string) (int64, error) {
	if key == "k1" {
		return 7, nil
	}
	return 0, nil
}

func (f *fakeDrafts) RememberIdempotency(_ context.Context, _ int64, key string, id int64) error {
	f.remembered[key] = id
	return nil
}

func newComposer() (*Service, *fakeDrafts) {
	d := &fakeDrafts{remembered: map[string]int64{}}
	s, _ := newService()
	s.Drafts = d
	return s, d
}

func TestComposeRetryScheduledAndDefaults(t *testing.T) {
	ctx := context.Background()
	s, d := newComposer()
	attached := 0
	attach := func(context.Context) error { attached++; return nil }

	if c, err := s.Compose(ctx, alice, Draft{IdempotencyKey: " k1 ", ScheduledAt: "tomorrow", Attach: attach}); err != nil || c.Replay != 7 || attached != 0 {
		t.Errorf("retry: %+v %v (attached %d)", c, err, attached)
	}
	if _, err := s.Compose(ctx, alice, Draft{IdempotencyKey: strings.Repeat("k", MaxIdempotencyKey+1)}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("long key: %v", err)
	}
	if _, err := s.Compose(ctx, alice, Draft{ScheduledAt: "2030-01-01T00:00:00Z", Attach: attach}); errs.CodeOf(err) != errs.Invalid || attached != 0 {
		t.Errorf("scheduled: %v (attached %d)", err, attached)
	}
	c, err := s.Compose(ctx, alice, Draft{Attach: attach})
	if err != nil || c.Visibility != federation.Private || !c.Sensitive || c.Language != "de" || attached != 1 {
		t.Errorf("defaults: %+v %v", c, err)
	}
	off := false
	c, _ = s.Compose(ctx, alice, Draft{Visibility: "public", Sensitive: &off, Language: "en"})
	if c.Visibility != federation.Public || c.Sensitive || c.Language != "en" {
		t.Errorf("asked for: %+v", c)
	}
	if err := s.Posted(ctx, alice, " k2 ", 9); err != nil || d.remembered["k2"] != 9 {
		t.Errorf("remember: %v %v", err, d.remembered)
	}
	if err := s.Posted(ctx, alice, "", 9); err != nil || len(d.remembered) != 1 {
		t.Errorf("no key remembered: %v", d.remembered)
	}
}

func TestComposeReplyNeedsAVisibleParent(t *testing.T) {
	ctx := context.Background()
	s, _ := newComposer()
	for _, id := range []string{"5", "x", "-1"} {
		if _, err := s.Compose(ctx, alice, Draft{InReplyToID: id}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("reply to %s: %v", id, err)
		}
	}
	if c, err := s.Compose(ctx, alice, Draft{InReplyToID: "3"}); err != nil || c.InReplyToURI != "u3" {
		t.Errorf("reply: %+v %v", c, err)
	}
}
