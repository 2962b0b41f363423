-- Account-side client routes (issue 17): lists of blocks and mutes paged
-- as Mastodon pages them, private notes, endorsements (featured accounts),
-- follow suggestions one dismissed, and the profile's attribution domains
-- and default quote policy.

-- Mastodon pages /api/v1/blocks and /api/v1/mutes by the block's or
-- mute's own row id (newest first), not by the account's: the rows get one.
-- Existing rows are numbered as the column is added.
alter table blocks add column id bigint generated always as identity;
create unique index blocks_id on blocks (id);
create index blocks_account_id on blocks (account_id, id desc);
alter table mutes add column id bigint generated always as identity;
create unique index mutes_id on mutes (id);
create index mutes_account_id on mutes (account_id, id desc);

-- A private note one account keeps about another (Relationship.note);
-- only its writer ever reads it. An empty note is no row.
create table account_notes (
    account_id bigint      not null references accounts (id) on delete cascade,
    target_id  bigint      not null references accounts (id) on delete cascade,
    comment    text        not null check (length(comment) between 1 and 2000),
    updated_at timestamptz not null default now(),
    primary key (account_id, target_id)
);

-- Accounts a local account features on its profile (Mastodon's
-- endorsements, "pin"); paged by the row id.
create table account_endorsements (
    id         bigint generated always as identity primary key,
    account_id bigint      not null references accounts (id) on delete cascade,
    target_id  bigint      not null references accounts (id) on delete cascade,
    created_at timestamptz not null default now(),
    unique (account_id, target_id),
    check (account_id <> target_id)
);
create index account_endorsements_account on account_endorsements (account_id, id desc);

-- Follow suggestions a viewer dismissed: never suggested to them again.
create table suggestion_dismissals (
    account_id bigint      not null references accounts (id) on delete cascade,
    target_id  bigint      not null references accounts (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (account_id, target_id)
);

-- Profile settings of Mastodon 4.4/4.5: the domains allowed to credit
-- the account as an author (link previews), and who may quote its posts
-- by default (public, followers, nobody).
alter table accounts
    add column attribution_domains text[] not null default '{}' check (cardinality(attribution_domains) <= 10),
    add column quote_policy        text   not null default 'public' check (quote_policy in ('public', 'followers', 'nobody'));

-- As on Mastodon, an endorsement lives only as long as the follow behind
-- it: unfollowing, blocking, being removed as a follower or a move's
-- re-pointing ends it, whichever path deletes the follow.
create function account_endorsement_follow_gone() returns trigger language plpgsql as $$
begin
    delete from account_endorsements where account_id = old.follower_id and target_id = old.followee_id;
    return null;
end $$;
create trigger follows_end_endorsement after delete on follows
    for each row execute function account_endorsement_follow_gone();
