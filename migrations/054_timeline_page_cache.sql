-- Issue 21: web nodes keep rendered home timeline pages in memory
-- (api/mastodon homecache.go), per tenant, viewer and paging. A page is
-- served from memory only while nothing it was rendered from has changed,
-- so the database announces every change that can alter the bytes of a
-- page on channel roost_cache (migration 046's channel: the same listener,
-- federation/postgres.CacheChanges, empties every cache while it does not
-- hear it). PostgreSQL delivers a notification only if, and when, the
-- writing transaction commits, whichever process wrote (the API, the
-- inbox worker, the fan-out job, the dashboards, `roost` commands).
--
-- Payloads (ids are decimal):
--   's <status>'          one status as rendered changed: its row (edit,
--                         delete), its counts (status_stats), media
--                         descriptions, poll votes, card, quote, mentions,
--                         a tenant hiding it, or a viewer's favourite,
--                         boost, bookmark or pin of it;
--   'S <status> ...'      the same for many statuses (a refetched card);
--   'A <account>'         one account as rendered in a status changed: its
--                         row (name, avatar, emojis, moved...) or counts;
--   'V <account> ...'     viewers whose pages changed: a home feed row
--                         came or went, or their mutes, blocks, follows or
--                         thread mutes changed (either side of a block or
--                         follow: visibility of private posts follows it);
--   'g 0'                 every page: a rare change any page may show
--                         (moderation limits, domain blocks, custom emojis,
--                         an app's name).
-- Filters, account domain blocks and exclusive lists already announce
-- 'v <account>' (migration 046); tenants' changes 't <tenant>'.
--
-- Many ids go in one payload (at most 300, under PostgreSQL's 8000 bytes)
-- from statement-level triggers, so a fan-out of 1,000 home feed rows is
-- four notifications, not 1,000.

create function roost_cache_ids(kind text, ids bigint[]) returns void
language plpgsql as $$
declare
    i int := 1;
    n int := coalesce(cardinality(ids), 0);
begin
    while i <= n loop
        perform pg_notify('roost_cache', kind || ' ' || array_to_string(ids[i:i + 299], ' '));
        i := i + 300;
    end loop;
end $$;

-- Home feed rows: the viewers whose feeds changed.
create function roost_cache_home_ins() returns trigger
language plpgsql as $$
begin
    perform roost_cache_ids('V', array(select distinct account_id from new_rows));
    return null;
end $$;

create function roost_cache_home_del() returns trigger
language plpgsql as $$
begin
    perform roost_cache_ids('V', array(select distinct account_id from old_rows));
    return null;
end $$;

create trigger home_feeds_page_ins after insert on home_feeds
    referencing new table as new_rows for each statement execute function roost_cache_home_ins();
create trigger home_feeds_page_del after delete on home_feeds
    referencing old table as old_rows for each statement execute function roost_cache_home_del();

-- Rows naming a status (status_id column): the status.
create function roost_cache_status_row() returns trigger
language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        perform pg_notify('roost_cache', 's ' || old.status_id);
    end if;
    if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.status_id is distinct from old.status_id) then
        perform pg_notify('roost_cache', 's ' || new.status_id);
    end if;
    return null;
end $$;

create trigger status_stats_page after insert or update or delete on status_stats
    for each row execute function roost_cache_status_row();
create trigger favourites_page after insert or update or delete on favourites
    for each row execute function roost_cache_status_row();
create trigger bookmarks_page after insert or update or delete on bookmarks
    for each row execute function roost_cache_status_row();
create trigger pins_page after insert or update or delete on pins
    for each row execute function roost_cache_status_row();
create trigger poll_votes_page after insert or update or delete on poll_votes
    for each row execute function roost_cache_status_row();
create trigger status_mentions_page after insert or update or delete on status_mentions
    for each row execute function roost_cache_status_row();
create trigger status_cards_page after insert or update or delete on status_cards
    for each row execute function roost_cache_status_row();
create trigger tenant_hidden_statuses_page after insert or update or delete on tenant_hidden_statuses
    for each row execute function roost_cache_status_row();
create trigger quotes_page after insert or update or delete on quotes
    for each row execute function roost_cache_status_row();
-- Media rows not yet attached (status_id null) are on no page.
create trigger media_attachments_page after update or delete on media_attachments
    for each row when (old.status_id is not null) execute function roost_cache_status_row();

-- A quote's count and state show on the quoted status too.
create function roost_cache_quoted() returns trigger
language plpgsql as $$
begin
    if tg_op <> 'INSERT' and old.quoted_status_id is not null then
        perform pg_notify('roost_cache', 's ' || old.quoted_status_id);
    end if;
    if tg_op <> 'DELETE' and new.quoted_status_id is not null then
        perform pg_notify('roost_cache', 's ' || new.quoted_status_id);
    end if;
    return null;
end $$;

create trigger quotes_quoted_page after insert or update or delete on quotes
    for each row execute function roost_cache_quoted();

-- Statuses: an edit or delete names the status; a boost coming or going
-- names its original (the booster's "reblogged" flag).
create function roost_cache_status() returns trigger
language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        perform pg_notify('roost_cache', 's ' || old.id);
        if old.reblog_of_id is not null then
            perform pg_notify('roost_cache', 's ' || old.reblog_of_id);
        end if;
    elsif new.reblog_of_id is not null then
        perform pg_notify('roost_cache', 's ' || new.reblog_of_id);
    end if;
    return null;
end $$;

create trigger statuses_page_ins after insert on statuses
    for each row when (new.reblog_of_id is not null) execute function roost_cache_status();
create trigger statuses_page_change after update or delete on statuses
    for each row execute function roost_cache_status();

-- A card refetched shows on every status carrying it.
create function roost_cache_card() returns trigger
language plpgsql as $$
begin
    perform roost_cache_ids('S', array(select status_id from status_cards where card_id = old.id));
    return null;
end $$;

create trigger link_cards_page after update or delete on link_cards
    for each row execute function roost_cache_card();

-- Accounts as rendered: the row (local or remote) and its counts.
create function roost_cache_shown() returns trigger
language plpgsql as $$
begin
    if tg_table_name = 'accounts' then
        perform pg_notify('roost_cache', 'A ' || old.id);
    elsif tg_op = 'INSERT' then
        perform pg_notify('roost_cache', 'A ' || new.account_id);
    else
        perform pg_notify('roost_cache', 'A ' || old.account_id);
    end if;
    return null;
end $$;

create trigger accounts_page after update on accounts
    for each row when (old is distinct from new) execute function roost_cache_shown();
create trigger accounts_page_del after delete on accounts
    for each row execute function roost_cache_shown();
create trigger account_stats_page after insert or update or delete on account_stats
    for each row execute function roost_cache_shown();

-- A viewer's own relations: both sides of a block and a follow (a block
-- hides either way; a follow opens private posts), the muting side of a
-- mute and a thread mute.
create function roost_cache_relation() returns trigger
language plpgsql as $$
declare
    r record;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    if tg_table_name = 'follows' then
        perform pg_notify('roost_cache', 'V ' || r.follower_id || ' ' || r.followee_id);
        if tg_op = 'UPDATE' and (old.follower_id, old.followee_id) is distinct from (new.follower_id, new.followee_id) then
            perform pg_notify('roost_cache', 'V ' || old.follower_id || ' ' || old.followee_id);
        end if;
    elsif tg_table_name = 'blocks' then
        perform pg_notify('roost_cache', 'V ' || r.account_id || ' ' || r.target_id);
    else -- mutes, thread_mutes
        perform pg_notify('roost_cache', 'V ' || r.account_id);
        if tg_op = 'UPDATE' and old.account_id <> new.account_id then
            perform pg_notify('roost_cache', 'V ' || old.account_id);
        end if;
    end if;
    return null;
end $$;

create trigger follows_page after insert or update or delete on follows
    for each row execute function roost_cache_relation();
create trigger blocks_page after insert or update or delete on blocks
    for each row execute function roost_cache_relation();
create trigger mutes_page after insert or update or delete on mutes
    for each row execute function roost_cache_relation();
create trigger thread_mutes_page after insert or update or delete on thread_mutes
    for each row execute function roost_cache_relation();

-- Rare changes any page may show: every page goes.
create function roost_cache_all_pages() returns trigger
language plpgsql as $$
begin
    perform pg_notify('roost_cache', 'g 0');
    return null;
end $$;

create trigger account_limits_page after insert or update or delete on account_limits
    for each statement execute function roost_cache_all_pages();
create trigger domain_blocks_page after insert or update or delete on domain_blocks
    for each statement execute function roost_cache_all_pages();
create trigger custom_emojis_page after insert or update or delete on custom_emojis
    for each statement execute function roost_cache_all_pages();
create trigger oauth_apps_page after update or delete on oauth_apps
    for each statement execute function roost_cache_all_pages();
