-- Issue 18 (web app settings): two-factor sign-in of local accounts on
-- their tenant's pages (the web app and the OAuth authorization page),
-- enrolled from /settings/otp_authentication (tenant/factor).
--
-- account_factors: one row per account that started enrolling. The
-- secrets are sealed (AES-256-GCM under factor_keys' key, nonce first),
-- recovery codes kept as SHA-256 hashes, and last_step spends each
-- 30-second step once, so a code seen over a shoulder cannot be replayed.
-- Keyed by account, not by login: a factor belongs to the account of one
-- tenant, and moves with it (account moves keep the id).
create table account_factors (
    account_id     bigint      primary key references accounts (id) on delete cascade,
    secret_sealed  bytea,
    pending_sealed bytea,
    recovery       bytea[]     not null default '{}' check (cardinality(recovery) <= 16),
    last_step      bigint      not null default 0,
    enabled_at     timestamptz,
    updated_at     timestamptz not null default now()
);

-- factor_keys: the instance's one sealing key, made on first use. Kept
-- apart from the sealed values, so a copy of account_factors alone (a
-- log, a partial dump) opens no secret.
create table factor_keys (
    id         boolean     primary key default true check (id),
    key        bytea       not null check (length(key) = 32),
    created_at timestamptz not null default now()
);
