-- Following someone fills one's home feed with their recent posts, and
-- unfollowing takes them out again, as on Mastodon. A trigger, so local
-- follows, accepted remote follows and follow requests approved later all
-- behave the same.
create function follows_home_feed() returns trigger language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') and new.state = 'accepted'
       and (tg_op = 'INSERT' or old.state <> 'accepted')
       and exists (select 1 from accounts where id = new.follower_id and tenant_id is not null) then
        insert into home_feeds (account_id, status_id)
        select new.follower_id, s.id from statuses s
        where s.account_id = new.followee_id and s.visibility in ('public', 'unlisted', 'private')
        order by s.id desc limit 40
        on conflict do nothing;
    elsif tg_op = 'DELETE' and old.state = 'accepted' then
        delete from home_feeds h using statuses s
        where h.account_id = old.follower_id and h.status_id = s.id and s.account_id = old.followee_id
          and not exists (select 1 from status_mentions m where m.status_id = s.id and m.account_id = old.follower_id);
    end if;
    return null;
end $$;
create trigger follows_home_feed after insert or update of state or delete on follows
    for each row execute function follows_home_feed();

-- Follow options (POST /api/v1/accounts/:id/follow): notify of every new
-- post, and whether the followee's boosts reach one's home feed.
alter table follows
    add column notify       boolean not null default false,
    add column show_reblogs boolean not null default true;

-- "status" notifications for followers who asked for them, and "update"
-- notifications when a post one boosted is edited.
create function statuses_follow_notify() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        if new.reblog_of_id is null and new.visibility <> 'direct' and new.in_reply_to_id is null then
            perform notify(f.follower_id, new.account_id, 'status', new.id)
            from follows f where f.followee_id = new.account_id and f.state = 'accepted' and f.notify;
        end if;
    elsif new.edited_at is distinct from old.edited_at then
        perform notify(r.account_id, new.account_id, 'update', new.id)
        from statuses r where r.reblog_of_id = new.id;
    end if;
    return null;
end $$;
create trigger statuses_follow_notify after insert or update of edited_at on statuses
    for each row execute function statuses_follow_notify();
