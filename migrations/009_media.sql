-- Media uploads and poll votes for the client API.
--
-- A media attachment is uploaded first (POST /api/v2/media), unattached,
-- and attached to one status of its uploader when posted. Its files live
-- in the media store (a directory or an S3 bucket) under unguessable keys;
-- the row says who owns them, what they are, and which status shows them.
-- Deleting the status detaches its media (delete-and-redraft reuses it).
create table media_attachments (
    id                 bigint generated always as identity primary key,
    tenant_id          bigint      not null references tenants (id) on delete cascade,
    account_id         bigint      not null references accounts (id) on delete cascade,
    status_id          bigint      references statuses (id) on delete set null,
    position           smallint    not null default 0 check (position between 0 and 15),
    type               text        not null check (type in ('image', 'gifv', 'video', 'audio', 'unknown')),
    content_type       text        not null check (length(content_type) between 3 and 100),
    file_key           text        not null unique check (length(file_key) <= 200),
    file_size          bigint      not null check (file_size >= 0),
    width              int         check (width > 0),
    height             int         check (height > 0),
    thumb_key          text        unique check (length(thumb_key) <= 200),
    thumb_content_type text,
    thumb_width        int         check (thumb_width > 0),
    thumb_height       int         check (thumb_height > 0),
    blurhash           text        check (length(blurhash) <= 200),
    focus_x            real        not null default 0 check (focus_x between -1 and 1),
    focus_y            real        not null default 0 check (focus_y between -1 and 1),
    description        text        not null default '' check (char_length(description) <= 1500),
    state              text        not null default 'processing' check (state in ('processing', 'ready', 'failed')),
    created_at         timestamptz not null default now(),
    check ((thumb_key is null) = (thumb_content_type is null))
);
create index media_attachments_status on media_attachments (status_id, position) where status_id is not null;
create index media_attachments_account on media_attachments (account_id, id desc);

-- Media belongs to its uploader's tenant, and is shown only by the
-- uploader's own statuses: a second line of defence behind the checks the
-- application makes when attaching.
create function media_attachments_owner() returns trigger language plpgsql as $$
begin
    if not exists (select 1 from accounts where id = new.account_id and tenant_id = new.tenant_id) then
        raise exception 'media % does not belong to tenant %', new.id, new.tenant_id using errcode = '23514';
    end if;
    if new.status_id is not null and not exists (
        select 1 from statuses where id = new.status_id and account_id = new.account_id) then
        raise exception 'media % cannot be attached to another account''s status', new.id using errcode = '23514';
    end if;
    return new;
end $$;
create trigger media_attachments_owner before insert or update of account_id, tenant_id, status_id on media_attachments
    for each row execute function media_attachments_owner();

-- Poll votes. A poll is the `poll` document of its status (options with
-- their counts, endsAt for its expiry, multiple); each vote is one row per
-- (status, account, choice). For a local poll the counts in the document
-- are updated in the vote's own transaction, the status row locked, so
-- the rows and the counts never disagree; votes on remote polls are kept
-- so the voter sees their own votes and cannot vote twice. uri is a
-- remote vote's Note id (each redelivery counts once) or the id of the
-- Note we sent for a vote on a remote poll.
create table poll_votes (
    id         bigint generated always as identity primary key,
    status_id  bigint      not null references statuses (id) on delete cascade,
    account_id bigint      not null references accounts (id) on delete cascade,
    choice     smallint    not null check (choice between 0 and 63),
    uri        text        unique,
    created_at timestamptz not null default now(),
    unique (status_id, account_id, choice)
);
create index poll_votes_account on poll_votes (account_id, status_id);
