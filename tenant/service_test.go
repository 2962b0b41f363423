package tenant

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

func newTestService() (*Service, *fakeStore, *fakeNotifier) {
	store, notify := newFakeStore(), &fakeNotifier{}
	return &Service{Store: store, Notify: notify}, store, notify
}

// TestCreateTenantInvalid: bad input is refused with errs.Invalid before
// the store or the notifier hear of it.
func TestCreateTenantInvalid(t *testing.T) {
	cases := []struct {
		name, tenant, domain, service string
	}{
		{"empty name", "", "a.example", ""},
		{"blank name", " \t\n", "a.example", ""},
		{"name of 201 runes", strings.Repeat("é", 201), "a.example", ""},
		{"empty domain", "Alice", "", ""},
		{"blank domain", "Alice", "   ", ""},
		{"IP domain", "Alice", "127.0.0.1", ""},
		{"bad domain", "Alice", "a..example", ""},
		{"domain with userinfo", "Alice", "alice@a.example", ""},
		{"bad service domain", "Alice", "a.example", "social_a.example"},
		{"IP service domain", "Alice", "a.example", "[::1]"},
		{"service domain equal to domain", "Alice", "a.example", "a.example"},
		{"service domain equal after normalising", "Alice", "a.example", "A.EXAMPLE.:443"},
		{"IDN service domain equal to punycode domain", "Alice", "xn--bcher-kva.example", "Bücher.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, store, notify := newTestService()
			got, err := svc.CreateTenant(context.Background(), tc.tenant, tc.domain, tc.service)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("CreateTenant(%q, %q, %q) = %+v, %v; want %s", tc.tenant, tc.domain, tc.service, got, err, errs.Invalid)
			}
			if got != nil {
				t.Fatalf("CreateTenant returned %+v alongside an error", got)
			}
			if errs.MessageOf(err) == "" || errs.MessageOf(err) == "internal error" {
				t.Fatalf("error %v has no client-facing message", err)
			}
			if c := store.creates(); len(c) != 0 {
				t.Fatalf("store.CreateTenant was called: %+v", c)
			}
			if len(notify.calls) != 0 {
				t.Fatalf("notifier was called: %v", notify.calls)
			}
		})
	}
}

// TestCreateTenantNormalises: the store gets the trimmed name and the
// normalised, verified domains, and the notifier the normalised hosts.
func TestCreateTenantNormalises(t *testing.T) {
	cases := []struct {
		name, tenant, domain, service string
		wantName                      string
		want                          NewDomain
		wantHosts                     []string
	}{
		{
			name: "handle domain only", tenant: "  Alice ", domain: " Alice.Example. ",
			wantName: "Alice", want: NewDomain{Domain: "alice.example", Verified: true},
			wantHosts: []string{"alice.example"},
		},
		{
			name: "with service domain", tenant: "Bob", domain: "Bücher.example:443", service: " Social.Bücher.Example ",
			wantName:  "Bob",
			want:      NewDomain{Domain: "xn--bcher-kva.example", ServiceDomain: "social.xn--bcher-kva.example", Verified: true},
			wantHosts: []string{"xn--bcher-kva.example", "social.xn--bcher-kva.example"},
		},
		{
			name: "blank service domain is none", tenant: "Carol", domain: "carol.example", service: "  ",
			wantName: "Carol", want: NewDomain{Domain: "carol.example", Verified: true},
			wantHosts: []string{"carol.example"},
		},
		{
			name: "name of 200 runes", tenant: strings.Repeat("é", 200), domain: "d.example",
			wantName: strings.Repeat("é", 200), want: NewDomain{Domain: "d.example", Verified: true},
			wantHosts: []string{"d.example"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, store, notify := newTestService()
			got, err := svc.CreateTenant(context.Background(), tc.tenant, tc.domain, tc.service)
			if err != nil {
				t.Fatalf("CreateTenant: %v", err)
			}
			if got == nil || got.ID == 0 || got.Name != tc.wantName {
				t.Fatalf("CreateTenant returned %+v, want the stored tenant named %q", got, tc.wantName)
			}
			c := store.creates()
			if len(c) != 1 || c[0].Name != tc.wantName || c[0].Domain != tc.want {
				t.Fatalf("store.CreateTenant calls = %+v, want one with %q, %+v", c, tc.wantName, tc.want)
			}
			if len(notify.calls) != 1 || !slices.Equal(notify.calls[0], tc.wantHosts) {
				t.Fatalf("notifier calls = %q, want one with %q", notify.calls, tc.wantHosts)
			}
		})
	}
}

// TestCreateTenantStoreError: a store failure (here a conflict) is passed
// through and nothing is announced.
func TestCreateTenantStoreError(t *testing.T) {
	svc, store, notify := newTestService()
	store.setErr(errs.E(errs.Conflict, "domain a.example is already in use"))
	_, err := svc.CreateTenant(context.Background(), "Alice", "a.example", "")
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("CreateTenant error = %v, want %s", err, errs.Conflict)
	}
	if len(store.creates()) != 1 {
		t.Fatalf("store.CreateTenant calls = %d, want 1", len(store.creates()))
	}
	if len(notify.calls) != 0 {
		t.Fatalf("notifier called after a failed create: %q", notify.calls)
	}
}

// TestCreateTenantNotifyFailure: the tenant is committed before the
// announcement, so a publish failure is logged, not returned.
func TestCreateTenantNotifyFailure(t *testing.T) {
	svc, store, notify := newTestService()
	notify.err = errors.New("redis down")
	var logs bytes.Buffer
	svc.Log = slog.New(slog.NewTextHandler(&logs, nil))

	got, err := svc.CreateTenant(context.Background(), "Alice", "a.example", "")
	if err != nil || got == nil {
		t.Fatalf("CreateTenant = %+v, %v; want success despite the notifier failing", got, err)
	}
	if len(store.creates()) != 1 || len(notify.calls) != 1 {
		t.Fatalf("store calls %d, notifier calls %d; want 1 and 1", len(store.creates()), len(notify.calls))
	}
	if !strings.Contains(logs.String(), "redis down") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("failure not logged as a warning; log: %q", logs.String())
	}

	// Without a logger or a notifier, creating still works.
	for _, s := range []*Service{{Store: store, Notify: notify}, {Store: store}} {
		if _, err := s.CreateTenant(context.Background(), "Bob", "b.example", ""); err != nil {
			t.Fatalf("CreateTenant: %v", err)
		}
	}
}
