-- The scheme and public port the web nodes serve tenants on, recorded by
-- every `roost serve` (and `roost dev`) at start. CLI commands that write
-- URIs (posts, follows, moves, imports, emoji) compare their own settings
-- with it and refuse to store links for an origin nobody serves (issue 20:
-- `roost post` beside `roost dev` stored https://localhost/... forever).
-- One row: the instance has one public origin per scheme and port.
create table served_origin (
    only_row   boolean primary key default true check (only_row),
    scheme     text not null check (scheme in ('http', 'https')),
    port       integer not null check (port between 0 and 65535),
    updated_at timestamptz not null default now()
);
