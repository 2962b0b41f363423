package profile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

type fakeStore struct {
	account *federation.Account
	saved   []federation.ProfileUpdate
}

func (f *fakeStore) UpdateProfile(_ context.Context, _ int64, u federation.ProfileUpdate) error {
	f.saved = append(f.saved, u)
	if u.Fields != nil {
		f.account.Fields = *u.Fields
	}
	return nil
}

func (f *fakeStore) AccountByID(context.Context, int64) (*federation.Account, error) {
	cp := *f.account
	return &cp, nil
}

type fakePublisher struct {
	sent int
	err  error
}

func (p *fakePublisher) UpdateProfile(context.Context, *federation.Account) error {
	p.sent++
	return p.err
}

func ptr[T any](v T) *T { return &v }

var verifiedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newService() (*Service, *fakeStore, *fakePublisher, *federation.Account) {
	me := &federation.Account{ID: 1, Fields: []federation.Field{{Name: "web", Value: "https://me.example", VerifiedAt: &verifiedAt}}}
	st := &fakeStore{account: &federation.Account{ID: 1, Fields: me.Fields}}
	pub := &fakePublisher{}
	return &Service{Store: st, Publisher: pub}, st, pub, me
}

func TestUpdateValidationSavesNothingAndStoresNoImage(t *testing.T) {
	many := make([]federation.Field, MaxFields+1)
	for i := range many {
		many[i] = federation.Field{Name: "n", Value: "v"}
	}
	cases := []struct {
		name string
		ch   Changes
		want string
	}{
		{"display name", Changes{DisplayName: ptr(strings.Repeat("é", MaxDisplayName+1))}, "Display name is too long"},
		{"note", Changes{Note: ptr(strings.Repeat("n", MaxNote+1))}, "Note is too long"},
		{"field", Changes{Fields: &[]federation.Field{{Name: "n", Value: strings.Repeat("v", MaxFieldValue+1)}}}, "a profile field is too long"},
		{"fields", Changes{Fields: &many}, "at most 4 profile fields"},
		{"privacy", Changes{Privacy: ptr("friends")}, "privacy must be public, unlisted, private or direct"},
	}
	for _, c := range cases {
		s, st, pub, me := newService()
		images := 0
		c.ch.Images = func(context.Context) (string, string, error) { images++; return "a", "", nil }
		_, err := s.Update(context.Background(), me, c.ch)
		if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) || len(st.saved) != 0 || images != 0 || pub.sent != 0 {
			t.Errorf("%s: %v (saved %d, images %d, sent %d)", c.name, err, len(st.saved), images, pub.sent)
		}
	}
}

func TestUpdateKeepsUnchangedLinksVerified(t *testing.T) {
	s, st, pub, me := newService()
	res, err := s.Update(context.Background(), me, Changes{Fields: &[]federation.Field{
		{Name: " web ", Value: " https://me.example "}, {Name: "", Value: ""}, {Name: "blog", Value: "https://blog.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	f := *st.saved[0].Fields
	if len(f) != 2 || f[0].Name != "web" || f[0].VerifiedAt == nil || f[1].VerifiedAt != nil {
		t.Errorf("fields saved %+v", f)
	}
	if !res.VerifyLinks || pub.sent != 1 {
		t.Errorf("verify %v, sent %d", res.VerifyLinks, pub.sent)
	}
}

func TestUpdateWithoutFieldsNeedsNoVerificationAndSendFailureIsNotAnError(t *testing.T) {
	s, st, pub, me := newService()
	pub.err = errors.New("queue down")
	res, err := s.Update(context.Background(), me, Changes{DisplayName: ptr(" Me "), Images: func(context.Context) (string, string, error) {
		return "https://a.example/avatar.png", "", nil
	}})
	if err != nil || res.SendErr == nil || res.VerifyLinks {
		t.Fatalf("result %+v, %v", res, err)
	}
	u := st.saved[0]
	if *u.DisplayName != "Me" || *u.AvatarURL != "https://a.example/avatar.png" || u.HeaderURL != nil {
		t.Errorf("update %+v", u)
	}
}
