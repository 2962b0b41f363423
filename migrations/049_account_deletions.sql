-- Issue 18: a person deletes their own account, as on Mastodon. The
-- account is suspended at once (account_limits at its tenant's scope,
-- which already stops sign-in, tokens and serving); roost work then
-- announces Delete(Person) to every server that knew it, removes its
-- posts, media, follows and notifications in bounded batches, and last
-- its row. This row outlives the account on purpose:
--   * its name stays taken (Mastodon never frees a deleted username:
--     remote servers still hold the old actor, and a newcomer under the
--     same name would inherit its follows and mentions there);
--   * its actor URL answers 410 Gone with a Tombstone, not 404.
-- No foreign key to accounts, for that reason; the tenant's own deletion
-- (leaving) takes these rows with it.
create table account_deletions (
    account_id   bigint      primary key,
    tenant_id    bigint      not null references tenants (id) on delete cascade,
    domain       text        not null,
    username     text        not null,
    requested_by text        not null default '' check (length(requested_by) <= 300),
    requested_at timestamptz not null default now(),
    -- Delete(Person) queued to the known inboxes.
    announced_at timestamptz,
    -- the account's rows and files are gone; only this row remains.
    purged_at    timestamptz
);
create unique index account_deletions_name on account_deletions (domain, lower(username));
create index account_deletions_tenant on account_deletions (tenant_id);
create index account_deletions_due on account_deletions (requested_at) where purged_at is null;

-- A deleted name cannot be taken again, whatever path creates or renames
-- a local account (sign-up, the CLI, the dashboard, an import, a move):
-- the same error as a taken name, so callers answer "username taken".
create function accounts_deleted_name() returns trigger language plpgsql as $$
begin
    if new.tenant_id is not null and exists (select 1 from account_deletions d
            where d.domain = new.domain and lower(d.username) = lower(new.username) and d.account_id <> new.id) then
        raise exception 'the name % on % belonged to a deleted account', new.username, new.domain
            using errcode = '23505', constraint = 'account_deletions_name';
    end if;
    return new;
end $$;
create trigger accounts_deleted_name before insert or update of username, domain on accounts
    for each row execute function accounts_deleted_name();
