package domainblock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

type fetchRecord struct {
	at, next time.Time
	fetchErr string
	importID int64
}

// fakeSubStore holds due subscriptions, the scope's blocks and what was
// recorded and applied.
type fakeSubStore struct {
	due      []*Subscription
	endless  bool // every claim finds one more due
	claimErr error
	current  map[string]Block
	applied  []string // sources
	records  map[int64]fetchRecord
	claims   int
}

func (s *fakeSubStore) ClaimDueSubscription(_ context.Context, _ time.Time, lease time.Duration) (*Subscription, error) {
	s.claims++
	switch {
	case lease != SubscriptionLease:
		return nil, errors.New("unexpected lease")
	case s.claimErr != nil:
		return nil, s.claimErr
	case s.endless:
		return &Subscription{ID: int64(s.claims), URL: "https://lists.example/x.csv"}, nil
	case len(s.due) == 0:
		return nil, errs.E(errs.NotFound, "no subscription is due")
	}
	sub := s.due[0]
	s.due = s.due[1:]
	return sub, nil
}

func (s *fakeSubStore) RecordSubscriptionFetch(_ context.Context, id int64, at, next time.Time, _, fetchErr string, importID int64) error {
	s.records[id] = fetchRecord{at, next, fetchErr, importID}
	return nil
}

func (s *fakeSubStore) PreviewImport(_ context.Context, _ int64, list []Block) ([]Change, error) {
	return Diff(s.current, list), nil
}

func (s *fakeSubStore) ApplyImport(_ context.Context, scope int64, source string, by By, list []Block) (*Import, error) {
	if by != (By{}) {
		return nil, errors.New("a subscription applies as nobody")
	}
	s.applied = append(s.applied, source)
	for _, b := range list {
		s.current[b.Domain] = b
	}
	return &Import{ID: int64(100 + len(s.applied)), TenantID: scope, Source: source}, nil
}

type fakeLists map[string]string

func (f fakeLists) GetJSON(_ context.Context, url, _ string, _ []string) ([]byte, error) {
	body, ok := f[url]
	if !ok {
		return nil, errs.Wrap(errs.Unavailable, errors.New("dial 192.168.1.9:443: refused"), "the host did not answer")
	}
	return []byte(body), nil
}

type countRefresh struct{ n int }

func (c *countRefresh) Refresh(context.Context) error { c.n++; return nil }

var subNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newSubs(s *fakeSubStore, f fakeLists) (*Subscriptions, *countRefresh) {
	if s.records == nil {
		s.records = map[int64]fetchRecord{}
	}
	if s.current == nil {
		s.current = map[string]Block{}
	}
	r := &countRefresh{}
	return &Subscriptions{Store: s, Fetch: f, Blocks: r, Now: func() time.Time { return subNow }}, r
}

func TestIssue15Finding1SubscriptionAppliesChangedListsOnly(t *testing.T) {
	s := &fakeSubStore{due: []*Subscription{
		{ID: 1, TenantID: 7, URL: "https://lists.example/a.txt"},
		{ID: 2, TenantID: 7, URL: "https://lists.example/a.txt"}, // the same list again: nothing new
	}}
	subs, blocks := newSubs(s, fakeLists{"https://lists.example/a.txt": "spam.example\n"})
	if err := subs.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.applied) != 1 || s.applied[0] != "subscription https://lists.example/a.txt" {
		t.Fatalf("applied %q, want one import named after the list", s.applied)
	}
	if blocks.n != 1 {
		t.Errorf("the node's blocks were refreshed %d times, want once after the import", blocks.n)
	}
	if got := s.records[1]; got != (fetchRecord{subNow, subNow.Add(SubscriptionEvery), "", 101}) {
		t.Errorf("first fetch recorded %+v", got)
	}
	if got := s.records[2]; got.importID != 0 || got.fetchErr != "" {
		t.Errorf("unchanged list recorded %+v, want no import", got)
	}
}

func TestIssue15Finding1SubscriptionFailureRecordsSafeReason(t *testing.T) {
	s := &fakeSubStore{due: []*Subscription{{ID: 3, URL: "https://gone.example/list.csv"}, {ID: 4, URL: "https://bad.example/l"}}}
	subs, _ := newSubs(s, fakeLists{"https://bad.example/l": "#domain,#severity\nnot a domain!,suspend\n"})
	if err := subs.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone := s.records[3]
	if gone.fetchErr == "" || strings.Contains(gone.fetchErr, "192.168") || gone.next != subNow.Add(SubscriptionEvery) {
		t.Errorf("unreachable list recorded %+v: want a safe reason and the next turn", gone)
	}
	if bad := s.records[4]; bad.fetchErr == "" || len(s.applied) != 0 {
		t.Errorf("a bad list recorded %+v, applied %q; want its error and nothing applied", bad, s.applied)
	}
}

func TestIssue15Finding1SubscriptionPassIsBounded(t *testing.T) {
	s := &fakeSubStore{endless: true}
	subs, _ := newSubs(s, fakeLists{})
	if err := subs.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.claims != subscriptionBatch {
		t.Fatalf("one pass claimed %d subscriptions, want at most %d", s.claims, subscriptionBatch)
	}
	s = &fakeSubStore{claimErr: errors.New("db down")}
	subs, _ = newSubs(s, fakeLists{})
	if err := subs.Pass(context.Background()); err == nil || !strings.Contains(err.Error(), "db down") {
		t.Fatalf("Pass = %v, want the claim's error", err)
	}
}
