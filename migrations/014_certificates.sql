-- TLS state shared by every web node (ROOST_TLS=acme or self-signed):
-- certmagic's key/value storage — certificates, their private keys, ACME
-- accounts, in-flight challenge tokens, per-name status — and its locks.
-- Any node can therefore serve any certificate and answer any ACME
-- challenge another node started. Keys are slash-separated paths compared
-- bytewise (collate "C"), so a "directory" is the range key/ .. key0.
create table cert_storage (
    key      text collate "C" primary key check (length(key) between 1 and 1024),
    value    bytea       not null,
    modified timestamptz not null default now()
);

-- Named locks that expire: the holder keeps pushing expires_at forward
-- while it works, so a node that crashes holding one frees it by itself.
create table cert_locks (
    name       text collate "C" primary key check (length(name) between 1 and 1024),
    owner      text        not null,
    expires_at timestamptz not null
);
