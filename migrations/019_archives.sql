-- Account archives: exports built in the background and downloaded by
-- their owner, and the record of imported posts. An imported post is
-- keyed by its original URI per account, which makes imports idempotent:
-- the same archive imported twice (or resumed after a crash) creates each
-- post once.
--
-- Jobs (exports and imports) are claimed by `roost work`: a job left
-- running by a crashed worker is claimed again after a while (claimed_at),
-- which for imports is safe since they are idempotent.
create table archive_exports (
    id          bigint generated always as identity primary key,
    tenant_id   bigint      not null references tenants (id) on delete cascade,
    account_id  bigint      not null references accounts (id) on delete cascade,
    state       text        not null default 'pending' check (state in ('pending', 'running', 'done', 'failed')),
    progress    bigint      not null default 0, -- posts written
    path        text, -- the zip on disk, once done (removed when expired)
    size        bigint,
    error       text,
    created_at  timestamptz not null default now(),
    claimed_at  timestamptz,
    finished_at timestamptz,
    expires_at  timestamptz not null default now() + interval '7 days'
);
create index archive_exports_account on archive_exports (account_id, id desc);
create index archive_exports_pending on archive_exports (id) where state in ('pending', 'running');

create table archive_imports (
    id          bigint generated always as identity primary key,
    tenant_id   bigint      not null references tenants (id) on delete cascade,
    account_id  bigint      not null references accounts (id) on delete cascade,
    state       text        not null default 'pending' check (state in ('pending', 'running', 'done', 'failed')),
    path        text        not null, -- the uploaded zip, removed once done
    publish     boolean     not null default false,
    progress    bigint      not null default 0, -- posts handled
    total       bigint      not null default 0,
    result      text        not null default '', -- per-item notes, one a line
    error       text,
    created_at  timestamptz not null default now(),
    claimed_at  timestamptz,
    finished_at timestamptz
);
create index archive_imports_account on archive_imports (account_id, id desc);
create index archive_imports_pending on archive_imports (id) where state in ('pending', 'running');

create table imported_statuses (
    account_id   bigint not null references accounts (id) on delete cascade,
    original_uri text   not null,
    status_id    bigint not null references statuses (id) on delete cascade,
    primary key (account_id, original_uri)
);
