-- Issue 18: the public pages (api/public) keep rendered signed-out pages
-- in each web node's memory. Each cached page is filed under keys for
-- what it shows; these triggers announce, at commit, the keys of what
-- changed, so every node drops exactly the pages that showed it:
--   s<id>   a status: its text, media, poll, counts, hiding; a reply to
--           it or a boost of it (its counts and its thread change)
--   a<id>   an account: its profile, counts, limits, pins and the list
--           of its posts (a new post or a deleted one)
--   t<id>   a tenant: its name, rules, about text, emoji, domain blocks,
--           its directory (a local account created or deleted)
--   #<tag>  a hashtag's page
--   *       everything (an instance-wide domain block)
-- They ride the streaming channel (roost_stream, migration 010) as event
-- "pages", so the one elected relay carries them to Redis for every node
-- with no connection of their own. Statement-level triggers with
-- transition tables: one notification per statement however many rows
-- (an archive import, a cascade), split in pieces under pg_notify's 8000
-- bytes. PostgreSQL also folds identical notifications of a transaction.

create function page_notify(keys text[]) returns void language plpgsql as $$
declare
    k text[] := array(select distinct x from unnest(keys) x where x is not null and length(x) <= 101);
    i int := 1;
    n int := coalesce(cardinality(k), 0);
begin
    while i <= n loop
        -- 60 keys of at most 101 characters stay under 8000 bytes.
        perform pg_notify('roost_stream', jsonb_build_object('e', 'pages', 'k', to_jsonb(k[i:i + 59]))::text);
        i := i + 60;
    end loop;
end $$;

-- page_on adds the three statement-level triggers of a table: its
-- function reads the rows inserted, updated (their new values) or
-- deleted as the transition table "changed".
create function page_on(tbl text, fn text) returns void language plpgsql as $$
begin
    execute format('create trigger %I after insert on %I referencing new table as changed '
                   'for each statement execute function %I()', 'page_ins_' || tbl, tbl, fn);
    execute format('create trigger %I after update on %I referencing new table as changed '
                   'for each statement execute function %I()', 'page_upd_' || tbl, tbl, fn);
    execute format('create trigger %I after delete on %I referencing old table as changed '
                   'for each statement execute function %I()', 'page_del_' || tbl, tbl, fn);
end $$;

-- A status: itself, its author's posts, its parent's thread and counts,
-- the boosted status's counts, its hashtags.
create function page_statuses() returns trigger language plpgsql as $$
begin
    perform page_notify(array(
        select 's' || c.id from changed c
        union all select 'a' || c.account_id from changed c
        union all select 's' || c.in_reply_to_id from changed c where c.in_reply_to_id is not null
        union all select 's' || c.reblog_of_id from changed c where c.reblog_of_id is not null
        union all select '#' || t from changed c, unnest(c.tags) t));
    return null;
end $$;
select page_on('statuses', 'page_statuses');

-- A status entering a tenant's public timeline later than it was stored
-- (a remote post a second tenant comes to know): its hashtags' pages.
create function page_tenant_timeline() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select '#' || t from changed c join statuses s on s.id = c.status_id, unnest(s.tags) t));
    return null;
end $$;
create trigger page_ins_tenant_timeline after insert on tenant_timeline referencing new table as changed
    for each statement execute function page_tenant_timeline();

-- Rows naming one status: its counts, its hiding by a tenant, its poll's
-- votes, its media.
create function page_by_status() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 's' || c.status_id from changed c where c.status_id is not null));
    return null;
end $$;
select page_on('status_stats', 'page_by_status');
select page_on('tenant_hidden_statuses', 'page_by_status');
select page_on('poll_votes', 'page_by_status');
select page_on('media_attachments', 'page_by_status');

-- Rows naming one account: its counts, its moderation limits.
create function page_by_account() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 'a' || c.account_id from changed c));
    return null;
end $$;
select page_on('account_stats', 'page_by_account');
select page_on('account_limits', 'page_by_account');

-- Pins: the account's profile and the status.
create function page_pins() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 'a' || c.account_id from changed c
                              union all select 's' || c.status_id from changed c));
    return null;
end $$;
select page_on('pins', 'page_pins');

-- Accounts: the account; a local one's tenant too when it is created or
-- deleted, or chooses to be listed or not (its directory, and whether
-- it is the tenant's only account, whose profile is "/").
create function page_accounts() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 'a' || c.id from changed c
                              union all select 't' || c.tenant_id from changed c where c.tenant_id is not null));
    return null;
end $$;
create trigger page_ins_accounts after insert on accounts referencing new table as changed
    for each statement execute function page_accounts();
create trigger page_del_accounts after delete on accounts referencing old table as changed
    for each statement execute function page_accounts();

create function page_accounts_update() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 'a' || c.id from changed c
                              union all select 't' || c.tenant_id from changed c join before_rows o on o.id = c.id
                                        where c.tenant_id is not null and o.discoverable is distinct from c.discoverable));
    return null;
end $$;
create trigger page_upd_accounts after update on accounts referencing old table as before_rows new table as changed
    for each statement execute function page_accounts_update();

-- What every page of a tenant shows: its name (tenants), rules, about
-- text, emoji, domain blocks (remote posts it hides), its domains.
create function page_by_tenant() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select 't' || c.id from changed c));
    return null;
end $$;
select page_on('tenants', 'page_by_tenant');

create function page_by_tenant_id() returns trigger language plpgsql as $$
begin
    perform page_notify(array(select coalesce('t' || c.tenant_id, '*') from changed c));
    return null;
end $$;
select page_on('server_rules', 'page_by_tenant_id');
select page_on('server_settings', 'page_by_tenant_id');
select page_on('custom_emojis', 'page_by_tenant_id');
select page_on('domain_blocks', 'page_by_tenant_id');
-- A tenant's domains: its pages' links and media origins.
select page_on('domains', 'page_by_tenant_id');

drop function page_on(text, text);
