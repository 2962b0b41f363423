package billing

import (
	"context"
	"errors"
	"testing"
	"time"
)

type syncProvider struct {
	Provider // only Name and Sync are called
	ch       *Change
	err      error
}

func (p syncProvider) Name() string { return "stripe" }
func (p syncProvider) Sync(context.Context, *Account) (*Change, error) {
	return p.ch, p.err
}

type eventLog struct {
	Store // only ApplyEvent is called
	ids   []string
}

func (l *eventLog) ApplyEvent(_ context.Context, provider, id, kind string, ch *Change) (bool, error) {
	l.ids = append(l.ids, provider+" "+id+" "+kind)
	return true, nil
}

// Issue 15 finding 1: `roost billing sync` applied the provider's truth
// in cmd; the rule is billing's: nothing to change records nothing, a
// provider failure records nothing, a change is one billing.sync event
// with an id fixed by the caller's clock.
func TestIssue15Finding1Resync(t *testing.T) {
	now := time.Date(2026, 12, 6, 18, 0, 0, 5, time.UTC)
	a := &Account{TenantID: 7}
	for _, c := range []struct {
		name string
		p    syncProvider
		want []string
		err  bool
	}{
		{"nothing to change", syncProvider{}, nil, false},
		{"provider fails", syncProvider{err: errors.New("stripe down")}, nil, true},
		{"a change", syncProvider{ch: &Change{TenantID: 7, State: Active}},
			[]string{"stripe sync_20261206T180000.000000005 billing.sync"}, false},
	} {
		l := &eventLog{}
		err := Resync(context.Background(), l, c.p, a, now)
		if (err != nil) != c.err || len(l.ids) != len(c.want) || (len(c.want) == 1 && l.ids[0] != c.want[0]) {
			t.Errorf("%s: err %v, events %v; want %v", c.name, err, l.ids, c.want)
		}
	}
}
