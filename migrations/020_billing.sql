-- Billing (package billing): each tenant's billing state and the payment
-- provider events already applied. Suspension for non-payment goes through
-- tenants.status like an operator's; no row here ever deletes data.

create table tenant_billing (
    tenant_id       bigint      primary key references tenants (id) on delete cascade,
    state           text        not null check (state in ('trialing', 'active', 'past_due', 'canceled', 'comped')),
    -- stripe or manual
    provider        text        not null default 'manual' check (provider in ('manual', 'stripe')),
    customer_id     text        not null default '',
    subscription_id text        not null default '',
    paid_until      timestamptz,
    -- When the tenant fell past due; the grace period counts from here.
    past_due_since  timestamptz,
    -- Set while the tenant is suspended by the billing job (not by an
    -- operator), so paying again lifts exactly that suspension.
    billing_suspended boolean   not null default false,
    updated_at      timestamptz not null default now(),
    check ((state = 'past_due') = (past_due_since is not null))
);
create unique index tenant_billing_subscription on tenant_billing (subscription_id) where subscription_id <> '';
create index tenant_billing_customer on tenant_billing (customer_id) where customer_id <> '';
create index tenant_billing_past_due on tenant_billing (past_due_since) where state = 'past_due';

-- Each provider event is stored under its id in the same transaction as
-- its effect: a replay or a concurrent duplicate is applied once.
create table billing_events (
    provider    text        not null,
    event_id    text        not null check (length(event_id) between 1 and 255),
    type        text        not null default '',
    tenant_id   bigint,
    received_at timestamptz not null default now(),
    primary key (provider, event_id)
);
