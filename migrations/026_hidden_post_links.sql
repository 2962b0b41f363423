-- Links no account could have made (issue 14, finding 3).
--
-- Archive import stored a bookmark on any post a bookmarks.csv named by
-- URI, even another account's direct message, and search, which cut its
-- page before leaving out what the viewer may not see, then told whether
-- such a hidden post held a word. Every write that links an account to a
-- post now checks the one visibility rule (federation/postgres/
-- visibility.go) and every paged query applies it before its LIMIT. This
-- removes what the hole left behind: bookmarks of someone else's direct
-- post that does not mention the bookmarking account. A direct post is
-- seen only by its author and the accounts it mentions, for as long as it
-- exists, so no such bookmark was ever made through the API. Bookmarks of
-- followers-only posts stay: a follower since removed made them honestly,
-- and they are left out of every page while hidden.
delete from bookmarks b
using statuses s
where s.id = b.status_id
    and s.visibility = 'direct'
    and s.account_id <> b.account_id
    and not exists (select 1 from status_mentions m where m.status_id = s.id and m.account_id = b.account_id);
