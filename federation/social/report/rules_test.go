package report_test

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/report"
	"github.com/roost-social/roost/internal/errs"
)

// tenantRules are rule 4 and 5 of tenant 7 (the reporter's) and rule 9
// of tenant 8.
type tenantRules struct{}

func (tenantRules) Rules(_ context.Context, tenantID int64) ([]federation.ServerRule, error) {
	if tenantID == 7 {
		return []federation.ServerRule{{ID: 4, TenantID: 7}, {ID: 5, TenantID: 7}}, nil
	}
	return []federation.ServerRule{{ID: 9, TenantID: 8}}, nil
}

// TestIssue17ReportRuleIDsAreTheReportersTenantRules: a report names only
// rules its reporter's tenant has; another tenant's rule or an unknown
// one is refused and nothing is filed.
func TestIssue17ReportRuleIDsAreTheReportersTenantRules(t *testing.T) {
	for _, c := range []struct {
		ids []string
		ok  bool
	}{{[]string{"4", "5"}, true}, {[]string{"4", "9"}, false}, {[]string{"77"}, false}, {nil, true}} {
		svc, st, _ := newService()
		svc.Rules = tenantRules{}
		r, _, err := svc.File(context.Background(), reporter, report.Form{AccountID: "2", RuleIDs: c.ids})
		switch {
		case c.ok && (err != nil || len(r.RuleIDs) != len(c.ids)):
			t.Errorf("%v: %+v %v", c.ids, r, err)
		case !c.ok && (!errs.Is(err, errs.Invalid) || len(st.filed) != 0):
			t.Errorf("%v: %v, filed %d", c.ids, err, len(st.filed))
		}
	}
}
