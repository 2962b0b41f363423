-- The operator dashboard (ROOST_OPERATOR_HOST): operator sign-in sessions
-- and the audit log of what operators did.

-- Operator sessions, apart from portal ones: a portal sign-in never grants
-- the dashboard. Only the SHA-256 of the cookie's token is kept.
create table admin_sessions (
    token_hash bytea       primary key check (length(token_hash) = 32),
    user_id    bigint      not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index admin_sessions_user on admin_sessions (user_id);

-- Every dashboard action: who, what, on which target and tenant, when.
-- Rows outlive the login, tenant and target they name.
create table audit_log (
    id         bigint generated always as identity primary key,
    user_id    bigint      references users (id) on delete set null,
    user_email text        not null default '',
    action     text        not null check (action ~ '^[a-z_.]{1,64}$'),
    target     text        not null default '' check (length(target) <= 1000),
    tenant_id  bigint,
    detail     text        not null default '' check (length(detail) <= 2000),
    created_at timestamptz not null default now()
);
create index audit_log_action on audit_log (action, id desc);

-- The reports queue reads open reports newest first, instance-wide.
create index reports_open on reports (id desc) where resolved_at is null;
-- Posts per day and active accounts on the dashboard.
create index statuses_local_published on statuses (published_at) where tenant_id is not null;
