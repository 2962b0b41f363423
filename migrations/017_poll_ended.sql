-- Poll-ended notifications and the streaming API's filters_changed event.
--
-- When a poll ends, its (local) author and every local account that voted
-- get a "poll" notification, as on Mastodon. poll_endings mirrors each
-- poll's end (statuses.poll->>'endsAt', local or remote), kept by a
-- trigger so the due ones are found by index; `roost work` claims due rows
-- (FOR UPDATE SKIP LOCKED: several workers never notify twice), notifies
-- through notify_poll_ended and marks them notified, in one transaction.
create table poll_endings (
    status_id   bigint primary key references statuses (id) on delete cascade,
    ends_at     timestamptz not null,
    notified_at timestamptz
);
create index poll_endings_due on poll_endings (ends_at) where notified_at is null;

-- poll_ends_at reads a poll document's end; null when it has none (or an
-- unreadable one, which must not refuse the status).
create function poll_ends_at(poll jsonb) returns timestamptz language plpgsql stable as $$
begin
    if poll is null or jsonb_typeof(poll -> 'endsAt') is distinct from 'string' then
        return null;
    end if;
    return (poll ->> 'endsAt')::timestamptz;
exception when others then
    return null;
end $$;

create function statuses_poll_endings() returns trigger language plpgsql as $$
declare
    ends timestamptz := poll_ends_at(new.poll);
begin
    if ends is null then
        delete from poll_endings where status_id = new.id;
        return null;
    end if;
    -- A new end (an edited poll) is notified again when it comes.
    insert into poll_endings (status_id, ends_at) values (new.id, ends)
    on conflict (status_id) do update set ends_at = excluded.ends_at, notified_at = null
        where poll_endings.ends_at is distinct from excluded.ends_at;
    return null;
end $$;
create trigger statuses_poll_endings_insert after insert on statuses
    for each row when (new.poll is not null) execute function statuses_poll_endings();
create trigger statuses_poll_endings_update after update of poll on statuses
    for each row when (old.poll is distinct from new.poll) execute function statuses_poll_endings();

-- notify_poll_ended notifies the end of the poll of status s: its author
-- when local (notify() skips one's own actions, so directly: one's own
-- poll cannot be blocked or muted), and each local voter through notify()
-- (blocks and mutes apply). The streaming trigger on notifications fires.
create function notify_poll_ended(s bigint) returns void language plpgsql as $$
declare
    author bigint;
begin
    select account_id into author from statuses where id = s and poll is not null;
    if author is null then
        return;
    end if;
    if exists (select 1 from accounts where id = author and tenant_id is not null) then
        insert into notifications (account_id, from_account_id, type, status_id)
        values (author, author, 'poll', s)
        on conflict do nothing;
    end if;
    perform notify(v.account_id, author, 'poll', s)
    from (select distinct account_id from poll_votes where status_id = s) v;
end $$;

-- Polls that exist already: those ended more than a day ago are not news.
insert into poll_endings (status_id, ends_at, notified_at)
select id, poll_ends_at(poll), case when poll_ends_at(poll) < now() - interval '1 day' then now() end
from statuses where poll_ends_at(poll) is not null
on conflict do nothing;

-- filters_changed (docs.joinmastodon.org/methods/streaming): a change to
-- a person's filters, keywords or filtered statuses is announced on their
-- user stream, so clients reload them. The payload is the account id only
-- (migration 010's format); identical notifications of one transaction
-- are delivered once, so a filter saved with many keywords is one event.
-- A filter's keywords and statuses deleted by its cascade find no filter
-- and announce nothing: the filter's own delete did.
create function stream_filters_changed() returns trigger language plpgsql as $$
declare
    owner bigint;
begin
    if tg_table_name = 'filters' and tg_op = 'DELETE' then
        owner := old.account_id;
    elsif tg_table_name = 'filters' then
        owner := new.account_id;
    elsif tg_op = 'DELETE' then
        select account_id into owner from filters where id = old.filter_id;
    else
        select account_id into owner from filters where id = new.filter_id;
    end if;
    if owner is not null then
        perform stream_notify('filters_changed', owner, array[owner], null, null, null, null);
    end if;
    return null;
end $$;
create trigger stream_filters_changed after insert or update or delete on filters
    for each row execute function stream_filters_changed();
create trigger stream_filters_changed after insert or update or delete on filter_keywords
    for each row execute function stream_filters_changed();
create trigger stream_filters_changed after insert or update or delete on filter_statuses
    for each row execute function stream_filters_changed();
