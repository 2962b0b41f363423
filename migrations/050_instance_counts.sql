-- Issue 20 (`roost bench domains`): the operator dashboard at 100,000
-- tenants. Before this, its first page counted every tenant, account,
-- post and media file and parsed every stored certificate on each view
-- (seconds at 100,000 domains), and a tenant search or a status filter
-- walked the whole tenants table. Now:
--   * instance-wide numbers are kept incrementally (instance_counts),
--   * certificate expiries are a small indexed table (cert_expiries),
--   * search and filters use indexes.

-- Substring search of tenant names and host names (the dashboard's
-- "search"); pg_trgm is a trusted extension: the database owner may add it.
create extension if not exists pg_trgm;
create index tenants_name_trgm on tenants using gin (lower(name) gin_trgm_ops);
create index hostnames_name_trgm on hostnames using gin (name gin_trgm_ops);
-- The list filtered by status, newest first (a few suspended tenants
-- among 100,000 are found without reading the others).
create index tenants_status_id on tenants (status, id desc);
-- Active accounts (posted within a day, week, month) without reading
-- every account's stats.
create index account_stats_last_status on account_stats (last_status_at) where last_status_at is not null;
-- A tenant's own numbers (its dashboard, its detail page) from its rows
-- alone: before, counting one tenant's posts or media read every tenant's.
create index statuses_tenant_published on statuses (tenant_id, published_at) where tenant_id is not null;
create index media_attachments_tenant on media_attachments (tenant_id) include (file_size);

-- Counters. Each backend adds to rows of its own (slot = its process id),
-- so two writing transactions never wait for, or deadlock on, a counter
-- row; the sum over slots is the number. Rows of backends that have
-- exited are folded into slot 0 by instance_counts_fold() (the dashboard
-- calls it when it reads), which never touches a live backend's rows.
-- day is the local posts' publication day for 'posts', else 'epoch'.
create table instance_counts (
    name text     not null,
    day  date     not null default 'epoch',
    slot integer  not null,
    n    bigint   not null,
    primary key (name, day, slot)
);

create function instance_counts_add(p_name text, p_day date, p_n bigint) returns void
language sql as $$
    insert into instance_counts (name, day, slot, n) values (p_name, p_day, pg_backend_pid(), p_n)
    on conflict (name, day, slot) do update set n = instance_counts.n + excluded.n
$$;

create function instance_counts_fold() returns void
language plpgsql as $$
begin
    if not pg_try_advisory_xact_lock(hashtext('instance_counts_fold')) then
        return; -- another reader is folding
    end if;
    with gone as (
        delete from instance_counts c
        where c.slot <> 0 and not exists (select 1 from pg_stat_activity a where a.pid = c.slot)
        returning name, day, n
    ), sums as (select name, day, sum(n)::bigint as n from gone group by name, day)
    insert into instance_counts (name, day, slot, n) select name, day, 0, n from sums
    on conflict (name, day, slot) do update set n = instance_counts.n + excluded.n;
end $$;

-- Tenants by status: 'tenants:<status>'.
create function instance_counts_tenants() returns trigger
language plpgsql as $$
declare r record;
begin
    if tg_op = 'UPDATE' then
        perform instance_counts_add('tenants:' || old.status, 'epoch', -1);
        perform instance_counts_add('tenants:' || new.status, 'epoch', 1);
        return null;
    end if;
    if tg_op = 'INSERT' then
        for r in select status, count(*) as n from changed group by status order by status loop
            perform instance_counts_add('tenants:' || r.status, 'epoch', r.n);
        end loop;
    else
        for r in select status, count(*) as n from changed group by status order by status loop
            perform instance_counts_add('tenants:' || r.status, 'epoch', -r.n);
        end loop;
    end if;
    return null;
end $$;
create trigger tenants_counts_insert after insert on tenants referencing new table as changed
    for each statement execute function instance_counts_tenants();
create trigger tenants_counts_delete after delete on tenants referencing old table as changed
    for each statement execute function instance_counts_tenants();
create trigger tenants_counts_status after update of status on tenants
    for each row when (old.status is distinct from new.status) execute function instance_counts_tenants();

-- Local and remote accounts: 'local_accounts', 'remote_accounts'.
create function instance_counts_accounts() returns trigger
language plpgsql as $$
declare
    sign bigint := case when tg_op = 'DELETE' then -1 else 1 end;
    loc bigint; rem bigint;
begin
    if tg_op = 'UPDATE' then
        perform instance_counts_add('local_accounts', 'epoch', case when new.tenant_id is null then -1 else 1 end);
        perform instance_counts_add('remote_accounts', 'epoch', case when new.tenant_id is null then 1 else -1 end);
        return null;
    end if;
    select count(*) filter (where tenant_id is not null), count(*) filter (where tenant_id is null) into loc, rem from changed;
    if loc <> 0 then perform instance_counts_add('local_accounts', 'epoch', sign * loc); end if;
    if rem <> 0 then perform instance_counts_add('remote_accounts', 'epoch', sign * rem); end if;
    return null;
end $$;
create trigger accounts_counts_insert after insert on accounts referencing new table as changed
    for each statement execute function instance_counts_accounts();
create trigger accounts_counts_delete after delete on accounts referencing old table as changed
    for each statement execute function instance_counts_accounts();
create trigger accounts_counts_locality after update of tenant_id on accounts
    for each row when ((old.tenant_id is null) <> (new.tenant_id is null)) execute function instance_counts_accounts();

-- Local posts per publication day (UTC): 'posts'.
create function instance_counts_statuses() returns trigger
language plpgsql as $$
declare r record;
begin
    if tg_op = 'UPDATE' then
        if old.tenant_id is not null then
            perform instance_counts_add('posts', (old.published_at at time zone 'UTC')::date, -1);
        end if;
        if new.tenant_id is not null then
            perform instance_counts_add('posts', (new.published_at at time zone 'UTC')::date, 1);
        end if;
        return null;
    end if;
    for r in select (published_at at time zone 'UTC')::date as day, count(*) as n from changed
             where tenant_id is not null group by 1 order by 1 loop
        perform instance_counts_add('posts', r.day, case when tg_op = 'DELETE' then -r.n else r.n end);
    end loop;
    return null;
end $$;
create trigger statuses_counts_insert after insert on statuses referencing new table as changed
    for each statement execute function instance_counts_statuses();
create trigger statuses_counts_delete after delete on statuses referencing old table as changed
    for each statement execute function instance_counts_statuses();
create trigger statuses_counts_move after update of tenant_id, published_at on statuses
    for each row when (old.tenant_id is distinct from new.tenant_id
        or ((old.published_at at time zone 'UTC')::date <> (new.published_at at time zone 'UTC')::date and new.tenant_id is not null))
    execute function instance_counts_statuses();

-- Bytes of stored media: 'media_bytes'.
create function instance_counts_media() returns trigger
language plpgsql as $$
declare d bigint;
begin
    if tg_op = 'UPDATE' then
        perform instance_counts_add('media_bytes', 'epoch', new.file_size - old.file_size);
        return null;
    end if;
    select coalesce(sum(file_size), 0) into d from changed;
    if d <> 0 then
        perform instance_counts_add('media_bytes', 'epoch', case when tg_op = 'DELETE' then -d else d end);
    end if;
    return null;
end $$;
create trigger media_counts_insert after insert on media_attachments referencing new table as changed
    for each statement execute function instance_counts_media();
create trigger media_counts_delete after delete on media_attachments referencing old table as changed
    for each statement execute function instance_counts_media();
create trigger media_counts_size after update of file_size on media_attachments
    for each row when (old.file_size <> new.file_size) execute function instance_counts_media();

-- What exists now.
insert into instance_counts (name, day, slot, n)
    select 'tenants:' || status, 'epoch'::date, 0, count(*) from tenants group by status
    union all select 'local_accounts', 'epoch'::date, 0, count(*) from accounts where tenant_id is not null
    union all select 'remote_accounts', 'epoch'::date, 0, count(*) from accounts where tenant_id is null
    union all select 'posts', (published_at at time zone 'UTC')::date, 0, count(*) from statuses
        where tenant_id is not null group by 2
    union all select 'media_bytes', 'epoch'::date, 0, coalesce(sum(file_size), 0) from media_attachments;

-- Certificate expiries, from the status document certs.Storage writes per
-- name (roost/status/<name>.json: {"name", "not_after", ...}) whenever a
-- certificate is obtained or fails; a document that does not parse counts
-- as no certificate. 'certificates' counts the names with one.
create table cert_expiries (
    key       text collate "C" primary key,
    name      text        not null,
    not_after timestamptz
);
create index cert_expiries_name on cert_expiries (name);
create index cert_expiries_not_after on cert_expiries (not_after) where not_after is not null;

-- The status document as (name, not_after), or nulls when it does not
-- parse: a document the dashboard cannot read never fails the store.
create function cert_status_doc(v bytea, out name text, out not_after timestamptz)
language plpgsql as $$
declare doc jsonb;
begin
    doc := convert_from(v, 'UTF8')::jsonb;
    name := nullif(doc->>'name', '');
    not_after := nullif(doc->>'not_after', '')::timestamptz;
exception when others then
    name := null;
    not_after := null;
end $$;

create function cert_expiries_sync() returns trigger
language plpgsql as $$
declare
    d record;
    had boolean;
begin
    select e.not_after is not null into had from cert_expiries e where e.key = new.key;
    had := coalesce(had, false);
    d := cert_status_doc(new.value);
    if d.name is null then
        delete from cert_expiries where key = new.key;
    else
        insert into cert_expiries (key, name, not_after) values (new.key, d.name, d.not_after)
        on conflict (key) do update set name = excluded.name, not_after = excluded.not_after;
    end if;
    if (d.not_after is not null) <> had then
        perform instance_counts_add('certificates', 'epoch', case when d.not_after is not null then 1 else -1 end);
    end if;
    return null;
end $$;
create trigger cert_expiries_sync after insert or update of value on cert_storage
    for each row when (new.key like 'roost/status/%') execute function cert_expiries_sync();

create function cert_expiries_gone() returns trigger
language plpgsql as $$
declare n bigint;
begin
    with gone as (delete from cert_expiries e using changed c where e.key = c.key returning e.not_after)
    select count(*) filter (where not_after is not null) into n from gone;
    if n > 0 then
        perform instance_counts_add('certificates', 'epoch', -n);
    end if;
    return null;
end $$;
create trigger cert_expiries_gone after delete on cert_storage referencing old table as changed
    for each statement execute function cert_expiries_gone();

insert into cert_expiries (key, name, not_after)
    select c.key, d.name, d.not_after from cert_storage c, cert_status_doc(c.value) d
    where c.key like 'roost/status/%' and d.name is not null;
insert into instance_counts (name, day, slot, n)
    select 'certificates', 'epoch', 0, count(*) from cert_expiries where not_after is not null;
