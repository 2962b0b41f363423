-- Placeholder keeping the migrations contiguous (the loader refuses gaps).
-- Number 045 is reserved for the "delivery" helper this session: if you need it,
-- delete this file and create your own 045_*.sql. Otherwise the lead renumbers.
select 1;
