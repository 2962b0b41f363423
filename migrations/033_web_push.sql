-- Web Push (RFC 8030 delivery, RFC 8291 aes128gcm encryption, RFC 8292
-- VAPID): phones and browsers get notifications while the app is closed.
-- An app subscribes once per access token (POST /api/v1/push/subscription);
-- every notification row that matches a subscription's alerts and policy
-- becomes a push_deliveries row in the very transaction that inserted the
-- notification (a trigger, so no path that notifies can forget it, and a
-- notification that was committed is never lost to a crash); `roost work`
-- encrypts, signs and sends them (federation/social/push).

-- The instance's VAPID key pair (P-256, base64url): generated once, on
-- first use, shared by every tenant. Apps subscribe with the public key
-- (instance configuration.vapid.public_key, the Application's vapid_key);
-- push services check the JWT each request is signed with against it.
create table vapid_keys (
    singleton   boolean     primary key default true check (singleton),
    public_key  text        not null check (length(public_key) between 80 and 100),
    private_key text        not null check (length(private_key) between 40 and 50),
    created_at  timestamptz not null default now()
);

-- One subscription per access token, as on Mastodon: subscribing again
-- replaces it, revoking the token ends it. alerts holds the enabled
-- notification types; policy narrows them by relationship. The token
-- itself is sealed (AES-GCM under a key derived from the VAPID private
-- key), never stored in the clear: Mastodon's payload carries it so web
-- apps know which signed-in account a push is for.
create table push_subscriptions (
    id           bigint      generated always as identity primary key,
    tenant_id    bigint      not null references tenants (id) on delete cascade,
    account_id   bigint      not null references accounts (id) on delete cascade,
    token_id     bigint      not null unique references oauth_tokens (id) on delete cascade,
    endpoint     text        not null check (length(endpoint) between 8 and 2048),
    p256dh       text        not null check (length(p256dh) between 80 and 100),
    auth         text        not null check (length(auth) between 16 and 30),
    alerts       text[]      not null default '{}' check (cardinality(alerts) <= 32),
    policy       text        not null default 'all' check (policy in ('all', 'followed', 'follower', 'none')),
    sealed_token bytea       not null check (length(sealed_token) <= 1024),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index push_subscriptions_account on push_subscriptions (account_id);

-- Pushes waiting to be sent. A row is claimed by moving next_attempt_at
-- past a lease (a worker that dies mid-send leaves it due again when the
-- lease ends); sent rows and rows given up on are deleted, so the table
-- holds only what is pending. A notification withdrawn before its push
-- went out (an undone favourite) takes its pending pushes with it.
create table push_deliveries (
    id              bigint      generated always as identity primary key,
    subscription_id bigint      not null references push_subscriptions (id) on delete cascade,
    notification_id bigint      not null references notifications (id) on delete cascade,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text        check (length(last_error) <= 400),
    created_at      timestamptz not null default now(),
    unique (subscription_id, notification_id)
);
create index push_deliveries_due on push_deliveries (next_attempt_at);
create index push_deliveries_notification on push_deliveries (notification_id);

-- push_fan_out queues a push for every subscription of the recipient
-- whose token is live, whose alerts include the type and whose policy
-- admits the sender (Mastodon's: followed = people the recipient
-- follows, follower = people who follow the recipient). One's own
-- actions (a poll of one's own that ended) pass every policy but none.
-- A notification the recipient's notification policy filtered into the
-- requests (migration 031) is not pushed, as on Mastodon.
create function push_fan_out() returns trigger language plpgsql as $$
begin
    if new.filtered then
        return null;
    end if;
    insert into push_deliveries (subscription_id, notification_id)
    select s.id, new.id
    from push_subscriptions s
    join oauth_tokens t on t.id = s.token_id and t.revoked_at is null
    where s.account_id = new.account_id
      and new.type = any (s.alerts)
      and case s.policy
          when 'all' then true
          when 'none' then false
          when 'followed' then new.from_account_id = new.account_id
               or exists (select 1 from follows f where f.follower_id = new.account_id
                          and f.followee_id = new.from_account_id and f.state = 'accepted')
          when 'follower' then new.from_account_id = new.account_id
               or exists (select 1 from follows f where f.follower_id = new.from_account_id
                          and f.followee_id = new.account_id and f.state = 'accepted')
          else false
          end
    on conflict do nothing;
    return null;
end $$;
create trigger push_fan_out after insert on notifications
    for each row execute function push_fan_out();
