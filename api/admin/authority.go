package admin

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/tenant"
)

// A tenant's dashboard acts within its tenant's authority only (issue 14,
// finding 1): on its own local accounts and their posts, and on remote
// accounts and posts only with effects the tenant owns — hiding them from
// its own viewers, limiting them on its own timelines, blocking their
// domains for itself, forwarding a report. Remote rows are shared by every
// tenant and other tenants' accounts are theirs: a tenant never deletes
// them. The stores enforce this with the session's Tenant (0: the
// instance, operators on the operator host, which may do anything).

// resolvedCounts is the query string telling the reports page what a
// "delete" resolution did besides deleting: posts hidden here only, and
// other tenants' posts left alone.
func resolvedCounts(res *tenant.Resolution) string {
	q := ""
	if res.Hidden > 0 {
		q += fmt.Sprintf("&hidden=%d", res.Hidden)
	}
	if res.Kept > 0 {
		q += fmt.Sprintf("&kept=%d", res.Kept)
	}
	return q
}

// resolvedNotice is the reports page's notice, with resolvedCounts said
// in words.
func resolvedNotice(c *fiber.Ctx) string {
	n := notices[c.Query("done")]
	if c.Query("done") != "resolved" {
		return n
	}
	if k := c.QueryInt("hidden"); k > 0 {
		n += fmt.Sprintf(" %d remote post(s) are hidden from this site's viewers; they are shared with the instance's other sites, so only an operator deletes them.", k)
	}
	if k := c.QueryInt("kept"); k > 0 {
		n += fmt.Sprintf(" %d post(s) belong to another site on this instance and were left alone: only its own moderators or an operator can delete them.", k)
	}
	return n
}
