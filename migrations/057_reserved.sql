-- 057: reserved for the posting-latency work of issue 21 (session 10).
select 1;
