package timeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/timeline"
)

// The viewer (1) on site a.example blocks bad.example; account 5 is on
// their exclusive list. Filters: "spoiler" hides at home, "meh" warns in
// public.
type fakeFilters struct{ federation.FilterStore }

func (fakeFilters) Filters(context.Context, int64) ([]*federation.Filter, error) {
	return []*federation.Filter{
		{ID: 1, Title: "spoilers", Context: []string{federation.FilterHome}, Action: federation.FilterHide,
			Keywords: []federation.FilterKeyword{{Keyword: "spoiler"}}},
		{ID: 2, Title: "meh", Context: []string{federation.FilterPublic}, Action: federation.FilterWarn,
			Keywords: []federation.FilterKeyword{{Keyword: "meh"}}},
	}, nil
}

type fakeHidden struct{ err error }

func (f fakeHidden) Hidden(context.Context, int64) ([]string, []int64, error) {
	return []string{"bad.example"}, []int64{5}, f.err
}

func viewings(err error) *filter.Service {
	return &filter.Service{Store: fakeFilters{}, Hidden: fakeHidden{err: err}, Now: func() time.Time { return time.Unix(1e9, 0) }}
}

func account(id int64, domain string, remote bool) *federation.AccountView {
	a := &federation.Account{ID: id, Domain: domain}
	if remote {
		a.Remote = &federation.RemoteInfo{URI: "https://" + domain + "/u"}
	}
	return &federation.AccountView{Account: a}
}

func post(id, author int64, text string) *federation.StatusView {
	return &federation.StatusView{Status: &federation.Status{ID: id, AccountID: author, Content: text}}
}

var (
	local   = account(2, "a.example", false)
	bad     = account(3, "Bad.Example", true)
	sub     = account(4, "x.bad.example", true)
	listed  = account(5, "a.example", false)
	elsewhr = account(6, "good.example", true)
	me      = account(1, "a.example", false)
)

// TestIssue15Finding2TimelineVerdicts: what each place hides, as the
// renderer used to decide from rendered JSON, now decided from views.
func TestIssue15Finding2TimelineVerdicts(t *testing.T) {
	cases := []struct {
		name   string
		where  filter.Where
		entry  timeline.Entry
		hidden bool
		warn   int
	}{
		{"local shown at home", filter.Home, timeline.Entry{Status: post(10, 2, "hi"), Author: local}, false, 0},
		{"blocked domain at home", filter.Home, timeline.Entry{Status: post(11, 3, "hi"), Author: bad}, true, 0},
		{"blocked parent domain in public", filter.Public, timeline.Entry{Status: post(12, 4, "hi"), Author: sub}, true, 0},
		{"blocked domain in a thread", filter.Thread, timeline.Entry{Status: post(11, 3, "hi"), Author: bad}, true, 0},
		{"blocked domain on an account's page", filter.Account, timeline.Entry{Status: post(11, 3, "hi"), Author: bad}, false, 0},
		{"boost of a blocked domain", filter.Home, timeline.Entry{Status: post(13, 2, ""), Author: local,
			Boosted: post(11, 3, "hi"), BoostedAuthor: bad}, true, 0},
		{"exclusive list member at home", filter.Home, timeline.Entry{Status: post(14, 5, "hi"), Author: listed}, true, 0},
		{"exclusive list member in the list", filter.List, timeline.Entry{Status: post(14, 5, "hi"), Author: listed}, false, 0},
		{"exclusive list member in public", filter.Public, timeline.Entry{Status: post(14, 5, "hi"), Author: listed}, false, 0},
		{"hide filter at home", filter.Home, timeline.Entry{Status: post(15, 6, "a spoiler"), Author: elsewhr}, true, 0},
		{"hide filter at home applies to lists", filter.List, timeline.Entry{Status: post(15, 6, "a spoiler"), Author: elsewhr}, true, 0},
		{"home filter not in public", filter.Public, timeline.Entry{Status: post(15, 6, "a spoiler"), Author: elsewhr}, false, 0},
		{"warn filter in public", filter.Public, timeline.Entry{Status: post(16, 6, "meh"), Author: elsewhr}, false, 1},
		{"warn filter on the boosted post", filter.Public, timeline.Entry{Status: post(17, 2, ""), Author: local,
			Boosted: post(16, 6, "meh"), BoostedAuthor: elsewhr}, false, 1},
		{"own posts never filtered", filter.Home, timeline.Entry{Status: post(18, 1, "a spoiler"), Author: me}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lens, err := timeline.Open(context.Background(), viewings(nil), 1, "a.example", c.where)
			if err != nil {
				t.Fatal(err)
			}
			v := lens.Status(c.entry)
			if v.Hidden != c.hidden || len(v.Warn) != c.warn {
				t.Fatalf("got hidden=%v warn=%d, want %v %d", v.Hidden, len(v.Warn), c.hidden, c.warn)
			}
		})
	}
}

// TestIssue15Finding3TimelineNotifications: a blocked domain's
// notifications are hidden; the site's own accounts never are.
func TestIssue15Finding3TimelineNotifications(t *testing.T) {
	lens, err := timeline.Open(context.Background(), viewings(nil), 1, "a.example", filter.Notifications)
	if err != nil {
		t.Fatal(err)
	}
	if !lens.HidesNotificationFrom(bad) || lens.HidesNotificationFrom(local) || lens.HidesNotificationFrom(elsewhr) {
		t.Fatal("wrong notification verdicts")
	}
}

// TestIssue15Finding3TimelineStoreErrorSurfaces: a failing store is an
// error, never a lens that hides nothing.
func TestIssue15Finding3TimelineStoreErrorSurfaces(t *testing.T) {
	boom := errors.New("connection refused")
	if _, err := timeline.Open(context.Background(), viewings(boom), 1, "a.example", filter.Notifications); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}
