-- 052: reserved for the wildcard work of session 8; replaced by that work's own
-- file, or kept as a documented no-op so numbering stays contiguous.
select 1;
