-- 052 (issue 18): a remote account's counts and recent public posts are
-- read from its outbox, followers and following collections when it is
-- looked up (federation/outbox/collections.go). collections_fetched_at
-- is when that last happened: claimed atomically, so at most one node
-- reads an account's collections per interval, however often it is
-- searched. A nullable column without default: no table rewrite. (tern
-- runs the file in one transaction.)
alter table accounts add column collections_fetched_at timestamptz;
