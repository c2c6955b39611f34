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
-- The extension's members, as \dx+ lists them, less the types PostgreSQL
-- makes on its own: from PostgreSQL 17 (commit e5bc9454e) the row type of
-- each table and view an extension creates, every array type and every
-- multirange type of its types are recorded as members too (pg_depend
-- deptype 'e'), so \dx+ on 17 and 18 shows six "type softdelete.*" lines
-- that 15 does not.  Left out here, so that one expected file serves every
-- major.
SELECT pg_describe_object(d.classid, d.objid, 0) AS "Object description"
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'softdelete')
   AND NOT EXISTS (SELECT FROM pg_type t
                    WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND (t.typtype = 'm'
                           OR EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)
                           OR EXISTS (SELECT FROM pg_class c
                                       WHERE c.reltype = t.oid AND c.relkind <> 'c')))
 ORDER BY 1;

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
