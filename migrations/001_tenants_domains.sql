-- Tenants and the hostnames they answer on. A tenant is the unit of billing
-- and moderation; every tenant-scoped row elsewhere carries tenant_id.
create table tenants (
    id         bigint generated always as identity primary key,
    name       text        not null check (length(name) between 1 and 200),
    status     text        not null default 'active' check (status in ('active', 'suspended', 'deleted')),
    created_at timestamptz not null default now()
);

-- A handle domain (the part after @ in @alice@alice.example) and an optional
-- service domain (where the actors live, e.g. social.alice.example). Both
-- route to the tenant; both are stored normalised: lower case, punycode, no
-- trailing dot, no port.
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

-- A service domain must not collide with another row's handle domain either.
create function domains_no_cross_collision() returns trigger language plpgsql as $$
begin
    if exists (select 1 from domains where domain = new.service_domain)
       or exists (select 1 from domains where service_domain = new.domain and domain <> new.domain) then
        raise exception 'domain % is already in use', coalesce(new.service_domain, new.domain)
            using errcode = 'unique_violation';
    end if;
    return new;
end $$;
create trigger domains_no_cross_collision before insert or update on domains
    for each row execute function domains_no_cross_collision();
