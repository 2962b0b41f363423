package postgres

// Conditions that keep out of a status list, before its LIMIT, what the
// viewer's lens (federation/social/timeline) would drop after it: a page
// never spends a row on a status rendering then leaves out (issue 17).
// What needs a status's text (hide filters) stays with the lens, which
// fills the page by reading on.

// homeHides is the home feed's (h) per-viewer ($1) hides, read once per
// query: blocked and muted accounts and the authors on the viewer's
// exclusive lists (ids), the domains the viewer hides (domains) and the
// viewer's own domain (own: its site's accounts are never hidden by a
// domain block). Each row is then checked only against what is set.
const homeHides = `(select array(
		select target_id from blocks where account_id = $1
		union all
		select target_id from mutes where account_id = $1 and (expires_at is null or expires_at > now())
		union all
		select la.account_id from list_accounts la join lists l on l.id = la.list_id
			where l.account_id = $1 and l.exclusive) as ids,
	array(select domain from account_domain_blocks where account_id = $1) as domains,
	(select domain from accounts where id = $1) as own) hidden`

// homeHidden keeps a home feed row (h) whose author is not in hidden.ids
// and neither whose author nor, for a boost, whose original's author is
// on a hidden domain (subdomains included), as the lens judges.
const homeHidden = ` and (cardinality(hidden.ids) = 0
		or (select s.account_id from statuses s where s.id = h.status_id) <> all (hidden.ids))
	and (cardinality(hidden.domains) = 0 or not exists (select 1 from statuses hs
		join statuses os on os.id = coalesce(hs.reblog_of_id, hs.id)
		join accounts ha on ha.id in (hs.account_id, os.account_id)
		where hs.id = h.status_id and ha.domain <> hidden.own and exists (select 1 from unnest(hidden.domains) d
			where ha.domain = d or right(ha.domain, length(d) + 1) = '.' || d)))`

// boostedVisible is a condition on a status id column (col, never input):
// unless it is a boost, or the boosted original is one viewer $1 may see.
// Rendering drops a boost of an original the viewer may not see; this
// drops it before the LIMIT. "offset 0" keeps it a lookup per row.
func boostedVisible(col string) string {
	return `not exists (select 1 from statuses rs where rs.id = ` + col + ` and rs.reblog_of_id is not null
		and not exists (select 1 from statuses s where s.id = rs.reblog_of_id and ` + visible + `) offset 0)`
}
