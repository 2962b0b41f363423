package account

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// fakeSites knows one tenant: handle domain a.test, service domain
// social.a.test.
type fakeSites struct{}

func (fakeSites) SiteByHost(_ context.Context, host string) (*tenant.Site, error) {
	if host == "a.test" || host == "social.a.test" {
		return &tenant.Site{TenantID: 3, Domain: "a.test", ServiceDomain: "social.a.test"}, nil
	}
	return nil, errs.E(errs.NotFound, "no such host")
}

type fakeStore struct {
	got []federation.NewAccount
	err error
}

func (f *fakeStore) CreateAccount(_ context.Context, a federation.NewAccount) (*federation.Account, error) {
	f.got = append(f.got, a)
	if f.err != nil {
		return nil, f.err
	}
	return &federation.Account{ID: 9, TenantID: a.TenantID, Domain: a.Domain, Username: a.Username}, nil
}

func newService() (*Service, *fakeStore, *int) {
	store, keys := &fakeStore{}, new(int)
	return &Service{Sites: fakeSites{}, Store: store, Keys: func() (federation.KeyPair, error) {
		*keys++
		return federation.KeyPair{PublicPEM: "pub", PrivatePEM: "priv"}, nil
	}}, store, keys
}

// TestIssue15Finding1CreateAccountRefusesBadInputCheaply: every bad
// input is refused with its code before a key pair is made or the store
// is asked.
func TestIssue15Finding1CreateAccountRefusesBadInputCheaply(t *testing.T) {
	ok := New{Domain: "a.test", Username: "alice", Email: "alice@mail.test", Password: "correct horse"}
	cases := []struct {
		name string
		edit func(n *New)
		want errs.Code
	}{
		{"bad domain", func(n *New) { n.Domain = "a..test" }, errs.Invalid},
		{"unknown domain", func(n *New) { n.Domain = "b.test" }, errs.NotFound},
		{"service domain", func(n *New) { n.Domain = "social.a.test" }, errs.Invalid},
		{"empty username", func(n *New) { n.Username = "" }, errs.Invalid},
		{"username with a dot", func(n *New) { n.Username = "al.ice" }, errs.Invalid},
		{"username of 31", func(n *New) { n.Username = strings.Repeat("a", 31) }, errs.Invalid},
		{"bad email", func(n *New) { n.Email = "alice" }, errs.Invalid},
		{"email with a name", func(n *New) { n.Email = "Alice <alice@mail.test>" }, errs.Invalid},
		{"short password", func(n *New) { n.Password = "short" }, errs.Invalid},
		{"password over 72 bytes", func(n *New) { n.Password = strings.Repeat("p", 73) }, errs.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, store, keys := newService()
			n := ok
			tc.edit(&n)
			if _, err := s.Create(context.Background(), n); !errs.Is(err, tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if *keys != 0 || len(store.got) != 0 {
				t.Fatalf("keys made %d, store asked %d times; want none", *keys, len(store.got))
			}
		})
	}
}

// TestIssue15Finding1CreateAccountOnTheHandleDomain: a valid account is
// created on the tenant's handle domain (the host normalised), with a
// trimmed email, its password's hash and a fresh key pair; the store's
// refusal is returned as it is.
func TestIssue15Finding1CreateAccountOnTheHandleDomain(t *testing.T) {
	s, store, keys := newService()
	a, err := s.Create(context.Background(), New{Domain: "A.TEST", Username: "alice", DisplayName: "Alice",
		Email: " alice@mail.test ", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 9 || *keys != 1 || len(store.got) != 1 {
		t.Fatalf("account %+v, keys %d, store calls %d", a, *keys, len(store.got))
	}
	got := store.got[0]
	if got.TenantID != 3 || got.Domain != "a.test" || got.Username != "alice" || got.DisplayName != "Alice" ||
		got.Email != "alice@mail.test" || got.Password != "correct horse" || got.Keys.PrivatePEM != "priv" {
		t.Fatalf("store asked %+v", got)
	}
	if !tenant.CheckPassword(got.PasswordHash, "correct horse") {
		t.Fatal("the password hash does not match the password")
	}

	store.err = errs.E(errs.Conflict, "username alice is taken on a.test")
	if _, err := s.Create(context.Background(), New{Domain: "a.test", Username: "alice", Email: "b@mail.test", Password: "correct horse"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("taken username: err = %v, want errs.Conflict", err)
	}
	s.Keys = func() (federation.KeyPair, error) { return federation.KeyPair{}, errors.New("no entropy") }
	if _, err := s.Create(context.Background(), New{Domain: "a.test", Username: "carol", Email: "c@mail.test", Password: "correct horse"}); err == nil || len(store.got) != 2 {
		t.Fatalf("key failure: err = %v, store calls %d; want an error and no new call", err, len(store.got))
	}
}
