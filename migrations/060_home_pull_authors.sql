-- Issue 21, posting: large audiences read their home feeds instead of
-- being written to.
--
-- Filing a post in every follower's home feed costs a row per follower:
-- 50,000 rows (about a second of a core) for one post of an account with
-- 50,000 local followers, on the machine every other request shares. A
-- local author whose local followers pass a bound (the fan-out job counts them
-- when it first meets one of the author's posts; ROOST_HOME_PULL_FOLLOWERS,
-- 1,000 by default) is marked here, once, and from then on their posts
-- are filed only in the home feeds of the author and of the accounts they
-- mention. Their followers' home timelines read the author's recent posts
-- directly, merged with the feed's rows (views.go, homeTimelineSQL), so a
-- post costs the same at any audience and reaches every follower at
-- commit. A mark is never taken back (an author who loses followers stays
-- read, which is correct at any audience); posts filed before it stay in
-- the feeds, and the merge drops duplicates.
-- Remote authors are not read: their posts reach each tenant's followers
-- as that tenant's inbox received them (federation/postgres/fanout.go,
-- markPulled).
create table home_pull_authors (
    account_id bigint primary key references accounts (id) on delete cascade,
    created_at timestamptz not null default now()
);

-- home_pull marks author and tells what showed the author's posts from
-- feed rows: every cached home timeline page (they do not yet name the
-- author's posts as a dependency; 'g 0', migration 054), and the
-- connected followers' user streams, which start hearing the author's
-- posts on the author's channel ('pull', below). Only a local author is
-- marked; returns whether author is marked (now or before).
create function home_pull(author bigint) returns boolean language plpgsql as $$
begin
    insert into home_pull_authors (account_id)
    select id from accounts where id = author and tenant_id is not null
    on conflict do nothing;
    if found then
        perform pg_notify('roost_cache', 'g 0');
        perform stream_to_accounts('pull', author, array(
            select f.follower_id from follows f join accounts a on a.id = f.follower_id
            where f.followee_id = author and f.state = 'accepted' and a.tenant_id is not null
            order by f.follower_id), false);
    end if;
    return exists (select 1 from home_pull_authors where account_id = author);
end $$;

-- A new status of a marked author (not direct: those reach their
-- mentioned accounts' feed rows): the home pages of the author's
-- followers change ('P <author>' on roost_cache: pages that read the
-- author's posts), and the followers' user streams hear it on the
-- author's channel (payload field "a": authors whose followers hear it;
-- each stream checks the status is on its viewer's home timeline).
create function statuses_pulled_news() returns trigger language plpgsql as $$
begin
    if new.visibility <> 'direct' and exists (select 1 from home_pull_authors where account_id = new.account_id) then
        perform pg_notify('roost_cache', 'P ' || new.account_id);
        if stream_fresh(new.created_at) then
            perform pg_notify('roost_stream', jsonb_build_object('e', 'update', 'id', new.id,
                'a', jsonb_build_array(new.account_id))::text);
        end if;
    end if;
    return null;
end $$;
create trigger statuses_pulled_news after insert on statuses
    for each row execute function statuses_pulled_news();

-- Edits and deletes (migration 010) reach the streams that were shown the
-- status: its feed rows and tenants' public streams, and now the author's
-- channel when the author is read.
create or replace function stream_audience(event text, s statuses) returns void language plpgsql as $$
begin
    perform stream_to_accounts(event, s.id,
        array(select account_id from home_feeds where status_id = s.id order by account_id), false);
    perform stream_to_tenants(event, s.id,
        array(select tenant_id from tenant_timeline where status_id = s.id and local order by tenant_id),
        array(select tenant_id from tenant_timeline where status_id = s.id and not local order by tenant_id),
        s.tags);
    if s.visibility <> 'direct' and exists (select 1 from home_pull_authors where account_id = s.account_id) then
        perform pg_notify('roost_stream', jsonb_build_object('e', event, 'id', s.id,
            'a', jsonb_build_array(s.account_id))::text);
    end if;
end $$;

-- Following a marked author starts a connected follower's streams hearing
-- the author's channel ('pull', id: the author); unfollowing stops them
-- ('unpull'). Internal events: streams act on them and send clients
-- nothing.
create function follows_pull_stream() returns trigger language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') and new.state = 'accepted' and (tg_op = 'INSERT' or old.state <> 'accepted')
       and exists (select 1 from home_pull_authors where account_id = new.followee_id) then
        perform stream_notify('pull', new.followee_id, array[new.follower_id], null, null, null, null);
    end if;
    if tg_op in ('UPDATE', 'DELETE') and old.state = 'accepted' and (tg_op = 'DELETE' or new.state <> 'accepted')
       and exists (select 1 from home_pull_authors where account_id = old.followee_id) then
        perform stream_notify('unpull', old.followee_id, array[old.follower_id], null, null, null, null);
    end if;
    return null;
end $$;
create trigger follows_pull_stream after insert or update of state or delete on follows
    for each row execute function follows_pull_stream();

-- The read (views.go, homeTimelineSQL) probes follows' unique
-- (follower_id, followee_id) for the marked authors, then reads each
-- followed one's newest statuses in statuses_account's (account_id, id)
-- order: no index is added.

-- Following someone files their recent posts (migrations 013, 059); a
-- read author's are read, so following one files nothing (nor streams
-- the merge, as Mastodon does not push one).
create or replace function follows_home_feed() returns trigger language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') and new.state = 'accepted'
       and (tg_op = 'INSERT' or old.state <> 'accepted')
       and exists (select 1 from accounts where id = new.follower_id and tenant_id is not null)
       and not exists (select 1 from home_pull_authors where account_id = new.followee_id) then
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
