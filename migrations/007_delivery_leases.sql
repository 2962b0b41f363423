-- Delivery leases live in their own, unindexed column so that taking one
-- is a HOT update (no index churn on the hot deliveries table); room is
-- left on each page for such updates.
alter table deliveries add column leased_until timestamptz;
alter table deliveries set (fillfactor = 80);
