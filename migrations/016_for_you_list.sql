-- The ranked "For you" feed is offered to every app as a list: one
-- built-in list per account, created the first time its lists are read.
-- Its timeline is the ranking (docs/for-you.md), not members' posts. If
-- its owner deletes it, for_you_lists remembers that it was offered and it
-- is not created again.
alter table lists add column kind text not null default 'members' check (kind in ('members', 'for_you'));
create unique index lists_one_for_you on lists (account_id) where kind = 'for_you';

create table for_you_lists (
    account_id bigint primary key references accounts (id) on delete cascade,
    offered_at timestamptz not null default now()
);
