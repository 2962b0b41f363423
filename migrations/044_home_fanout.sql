-- Home-feed fan-out after commit (issue 21). A post used to reach every
-- local follower's home feed inside its own transaction, so posting took
-- as long as the audience was large. Now the posting transaction files it
-- for the author, the accounts it mentions and the first followers (a
-- bounded number), and writes one home_fanouts row for the rest; `roost
-- work`'s home-fanout job files it for the remaining followers after
-- commit, in batches, by follower id. The row is written in the posting
-- transaction, so nothing acknowledged is lost: a worker that dies
-- mid-batch rolls its batch back and the next one resumes from after_id.
--
-- No foreign key to statuses: a status deleted while its fan-out runs
-- must not wait on (or deadlock with) the worker's row lock; the worker
-- finds the status gone and drops the job. home_feeds keeps its own
-- foreign key, so no feed can ever hold a deleted status.
create table home_fanouts (
    id         bigint generated always as identity primary key,
    status_id  bigint      not null,
    -- tenant_id: followers on this tenant only (a status received by one
    -- tenant's inbox, a boost); null: followers on every tenant (a local
    -- post, which also reaches the tenant timelines of followers' tenants
    -- when timelines is set).
    tenant_id  bigint,
    timelines  boolean     not null default false,
    after_id   bigint      not null default 0, -- followers up to this account id are done
    attempts   int         not null default 0,
    not_before timestamptz not null default now(),
    created_at timestamptz not null default now()
);
create index home_fanouts_due on home_fanouts (not_before, id);

-- The fan-out walks a followee's accepted followers by follower id, a
-- batch at a time: an index range scan per batch instead of a sort of the
-- whole audience.
create index follows_followee_accepted on follows (followee_id, follower_id) where state = 'accepted';

-- statuses_follow_notify (migration 013) runs on every new status and
-- looks for followers who asked to be notified of posts: without this it
-- read every accepted follow of the author, inside the posting
-- transaction.
create index follows_followee_notify on follows (followee_id) where notify and state = 'accepted';
