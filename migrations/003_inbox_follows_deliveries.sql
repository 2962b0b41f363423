-- Inbound activities, queued durably once their signature has been
-- verified, one row per (tenant, activity): an activity sent to two
-- tenants' shared inboxes is processed once for each, a redelivery to the
-- same tenant not at all.
create table inbox_items (
    id           bigint generated always as identity primary key,
    tenant_id    bigint      not null references tenants (id) on delete cascade,
    activity_id  text        not null,
    actor_uri    text        not null,
    activity     jsonb       not null,
    received_at  timestamptz not null default now(),
    processed_at timestamptz,
    attempts     int         not null default 0,
    locked_until timestamptz, -- a worker's lease; an expired lease is taken over
    last_error   text,
    unique (tenant_id, activity_id)
);
create index inbox_items_pending on inbox_items (id) where processed_at is null;

-- Follows between actors, local or remote (accounts holds both). A follow
-- is visible to the tenants of its local side(s) through their account ids.
create table follows (
    id          bigint generated always as identity primary key,
    follower_id bigint      not null references accounts (id) on delete cascade,
    followee_id bigint      not null references accounts (id) on delete cascade,
    state       text        not null check (state in ('pending', 'accepted')),
    uri         text        not null, -- the Follow activity's id
    created_at  timestamptz not null default now(),
    unique (follower_id, followee_id),
    check (follower_id <> followee_id)
);
create index follows_followee on follows (followee_id, state);

-- Outbound deliveries: one row per (activity, remote inbox). PostgreSQL is
-- the truth; Redis only dispatches row ids to workers.
create table deliveries (
    id              bigint generated always as identity primary key,
    sender_id       bigint      not null references accounts (id) on delete cascade,
    activity_id     text        not null,
    inbox_url       text        not null,
    host            text        not null,
    body            bytea       not null,
    express         boolean     not null default false,
    state           text        not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
    attempts        int         not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_status     int,
    last_error      text,
    created_at      timestamptz not null default now(),
    delivered_at    timestamptz,
    unique (activity_id, inbox_url)
);
create index deliveries_due on deliveries (next_attempt_at) where state = 'pending';
create index deliveries_activity on deliveries (activity_id);
