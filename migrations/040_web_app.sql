-- 040: the signed-in web app (api/webapp). A web session is an OAuth access
-- token of the tenant's built-in app "Roost web" (client_id roost-web-<tenant
-- id>, registered on the first sign-in by tenant/oauth's WebApp), kept in an
-- HttpOnly cookie; signing out revokes it. So the web app needs no table of
-- its own. This file keeps the numbering contiguous: migrations apply in
-- order and a gap is refused.
select 1;
