-- Portability: accounts re-homed to another domain or tenant, and tenants
-- leaving the instance.
--
-- A move keeps the account's row (its id, and with it posts, media,
-- follows, lists, bookmarks, notifications, settings and login) and gives
-- it its new domain, tenant and username; the identity it leaves behind is
-- a new "ghost" row on the old domain holding the same key pair, its
-- remote followers, alsoKnownAs and movedTo, which keeps answering the old
-- actor, inbox and post URLs. One row here per move, for the record and
-- for resending the Move.
create table account_moves (
    id             bigint generated always as identity primary key,
    account_id     bigint      references accounts (id) on delete set null, -- the account, now at to_uri
    ghost_id       bigint      references accounts (id) on delete set null, -- the identity left at from_uri
    from_tenant_id bigint      not null,
    to_tenant_id   bigint      not null,
    from_uri       text        not null,
    to_uri         text        not null,
    kind           text        not null check (kind in ('domain', 'account')),
    announced_at   timestamptz, -- the Move was queued to every follower's server
    created_at     timestamptz not null default now()
);
create index account_moves_account on account_moves (account_id);

-- A tenant leaving: deletion scheduled after a grace period (cancellable
-- until then), then Delete(Person) of every account queued to every
-- server that knows it, then, once those deliveries are done or given up,
-- the tenant's rows removed. The audit log (no foreign key) keeps the
-- record after the tenant row is gone.
create table tenant_deletions (
    tenant_id    bigint      primary key references tenants (id) on delete cascade,
    requested_by text        not null default '',
    requested_at timestamptz not null default now(),
    due_at       timestamptz not null,
    announced_at timestamptz, -- Delete(Person) queued for every account
    prior_status text        not null -- restored when cancelled
);
create index tenant_deletions_due on tenant_deletions (due_at);

-- Imported posts to deliver to followers (an import run with publishing):
-- cleared in the transaction that queues the deliveries, so an import
-- restarted after a crash publishes what is left and nothing twice.
alter table imported_statuses add column publish_pending boolean not null default false;
create index imported_statuses_publish_pending on imported_statuses (account_id, status_id) where publish_pending;
