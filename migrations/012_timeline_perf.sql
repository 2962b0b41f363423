-- Timelines at scale, and what the "For you" feed served (docs/for-you.md).

-- One row per post "For you" served to a viewer, with the score it was
-- served with: a served post is not served again, and explaining it shows
-- why it was there. Rows are pruned once their posts are out of the
-- ranking window.
create table for_you_served (
    account_id bigint           not null references accounts (id) on delete cascade,
    status_id  bigint           not null references statuses (id) on delete cascade,
    served_at  timestamptz      not null default now(),
    score      double precision not null,
    affinity   double precision not null,
    freshness  double precision not null,
    noise      double precision not null,
    favourites bigint           not null,
    boosts     bigint           not null,
    replies    bigint           not null,
    age_hours  double precision not null,
    primary key (account_id, status_id)
);
-- A deleted status cascades here.
create index for_you_served_status on for_you_served (status_id);
