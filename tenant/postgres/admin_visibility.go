package postgres

import "fmt"

// seenBy is the condition that status s is one a tenant's dashboard may
// show or act on; tenant is an SQL expression (a parameter such as "$2",
// or a column; never input) whose value 0 is the instance, which sees
// everything. A tenant sees what its own accounts could: public and
// unlisted posts, its accounts' own posts, and private or direct ones
// that mention one of its accounts or, followers-only, whose author one of
// its accounts follows. It is federation/postgres's visibility rule with
// "any account of the tenant" for the viewer (issue 14, finding 2).
//
// Being named in a report filed on the tenant widens nothing: a report
// may name any post id, so the dashboard never trusts it to have been
// checked.
func seenBy(tenant string) string {
	return fmt.Sprintf(`(%[1]s = 0 or s.visibility in ('public', 'unlisted') or s.tenant_id = %[1]s
		or exists (select 1 from status_mentions sm join accounts sma on sma.id = sm.account_id
			where sm.status_id = s.id and sma.tenant_id = %[1]s)
		or (s.visibility = 'private' and exists (select 1 from follows sf join accounts sfa on sfa.id = sf.follower_id
			where sf.followee_id = s.account_id and sf.state = 'accepted' and sfa.tenant_id = %[1]s)))`, tenant)
}

// hiddenFor is the condition that status s is hidden from tenant's
// viewers (tenant_hidden_statuses); tenant as in seenBy.
func hiddenFor(tenant string) string {
	return fmt.Sprintf(`exists (select 1 from tenant_hidden_statuses th where th.status_id = s.id and th.tenant_id = %s)`, tenant)
}
