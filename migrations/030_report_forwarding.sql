-- Forwarded reports (issue 15): a report forwarded to a remote account's
-- server is an outbound delivery like any other, written in the
-- transaction that files the report, so a restart cannot lose it
-- (PostgreSQL is the truth; it was an in-memory retry loop before).
-- Unlike other deliveries its Flag is signed by the instance actor of the
-- reporter's site, not by the sender row's account (the reporter), so the
-- remote moderators learn what was reported and not who reported it.
-- acting_host names that site's actor host; null: signed by sender_id,
-- as every delivery so far. A nullable column without a default
-- rewrites nothing.

alter table deliveries add column acting_host text;
