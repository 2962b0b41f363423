-- Outbound failures stored before issue 14 (finding 6) kept the whole
-- error text, "<code>: <safe message>: <cause>", whose cause names what a
-- host resolved to ("dial tcp 127.0.0.1:6379 …") or the DNS server asked.
-- Tenants read these on their federation pages. Keep only the safe
-- message (between the first and second ": "), as the code now stores.
-- Deliveries the address guard refused were being retried for days; they
-- can never succeed, so they fail now, as new ones do at once.
-- One transaction: rows are rewritten and failed together or not at all.

update deliveries
set state = 'failed', leased_until = null
where state = 'pending'
  and last_error ~ '^forbidden: (the address of \S+ is not allowed|plain http is refused for )';

update deliveries
set last_error = split_part(last_error, ': ', 2)
where last_error ~ '^(forbidden|unavailable|invalid|too_large|not_found|gone|unauthorized|internal): ';

update remote_hosts
set last_error = split_part(last_error, ': ', 2)
where last_error ~ '^(forbidden|unavailable|invalid|too_large|not_found|gone|unauthorized|internal): ';

update remote_hosts
set nodeinfo_error = split_part(nodeinfo_error, ': ', 2)
where nodeinfo_error ~ '^(forbidden|unavailable|invalid|too_large|not_found|gone|unauthorized|internal): ';

update blocklist_subscriptions
set last_error = split_part(last_error, ': ', 2)
where last_error ~ '^(forbidden|unavailable|invalid|too_large|not_found|gone|unauthorized|internal): ';
