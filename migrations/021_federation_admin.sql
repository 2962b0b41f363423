-- Federation administration (issue 6, items 6 and 8): domain blocks at
-- instance and tenant level, block-list imports that can be undone as a
-- whole, block-list subscriptions, and what we know of remote hosts.

-- Domain blocks. tenant_id null is the instance's (every tenant),
-- otherwise that tenant's own. A block covers the domain and all its
-- subdomains. suspend refuses its inbox POSTs and sends it nothing;
-- silence keeps its posts out of public timelines; noop only carries
-- the reject_* flags.
create table domain_blocks (
    id              bigint generated always as identity primary key,
    tenant_id       bigint      references tenants (id) on delete cascade,
    scope           bigint      generated always as (coalesce(tenant_id, 0)) stored,
    domain          text        not null check (domain ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$'),
    severity        text        not null check (severity in ('silence', 'suspend', 'noop')),
    reject_media    boolean     not null default false,
    reject_reports  boolean     not null default false,
    public_comment  text        not null default '' check (length(public_comment) <= 1000),
    private_comment text        not null default '' check (length(private_comment) <= 1000),
    obfuscate       boolean     not null default false,
    -- The import that created the row or last changed it (null: by hand).
    import_id       bigint,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    unique (scope, domain)
);
create index domain_blocks_domain on domain_blocks (domain);

-- One row, bumped in every transaction that changes domain_blocks: nodes
-- poll it (a primary-key read) and reload their in-memory block list
-- only when it moved.
create table domain_blocks_version (
    one     boolean primary key default true check (one),
    version bigint  not null default 0
);
insert into domain_blocks_version default values;

-- A block-list import: applied as one batch, undone as one.
create table blocklist_imports (
    id         bigint generated always as identity primary key,
    tenant_id  bigint      references tenants (id) on delete cascade,
    source     text        not null check (length(source) <= 2000),
    user_id    bigint      references users (id) on delete set null,
    user_email text        not null default '',
    added      int         not null default 0,
    changed    int         not null default 0,
    created_at timestamptz not null default now(),
    undone_at  timestamptz
);
create index blocklist_imports_scope on blocklist_imports (coalesce(tenant_id, 0), id desc);

-- What each import did to each domain: previous is the row before the
-- import (null when the import created it), so an undo deletes what it
-- created and restores what it changed.
create table blocklist_import_changes (
    import_id bigint not null references blocklist_imports (id) on delete cascade,
    domain    text   not null,
    previous  jsonb,
    primary key (import_id, domain)
);

-- Block lists followed by URL; roost work refreshes them and applies each
-- refresh as an import.
create table blocklist_subscriptions (
    id             bigint generated always as identity primary key,
    tenant_id      bigint      references tenants (id) on delete cascade,
    scope          bigint      generated always as (coalesce(tenant_id, 0)) stored,
    url            text        not null check (url ~ '^https?://' and length(url) <= 2000),
    created_at     timestamptz not null default now(),
    last_fetch_at  timestamptz,
    next_fetch_at  timestamptz not null default now(),
    etag           text        not null default '',
    last_error     text        not null default '',
    last_import_id bigint,
    unique (scope, url)
);

-- Remote hosts: NodeInfo (fetched in the background with back-off) and
-- delivery health. Written on state changes, at most about once a minute
-- per host, never per delivery.
create table remote_hosts (
    host                 text        primary key,
    software             text        not null default '',
    version              text        not null default '',
    nodeinfo_fetched_at  timestamptz,
    nodeinfo_next_at     timestamptz not null default now(),
    nodeinfo_failures    int         not null default 0,
    nodeinfo_error       text        not null default '',
    last_delivered_at    timestamptz,
    last_failure_at      timestamptz,
    last_error           text        not null default '',
    consecutive_failures int         not null default 0,
    breaker_until        timestamptz,
    updated_at           timestamptz not null default now()
);
create index remote_hosts_nodeinfo_due on remote_hosts (nodeinfo_next_at);

-- Queue pages: dead letters and per-host pending counts.
create index deliveries_failed on deliveries (id desc) where state = 'failed';
-- Remote hosts are kept by name; deliveries.host may carry a port.
create index deliveries_pending_host on deliveries (split_part(host, ':', 1)) where state = 'pending';
