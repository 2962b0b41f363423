-- 055: no change. The number was held for posting and delivery speed
-- (issue 21, session 9), which needed no table: fan-out batches commit
-- asynchronously with SET LOCAL. Kept so the numbering stays contiguous.
select 1;
