-- Grouped notifications (Mastodon's /api/v2/notifications) and the
-- notification policy with its requests (issue 17).
--
-- group_key: favourites and boosts of one status, and follows, that
-- happen on the same UTC day share a key, as Mastodon groups them by type,
-- target and time bucket; every other notification has none (the API says
-- "ungrouped-<id>"). A trigger fills it from the row itself, so every
-- writer of notifications (notify(), notify_poll_ended, a move) gets it.
--
-- filtered: the recipient's policy sent it to the requests rather than the
-- list (include_filtered shows it); "drop" never stores it. Existing rows
-- are all shown as before (false).
--
-- Adding a nullable column and one with a constant default rewrites
-- nothing; the backfill touches only groupable rows.

alter table notifications
    add column group_key text,
    add column filtered  boolean not null default false;

create function notification_group_key(kind text, status bigint, at timestamptz) returns text
language sql immutable as $$
    select case
        when kind in ('favourite', 'reblog') and status is not null
            then kind || '-' || status || '-' || floor(extract(epoch from at) / 86400)::bigint
        when kind = 'follow'
            then kind || '-' || floor(extract(epoch from at) / 86400)::bigint
    end
$$;

create function notifications_group_key() returns trigger language plpgsql as $$
begin
    new.group_key := notification_group_key(new.type, new.status_id, new.created_at);
    return new;
end $$;
create trigger notifications_group_key before insert on notifications
    for each row execute function notifications_group_key();

update notifications set group_key = notification_group_key(type, status_id, created_at)
where type in ('favourite', 'reblog', 'follow');

-- A group's members and the unread counts, per recipient.
create index notifications_group on notifications (account_id, group_key, id desc) where group_key is not null;
-- Requests: the filtered notifications of one recipient by sender.
create index notifications_filtered on notifications (account_id, from_account_id, id desc) where filtered;

-- The policy (GET/PATCH /api/v2/notifications/policy). No row: Mastodon's
-- defaults, except private mentions, which stay accepted so nobody stops
-- hearing the direct messages they heard before this release.
create table notification_policies (
    account_id           bigint primary key references accounts (id) on delete cascade,
    for_not_following    text not null default 'accept' check (for_not_following in ('accept', 'filter', 'drop')),
    for_not_followers    text not null default 'accept' check (for_not_followers in ('accept', 'filter', 'drop')),
    for_new_accounts     text not null default 'accept' check (for_new_accounts in ('accept', 'filter', 'drop')),
    for_private_mentions text not null default 'accept' check (for_private_mentions in ('accept', 'filter', 'drop')),
    for_limited_accounts text not null default 'filter' check (for_limited_accounts in ('accept', 'filter', 'drop')),
    updated_at           timestamptz not null default now()
);

-- Senders whose request the recipient accepted: never filtered again.
create table notification_permissions (
    account_id      bigint not null references accounts (id) on delete cascade,
    from_account_id bigint not null references accounts (id) on delete cascade,
    created_at      timestamptz not null default now(),
    primary key (account_id, from_account_id)
);

-- stricter of two policy values: drop over filter over accept.
create function notification_stricter(a text, b text) returns text language sql immutable as $$
    select case when 'drop' in (a, b) then 'drop' when 'filter' in (a, b) then 'filter' else 'accept' end
$$;

-- notification_verdict applies recipient's policy to a notification from
-- actor, as Mastodon's NotifyService does: polls, edits and posts of
-- accounts one subscribed to are never filtered; an accepted sender never
-- is; otherwise the strictest value of every rule that matches wins:
-- not followed by the recipient, not following the recipient (for three
-- days at least), an account younger than 30 days, a direct mention from
-- an account the recipient does not follow that answers none of the
-- recipient's posts, and an account moderators silenced (on the whole
-- instance or on the recipient's tenant) that the recipient does not follow.
create function notification_verdict(recipient bigint, actor bigint, kind text, status bigint) returns text
language plpgsql stable as $$
declare
    p notification_policies%rowtype;
    following boolean;
    verdict text := 'accept';
begin
    if kind not in ('mention', 'reblog', 'follow', 'follow_request', 'favourite') then
        return 'accept';
    end if;
    if exists (select 1 from notification_permissions where account_id = recipient and from_account_id = actor) then
        return 'accept';
    end if;
    select * into p from notification_policies where account_id = recipient;
    if not found then
        p.for_not_following := 'accept';
        p.for_not_followers := 'accept';
        p.for_new_accounts := 'accept';
        p.for_private_mentions := 'accept';
        p.for_limited_accounts := 'filter';
    end if;
    following := exists (select 1 from follows where follower_id = recipient and followee_id = actor and state = 'accepted');
    if not following then
        verdict := notification_stricter(verdict, p.for_not_following);
    end if;
    if not exists (select 1 from follows where follower_id = actor and followee_id = recipient and state = 'accepted'
                   and created_at <= now() - interval '3 days') then
        verdict := notification_stricter(verdict, p.for_not_followers);
    end if;
    if exists (select 1 from accounts where id = actor and created_at > now() - interval '30 days') then
        verdict := notification_stricter(verdict, p.for_new_accounts);
    end if;
    if kind = 'mention' and not following and exists (select 1 from statuses s where s.id = status
            and s.visibility = 'direct' and s.in_reply_to_account_id is distinct from recipient) then
        verdict := notification_stricter(verdict, p.for_private_mentions);
    end if;
    if not following and exists (select 1 from account_limits l where l.account_id = actor and l.silenced_at is not null
            and (l.tenant_id is null or l.tenant_id = (select tenant_id from accounts where id = recipient))) then
        verdict := notification_stricter(verdict, p.for_limited_accounts);
    end if;
    return verdict;
end $$;

-- notify as before (migration 008), now through the recipient's policy.
create or replace function notify(recipient bigint, actor bigint, kind text, status bigint) returns void
language plpgsql as $$
declare
    verdict text;
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
    verdict := notification_verdict(recipient, actor, kind, status);
    if verdict = 'drop' then
        return;
    end if;
    insert into notifications (account_id, from_account_id, type, status_id, filtered)
    values (recipient, actor, kind, status, verdict = 'filter')
    on conflict do nothing;
end $$;

-- A filtered notification is not news: the streams hear only shown ones
-- (an accepted request's notifications are old news too).
drop trigger stream_notifications on notifications;
create trigger stream_notifications after insert on notifications
    for each row when (not new.filtered) execute function stream_notifications();
