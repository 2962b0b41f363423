-- Scheduled posts and announcements (issue 17).
--
-- scheduled_statuses: a post its author asked to publish later
-- (POST /api/v1/statuses with scheduled_at). params is what the client
-- sent, settled (the author's defaults applied), as the ScheduledStatus
-- entity shows it; media_ids are the uploads it reserves: no other post or
-- scheduled post may take them until it is published or cancelled.
-- Publishing deletes the row in the transaction that stores the status
-- (federation/postgres Publish), so two workers, or one restarted after a
-- crash, can never publish it twice; claimed_until is a short lease that
-- keeps a second worker from even trying while the first is at it.
create table scheduled_statuses (
    id            bigint generated always as identity primary key,
    tenant_id     bigint      not null references tenants (id) on delete cascade,
    account_id    bigint      not null references accounts (id) on delete cascade,
    scheduled_at  timestamptz not null,
    params        jsonb       not null check (length(params::text) <= 65536),
    media_ids     bigint[]    not null default '{}' check (cardinality(media_ids) <= 4),
    idempotency   text        check (length(idempotency) <= 200),
    claimed_until timestamptz,
    created_at    timestamptz not null default now()
);
create index scheduled_statuses_account on scheduled_statuses (account_id, id desc);
create index scheduled_statuses_due on scheduled_statuses (scheduled_at);
-- A retried request (same Idempotency-Key) finds the first one's row.
create unique index scheduled_statuses_idempotency on scheduled_statuses (account_id, idempotency)
    where idempotency is not null;

-- announcements: written by the operator (tenant_id null: shown on every
-- tenant) or by a tenant's admins (that tenant only). content is the
-- sanitised HTML shown; text what its author typed.
create table announcements (
    id           bigint generated always as identity primary key,
    tenant_id    bigint      references tenants (id) on delete cascade,
    text         text        not null check (char_length(text) between 1 and 5000),
    content      text        not null,
    starts_at    timestamptz,
    ends_at      timestamptz,
    all_day      boolean     not null default false,
    published_at timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    check (ends_at is null or starts_at is null or ends_at >= starts_at)
);
create index announcements_tenant on announcements (tenant_id, id desc);

-- Who dismissed (read) which announcement.
create table announcement_dismissals (
    announcement_id bigint not null references announcements (id) on delete cascade,
    account_id      bigint not null references accounts (id) on delete cascade,
    primary key (account_id, announcement_id)
);

-- Reactions: a unicode emoji or one of the reader's tenant's custom
-- emojis, by name, once per account. tenant_id is the reader's: an
-- operator's announcement is read on every tenant, and each tenant sees
-- only its own people's reactions (and its own custom emojis).
create table announcement_reactions (
    announcement_id bigint      not null references announcements (id) on delete cascade,
    account_id      bigint      not null references accounts (id) on delete cascade,
    tenant_id       bigint      not null references tenants (id) on delete cascade,
    name            text        not null check (length(name) between 1 and 64),
    created_at      timestamptz not null default now(),
    primary key (announcement_id, account_id, name)
);
create index announcement_reactions_tenant on announcement_reactions (announcement_id, tenant_id, name);
