-- Link preview cards (issue 17). A status's first link gets a card —
-- OpenGraph/oEmbed metadata and a re-encoded thumbnail — fetched in the
-- background by `roost work` (federation/social/card), never on the
-- request path.
--
-- link_cards holds one row per normalized URL, shared by every tenant: a
-- page is fetched once however many tenants' posts link it. The row is
-- also the fetch's work item (state, lease, bounded attempts), so a card
-- is never fetched twice at once and a dead worker's claim expires.
create table link_cards (
    id                 bigint generated always as identity primary key,
    url                text        not null unique check (length(url) <= 2048),
    state              text        not null default 'pending' check (state in ('pending', 'ready', 'failed')),
    attempts           int         not null default 0,
    next_attempt_at    timestamptz not null default now(),
    lease_until        timestamptz,
    last_error         text        not null default '',
    fetched_at         timestamptz, -- last outcome (ready or failed): the refetch policy counts from it
    title              text        not null default '',
    description        text        not null default '',
    type               text        not null default 'link' check (type in ('link', 'photo', 'video', 'rich')),
    author_name        text        not null default '',
    author_url         text        not null default '',
    provider_name      text        not null default '',
    provider_url       text        not null default '',
    html               text        not null default '',
    width              int         not null default 0,
    height             int         not null default 0,
    image_key          text        not null default '', -- in the media blob store; '' when none
    image_content_type text        not null default '',
    image_description  text        not null default '',
    embed_url          text        not null default '',
    blurhash           text        not null default '',
    language           text        not null default '',
    published_at       timestamptz,
    created_at         timestamptz not null default now()
);
create index link_cards_due on link_cards (next_attempt_at) where state = 'pending';
create index link_cards_image on link_cards (image_key) where image_key <> '';

-- The card each status shows (its first link's). Dropped with the status
-- or the card.
create table status_cards (
    status_id bigint not null primary key references statuses (id) on delete cascade,
    card_id   bigint not null references link_cards (id) on delete cascade
);
create index status_cards_card on status_cards (card_id, status_id desc);

-- Statuses whose links must be (re)read: every new status with a link and
-- every edited one, whoever wrote it — a local post, an edit, a remote
-- post applied by the inbox. A trigger fills it so no write path can
-- forget; the card job empties it.
create table link_card_queue (
    status_id bigint      not null primary key references statuses (id) on delete cascade,
    queued_at timestamptz not null default now()
);

create function link_card_enqueue() returns trigger language plpgsql as $$
begin
    insert into link_card_queue (status_id) values (new.id) on conflict do nothing;
    return null;
end $$;
-- Only posts that may hold a link: boosts carry no content of their own.
create trigger link_card_insert after insert on statuses
    for each row when (new.reblog_of_id is null and strpos(new.content, 'http') > 0)
    execute function link_card_enqueue();
-- An edit may add, change or remove the link.
create trigger link_card_update after update of content on statuses
    for each row when (old.content is distinct from new.content and new.reblog_of_id is null)
    execute function link_card_enqueue();
