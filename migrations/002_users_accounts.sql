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

-- Local actors. (domain, tenant_id) references domains so an account can never
-- sit on a domain of another tenant. The key pair signs this actor's
-- deliveries; actor URIs derived from (domain, username) never change.
create table accounts (
    id              bigint generated always as identity primary key,
    tenant_id       bigint      not null references tenants (id) on delete cascade,
    domain          text        not null,
    username        text        not null check (username ~ '^[A-Za-z0-9_]{1,30}$'),
    display_name    text        not null default '' check (length(display_name) <= 100),
    note            text        not null default '' check (length(note) <= 5000),
    avatar_url      text        not null default '',
    header_url      text        not null default '',
    locked          boolean     not null default false,
    discoverable    boolean     not null default true,
    bot             boolean     not null default false,
    public_key_pem  text        not null,
    private_key_pem text        not null,
    created_at      timestamptz not null default now(),
    foreign key (domain, tenant_id) references domains (domain, tenant_id) on delete cascade
);
create unique index accounts_domain_username on accounts (domain, lower(username));
create index accounts_tenant on accounts (tenant_id);

-- Which logins may act as which accounts.
create table user_accounts (
    user_id    bigint      not null references users (id) on delete cascade,
    account_id bigint      not null references accounts (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (user_id, account_id)
);
create index user_accounts_account on user_accounts (account_id);
