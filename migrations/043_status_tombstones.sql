-- A remote post's Delete that arrived before its Create (deliveries are
-- retried, so they arrive out of order: the chaos soak, finding 3). The
-- inbox remembers it for a day, and the late Create is then dropped
-- instead of bringing back a post its author deleted. Rows older than a
-- day are pruned as new ones are written.
create table status_tombstones (
    uri        text        primary key,
    account_id bigint      not null references accounts (id) on delete cascade, -- the remote author
    created_at timestamptz not null default now()
);
create index status_tombstones_created on status_tombstones (created_at);
