-- The Mastodon client API: OAuth apps and tokens per tenant, and the
-- read models apps expect (notifications, counters, bookmarks, pins,
-- mutes, markers). Counters and notifications are kept by triggers, so
-- every path that writes — local posting, local delivery, the inbox
-- processor — keeps them right in its own transaction.

-- OAuth 2 client applications, registered on one tenant (any of its
-- domains): an app registered on tenant A does not exist on tenant B.
create table oauth_apps (
    id                 bigint generated always as identity primary key,
    tenant_id          bigint      not null references tenants (id) on delete cascade,
    name               text        not null check (length(name) between 1 and 200),
    website            text        check (length(website) <= 2000),
    redirect_uris      text[]      not null check (cardinality(redirect_uris) between 1 and 16),
    scopes             text        not null,
    client_id          text        not null unique,
    client_secret_hash bytea       not null, -- SHA-256 of the secret
    created_at         timestamptz not null default now()
);
create index oauth_apps_tenant on oauth_apps (tenant_id);

-- Authorization codes: single use, short-lived, bound to the app, the
-- redirect_uri and (with PKCE) a code challenge.
create table oauth_codes (
    code_hash             bytea       primary key,
    app_id                bigint      not null references oauth_apps (id) on delete cascade,
    account_id            bigint      not null references accounts (id) on delete cascade,
    redirect_uri          text        not null,
    scopes                text        not null,
    code_challenge        text,
    code_challenge_method text,
    expires_at            timestamptz not null,
    used_at               timestamptz
);

-- Access tokens (and their refresh tokens), stored as SHA-256 hashes.
-- account_id is null for an app-only (client_credentials) token.
create table oauth_tokens (
    id           bigint generated always as identity primary key,
    tenant_id    bigint      not null references tenants (id) on delete cascade,
    app_id       bigint      not null references oauth_apps (id) on delete cascade,
    account_id   bigint      references accounts (id) on delete cascade,
    token_hash   bytea       not null unique,
    refresh_hash bytea       unique,
    code_hash    bytea, -- the code it was issued for: a replayed code revokes it
    scopes       text        not null,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
create index oauth_tokens_code on oauth_tokens (code_hash) where code_hash is not null;
create index oauth_tokens_account on oauth_tokens (account_id) where account_id is not null;

-- The source of a local post as typed, for edits and delete-and-redraft;
-- the app that posted it; the parent resolved to an id when known.
alter table statuses
    add column text                   text,
    add column application_id         bigint references oauth_apps (id) on delete set null,
    add column in_reply_to_id         bigint references statuses (id) on delete set null,
    add column in_reply_to_account_id bigint references accounts (id) on delete set null;
create index statuses_in_reply_to_id on statuses (in_reply_to_id) where in_reply_to_id is not null;
create index statuses_public on statuses (id desc) where visibility = 'public' and reblog_of_id is null;

-- Profile fields (name, value, verified_at for rel=me links) and the
-- account owner's posting defaults.
alter table accounts
    add column fields            jsonb   not null default '[]' check (jsonb_array_length(fields) <= 16),
    add column default_privacy   text    not null default 'public' check (default_privacy in ('public', 'unlisted', 'private', 'direct')),
    add column default_sensitive boolean not null default false,
    add column default_language  text;

-- Earlier versions of edited statuses.
create table status_edits (
    id         bigint generated always as identity primary key,
    status_id  bigint      not null references statuses (id) on delete cascade,
    content    text        not null,
    summary    text        not null,
    sensitive  boolean     not null,
    created_at timestamptz not null
);
create index status_edits_status on status_edits (status_id, id);

-- Who a status mentions, as accounts we know (local or remote).
create table status_mentions (
    status_id  bigint not null references statuses (id) on delete cascade,
    account_id bigint not null references accounts (id) on delete cascade,
    primary key (status_id, account_id)
);
create index status_mentions_account on status_mentions (account_id, status_id desc);

-- Favourites get a page cursor, as bookmarks have.
alter table favourites add column id bigint generated always as identity unique;
create index favourites_status on favourites (status_id);
create index follows_follower on follows (follower_id, state);

create table account_stats (
    account_id      bigint      primary key references accounts (id) on delete cascade,
    statuses_count  bigint      not null default 0,
    followers_count bigint      not null default 0,
    following_count bigint      not null default 0,
    last_status_at  timestamptz
);

create table status_stats (
    status_id        bigint primary key references statuses (id) on delete cascade,
    replies_count    bigint not null default 0,
    reblogs_count    bigint not null default 0,
    favourites_count bigint not null default 0
);

create table bookmarks (
    account_id bigint      not null references accounts (id) on delete cascade,
    status_id  bigint      not null references statuses (id) on delete cascade,
    id         bigint      generated always as identity unique, -- page order
    created_at timestamptz not null default now(),
    primary key (account_id, status_id)
);

create table pins (
    account_id bigint      not null references accounts (id) on delete cascade,
    status_id  bigint      not null references statuses (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (account_id, status_id)
);

create table mutes (
    account_id    bigint      not null references accounts (id) on delete cascade,
    target_id     bigint      not null references accounts (id) on delete cascade,
    notifications boolean     not null default true,
    expires_at    timestamptz,
    created_at    timestamptz not null default now(),
    primary key (account_id, target_id)
);

create table markers (
    account_id   bigint      not null references accounts (id) on delete cascade,
    timeline     text        not null check (timeline in ('home', 'notifications')),
    last_read_id bigint      not null,
    version      int         not null default 1,
    updated_at   timestamptz not null default now(),
    primary key (account_id, timeline)
);

-- Idempotency-Key of POST /api/v1/statuses: a retried post returns the
-- status the first request created.
create table status_idempotency (
    account_id bigint      not null references accounts (id) on delete cascade,
    key        text        not null check (length(key) <= 200),
    status_id  bigint      not null references statuses (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (account_id, key)
);

-- Notifications for local accounts.
create table notifications (
    id              bigint generated always as identity primary key,
    account_id      bigint      not null references accounts (id) on delete cascade,
    from_account_id bigint      not null references accounts (id) on delete cascade,
    type            text        not null check (type in ('mention', 'status', 'reblog', 'follow', 'follow_request',
                                                         'favourite', 'poll', 'update')),
    status_id       bigint      references statuses (id) on delete cascade,
    created_at      timestamptz not null default now(),
    unique nulls not distinct (account_id, type, from_account_id, status_id)
);
create index notifications_account on notifications (account_id, id desc);

-- notify records a notification for a local recipient, unless it is the
-- actor itself, or the recipient blocks the actor or mutes its
-- notifications.
create function notify(recipient bigint, actor bigint, kind text, status bigint) returns void
language plpgsql as $$
begin
    if recipient = actor then
        return;
    end if;
    if not exists (select 1 from accounts where id = recipient and tenant_id is not null) then
        return;
    end if;
    if exists (select 1 from blocks where account_id = recipient and target_id = actor)
       or exists (select 1 from mutes where account_id = recipient and target_id = actor and notifications
                  and (expires_at is null or expires_at > now())) then
        return;
    end if;
    insert into notifications (account_id, from_account_id, type, status_id)
    values (recipient, actor, kind, status)
    on conflict do nothing;
end $$;

create function statuses_before_insert() returns trigger language plpgsql as $$
begin
    if new.in_reply_to_uri is not null and new.in_reply_to_id is null then
        select id, account_id into new.in_reply_to_id, new.in_reply_to_account_id
        from statuses where uri = new.in_reply_to_uri;
    end if;
    return new;
end $$;
create trigger statuses_before_insert before insert on statuses
    for each row execute function statuses_before_insert();

create function statuses_counters() returns trigger language plpgsql as $$
begin
    -- Decrements only update: under a cascade (an account or an original
    -- deleted) the counted row may be gone already, and must stay gone.
    if tg_op = 'DELETE' then
        update account_stats set statuses_count = greatest(statuses_count - 1, 0) where account_id = old.account_id;
        if old.in_reply_to_id is not null then
            update status_stats set replies_count = greatest(replies_count - 1, 0) where status_id = old.in_reply_to_id;
        end if;
        if old.reblog_of_id is not null then
            update status_stats set reblogs_count = greatest(reblogs_count - 1, 0) where status_id = old.reblog_of_id;
        end if;
        return null;
    end if;
    insert into account_stats (account_id, statuses_count, last_status_at) values (new.account_id, 1, new.published_at)
    on conflict (account_id) do update set
        statuses_count = account_stats.statuses_count + 1,
        last_status_at = greatest(account_stats.last_status_at, excluded.last_status_at);
    if new.in_reply_to_id is not null then
        insert into status_stats (status_id, replies_count) values (new.in_reply_to_id, 1)
        on conflict (status_id) do update set replies_count = status_stats.replies_count + 1;
    end if;
    if new.reblog_of_id is not null then
        insert into status_stats (status_id, reblogs_count) values (new.reblog_of_id, 1)
        on conflict (status_id) do update set reblogs_count = status_stats.reblogs_count + 1;
        perform notify((select account_id from statuses where id = new.reblog_of_id), new.account_id, 'reblog', new.reblog_of_id);
    end if;
    return null;
end $$;
-- A deleted parent or original cascades; the counter rows go with it.
create trigger statuses_counters after insert or delete on statuses
    for each row execute function statuses_counters();

create function favourites_counters() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into status_stats (status_id, favourites_count) values (new.status_id, 1)
        on conflict (status_id) do update set favourites_count = status_stats.favourites_count + 1;
        perform notify((select account_id from statuses where id = new.status_id), new.account_id, 'favourite', new.status_id);
    else
        update status_stats set favourites_count = greatest(favourites_count - 1, 0) where status_id = old.status_id;
        delete from notifications where type = 'favourite' and from_account_id = old.account_id and status_id = old.status_id;
    end if;
    return null;
end $$;
create trigger favourites_counters after insert or delete on favourites
    for each row execute function favourites_counters();

create function follows_counters() returns trigger language plpgsql as $$
begin
    -- As for statuses, decrements only update.
    if tg_op in ('UPDATE', 'DELETE') and old.state = 'accepted' then
        update account_stats set followers_count = greatest(followers_count - 1, 0) where account_id = old.followee_id;
        update account_stats set following_count = greatest(following_count - 1, 0) where account_id = old.follower_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.state = 'accepted' then
        insert into account_stats (account_id, followers_count) values (new.followee_id, 1)
        on conflict (account_id) do update set followers_count = account_stats.followers_count + 1;
        insert into account_stats (account_id, following_count) values (new.follower_id, 1)
        on conflict (account_id) do update set following_count = account_stats.following_count + 1;
    end if;
    if tg_op = 'INSERT' then
        perform notify(new.followee_id, new.follower_id,
                       case when new.state = 'accepted' then 'follow' else 'follow_request' end, null);
    elsif tg_op = 'UPDATE' and old.state = 'pending' and new.state = 'accepted' then
        delete from notifications where type = 'follow_request'
            and account_id = new.followee_id and from_account_id = new.follower_id;
        perform notify(new.followee_id, new.follower_id, 'follow', null);
    elsif tg_op = 'DELETE' and old.state = 'pending' then
        delete from notifications where type = 'follow_request'
            and account_id = old.followee_id and from_account_id = old.follower_id;
    end if;
    return null;
end $$;
create trigger follows_counters after insert or update of state or delete on follows
    for each row execute function follows_counters();

create function status_mentions_notify() returns trigger language plpgsql as $$
begin
    perform notify(new.account_id, (select account_id from statuses where id = new.status_id), 'mention', new.status_id);
    return null;
end $$;
create trigger status_mentions_notify after insert on status_mentions
    for each row execute function status_mentions_notify();

-- Counters for what exists already.
insert into account_stats (account_id, statuses_count, last_status_at)
select account_id, count(*), max(published_at) from statuses group by account_id
on conflict (account_id) do nothing;
update account_stats a set
    followers_count = (select count(*) from follows where followee_id = a.account_id and state = 'accepted'),
    following_count = (select count(*) from follows where follower_id = a.account_id and state = 'accepted');
insert into account_stats (account_id, followers_count, following_count)
select id,
       (select count(*) from follows where followee_id = accounts.id and state = 'accepted'),
       (select count(*) from follows where follower_id = accounts.id and state = 'accepted')
from accounts
on conflict (account_id) do nothing;
update statuses c set in_reply_to_id = p.id, in_reply_to_account_id = p.account_id
from statuses p where c.in_reply_to_uri = p.uri and c.in_reply_to_id is null;
insert into status_stats (status_id, replies_count, reblogs_count, favourites_count)
select s.id,
       (select count(*) from statuses r where r.in_reply_to_id = s.id),
       (select count(*) from statuses b where b.reblog_of_id = s.id),
       (select count(*) from favourites f where f.status_id = s.id)
from statuses s;

-- The public statuses each tenant has seen: its own, those its inbox
-- received, and those delivered locally to its accounts. The federated
-- timelines read it, so tenant B never sees what reached only tenant A.
create table tenant_timeline (
    tenant_id bigint  not null references tenants (id) on delete cascade,
    status_id bigint  not null references statuses (id) on delete cascade,
    local     boolean not null,
    primary key (tenant_id, status_id)
);
create index tenant_timeline_local on tenant_timeline (tenant_id, local, status_id desc);
insert into tenant_timeline (tenant_id, status_id, local)
select tenant_id, id, true from statuses where tenant_id is not null and visibility = 'public' and reblog_of_id is null;
