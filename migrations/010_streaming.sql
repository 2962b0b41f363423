-- The streaming API (docs.joinmastodon.org/methods/streaming): triggers
-- announce what live clients should hear, on the notification channel
-- roost_stream. PostgreSQL delivers notifications at commit (never for a
-- rolled-back transaction), to the one relay elected per instance, which
-- publishes each event to Redis for every web node (api/streaming).
-- Streaming is best effort, as on Mastodon: the durable state is the
-- tables; an event missed while no relay listens is simply not pushed.
--
-- Payloads carry ids only (pg_notify's limit is 8000 bytes); entities are
-- rendered per viewer when sent. A payload is a JSON object:
--   e     the event: update, notification, delete, status.update, conversation
--   id    the status id (the notification id for notification)
--   u     accounts whose user stream hears it (user:notification too, for
--         a notification)
--   c     accounts whose direct stream hears it
--   pl    tenants whose public streams hear it as a local status
--   pr    tenants whose public streams hear it as a remote status
--   tags  its hashtags, heard on the pl and pr tenants' hashtag streams
-- Long audiences are split over several notifications.

-- Lookups by status (audiences of an edit or a delete), which the
-- cascades of a status delete need as well.
create index if not exists home_feeds_status_id on home_feeds (status_id);
create index if not exists tenant_timeline_status_id on tenant_timeline (status_id);

create function stream_notify(event text, id bigint, users bigint[], direct bigint[],
                              local_tenants bigint[], remote_tenants bigint[], tags text[]) returns void
language sql as $$
    select pg_notify('roost_stream', jsonb_strip_nulls(jsonb_build_object(
        'e', event, 'id', id,
        'u', nullif(users, '{}'), 'c', nullif(direct, '{}'),
        'pl', nullif(local_tenants, '{}'), 'pr', nullif(remote_tenants, '{}'),
        'tags', nullif(tags, '{}')))::text)
$$;

-- stream_fresh: only statuses stored lately are news. A statement that
-- files older statuses (a follow filling the follower's feed) is not
-- pushed, as Mastodon does not push a feed merge.
create function stream_fresh(created timestamptz) returns boolean language sql stable as $$
    select created > now() - interval '15 minutes'
$$;

-- stream_tags bounds the hashtags a payload carries.
create function stream_tags(tags text[]) returns text[] language sql immutable as $$
    select coalesce(array_agg(t), '{}') from (select t from unnest(tags) t where length(t) <= 100 limit 20) x
$$;

-- stream_to_accounts announces event to accounts' user streams (direct:
-- their direct streams), 300 accounts a notification.
create function stream_to_accounts(event text, id bigint, accounts bigint[], direct boolean) returns void
language plpgsql as $$
declare
    i int := 1;
    n int := coalesce(cardinality(accounts), 0);
begin
    while i <= n loop
        if direct then
            perform stream_notify(event, id, null, accounts[i:i + 299], null, null, null);
        else
            perform stream_notify(event, id, accounts[i:i + 299], null, null, null, null);
        end if;
        i := i + 300;
    end loop;
end $$;

-- stream_to_tenants announces event to tenants' public and hashtag
-- streams, 100 tenants of each kind a notification.
create function stream_to_tenants(event text, id bigint, local_tenants bigint[], remote_tenants bigint[],
                                  tags text[]) returns void
language plpgsql as $$
declare
    i int := 1;
    n int := greatest(coalesce(cardinality(local_tenants), 0), coalesce(cardinality(remote_tenants), 0));
    t text[] := stream_tags(tags);
begin
    while i <= n loop
        perform stream_notify(event, id, null, null, local_tenants[i:i + 99], remote_tenants[i:i + 99], t);
        i := i + 100;
    end loop;
end $$;

-- A status filed in home feeds: update on those accounts' user streams.
create function stream_home_feeds() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in
        select n.status_id, array_agg(n.account_id order by n.account_id) as accounts
        from stream_added n join statuses s on s.id = n.status_id
        where stream_fresh(s.created_at)
        group by n.status_id order by n.status_id
    loop
        perform stream_to_accounts('update', r.status_id, r.accounts, false);
    end loop;
    return null;
end $$;
create trigger stream_home_feeds after insert on home_feeds
    referencing new table as stream_added for each statement execute function stream_home_feeds();

-- A notification: on the recipient's user and user:notification streams.
create function stream_notifications() returns trigger language plpgsql as $$
begin
    perform stream_notify('notification', new.id, array[new.account_id], null, null, null, null);
    return null;
end $$;
create trigger stream_notifications after insert on notifications
    for each row execute function stream_notifications();

-- A public status a tenant sees: update on its public streams (all, and
-- local or remote) and the hashtag streams of its tags.
create function stream_tenant_timeline() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in
        select s.id, s.tags,
               coalesce(array_agg(n.tenant_id order by n.tenant_id) filter (where n.local), '{}') as local_tenants,
               coalesce(array_agg(n.tenant_id order by n.tenant_id) filter (where not n.local), '{}') as remote_tenants
        from stream_added n join statuses s on s.id = n.status_id
        where stream_fresh(s.created_at)
        group by s.id, s.tags order by s.id
    loop
        perform stream_to_tenants('update', r.id, r.local_tenants, r.remote_tenants, r.tags);
    end loop;
    return null;
end $$;
create trigger stream_tenant_timeline after insert on tenant_timeline
    referencing new table as stream_added for each statement execute function stream_tenant_timeline();

-- stream_audience announces event for status s to everyone who was shown
-- it: the home feeds holding it and the tenants' public streams.
create function stream_audience(event text, s statuses) returns void language plpgsql as $$
begin
    perform stream_to_accounts(event, s.id,
        array(select account_id from home_feeds where status_id = s.id order by account_id), false);
    perform stream_to_tenants(event, s.id,
        array(select tenant_id from tenant_timeline where status_id = s.id and local order by tenant_id),
        array(select tenant_id from tenant_timeline where status_id = s.id and not local order by tenant_id),
        s.tags);
end $$;

-- An edited status: status.update to the same audiences.
create function stream_status_update() returns trigger language plpgsql as $$
begin
    perform stream_audience('status.update', new);
    return null;
end $$;
create trigger stream_status_update after update of content, summary, sensitive, edited_at, attachments on statuses
    for each row
    when (old.content is distinct from new.content or old.summary is distinct from new.summary
          or old.sensitive is distinct from new.sensitive or old.edited_at is distinct from new.edited_at
          or old.attachments is distinct from new.attachments)
    execute function stream_status_update();

-- A deleted status: delete to the same audiences, read before the feed
-- and timeline rows cascade away.
create function stream_status_delete() returns trigger language plpgsql as $$
begin
    perform stream_audience('delete', old);
    return old;
end $$;
create trigger stream_status_delete before delete on statuses
    for each row execute function stream_status_delete();

-- A direct status: conversation on the direct streams of its local author
-- and the local accounts it mentions.
create function stream_direct() returns trigger language plpgsql as $$
declare
    r record;
begin
    for r in
        select s.id, case when au.tenant_id is not null then array[s.account_id] else '{}' end
                     || coalesce(array_agg(n.account_id order by n.account_id) filter (where a.tenant_id is not null
                                                                                  and n.account_id <> s.account_id), '{}') as accounts
        from stream_added n
        join statuses s on s.id = n.status_id
        join accounts a on a.id = n.account_id
        join accounts au on au.id = s.account_id
        where s.visibility = 'direct' and stream_fresh(s.created_at)
        group by s.id, s.account_id, au.tenant_id order by s.id
    loop
        perform stream_to_accounts('conversation', r.id, r.accounts, true);
    end loop;
    return null;
end $$;
create trigger stream_direct after insert on status_mentions
    referencing new table as stream_added for each statement execute function stream_direct();
