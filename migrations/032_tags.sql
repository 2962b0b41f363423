-- Hashtags people follow and feature (issue 17). Mastodon's Tag entity
-- has an id, and apps (Elk) follow, unfollow and feature tags by name.

-- One row per hashtag name known here, shared by every tenant (a name is
-- no tenant's secret; which posts carry it stays per tenant). Filled from
-- tenant_tags (every tag a tenant saw in a public post) and when someone
-- follows or features a name not seen yet.
create table tags (
    id   bigint generated always as identity primary key,
    name text not null unique check (length(name) between 1 and 100)
);
insert into tags (name) select distinct name from tenant_tags order by 1 on conflict do nothing;

create function tenant_tags_tags() returns trigger language plpgsql as $$
begin
    insert into tags (name) values (new.name) on conflict do nothing;
    return null;
end $$;
create trigger tenant_tags_tags after insert on tenant_tags
    for each row execute function tenant_tags_tags();

-- Hashtags a local account follows: public posts carrying one, known to
-- the account's tenant, join its home feed (tag_follows_home_feed).
create table tag_follows (
    id         bigint generated always as identity primary key,
    account_id bigint      not null references accounts (id) on delete cascade,
    tag_id     bigint      not null references tags (id) on delete cascade,
    created_at timestamptz not null default now(),
    unique (account_id, tag_id)
);
-- The fan-out looks followers up by tag.
create index tag_follows_tag on tag_follows (tag_id, account_id);

-- Hashtags a local account features on its profile (at most 10, the
-- store checks under a row lock on the account).
create table featured_tags (
    id         bigint generated always as identity primary key,
    account_id bigint      not null references accounts (id) on delete cascade,
    tag_id     bigint      not null references tags (id) on delete cascade,
    created_at timestamptz not null default now(),
    unique (account_id, tag_id)
);

-- Fan-out on receive, as Mastodon's: a public, original post a tenant
-- sees (its own or received: tenant_timeline) goes to the home feeds of
-- that tenant's accounts following one of its hashtags. Only fresh rows
-- (stored in the last 15 minutes): an account move re-filing old posts,
-- or a fetched old post, is no news. Left out, for each follower: posts
-- by accounts it blocks or mutes or who block it, from domains it hides,
-- and posts by accounts or domains silenced or suspended for its tenant
-- or the whole instance unless it follows the author (as the public
-- timeline leaves them out). Reading the home feed still checks
-- visibility, blocks and mutes (HomeTimeline), and the viewer's filters
-- apply when shown. Inserting into home_feeds streams the update
-- (stream_home_feeds).
-- One statement per new post, driven from its hashtags (tags → the
-- tag_follows_tag index → accounts): the planner does not know a
-- transition table holds a row or two, and a join over it may start from
-- every account of the tenant.
create function tag_follows_home_feed() returns trigger language plpgsql as $$
declare
    r        record;
    silenced boolean;
begin
    for r in
        select n.tenant_id, s.id, s.account_id, s.tags, au.tenant_id as author_tenant, au.domain
        from tag_added n
        join statuses s on s.id = n.status_id
        join accounts au on au.id = s.account_id
        where s.visibility = 'public' and s.reblog_of_id is null and cardinality(s.tags) > 0
          and s.created_at > now() - interval '15 minutes'
    loop
        silenced := exists (select 1 from account_limits l where l.account_id = r.account_id
                and (l.silenced_at is not null or l.suspended_at is not null)
                and (l.tenant_id is null or l.tenant_id = r.tenant_id))
            or (r.author_tenant is null and exists (select 1 from domain_blocks b
                where (r.domain = b.domain or right(r.domain, length(b.domain) + 1) = '.' || b.domain)
                and b.severity in ('silence', 'suspend') and (b.tenant_id is null or b.tenant_id = r.tenant_id)));
        insert into home_feeds (account_id, status_id)
        select distinct tf.account_id, r.id
        from tags t
        join tag_follows tf on tf.tag_id = t.id
        join accounts a on a.id = tf.account_id and a.tenant_id = r.tenant_id
        where t.name = any (r.tags)
          and not exists (select 1 from blocks b where b.account_id = tf.account_id and b.target_id = r.account_id)
          and not exists (select 1 from blocks b where b.account_id = r.account_id and b.target_id = tf.account_id)
          and not exists (select 1 from mutes u where u.account_id = tf.account_id and u.target_id = r.account_id
              and (u.expires_at is null or u.expires_at > now()))
          and (r.author_tenant is not null or not exists (select 1 from account_domain_blocks d
              where d.account_id = tf.account_id
              and (r.domain = d.domain or right(r.domain, length(d.domain) + 1) = '.' || d.domain)))
          and (not silenced or exists (select 1 from follows f where f.follower_id = tf.account_id
              and f.followee_id = r.account_id and f.state = 'accepted'))
        on conflict do nothing;
    end loop;
    return null;
end $$;
create trigger tag_follows_home_feed after insert on tenant_timeline
    referencing new table as tag_added for each statement execute function tag_follows_home_feed();
