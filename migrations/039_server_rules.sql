-- Issue 17: what a tenant's admins write for their people and apps, as a
-- Mastodon admin does on "Server rules", "About" and "Terms of service",
-- served by /api/v1/instance/{rules,extended_description,privacy_policy,
-- terms_of_service,domain_blocks}. Every row belongs to one tenant, so no
-- tenant's admin reads or writes another's.
--
-- server_rules: the tenant's ordered rules (the Rule entity: text and
-- hint); position orders them, ids stay stable (reports name rule ids).
create table server_rules (
    id         bigint generated always as identity primary key,
    tenant_id  bigint      not null references tenants (id) on delete cascade,
    position   integer     not null default 0,
    text       text        not null check (length(text) between 1 and 1000),
    hint       text        not null default '' check (length(hint) <= 1000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index server_rules_tenant on server_rules (tenant_id, position, id);

-- server_settings: one row per tenant that wrote any of these (none: the
-- defaults — no about text, no privacy policy, domain blocks shown to
-- nobody, as Mastodon's defaults). The texts are what the admin wrote
-- (plain text, paragraphs and links); they are rendered to HTML when
-- served. *_updated_at is when each text last changed (null: never).
create table server_settings (
    tenant_id                  bigint      primary key references tenants (id) on delete cascade,
    about                      text        not null default '' check (length(about) <= 20000),
    about_updated_at           timestamptz,
    privacy_policy             text        not null default '' check (length(privacy_policy) <= 50000),
    privacy_policy_updated_at  timestamptz,
    -- Mastodon's show_domain_blocks and show_domain_blocks_rationale.
    domain_blocks_visibility   text        not null default 'disabled' check (domain_blocks_visibility in ('disabled', 'users', 'all')),
    domain_blocks_rationale    text        not null default 'disabled' check (domain_blocks_rationale in ('disabled', 'users', 'all'))
);

-- terms_of_service: versions by the date they take effect (Mastodon 4.4);
-- the current version is the newest in effect, the next one succeeds it.
create table terms_of_service (
    id             bigint generated always as identity primary key,
    tenant_id      bigint      not null references tenants (id) on delete cascade,
    effective_date date        not null,
    text           text        not null check (length(text) between 1 and 50000),
    changelog      text        not null default '' check (length(changelog) <= 5000),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    unique (tenant_id, effective_date)
);
