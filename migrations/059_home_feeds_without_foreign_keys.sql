-- Issue 21, posting: home-feed rows without foreign keys.
--
-- home_feeds is derived data, filed 1,000 followers at a time by the
-- fan-out job (50,000 rows for one post of an account with 50,000 local
-- followers). Each row's two foreign-key checks ran a query and took a
-- KEY SHARE lock per row, on the status (the same row, 50,000 times) and
-- on the follower's account (dirtying every follower's account row, and
-- after a checkpoint writing each page of them to the WAL whole): an
-- INSERT ... SELECT of 200,000 rows took 16 µs a row with them and 4–5 µs
-- without (PostgreSQL 15, the 2-core machine).
--
-- What the keys did is kept:
--   * "on delete cascade": statement-level triggers below delete the rows
--     of deleted statuses and accounts (home_feeds_status_id and the
--     primary key serve them);
--   * "no row for a status that is gone": every writer that files a
--     status it did not insert in the same transaction takes a KEY SHARE
--     lock on the status first, once per status rather than once per row
--     (the fan-out job's batch, AddToHomeFeeds, the follow trigger below),
--     so a delete waits for the writer to commit and its trigger then
--     sees, and deletes, the rows. A status deleted first is not filed.
-- Rows for an account deleted while a fan-out batch that had already read
-- its follow was running can outlive it (at most that batch's statuses,
-- at most 16); account ids are never reused and every read of a feed
-- starts from a live account, so they are never shown, and they go when
-- their statuses are deleted.
do $$
declare
    c record;
begin
    for c in select conname from pg_constraint
             where conrelid = 'home_feeds'::regclass and contype = 'f' loop
        execute format('alter table home_feeds drop constraint %I', c.conname);
    end loop;
end $$;

create function home_feeds_status_gone() returns trigger language plpgsql as $$
begin
    delete from home_feeds h using gone g where h.status_id = g.id;
    return null;
end $$;
create trigger statuses_home_feeds_gone after delete on statuses
    referencing old table as gone for each statement execute function home_feeds_status_gone();

create function home_feeds_account_gone() returns trigger language plpgsql as $$
begin
    delete from home_feeds h using gone g where h.account_id = g.id;
    return null;
end $$;
create trigger accounts_home_feeds_gone after delete on accounts
    referencing old table as gone for each statement execute function home_feeds_account_gone();

-- Following someone files their recent posts (migration 013): those
-- statuses are locked as they are filed, for the reason above.
create or replace function follows_home_feed() returns trigger language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') and new.state = 'accepted'
       and (tg_op = 'INSERT' or old.state <> 'accepted')
       and exists (select 1 from accounts where id = new.follower_id and tenant_id is not null) then
        insert into home_feeds (account_id, status_id)
        select new.follower_id, r.id from (
            select s.id from statuses s
            where s.account_id = new.followee_id and s.visibility in ('public', 'unlisted', 'private')
            order by s.id desc limit 40
            for key share of s) r
        on conflict do nothing;
    elsif tg_op = 'DELETE' and old.state = 'accepted' then
        delete from home_feeds h using statuses s
        where h.account_id = old.follower_id and h.status_id = s.id and s.account_id = old.followee_id
          and not exists (select 1 from status_mentions m where m.status_id = s.id and m.account_id = old.follower_id);
    end if;
    return null;
end $$;
