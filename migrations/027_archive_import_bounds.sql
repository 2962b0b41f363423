-- Archive imports, bounded (issue 14, finding 4): a small archive could
-- make the instance work for it without limit.
--
-- Follows are no longer requested by the import job, one WebFinger, actor
-- fetch and Follow per row at once (300 rows meant 900 requests to one
-- server). Each row of following_accounts.csv is queued here and sent by
-- `roost work` when due: not_before spreads the rows of one host apart (a
-- small burst, then one per interval, counting what is already queued for
-- that host), so an archive naming thousands of accounts on one server
-- costs it a trickle. A row is leased while a worker sends it and deleted
-- once sent or given up; the outcome is counted on its import. One row per
-- account and target: importing twice queues nothing twice.
create table import_follows (
    id           bigint generated always as identity primary key,
    import_id    bigint      not null references archive_imports (id) on delete cascade,
    account_id   bigint      not null references accounts (id) on delete cascade,
    target       text        not null check (length(target) between 3 and 2048),
    host         text        not null check (length(host) between 1 and 253),
    not_before   timestamptz not null,
    leased_until timestamptz,
    attempts     smallint    not null default 0,
    unique (account_id, target)
);
create index import_follows_due on import_follows (not_before, id);
create index import_follows_host on import_follows (host);

alter table archive_imports
    add column follows_queued integer not null default 0,
    add column follows_sent   integer not null default 0,
    add column follows_failed integer not null default 0;

-- A result is now a bounded summary (counts and the first problems). Older
-- ones listed every skipped row (one held 142 MB and was returned by every
-- status GET): cut them to the new bound, and keep it.
update archive_imports set result = left(result, 8000) where length(result) > 8000;
update archive_imports set error = left(error, 2000) where length(error) > 2000;
alter table archive_imports
    add constraint archive_imports_result_bounded check (length(result) <= 8000),
    add constraint archive_imports_error_bounded check (length(error) <= 2000);

-- One queued or running import per account: each waits on disk as an
-- uploaded zip. Extra ones already queued fail, oldest kept.
update archive_imports a set state = 'failed', finished_at = now(),
    error = 'another import of this account was already queued: upload the archive again once it is done'
where a.state in ('pending', 'running') and exists (
    select 1 from archive_imports b where b.account_id = a.account_id and b.state in ('pending', 'running') and b.id < a.id);
create unique index archive_imports_one_active on archive_imports (account_id) where state in ('pending', 'running');
