-- Issue 21: web nodes keep hot, rarely-changing objects in memory (local
-- accounts by name, each tenant's instance document; internal/hotcache).
-- A copy must never outlive the row it was made from: a suspended or
-- deleted account, a rotated key, a moved account or a changed rule must
-- be dropped by every node at once.
--
-- The database itself announces every change, so no write path can forget
-- to (the dashboards, `roost` commands in other processes, imports, moves,
-- a tenant leaving): these triggers pg_notify channel roost_cache, which
-- PostgreSQL delivers to every listening node when — and only if — the
-- writing transaction commits. Payloads:
--   'a <account id> <tenant id>'  one local account changed or went away,
--                                 or its limits (suspension) changed;
--   'k <token id> <tenant id>'    an OAuth access token was revoked, deleted
--                                 (its app or account went) or used (its
--                                 last use is recorded once a minute);
--   'v <account id>'              what that viewer hides changed (filters,
--                                 domain blocks, exclusive lists);
--   't <tenant id>'               a tenant-wide change: the tenant's row,
--                                 domains, admins, rules, about texts, terms,
--                                 or a new account (the instance's contact
--                                 account may change).
-- Notifications with the same payload in one transaction are folded into
-- one by PostgreSQL. Remote accounts (tenant_id null) announce nothing: no
-- cache holds them.

create function roost_cache_account() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform pg_notify('roost_cache', 't ' || new.tenant_id);
        return null;
    end if;
    if old.tenant_id is not null then
        perform pg_notify('roost_cache', 'a ' || old.id || ' ' || old.tenant_id);
    end if;
    if tg_op = 'UPDATE' and new.tenant_id is not null and new.tenant_id is distinct from old.tenant_id then
        perform pg_notify('roost_cache', 'a ' || new.id || ' ' || new.tenant_id);
    end if;
    return null;
end $$;

create trigger accounts_cache_insert after insert on accounts
    for each row when (new.tenant_id is not null) execute function roost_cache_account();
create trigger accounts_cache_change after update or delete on accounts
    for each row when (old.tenant_id is not null) execute function roost_cache_account();

-- Limits (suspension, silence) name an account; tenant_id null is an
-- instance-wide limit.
create function roost_cache_account_limit() returns trigger
language plpgsql as $$
declare
    r account_limits;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    perform pg_notify('roost_cache', 'a ' || r.account_id || ' ' || coalesce(r.tenant_id, 0));
    if tg_op = 'UPDATE' and old.account_id <> new.account_id then
        perform pg_notify('roost_cache', 'a ' || old.account_id || ' ' || coalesce(old.tenant_id, 0));
    end if;
    return null;
end $$;

create trigger account_limits_cache after insert or update or delete on account_limits
    for each row execute function roost_cache_account_limit();

-- Tenant-wide rows: every table below has a tenant_id column (tenants
-- its id).
create function roost_cache_tenant() returns trigger
language plpgsql as $$
declare
    t bigint;
begin
    if tg_table_name = 'tenants' then
        if tg_op = 'DELETE' then t := old.id; else t := new.id; end if;
    elsif tg_op = 'DELETE' then
        t := old.tenant_id;
    else
        t := new.tenant_id;
        if tg_op = 'UPDATE' and old.tenant_id <> new.tenant_id then
            perform pg_notify('roost_cache', 't ' || old.tenant_id);
        end if;
    end if;
    perform pg_notify('roost_cache', 't ' || t);
    return null;
end $$;

create trigger tenants_cache after update or delete on tenants
    for each row execute function roost_cache_tenant();
create trigger domains_cache after insert or update or delete on domains
    for each row execute function roost_cache_tenant();
create trigger admin_roles_cache after insert or update or delete on admin_roles
    for each row execute function roost_cache_tenant();
create trigger server_rules_cache after insert or update or delete on server_rules
    for each row execute function roost_cache_tenant();
create trigger server_settings_cache after insert or update or delete on server_settings
    for each row execute function roost_cache_tenant();
create trigger terms_of_service_cache after insert or update or delete on terms_of_service
    for each row execute function roost_cache_tenant();

-- Access tokens: revoking sets revoked_at, deleting an app or an account
-- deletes them (row triggers fire on cascades too).
create function roost_cache_token() returns trigger
language plpgsql as $$
begin
    perform pg_notify('roost_cache', 'k ' || old.id || ' ' || old.tenant_id);
    return null;
end $$;

create trigger oauth_tokens_cache after update or delete on oauth_tokens
    for each row execute function roost_cache_token();

-- What a viewer hides (filters and their keywords and posts, domain
-- blocks, exclusive lists and their members) is read on every timeline
-- page: 'v <account id>' names the viewer whose hides changed. Child rows
-- find their owner through the parent; a parent deleted first announces
-- itself.
create function roost_cache_viewer() returns trigger
language plpgsql as $$
declare
    r record;
    owner bigint;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    if tg_table_name in ('filters', 'account_domain_blocks', 'lists') then
        owner := r.account_id;
    elsif tg_table_name in ('filter_keywords', 'filter_statuses') then
        select account_id into owner from filters where id = r.filter_id;
    else -- list_accounts
        select account_id into owner from lists where id = r.list_id;
    end if;
    if owner is not null then
        perform pg_notify('roost_cache', 'v ' || owner);
    end if;
    return null;
end $$;

create trigger filters_cache after insert or update or delete on filters
    for each row execute function roost_cache_viewer();
create trigger filter_keywords_cache after insert or update or delete on filter_keywords
    for each row execute function roost_cache_viewer();
create trigger filter_statuses_cache after insert or update or delete on filter_statuses
    for each row execute function roost_cache_viewer();
create trigger account_domain_blocks_cache after insert or update or delete on account_domain_blocks
    for each row execute function roost_cache_viewer();
create trigger lists_cache after insert or update or delete on lists
    for each row execute function roost_cache_viewer();
create trigger list_accounts_cache after insert or update or delete on list_accounts
    for each row execute function roost_cache_viewer();
