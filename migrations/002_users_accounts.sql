-- Logins. A user is instance-wide (as in Takahē): one email and password may
-- own accounts on several domains, on several tenants.
create table users (
    id            bigint generated always as identity primary key,
    email         text        not null check (email ~ '^[^@\s]+@[^@\s]+$'),
    password_hash text        not null,
    is_operator   boolean     not null default false,
    created_at    timestamptz not null default now()
);
create unique index users_email on users (lower(email));

-- Actors, local and remote, in one table (as Mastodon does), so follows,
-- statuses and notifications reference one key whatever side an actor is on.
--
-- Local accounts have a tenant, a handle domain of that tenant (enforced by
-- the (domain, tenant_id) foreign key) and a private key; their URIs are
-- derived from (domain, username) and never change.
-- Remote actors have no tenant (they are public data shared by every
-- tenant), their own URI, endpoints and public key, and a fetch time.
create table accounts (
    id              bigint generated always as identity primary key,
    tenant_id       bigint      references tenants (id) on delete cascade,
    domain          text        not null,
    username        text        not null check (length(username) between 1 and 200),
    display_name    text        not null default '' check (length(display_name) <= 1000),
    note            text        not null default '' check (length(note) <= 100000),
    avatar_url      text        not null default '',
    header_url      text        not null default '',
    locked          boolean     not null default false,
    discoverable    boolean     not null default true,
    bot             boolean     not null default false,
    public_key_pem  text        not null default '',
    private_key_pem text,
    created_at      timestamptz not null default now(),
    -- remote only
    uri             text        unique,
    key_id          text,
    url             text,
    inbox_url       text,
    shared_inbox_url text,
    outbox_url      text,
    followers_url   text,
    following_url   text,
    actor_type      text,
    fetched_at      timestamptz,
    foreign key (domain, tenant_id) references domains (domain, tenant_id) on delete cascade,
    check ((tenant_id is not null) = (private_key_pem is not null)),
    check ((tenant_id is null) = (uri is not null)),
    check (tenant_id is null or (username ~ '^[A-Za-z0-9_]{1,30}$' and length(display_name) <= 100 and length(note) <= 5000))
);
create unique index accounts_local_username on accounts (domain, lower(username)) where tenant_id is not null;
create index accounts_tenant on accounts (tenant_id) where tenant_id is not null;
create index accounts_key_id on accounts (key_id) where key_id is not null;
create index accounts_remote_domain on accounts (domain) where tenant_id is null;

-- Which logins may act as which local accounts.
create table user_accounts (
    user_id    bigint      not null references users (id) on delete cascade,
    account_id bigint      not null references accounts (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (user_id, account_id)
);
create index user_accounts_account on user_accounts (account_id);
