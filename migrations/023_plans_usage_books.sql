-- Plans, usage metering and open books (package billing). Plans are the
-- operator's offer shown in the signup portal; a tenant records the one it
-- chose. Usage is one row per tenant and day, recomputed in place, so the
-- daily job is idempotent. Costs and payments are the open books' ledger.

create table plans (
    id              bigint generated always as identity primary key,
    name            text        not null check (length(name) between 1 and 100),
    -- paid: a fixed price per interval; free: nothing to pay;
    -- donation: pay what you want (price_minor is the suggested amount).
    kind            text        not null check (kind in ('paid', 'free', 'donation')),
    price_minor     bigint      not null default 0 check (price_minor >= 0),
    currency        text        not null default 'usd' check (currency ~ '^[a-z]{3}$'),
    interval        text        not null default 'month' check (interval in ('month', 'year')),
    -- Which domains the plan includes: any, subdomain (of the base
    -- domain) only, or own (a domain of the tenant's).
    domains         text        not null default 'any' check (domains in ('any', 'subdomain', 'own')),
    -- 0: no limit. Limits are soft: exceeding them warns, never cuts.
    max_accounts    int         not null default 0 check (max_accounts >= 0),
    storage_bytes   bigint      not null default 0 check (storage_bytes >= 0),
    stripe_price_id text        not null default '' check (stripe_price_id = '' or stripe_price_id ~ '^[A-Za-z0-9_]{1,255}$'),
    -- Usage-priced plans: the Stripe Billing Meter event name the daily
    -- figure named by meter_figure is reported under ('' : not reported).
    stripe_meter_event text     not null default '' check (stripe_meter_event = '' or stripe_meter_event ~ '^[A-Za-z0-9_.:-]{1,100}$'),
    meter_figure    text        not null default 'active_accounts' check (meter_figure in ('accounts', 'active_accounts', 'posts', 'storage_bytes', 'deliveries')),
    archived_at     timestamptz,
    created_at      timestamptz not null default now(),
    check (kind <> 'paid' or price_minor > 0),
    check (kind <> 'free' or (price_minor = 0 and stripe_price_id = ''))
);
create unique index plans_name on plans (lower(name)) where archived_at is null;

alter table tenants add column plan_id bigint references plans (id);

-- Daily usage per tenant: figures at the end of the day (accounts, posts,
-- storage) and during it (deliveries sent).
create table usage_daily (
    tenant_id       bigint      not null references tenants (id) on delete cascade,
    day             date        not null,
    accounts        int         not null check (accounts >= 0),
    active_accounts int         not null check (active_accounts >= 0),
    posts           bigint      not null check (posts >= 0),
    storage_bytes   bigint      not null check (storage_bytes >= 0),
    deliveries      bigint      not null check (deliveries >= 0),
    computed_at     timestamptz not null default now(),
    -- When the day's figure went to Stripe Billing Meters (usage-priced
    -- plans); the meter event's identifier makes a resend harmless.
    reported_at     timestamptz,
    primary key (tenant_id, day)
);
create index usage_daily_day on usage_daily (day);

-- The operator's monthly costs, shown on the public open-books page.
create table book_costs (
    id           bigint generated always as identity primary key,
    month        date        not null check (extract(day from month) = 1),
    category     text        not null check (category in ('hosting', 'storage', 'email', 'domains', 'moderation', 'other')),
    amount_minor bigint      not null check (amount_minor > 0),
    currency     text        not null check (currency ~ '^[a-z]{3}$'),
    note         text        not null default '' check (length(note) <= 500),
    created_at   timestamptz not null default now()
);
create index book_costs_month on book_costs (month);

-- Money received: Stripe's paid invoices (recorded with the webhook event
-- that reports them) and payments the operator records by hand. The
-- reference is unique per provider, so an invoice counts once.
create table billing_payments (
    provider     text        not null check (provider in ('manual', 'stripe')),
    ref          text        not null check (length(ref) between 1 and 255),
    tenant_id    bigint      references tenants (id) on delete set null,
    amount_minor bigint      not null check (amount_minor > 0),
    currency     text        not null check (currency ~ '^[a-z]{3}$'),
    paid_at      timestamptz not null,
    primary key (provider, ref)
);
create index billing_payments_paid_at on billing_payments (paid_at);

-- The books' opening balance (the reserve before the first month), one
-- row.
create table books_settings (
    id            boolean     primary key default true check (id),
    reserve_minor bigint      not null default 0,
    currency      text        not null check (currency ~ '^[a-z]{3}$'),
    updated_at    timestamptz not null default now()
);
