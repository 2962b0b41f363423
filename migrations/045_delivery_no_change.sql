-- 045: no change. The number was held for the delivery work of issue 21
-- (floors, batched host-health writes, bounded per-host slots), which
-- needed no table. Kept so the numbering stays contiguous: migrations
-- apply in order and a gap is refused.
select 1;
