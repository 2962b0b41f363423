-- Remote posts a tenant's moderators took down for that tenant only.
--
-- A remote post is one row shared by every tenant on the instance, so a
-- tenant's /admin resolving a report with "delete" must not delete it:
-- that would take it away from every other tenant's viewers too, which is
-- only the operator's to decide (issue 14, finding 1). It hides the post
-- for its own viewers instead, with a row here. The views
-- (federation/postgres: the visibility rule every status query applies,
-- with the viewer's tenant, and the public and hashtag timelines, with the
-- site's tenant) leave out the statuses hidden for that tenant.
create table tenant_hidden_statuses (
    status_id  bigint      not null references statuses (id) on delete cascade,
    tenant_id  bigint      not null references tenants (id) on delete cascade,
    report_id  bigint      references reports (id) on delete set null, -- the report it was hidden for
    hidden_at  timestamptz not null default now(),
    -- status first: the views ask "is this status hidden for tenant T".
    primary key (status_id, tenant_id)
);
create index tenant_hidden_statuses_tenant on tenant_hidden_statuses (tenant_id);
