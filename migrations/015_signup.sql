-- Self-service signup on the portal host (ROOST_PORTAL_HOST): a newcomer
-- creates a login and a tenant, claims a domain, proves it with DNS
-- records (tenant/verify) and creates a first account.

-- With ROOST_SIGNUPS=approval a new tenant waits, unserved, until an
-- operator runs `roost tenant approve`.
alter table tenants drop constraint tenants_status_check;
alter table tenants add constraint tenants_status_check
    check (status in ('pending', 'active', 'suspended', 'deleted'));

-- One signup per login: re-submitting the form finds it instead of making
-- a second tenant (the unique keys hold even under concurrent submits).
create table signups (
    id                bigint generated always as identity primary key,
    user_id           bigint      not null unique references users (id) on delete cascade,
    tenant_id         bigint      not null unique references tenants (id) on delete cascade,
    rules_accepted_at timestamptz not null,
    -- Something the portal must tell the newcomer (a claim that expired).
    notice            text        not null default '' check (length(notice) <= 1000),
    created_at        timestamptz not null default now()
);

-- Portal sign-in sessions. Only the SHA-256 of the cookie's token is kept.
create table portal_sessions (
    token_hash bytea       primary key check (length(token_hash) = 32),
    user_id    bigint      not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index portal_sessions_user on portal_sessions (user_id);
create index portal_sessions_expires on portal_sessions (expires_at);

-- Invite codes for ROOST_SIGNUPS=invite, kept as SHA-256; each works once.
create table invite_codes (
    code_hash         bytea       primary key check (length(code_hash) = 32),
    created_at        timestamptz not null default now(),
    expires_at        timestamptz,
    used_at           timestamptz,
    used_by_tenant_id bigint      references tenants (id) on delete set null
);

-- A domain claimed through the portal and the state of its proof. Domains
-- an operator created (`roost tenant create`) have none: the operator
-- vouched for them. A pending claim's domain row is unverified (never
-- served) and is deleted when the claim expires, freeing the name.
create table domain_claims (
    domain        text        primary key references domains (domain) on delete cascade on update cascade,
    kind          text        not null check (kind in ('subdomain', 'own', 'split')),
    state         text        not null check (state in ('pending', 'verified', 'flagged')),
    -- Failed background checks so far (drives the back-off).
    attempts      integer     not null default 0 check (attempts >= 0),
    -- The last check's result per record, as the portal shows it.
    checks        jsonb       not null default '[]',
    expires_at    timestamptz,
    -- When the background checker looks next; null: never (subdomains of
    -- the instance's base domain need no proof).
    next_check_at timestamptz,
    checked_at    timestamptz,
    -- Set while a verified domain's TXT proof is missing, for the operator.
    flagged_at    timestamptz,
    created_at    timestamptz not null default now(),
    check ((state = 'flagged') = (flagged_at is not null)),
    check (state <> 'pending' or expires_at is not null)
);
create index domain_claims_due on domain_claims (next_check_at) where next_check_at is not null;
