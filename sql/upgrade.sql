-- upgrade path: install the oldest version, use it, ALTER EXTENSION
-- UPDATE to the current one, and check the members and that enabled
-- tables keep working.  (1.0 is the only version so far: the update is a
-- no-op today; each new version adds its softdelete--A--B.sql script and
-- this test then walks the chain.)
CREATE DATABASE regress_softdelete_upgrade;
\c regress_softdelete_upgrade
CREATE EXTENSION softdelete VERSION '1.0';
CREATE ROLE regress_upgrader;
CREATE TABLE kept (id int PRIMARY KEY, deleted_at timestamptz);
ALTER TABLE kept OWNER TO regress_upgrader;
INSERT INTO kept VALUES (1), (2), (3);
SET ROLE regress_upgrader;
SELECT softdelete.enable('kept');
DELETE FROM kept WHERE id = 1;
RESET ROLE;

ALTER EXTENSION softdelete UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'softdelete';
SELECT name, default_version, installed_version FROM pg_available_extensions
 WHERE name = 'softdelete';
SELECT version FROM pg_available_extension_versions WHERE name = 'softdelete' ORDER BY version;
\dx+ softdelete

-- the table enabled before the update still works
SET ROLE regress_upgrader;
DELETE FROM kept WHERE id = 2;
SELECT id FROM kept;
SELECT id FROM softdelete.trash(NULL::kept) ORDER BY id;
SELECT softdelete.restore('kept', 1);
SELECT softdelete.disable('kept');
RESET ROLE;

\c contrib_regression
DROP DATABASE regress_softdelete_upgrade;
DROP ROLE regress_upgrader;
