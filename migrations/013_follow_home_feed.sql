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
