package report_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/report"
	"github.com/roost-social/roost/internal/errs"
)

// fakes of the use case's ports: accounts 1 (the reporter, local), 2
// (local), 3 (remote); posts 10 (by 2) and 30 (by 3) are visible, 11 (by
// 2) is not.
type fakeAccounts struct{ err error }

func (f fakeAccounts) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	if f.err != nil {
		return nil, f.err
	}
	switch id {
	case 1, 2:
		return &federation.Account{ID: id, TenantID: 7}, nil
	case 3:
		return &federation.Account{ID: 3, Remote: &federation.RemoteInfo{URI: "https://r.example/u/3", Inbox: "https://r.example/inbox"}}, nil
	}
	return nil, errs.E(errs.NotFound, "no account")
}

type fakeStatuses struct{}

func (fakeStatuses) StatusViews(_ context.Context, viewer int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		switch id {
		case 10:
			out = append(out, &federation.StatusView{Status: &federation.Status{ID: 10, AccountID: 2, URI: "https://a/10"}})
		case 30:
			out = append(out, &federation.StatusView{Status: &federation.Status{ID: 30, AccountID: 3, URI: "https://r.example/30"}})
		}
	}
	return out, nil
}

type fakeStore struct{ filed []*federation.UserReport }

func (f *fakeStore) FileReport(_ context.Context, r *federation.UserReport) error {
	r.ID = int64(len(f.filed) + 1)
	if r.Forward != nil {
		r.Forward.DeliveryID = 99
	}
	f.filed = append(f.filed, r)
	return nil
}

type fakeFlags struct{}

func (fakeFlags) Flag(host string, target *federation.Account, uris []string, comment string) (*federation.ReportForward, error) {
	return &federation.ReportForward{ActingHost: host, Inbox: target.Remote.Inbox, ActivityID: "flag",
		Body: []byte(strings.Join(append([]string{target.Remote.URI}, uris...), " "))}, nil
}

type fakeDispatch struct {
	ids []int64
	err error
}

func (f *fakeDispatch) Dispatch(_ context.Context, express bool, ids []int64) error {
	f.ids = append(f.ids, ids...)
	return f.err
}

func newService() (*report.Service, *fakeStore, *fakeDispatch) {
	st, d := &fakeStore{}, &fakeDispatch{}
	return &report.Service{Accounts: fakeAccounts{}, Statuses: fakeStatuses{}, Store: st, Flags: fakeFlags{}, Dispatch: d}, st, d
}

var reporter = &federation.Account{ID: 1, TenantID: 7}

// TestIssue15Finding2ReportRules: the report rules, as the handler had
// them (same codes and messages), now in the use case.
func TestIssue15Finding2ReportRules(t *testing.T) {
	cases := []struct {
		name     string
		form     report.Form
		code     errs.Code
		msg      string
		category string
	}{
		{"no account", report.Form{}, errs.Invalid, "account_id is required", ""},
		{"unknown account", report.Form{AccountID: "5"}, errs.NotFound, "Record not found", ""},
		{"self", report.Form{AccountID: "1"}, errs.Invalid, "Validation failed: you cannot report yourself", ""},
		{"long comment", report.Form{AccountID: "2", Comment: strings.Repeat("é", report.MaxComment+1)}, errs.Invalid,
			"Validation failed: Comment is too long (maximum is 1000 characters)", ""},
		{"bad rule", report.Form{AccountID: "2", RuleIDs: []string{"x"}}, errs.Invalid, "Validation failed: rule_ids must be rule ids", ""},
		{"bad category", report.Form{AccountID: "2", Category: "rude"}, errs.Invalid,
			"Validation failed: category must be spam, legal, violation or other", ""},
		{"bad status id", report.Form{AccountID: "2", StatusIDs: []string{"-1"}}, errs.NotFound, "Record not found", ""},
		{"invisible status", report.Form{AccountID: "2", StatusIDs: []string{"11"}}, errs.NotFound, "Record not found", ""},
		{"someone else's status", report.Form{AccountID: "2", StatusIDs: []string{"30"}}, errs.NotFound, "Record not found", ""},
		{"other", report.Form{AccountID: "2", StatusIDs: []string{"10"}}, "", "", federation.ReportOther},
		{"rules: violation", report.Form{AccountID: "2", RuleIDs: []string{"4"}}, "", "", federation.ReportViolation},
		{"rules with a category", report.Form{AccountID: "2", RuleIDs: []string{"4"}, Category: "spam"}, "", "", federation.ReportSpam},
	}
	many := report.Form{AccountID: "2"}
	for i := range report.MaxStatuses + 1 {
		many.StatusIDs = append(many.StatusIDs, strconv.Itoa(i+1))
	}
	cases = append(cases, struct {
		name     string
		form     report.Form
		code     errs.Code
		msg      string
		category string
	}{"too many statuses", many, errs.Invalid, "at most 100 status_ids", ""})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, st, _ := newService()
			r, _, err := svc.File(context.Background(), reporter, c.form)
			if c.code != "" {
				if errs.CodeOf(err) != c.code || errs.MessageOf(err) != c.msg || len(st.filed) != 0 {
					t.Fatalf("got %v (%d filed), want %s %q", err, len(st.filed), c.code, c.msg)
				}
				return
			}
			if err != nil || r.Category != c.category || len(st.filed) != 1 {
				t.Fatalf("got %+v %v, want category %s", r, err, c.category)
			}
		})
	}
}

// TestIssue15Finding2ReportForwardQueued: a forward is asked for and the
// account is remote: the Flag goes to the store with the report (one
// call, one transaction) and the workers are woken; a local account's
// report is never forwarded.
func TestIssue15Finding2ReportForwardQueued(t *testing.T) {
	svc, st, d := newService()
	r, target, err := svc.File(context.Background(), reporter, report.Form{AccountID: "3", StatusIDs: []string{"30"},
		Forward: true, ActingHost: "a.example"})
	if err != nil || !r.Forwarded || target.ID != 3 || len(st.filed) != 1 {
		t.Fatalf("report: %+v %v", r, err)
	}
	f := st.filed[0].Forward
	if f == nil || f.ActingHost != "a.example" || string(f.Body) != "https://r.example/u/3 https://r.example/30" {
		t.Fatalf("forward: %+v", f)
	}
	if len(d.ids) != 1 || d.ids[0] != 99 {
		t.Fatalf("dispatched: %v", d.ids)
	}

	svc, st, d = newService()
	r, _, err = svc.File(context.Background(), reporter, report.Form{AccountID: "2", Forward: true, ActingHost: "a.example"})
	if err != nil || r.Forwarded || st.filed[0].Forward != nil || len(d.ids) != 0 {
		t.Fatalf("local report forwarded: %+v %v", r, err)
	}
}

// TestIssue15Finding2ReportDispatchFailureIsNotAnError: the row is
// committed; the sweeper sends it, so the reporter gets the report.
func TestIssue15Finding2ReportDispatchFailureIsNotAnError(t *testing.T) {
	svc, st, d := newService()
	d.err = errors.New("redis down")
	r, _, err := svc.File(context.Background(), reporter, report.Form{AccountID: "3", Forward: true, ActingHost: "a.example"})
	if err != nil || !r.Forwarded || len(st.filed) != 1 {
		t.Fatalf("report: %+v %v", r, err)
	}
}

// TestIssue15Finding3ReportStoreErrorSurfaces: a failing account store is
// an error, not "Record not found".
func TestIssue15Finding3ReportStoreErrorSurfaces(t *testing.T) {
	svc, st, _ := newService()
	svc.Accounts = fakeAccounts{err: errors.New("connection refused")}
	_, _, err := svc.File(context.Background(), reporter, report.Form{AccountID: "2"})
	if err == nil || errs.CodeOf(err) == errs.NotFound || len(st.filed) != 0 {
		t.Fatalf("got %v", err)
	}
}
