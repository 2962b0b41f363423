-- 051: fairness between tenants (issue 20).
--
-- Deliveries carry their sender's tenant so a worker can claim due rows
-- round-robin over tenants (federation/postgres ClaimDeliveries): one
-- tenant's fan-out to 20,000 inboxes must not queue another tenant's
-- direct message behind it. The column is set on insert; pending rows are
-- backfilled here (delivered and failed rows are never claimed again).
-- Plain (not concurrent) index builds: migrations run in one transaction,
-- and the partial indexes cover pending rows only.
alter table deliveries add column tenant_id bigint;
update deliveries d set tenant_id = a.tenant_id
	from accounts a where a.id = d.sender_id and d.state = 'pending';
-- Rows inserted without it (any other insert path) take their sender's
-- tenant: a pending row without one would never be claimed.
create function deliveries_set_tenant() returns trigger language plpgsql as $$
begin
	if new.tenant_id is null then
		select tenant_id into new.tenant_id from accounts where id = new.sender_id;
	end if;
	return new;
end $$;
create trigger deliveries_set_tenant before insert on deliveries
	for each row execute function deliveries_set_tenant();
-- The claim's loose scan over tenants with pending rows, then each
-- tenant's due rows, express first, oldest first.
create index deliveries_tenant_due on deliveries (tenant_id, express, next_attempt_at, id) where state = 'pending';

-- Inbox items are claimed round-robin over tenants the same way.
create index inbox_items_tenant_pending on inbox_items (tenant_id, id) where processed_at is null;

-- Quotas an operator sets per tenant; 0 means no limit. Enforced across
-- nodes through Redis counters (requests per second on the client API,
-- deliveries per hour: over it deliveries are rescheduled, never
-- dropped) and against stored media (storage: new uploads are refused,
-- nothing stored is removed).
create table tenant_quotas (
	tenant_id           bigint primary key references tenants (id) on delete cascade,
	requests_per_second int         not null default 0 check (requests_per_second between 0 and 1000000),
	deliveries_per_hour int         not null default 0 check (deliveries_per_hour between 0 and 100000000),
	storage_bytes       bigint      not null default 0 check (storage_bytes >= 0),
	updated_at          timestamptz not null default now()
);
