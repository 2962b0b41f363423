-- 058: reserved for the delivery work of issue 21 (session 10).
select 1;
