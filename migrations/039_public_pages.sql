-- Issue 18, the public pages (api/public): they read through the client
-- API's existing queries and indexes, so they change no schema. This
-- migration holds number 039, which was set aside for them, so that the
-- numbering stays without a gap and 040 and later apply (tern refuses a
-- gap). It changes nothing.
select 1;
