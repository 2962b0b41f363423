-- 048: no change. The number was held for the soak work of issue 19
-- (session 8: streaming resets on a new relay session, errors that are not
-- "not found", the delivery breaker and 401s), which needed no table. Kept
-- so the numbering stays contiguous: migrations apply in order and a gap is
-- refused.
select 1;
