package tenant

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// fakeStates implements every state-change port, recording the calls and
// answering with hosts (or err).
type fakeStates struct {
	calls []string
	hosts []string
	err   error
}

func (f *fakeStates) SetTenantStatus(_ context.Context, by Actor, id int64, from, to, action string) ([]string, error) {
	f.calls = append(f.calls, fmt.Sprintf("status %d %s->%s %s by %q", id, from, to, action, by.Email))
	return f.hosts, f.err
}

func (f *fakeStates) ApproveTenant(_ context.Context, id int64) ([]string, error) {
	f.calls = append(f.calls, fmt.Sprintf("approve %d", id))
	return f.hosts, f.err
}

func (f *fakeStates) AddDomain(_ context.Context, tenantID int64, d NewDomain, by Actor) (*Domain, error) {
	f.calls = append(f.calls, fmt.Sprintf("add %d %s by %q", tenantID, d.Domain, by.Email))
	if f.err != nil {
		return nil, f.err
	}
	return &Domain{Domain: d.Domain, ServiceDomain: d.ServiceDomain, TenantID: tenantID}, nil
}

func (f *fakeStates) SetAuthorizedFetch(_ context.Context, tenantID int64, on *bool) ([]string, error) {
	f.calls = append(f.calls, fmt.Sprintf("fetch %d %v", tenantID, on != nil && *on))
	return f.hosts, f.err
}

// stateChanges are every Service method that changes a tenant's state
// (and BillingSuspender, billing's path to SetStatus). A new state change
// belongs in this table.
var stateChanges = []struct {
	name string
	do   func(ctx context.Context, s *Service) error
	// call is what the store must have been asked.
	call string
	// want are the hosts the cache must be told; nil: the store's hosts.
	want []string
}{
	{"SetStatus suspend", func(ctx context.Context, s *Service) error {
		return s.SetStatus(ctx, Actor{UserID: 1, Email: "op@x.test"}, 7, Active, Suspended, "tenant.suspend")
	}, `status 7 active->suspended tenant.suspend by "op@x.test"`, nil},
	{"SetStatus approve", func(ctx context.Context, s *Service) error {
		return s.SetStatus(ctx, Actor{UserID: 1, Email: "op@x.test"}, 7, Pending, Active, "tenant.approve")
	}, `status 7 pending->active tenant.approve by "op@x.test"`, nil},
	{"Approve", func(ctx context.Context, s *Service) error { return s.Approve(ctx, 7) }, "approve 7", nil},
	{"AddDomain", func(ctx context.Context, s *Service) error {
		_, err := s.AddDomain(ctx, CommandLine, 7, NewDomain{Domain: "new.test", ServiceDomain: "social.new.test", Verified: true})
		return err
	}, `add 7 new.test by ""`, []string{"new.test", "social.new.test"}},
	{"SetAuthorizedFetch", func(ctx context.Context, s *Service) error {
		on := true
		return s.SetAuthorizedFetch(ctx, 7, &on)
	}, "fetch 7 true", nil},
	{"BillingSuspender.Suspend", func(ctx context.Context, s *Service) error {
		return BillingSuspender{Service: s}.Suspend(ctx, 7, "past due")
	}, `status 7 active->suspended billing.suspend by "billing"`, nil},
	{"BillingSuspender.Unsuspend", func(ctx context.Context, s *Service) error {
		return BillingSuspender{Service: s}.Unsuspend(ctx, 7, "paying again")
	}, `status 7 suspended->active billing.unsuspend by "billing"`, nil},
}

func stateService(f *fakeStates, n *fakeNotifier) *Service {
	return &Service{Store: newFakeStore(), Statuses: f, Approvals: f, Domains: f, Settings: f, Notify: n}
}

// TestIssue15Finding6EveryTenantStateChangeTellsTheHostCache: each state
// change is written through its store and then told to every node's host
// cache by the Service itself; a failed change tells nobody; an unwired
// store is errs.Unavailable, not a silent no-op.
func TestIssue15Finding6EveryTenantStateChangeTellsTheHostCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range stateChanges {
		t.Run(tc.name, func(t *testing.T) {
			f, n := &fakeStates{hosts: []string{"a.test", "social.a.test"}}, &fakeNotifier{}
			if err := tc.do(ctx, stateService(f, n)); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = f.hosts
			}
			if len(f.calls) != 1 || f.calls[0] != tc.call {
				t.Errorf("store calls %q, want [%q]", f.calls, tc.call)
			}
			if len(n.calls) != 1 || !slices.Equal(n.calls[0], want) {
				t.Errorf("cache told %q, want once %q", n.calls, want)
			}

			failed, n2 := &fakeStates{hosts: f.hosts, err: errs.E(errs.Invalid, "not in that status")}, &fakeNotifier{}
			if err := tc.do(ctx, stateService(failed, n2)); !errs.Is(err, errs.Invalid) {
				t.Errorf("failed change: err = %v, want the store's errs.Invalid", err)
			}
			if len(n2.calls) != 0 {
				t.Errorf("failed change told the cache %q", n2.calls)
			}

			n3 := &fakeNotifier{}
			if err := tc.do(ctx, &Service{Notify: n3}); !errs.Is(err, errs.Unavailable) || len(n3.calls) != 0 {
				t.Errorf("unwired store: err = %v, told %q; want errs.Unavailable and nothing told", err, n3.calls)
			}

			// A publish failure is logged, not returned: the change is committed.
			n4 := &fakeNotifier{err: errors.New("redis down")}
			if err := tc.do(ctx, stateService(&fakeStates{hosts: f.hosts}, n4)); err != nil || len(n4.calls) != 1 {
				t.Errorf("publish failure: err = %v, calls %d; want nil and 1", err, len(n4.calls))
			}
		})
	}
}

// TestIssue15Finding6HostsChangedSkipsEmptyNames: callers outside the
// Service (domain verification, domain moves) publish through it; empty
// names are dropped and nothing is published for none.
func TestIssue15Finding6HostsChangedSkipsEmptyNames(t *testing.T) {
	n := &fakeNotifier{}
	s := &Service{Notify: n}
	s.HostsChanged(context.Background(), "", "a.test", "")
	s.HostsChanged(context.Background(), "", "")
	(&Service{}).HostsChanged(context.Background(), "a.test") // no notifier: nothing to do
	if len(n.calls) != 1 || !slices.Equal(n.calls[0], []string{"a.test"}) {
		t.Fatalf("told %q, want once [a.test]", n.calls)
	}
}

// TestIssue15Finding6StateChangeTableIsComplete: a method added to
// Service is a state change and must join stateChanges (CreateTenant has
// its own tests; HostsChanged is the publish itself).
func TestIssue15Finding6StateChangeTableIsComplete(t *testing.T) {
	covered := map[string]bool{"CreateTenant": true, "HostsChanged": true}
	for _, tc := range stateChanges {
		covered[strings.Fields(tc.name)[0]] = true
	}
	st := reflect.TypeOf(&Service{})
	for i := range st.NumMethod() {
		if m := st.Method(i).Name; !covered[m] {
			t.Errorf("Service.%s is not in stateChanges: show that it tells the host cache", m)
		}
	}
}
