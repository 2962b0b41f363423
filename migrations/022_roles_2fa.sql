-- Dashboard roles per tenant, tenant-scoped dashboard sessions, optional
-- TOTP two-factor sign-in, account moderation and report handling.

-- A login's role on one tenant's /admin: the role's name and the
-- permission set it was granted with (api/admin Permission bits), so what a
-- login may do is read from here, not inferred. Operators are instance-wide
-- (users.is_operator) and need no row.
create table admin_roles (
    user_id    bigint      not null references users (id) on delete cascade,
    tenant_id  bigint      not null references tenants (id) on delete cascade,
    role       text        not null check (role in ('admin', 'moderator')),
    perms      bigint      not null check (perms >= 0),
    granted_by text        not null default '',
    created_at timestamptz not null default now(),
    primary key (user_id, tenant_id)
);
create index admin_roles_tenant on admin_roles (tenant_id);

-- A session signed in on a tenant's /admin is valid there only (null: the
-- operator host). A session waiting for its second factor grants nothing.
alter table admin_sessions
    add column tenant_id      bigint  references tenants (id) on delete cascade,
    add column factor_pending boolean not null default false;

-- TOTP: the secret being enrolled until a code confirms it, then the
-- active one; the last time step used, so a code works once.
alter table users
    add column totp_secret         text,
    add column totp_pending_secret text,
    add column totp_last_step      bigint not null default 0;

-- Moderation of an account, as seen by one tenant (tenant_id) or by the
-- whole instance (tenant_id null, operators). A tenant's own local
-- accounts are moderated at their tenant's scope, which is what stops
-- them signing in and being served; a remote account silenced by one
-- tenant stays out of that tenant's public timelines only.
create table account_limits (
    account_id    bigint      not null references accounts (id) on delete cascade,
    tenant_id     bigint      references tenants (id) on delete cascade,
    silenced_at   timestamptz,
    suspended_at  timestamptz,
    sensitized_at timestamptz,
    updated_at    timestamptz not null default now()
);
create unique index account_limits_scope on account_limits (account_id, coalesce(tenant_id, 0));
create index account_limits_tenant on account_limits (tenant_id);

-- Reports: who works on one, and what was done when it was resolved.
alter table reports
    add column assigned_user_id bigint references users (id) on delete set null,
    add column action_taken     text   not null default '' check (action_taken in ('', 'none', 'silence', 'suspend', 'delete'));

-- The audit log read by tenant and by date.
create index audit_log_tenant on audit_log (tenant_id, id desc);
create index audit_log_created on audit_log (created_at);
