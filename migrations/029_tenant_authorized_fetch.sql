-- Authorized fetch (issue 16): a tenant may require signed GETs for its
-- actors, posts and collections, or opt out of the instance's default.
-- Null follows the instance setting (ROOST_AUTHORIZED_FETCH), so every
-- existing tenant keeps today's behaviour. A nullable column added without
-- a default rewrites nothing.

alter table tenants add column authorized_fetch boolean;
