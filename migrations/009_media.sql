-- Placeholder: this migration number is reserved and is being written.
select 1;
