-- protection of what enable() installed, renames, and DROP TABLE.
SET ROLE regress_owner;
CREATE TABLE guarded (id int PRIMARY KEY, v text);
INSERT INTO guarded VALUES (1, 'a'), (2, 'b');
SELECT softdelete.enable('guarded');
DELETE FROM guarded WHERE id = 2;

\set VERBOSITY default
-- each refused, with a hint; nothing changes
ALTER TABLE guarded DROP COLUMN deleted_at;          -- PostgreSQL: the policy needs it
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE guarded DROP COLUMN deleted_at CASCADE;  -- and we refuse the cascade
\echo :LAST_ERROR_SQLSTATE
DROP POLICY softdelete_filter ON guarded CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER softdelete_before_delete ON guarded;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER softdelete_after_delete ON guarded;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER softdelete_before_truncate ON guarded;
\echo :LAST_ERROR_SQLSTATE
DROP POLICY softdelete_filter ON guarded;
\echo :LAST_ERROR_SQLSTATE
DROP POLICY softdelete_allow ON guarded;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'guarded'::regclass;
SELECT count(*) AS policies FROM pg_policy WHERE polrelid = 'guarded'::regclass;
\set VERBOSITY terse
-- other columns may go
ALTER TABLE guarded DROP COLUMN v;

-- renaming the table or the column keeps everything working
ALTER TABLE guarded RENAME TO sentinel;
DELETE FROM sentinel WHERE id = 1;
SELECT id FROM softdelete.trash(NULL::sentinel) ORDER BY id;
SELECT softdelete.restore('sentinel', 1);
ALTER TABLE sentinel RENAME COLUMN deleted_at TO removed_at;
SELECT column_name FROM softdelete.tables WHERE tbl = 'sentinel'::regclass;
DELETE FROM sentinel WHERE id = 1;
SELECT id, removed_at IS NOT NULL AS trashed FROM softdelete.with_trash(NULL::sentinel) ORDER BY id;
SELECT softdelete.restore('sentinel', 2);
SELECT softdelete.purge('sentinel');
SELECT id FROM sentinel;
-- and renaming its schema
CREATE SCHEMA vault_a;
ALTER TABLE sentinel SET SCHEMA vault_a;
ALTER SCHEMA vault_a RENAME TO vault_b;
DELETE FROM vault_b.sentinel;
SELECT softdelete.restore('vault_b.sentinel', 2);
SELECT id FROM vault_b.sentinel;
ALTER TABLE vault_b.sentinel SET SCHEMA public;
DROP SCHEMA vault_b;

-- DROP TABLE removes it from the registry
SELECT count(*) AS registered FROM softdelete.registry WHERE tbl = 'sentinel'::regclass;
DROP TABLE sentinel;
SELECT count(*) AS registered FROM softdelete.registry;

-- after disable, all of it may go
CREATE TABLE released (id int PRIMARY KEY);
SELECT softdelete.enable('released');
SELECT softdelete.disable('released');
ALTER TABLE released DROP COLUMN deleted_at;
DROP TABLE released;
RESET ROLE;
