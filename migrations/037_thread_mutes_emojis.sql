-- Issue 17, status routes: muting a conversation, and the custom emojis of
-- remote posts and profiles.
--
-- Muting a conversation (POST /api/v1/statuses/:id/mute) silences every
-- notification about a status of that thread, as on Mastodon. A thread is
-- named by its root: statuses.thread_id is the root of the thread as known
-- when the status was stored (null: the status is a root itself, or its
-- parent was unknown then). A nullable column without a default rewrites
-- nothing; the trigger fills it from the parent for new rows and when an
-- archive import links a parent later.
alter table statuses add column thread_id bigint;

create function statuses_thread() returns trigger language plpgsql as $$
begin
    if new.in_reply_to_id is null then
        new.thread_id := null;
    else
        select coalesce(p.thread_id, p.id) into new.thread_id from statuses p where p.id = new.in_reply_to_id;
    end if;
    return new;
end $$;
-- Its name sorts after statuses_before_insert, so it fires after that
-- trigger, which resolves in_reply_to_id from in_reply_to_uri. A reply
-- stored before its parent starts a thread of its own.
create trigger statuses_thread before insert or update of in_reply_to_id on statuses
    for each row execute function statuses_thread();

-- The threads that exist already, from each root down.
with recursive t (id, root) as (
    select id, id from statuses where in_reply_to_id is null
    union
    select s.id, t.root from statuses s join t on s.in_reply_to_id = t.id
)
update statuses s set thread_id = t.root from t where s.id = t.id and t.root <> s.id;

-- The threads a local account muted: thread_id is the root.
create table thread_mutes (
    account_id bigint      not null references accounts (id) on delete cascade,
    thread_id  bigint      not null references statuses (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (account_id, thread_id)
);
create index thread_mutes_thread on thread_mutes (thread_id);

-- A notification about a status of a muted thread is never recorded,
-- whoever's function inserts it (notify(), poll endings, ...): a BEFORE
-- trigger on the table itself, so later redefinitions of notify() keep it.
create function notifications_thread_mutes() returns trigger language plpgsql as $$
begin
    if new.status_id is not null and exists (
        select 1 from statuses s
        join thread_mutes m on m.account_id = new.account_id and m.thread_id = coalesce(s.thread_id, s.id)
        where s.id = new.status_id) then
        return null;
    end if;
    return new;
end $$;
create trigger notifications_thread_mutes before insert on notifications
    for each row execute function notifications_thread_mutes();

-- Custom emojis of remote posts and remote profiles, as their servers sent
-- them (ActivityPub tag objects of type Emoji): [{"shortcode", "url"}],
-- at most 64, only http(s) URLs (checked when received). Local posts and
-- profiles use their tenant's custom_emojis instead.
alter table statuses add column emojis jsonb;
alter table accounts add column emojis jsonb;
