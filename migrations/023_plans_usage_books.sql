-- reserved; replaced by the change that owns this number
select 1;
