-- 053: no change. The number was held for the soak work of issue 19
-- (session 9: restart readiness, soak findings 9 and 10), which needed no
-- table. Kept so the numbering stays contiguous: migrations apply in order
-- and a gap is refused.
select 1;
