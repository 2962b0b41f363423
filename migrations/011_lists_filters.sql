-- The rest of the everyday client API: lists, filters, conversations,
-- custom emojis, per-user domain blocks, report details, search and
-- trends. What a person owns (lists, filters, domain blocks, their view
-- of conversations) is keyed by their account; emojis and hashtags by
-- tenant. No row here is ever read without one of those keys.

-- Lists of followed accounts, each with its own timeline (the owner's
-- home feed narrowed to the members: see ListTimeline).
create table lists (
    id             bigint generated always as identity primary key,
    account_id     bigint      not null references accounts (id) on delete cascade,
    title          text        not null check (length(title) between 1 and 200),
    replies_policy text        not null default 'list' check (replies_policy in ('followed', 'list', 'none')),
    exclusive      boolean     not null default false,
    created_at     timestamptz not null default now()
);
create index lists_account on lists (account_id, id);

create table list_accounts (
    id         bigint generated always as identity unique, -- page order
    list_id    bigint not null references lists (id) on delete cascade,
    account_id bigint not null references accounts (id) on delete cascade,
    primary key (list_id, account_id)
);
create index list_accounts_account on list_accounts (account_id);

-- Unfollowing someone (or blocking them, which ends the follow) takes
-- them off the follower's lists, as on Mastodon.
create function follows_leave_lists() returns trigger language plpgsql as $$
begin
    delete from list_accounts la using lists l
    where l.id = la.list_id and l.account_id = old.follower_id and la.account_id = old.followee_id;
    return null;
end $$;
create trigger follows_leave_lists after delete on follows
    for each row execute function follows_leave_lists();

-- Filters (v2): keywords and single statuses hidden or put behind a
-- warning in some contexts.
create table filters (
    id            bigint generated always as identity primary key,
    account_id    bigint      not null references accounts (id) on delete cascade,
    title         text        not null check (length(title) between 1 and 256),
    context       text[]      not null check (cardinality(context) between 1 and 5
                                              and context <@ array['home', 'notifications', 'public', 'thread', 'account']),
    filter_action text        not null default 'warn' check (filter_action in ('warn', 'hide')),
    expires_at    timestamptz,
    created_at    timestamptz not null default now()
);
create index filters_account on filters (account_id, id);

create table filter_keywords (
    id         bigint generated always as identity primary key,
    filter_id  bigint  not null references filters (id) on delete cascade,
    keyword    text    not null check (length(keyword) between 1 and 512),
    whole_word boolean not null default true
);
create index filter_keywords_filter on filter_keywords (filter_id, id);

create table filter_statuses (
    id        bigint generated always as identity primary key,
    filter_id bigint not null references filters (id) on delete cascade,
    status_id bigint not null references statuses (id) on delete cascade,
    unique (filter_id, status_id)
);

-- Conversations: each local account's direct statuses grouped by the
-- other participants (author and mentioned accounts, sorted ids, the
-- account itself left out). Kept by a statement trigger on
-- status_mentions, which every writer fills in one statement per status
-- (publishing, the inbox), so it sees a status's whole set of mentions.
create table account_conversations (
    id              bigint generated always as identity primary key,
    account_id      bigint   not null references accounts (id) on delete cascade,
    participant_ids bigint[] not null check (cardinality(participant_ids) between 1 and 200),
    last_status_id  bigint   not null,
    unread          boolean  not null default false,
    unique (account_id, participant_ids)
);
create index account_conversations_recent on account_conversations (account_id, last_status_id desc);

create function status_mentions_conversations() returns trigger language plpgsql as $$
begin
    -- The author (when local) and the accounts this statement mentions
    -- (when local) see the status in their conversation with everyone else.
    insert into account_conversations as c (account_id, participant_ids, last_status_id, unread)
    select who.id, x.others, st.id, st.account_id <> who.id
    from (select distinct status_id from new_mentions) n
    join statuses st on st.id = n.status_id and st.visibility = 'direct' and st.reblog_of_id is null
    join accounts who on who.tenant_id is not null and (who.id = st.account_id
        or who.id in (select nm.account_id from new_mentions nm where nm.status_id = st.id))
    cross join lateral (
        select array(select p from (select st.account_id as p
                                    union select m.account_id from status_mentions m where m.status_id = st.id) e
                     where p <> who.id order by p) as others) x
    where cardinality(x.others) between 1 and 200
    on conflict (account_id, participant_ids) do update set
        last_status_id = greatest(c.last_status_id, excluded.last_status_id),
        unread = case when excluded.last_status_id > c.last_status_id then excluded.unread else c.unread end;
    return null;
end $$;
create trigger status_mentions_conversations after insert on status_mentions
    referencing new table as new_mentions
    for each statement execute function status_mentions_conversations();

-- Conversations for what exists already.
insert into account_conversations (account_id, participant_ids, last_status_id, unread)
select who, others, max(sid), false from (
    select st.id as sid, who.id as who,
           array(select p from (select st.account_id as p
                                union select m.account_id from status_mentions m where m.status_id = st.id) e
                 where p <> who.id order by p) as others
    from statuses st
    join accounts who on who.tenant_id is not null and (who.id = st.account_id
        or exists (select 1 from status_mentions m where m.status_id = st.id and m.account_id = who.id))
    where st.visibility = 'direct' and st.reblog_of_id is null) q
where cardinality(others) between 1 and 200
group by who, others;

-- Custom emojis of a tenant, served from its own hosts. Only raster
-- formats (no SVG, which could carry script), at most 256 KiB each.
create table custom_emojis (
    id                bigint generated always as identity primary key,
    tenant_id         bigint      not null references tenants (id) on delete cascade,
    shortcode         text        not null check (shortcode ~ '^[A-Za-z0-9_]{2,64}$'),
    content_type      text        not null check (content_type in ('image/png', 'image/gif', 'image/webp')),
    image             bytea       not null check (length(image) between 1 and 262144),
    visible_in_picker boolean     not null default true,
    category          text        check (length(category) <= 64),
    created_at        timestamptz not null default now(),
    unique (tenant_id, shortcode)
);

-- Domains a person hides: their accounts' posts and notifications.
create table account_domain_blocks (
    id         bigint generated always as identity primary key,
    account_id bigint      not null references accounts (id) on delete cascade,
    domain     text        not null check (domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' and length(domain) <= 253),
    created_at timestamptz not null default now(),
    unique (account_id, domain)
);

-- Reports filed through the client API carry Mastodon's details.
alter table reports
    add column if not exists category   text     not null default 'other' check (category in ('spam', 'legal', 'violation', 'other')),
    add column if not exists forwarded  boolean  not null default false,
    add column if not exists rule_ids   bigint[] not null default '{}',
    add column if not exists status_ids bigint[] not null default '{}';
create index if not exists reports_tenant on reports (tenant_id, id desc);

-- Search: full text over statuses ('simple': no stemming, any language;
-- HTML tags are not words), and prefix matches over accounts.
create index statuses_search on statuses using gin (to_tsvector('simple', summary || ' ' || content));
create index accounts_username_prefix on accounts (lower(username) text_pattern_ops);
create index accounts_display_name_prefix on accounts (lower(display_name) text_pattern_ops);

-- The hashtags each tenant has seen in public posts, for hashtag search
-- (prefix matches on the "C" collated key).
create table tenant_tags (
    tenant_id bigint not null references tenants (id) on delete cascade,
    name      text collate "C" not null check (length(name) between 1 and 100),
    primary key (tenant_id, name)
);

create function tenant_timeline_tags() returns trigger language plpgsql as $$
begin
    insert into tenant_tags (tenant_id, name)
    select new.tenant_id, t from statuses s, unnest(s.tags) t
    where s.id = new.status_id and length(t) between 1 and 100
    on conflict do nothing;
    return null;
end $$;
create trigger tenant_timeline_tags after insert on tenant_timeline
    for each row execute function tenant_timeline_tags();

insert into tenant_tags (tenant_id, name)
select distinct tt.tenant_id, t from tenant_timeline tt join statuses s on s.id = tt.status_id, unnest(s.tags) t
where length(t) between 1 and 100
on conflict do nothing;
