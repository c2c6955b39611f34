-- upgrade path: install the oldest version, use it, ALTER EXTENSION
-- UPDATE to the current one, and check the members and that enabled
-- tables keep working.  Each new version adds its softdelete--A--B.sql
-- script and this test walks the chain from 1.0.
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
-- a partitioned table enabled under 1.0, whose rows an UPDATE can move
CREATE TABLE bays (id int, zone text, PRIMARY KEY (id, zone)) PARTITION BY LIST (zone);
CREATE TABLE bays_a PARTITION OF bays FOR VALUES IN ('a');
CREATE TABLE bays_b PARTITION OF bays FOR VALUES IN ('b');
ALTER TABLE bays OWNER TO regress_upgrader;
ALTER TABLE bays_a OWNER TO regress_upgrader;
ALTER TABLE bays_b OWNER TO regress_upgrader;
INSERT INTO bays VALUES (1, 'a'), (2, 'a');
SET ROLE regress_upgrader;
SELECT softdelete.enable('bays');
DELETE FROM bays WHERE id = 2;
RESET ROLE;
-- a table referencing kept under 1.0 accepts a reference to its trash
-- (issue 13: 1.1 refuses it, see below)
CREATE TABLE kept_refs (id int PRIMARY KEY, kept_id int REFERENCES kept);
ALTER TABLE kept_refs OWNER TO regress_upgrader;
SET ROLE regress_upgrader;
INSERT INTO kept_refs VALUES (1, 1);
RESET ROLE;
-- the recipes' is_deleted next to deleted_at, enabled under 1.0 (which
-- did not know the flag): one row trashed with is_deleted left false, one
-- flagged by the old code but not trashed
CREATE TABLE flagged (id int PRIMARY KEY, is_deleted boolean NOT NULL DEFAULT false,
                      deleted_at timestamptz);
ALTER TABLE flagged OWNER TO regress_upgrader;
INSERT INTO flagged VALUES (1, false, NULL), (2, false, NULL), (3, true, NULL);
SET ROLE regress_upgrader;
SELECT softdelete.enable('flagged');
DELETE FROM flagged WHERE id = 2;
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
-- the update put the reference check on its referencing table (issue 13):
-- the row from before stays, a new reference to the trash is refused
SELECT tgrelid::regclass AS on_table, tgisinternal FROM pg_trigger
 WHERE tgfoid = 'softdelete.reference_check_trigger()'::regprocedure;
INSERT INTO kept_refs VALUES (2, 1);
\echo :LAST_ERROR_SQLSTATE
UPDATE kept_refs SET id = 3 WHERE id = 1;   -- keeps its key: allowed
DROP TABLE kept_refs;
DELETE FROM kept WHERE id = 2;
SELECT id FROM kept;
SELECT id FROM softdelete.trash(NULL::kept) ORDER BY id;
SELECT softdelete.restore('kept', 1);
-- issue 12 on the table enabled under 1.0: unique among live rows, and
-- hard_delete's cascade; disable() puts the constraint back
RESET ROLE;
ALTER TABLE kept ADD code text CONSTRAINT kept_code_key UNIQUE;
CREATE TABLE kept_child (id int PRIMARY KEY, kept_id int REFERENCES kept ON DELETE CASCADE);
ALTER TABLE kept_child OWNER TO regress_upgrader;
SET ROLE regress_upgrader;
SELECT * FROM softdelete.unique_among_live('kept');
SELECT softdelete.enable('kept_child');
INSERT INTO kept_child VALUES (1, 3);
SELECT softdelete.hard_delete('kept', 3, cascade => true);
SELECT softdelete.disable('kept_child');

-- 1.1's retention works on a table enabled under 1.0: the registry got
-- its column (last, as in a fresh 1.1 install), the view shows it, and
-- purge_expired() removes what the old trash kept too long
SELECT attname FROM pg_attribute
 WHERE attrelid = 'softdelete.registry'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
SELECT softdelete.set_retention('kept', '1 day');
SELECT table_name, retention FROM softdelete.tables ORDER BY 1;
RESET ROLE;
UPDATE kept SET deleted_at = now() - interval '2 days' WHERE id = 2;
SET ROLE regress_upgrader;
CALL softdelete.purge_expired();
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::kept) ORDER BY id;
SELECT softdelete.disable('kept');
-- the partitioned table got the 1.1 move trigger: a partition move stays
-- an UPDATE, a DELETE stays soft, the old trash restores
SELECT tgrelid::regclass AS tbl, tgname FROM pg_trigger
 WHERE tgname = 'softdelete_before_update' ORDER BY 1;
UPDATE bays SET zone = 'b' WHERE id = 1;
SELECT tableoid::regclass AS part, id FROM bays ORDER BY id;
SELECT softdelete.restore('bays', ROW(2, 'a'));
DELETE FROM bays WHERE id = 1;
SELECT id, zone, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::bays) ORDER BY id;
-- the journal records the deletions made since the update, on old tables
-- too, and undo takes one back
SELECT deleted_by, rows, tables, table_rows FROM softdelete.deletions ORDER BY id;
SELECT softdelete.undo(max(id)) FROM softdelete.deletions;
SELECT id, zone, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::bays) ORDER BY id;

-- issue 12: the table enabled under 1.0 adopts its flag: the trashed row
-- gets it, the flagged row goes to the trash; from then on they agree
SELECT softdelete.enable('flagged', deleted_flag => 'is_deleted');
SELECT table_name, deleted_flag FROM softdelete.tables WHERE table_name = 'flagged';
DELETE FROM flagged WHERE id = 1;
SELECT id, is_deleted, deleted_at IS NOT NULL AS stamped
  FROM softdelete.with_trash(NULL::flagged) ORDER BY id;
SELECT softdelete.restore('flagged', 2);
SELECT id, is_deleted, deleted_at IS NOT NULL AS stamped
  FROM softdelete.with_trash(NULL::flagged) ORDER BY id;

-- (unique and primary keys only: PostgreSQL 18 lists NOT NULL too)
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'kept'::regclass AND contype IN ('u', 'p') ORDER BY 1;
RESET ROLE;

\c contrib_regression
DROP DATABASE regress_softdelete_upgrade;
DROP ROLE regress_upgrader;
