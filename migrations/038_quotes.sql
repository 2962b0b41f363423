-- Issue 17, quote posts as Mastodon 4.5 makes them (FEP-044f).
--
-- A post may quote one other post. The quoted post's author decides who may
-- quote it (its quote policy) and answers each quote with a stamp (a
-- QuoteAuthorization), which anyone can fetch to check the quote was
-- allowed. So that every rendering of a Note (the Create, an edit, the
-- object served at its id, an archive) carries the same quote and policy,
-- both are columns of statuses, read with the rest of the status:
--   quote_uri    the post this one quotes (FEP-044f `quote`);
--   quote_stamp  the QuoteAuthorization that allows it, once accepted;
--   quote_policy who may quote this post: public, followers or nobody
--                (null: unknown, as for remote posts that state none,
--                and local posts from before quotes; only the author may
--                quote those).
-- Nullable columns without defaults rewrite nothing.
alter table statuses
    add column quote_uri    text check (length(quote_uri) <= 2048),
    add column quote_stamp  text check (length(quote_stamp) <= 2048),
    add column quote_policy text check (quote_policy in ('public', 'followers', 'nobody'));

-- A new local post that states no policy (posted from the command line, a
-- scheduled post, an import) gets its author's default (accounts.
-- quote_policy, migration 036) when public or unlisted, nobody otherwise,
-- as on Mastodon. Remote posts keep what their server said (null:
-- nothing).
create function statuses_quote_policy() returns trigger language plpgsql as $$
begin
    if new.visibility in ('public', 'unlisted') then
        select coalesce(a.quote_policy, 'public') into new.quote_policy from accounts a where a.id = new.account_id;
    end if;
    new.quote_policy := coalesce(new.quote_policy, 'nobody');
    return new;
end $$;
create trigger statuses_quote_policy before insert on statuses
    for each row when (new.tenant_id is not null and new.quote_policy is null and new.reblog_of_id is null)
    execute function statuses_quote_policy();

-- quotes: the state of each quote we know of, one row per quoting post.
-- The quoted post may be unknown (a remote post never fetched) or gone
-- (quoted_status_id null once it is deleted: Mastodon's `deleted` state).
-- request_uri is the QuoteRequest we sent for a quote by a local account.
create table quotes (
    status_id         bigint      primary key references statuses (id) on delete cascade,
    account_id        bigint      not null references accounts (id) on delete cascade,
    quoted_status_id  bigint      references statuses (id) on delete set null,
    quoted_account_id bigint      references accounts (id) on delete set null,
    quoted_uri        text        not null check (length(quoted_uri) <= 2048),
    state             text        not null check (state in ('pending', 'accepted', 'rejected', 'revoked', 'unauthorized')),
    request_uri       text        unique check (length(request_uri) <= 2048),
    stamp_uri         text        check (length(stamp_uri) <= 2048),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
-- GET /api/v1/statuses/:id/quotes and quotes_count read the accepted
-- quotes of a post, newest first.
create index quotes_quoted on quotes (quoted_status_id, status_id desc) where state = 'accepted';
create index quotes_stamp on quotes (stamp_uri) where stamp_uri is not null;

-- quote_authorizations: the stamps local accounts issued for quotes of
-- their posts, served at <author actor>/quote_authorizations/<id> so that
-- any server can check a quote. A revoked stamp answers 404 and was
-- announced with a Delete.
create table quote_authorizations (
    id                 bigint      generated always as identity primary key,
    quoted_status_id   bigint      not null references statuses (id) on delete cascade,
    quoting_uri        text        not null check (length(quoting_uri) <= 2048),
    quoting_account_id bigint      not null references accounts (id) on delete cascade,
    revoked_at         timestamptz,
    created_at         timestamptz not null default now(),
    unique (quoted_status_id, quoting_uri)
);

-- quoted_update: a post one quoted (accepted) was edited. notify() skips
-- remote quoters, blocks and mutes.
create function statuses_quoted_update() returns trigger language plpgsql as $$
begin
    perform notify(q.account_id, new.account_id, 'quoted_update', q.status_id)
    from quotes q where q.quoted_status_id = new.id and q.state = 'accepted';
    return null;
end $$;

-- Mastodon 4.5's notification types, with `quote` (someone quoted your
-- post) and `quoted_update` (a post you quoted was edited). The list is
-- Mastodon's whole set, so a type another migration of this issue admits
-- stays admitted.
alter table notifications drop constraint if exists notifications_type_check;
alter table notifications add constraint notifications_type_check check (type in (
    'mention', 'status', 'reblog', 'follow', 'follow_request', 'favourite', 'poll', 'update',
    'admin.sign_up', 'admin.report', 'severed_relationships', 'moderation_warning', 'annual_report',
    'quote', 'quoted_update'));

create trigger statuses_quoted_update after update of edited_at on statuses
    for each row when (new.edited_at is distinct from old.edited_at) execute function statuses_quoted_update();
