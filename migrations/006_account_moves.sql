-- Account moves: the actors a local account also is (aliases, which let
-- another account move here), and where it moved to.
alter table accounts
    add column also_known_as text[] not null default '{}',
    add column moved_to_uri  text;
