-- Tenants and the hostnames they answer on. A tenant is the unit of billing
-- and moderation; every tenant-scoped row elsewhere carries tenant_id.
create table tenants (
    id         bigint generated always as identity primary key,
    name       text        not null check (length(name) between 1 and 200),
    status     text        not null default 'active' check (status in ('active', 'suspended', 'deleted')),
    created_at timestamptz not null default now()
);

-- A handle domain (the part after @ in @alice@alice.example) and an optional
-- service domain (where the actors live, e.g. social.alice.example). Names
-- are stored normalised: lower case, punycode, no trailing dot, no port.
create table domains (
    domain             text        primary key check (domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' and length(domain) <= 253),
    tenant_id          bigint      not null references tenants (id) on delete cascade,
    service_domain     text        unique check (service_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' and length(service_domain) <= 253),
    verification_token text        not null,
    verified_at        timestamptz,
    created_at         timestamptz not null default now(),
    unique (domain, tenant_id),
    check (service_domain is distinct from domain)
);
create index domains_tenant on domains (tenant_id);

-- Every name a request may arrive on, handle or service, in one primary
-- key: no name can ever route to two domains, even when two transactions
-- claim it at once (the second waits, then fails). Host routing reads this
-- table; a trigger keeps it in step with domains, so no writer can forget.
create table hostnames (
    name   text primary key,
    domain text not null references domains (domain) on delete cascade on update cascade,
    kind   text not null check (kind in ('handle', 'service'))
);
create index hostnames_domain on hostnames (domain);

create function domains_claim_hostnames() returns trigger language plpgsql as $$
declare
    claiming text := new.domain;
begin
    delete from hostnames where domain = new.domain;
    insert into hostnames (name, domain, kind) values (new.domain, new.domain, 'handle');
    if new.service_domain is not null then
        claiming := new.service_domain;
        insert into hostnames (name, domain, kind) values (new.service_domain, new.domain, 'service');
    end if;
    return null;
exception when unique_violation then
    raise exception 'hostname % is already in use', claiming
        using errcode = 'unique_violation', constraint = 'hostnames_pkey', detail = claiming;
end $$;
create trigger domains_claim_hostnames after insert or update of domain, service_domain on domains
    for each row execute function domains_claim_hostnames();
