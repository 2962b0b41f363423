-- The instance actor's key pair: one per instance, served as <host>/actor
-- on every tenant host. It signs fetches (authorized fetch) made on behalf
-- of a site rather than of one account.
create table instance_actor (
    id              int         primary key default 1 check (id = 1),
    public_key_pem  text        not null,
    private_key_pem text        not null,
    created_at      timestamptz not null default now()
);
