-- fidelity: with the library preloaded, DELETE reports and returns the
-- rows it soft-deleted, as a hard DELETE would.  This file preloads it for
-- its own database with session_preload_libraries and reconnects.
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET session_preload_libraries = ''softdelete''',
                   current_database());
END $$;
\c -
SHOW session_preload_libraries;
SET ROLE regress_owner;
CREATE TABLE acct (id int PRIMARY KEY, holder text);
INSERT INTO acct SELECT g, 'h' || g FROM generate_series(1, 12) g;
SELECT softdelete.enable('acct');
GRANT SELECT, DELETE ON acct TO regress_clerk;

-- the count, and RETURNING with the new stamp
DELETE FROM acct WHERE id IN (1, 2);
\echo :ROW_COUNT
DELETE FROM acct WHERE id IN (2, 3) RETURNING id, holder, deleted_at = now() AS stamped_now;
\echo :ROW_COUNT
-- inside a CTE
WITH d AS (DELETE FROM acct WHERE id = 4 RETURNING *)
SELECT id, deleted_at IS NOT NULL AS trashed FROM d;
-- USING
CREATE TEMP TABLE doomed (id int);
INSERT INTO doomed VALUES (5), (6), (99);
DELETE FROM acct USING doomed WHERE acct.id = doomed.id;
\echo :ROW_COUNT
-- WHERE CURRENT OF
BEGIN;
DECLARE cur CURSOR FOR SELECT * FROM acct WHERE id = 7 FOR UPDATE;
FETCH cur;
DELETE FROM acct WHERE CURRENT OF cur RETURNING id;
COMMIT;
-- through an updatable view
CREATE VIEW acct_view AS SELECT id, holder FROM acct;
DELETE FROM acct_view WHERE id = 8 RETURNING id;
-- in PL/pgSQL
CREATE FUNCTION drop_acct(int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    DELETE FROM acct WHERE id = $1;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
SELECT drop_acct(9), drop_acct(9);
-- MERGE ... WHEN MATCHED THEN DELETE (the trigger path, counted right)
MERGE INTO acct a USING (VALUES (10), (11)) v(id) ON a.id = v.id
    WHEN MATCHED AND v.id = 10 THEN DELETE
    WHEN MATCHED THEN UPDATE SET holder = 'kept';
\echo :ROW_COUNT
-- all of it is in the trash, nothing was removed
SELECT id FROM acct ORDER BY id;
SELECT id FROM softdelete.trash(NULL::acct) ORDER BY id;

-- rows already in the trash are neither touched nor counted, even for a
-- role that sees past the filter
RESET ROLE;
DELETE FROM acct WHERE id <= 3;
\echo :ROW_COUNT
SET ROLE regress_owner;

-- the caller's DELETE policies still decide which rows it may delete
CREATE TABLE desks (id int PRIMARY KEY, floor int);
INSERT INTO desks VALUES (1, 1), (2, 2), (3, 1);
CREATE POLICY see_all ON desks FOR SELECT USING (true);
CREATE POLICY delete_floor_1 ON desks FOR DELETE USING (floor = 1);
ALTER TABLE desks ENABLE ROW LEVEL SECURITY;
SELECT softdelete.enable('desks');
GRANT SELECT, DELETE ON desks TO regress_clerk;
SET ROLE regress_clerk;
DELETE FROM desks RETURNING id;
\echo :ROW_COUNT
-- and DELETE privilege is what it needs, not UPDATE
DELETE FROM acct WHERE id = 12 RETURNING id;
SET ROLE regress_owner;
SELECT id, floor, deleted_at IS NOT NULL AS trashed FROM softdelete.with_trash(NULL::desks) ORDER BY id;

-- the plan is the hand-written UPDATE's: a partial index on live rows is used
CREATE INDEX acct_live_holder ON acct (holder) WHERE deleted_at IS NULL;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) DELETE FROM acct WHERE holder = 'kept';
RESET enable_seqscan;

-- cascade and RESTRICT through the converted path
CREATE TABLE parents (id int PRIMARY KEY);
CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents ON DELETE CASCADE);
CREATE TABLE pins (id int PRIMARY KEY, parent_id int REFERENCES parents ON DELETE RESTRICT);
INSERT INTO parents VALUES (1), (2);
INSERT INTO kids VALUES (10, 1), (11, 1), (20, 2);
INSERT INTO pins VALUES (1, 2);
SELECT softdelete.enable('parents'), softdelete.enable('kids'), softdelete.enable('pins');
DELETE FROM parents WHERE id = 1 RETURNING id;   -- counts the parent, as a hard delete does
SELECT id FROM kids ORDER BY id;
-- the same inside a CTE, without RETURNING
SELECT softdelete.restore('parents', 1);
WITH d AS (DELETE FROM parents WHERE id = 1) SELECT 1 AS done;
SELECT id FROM kids ORDER BY id;
\set VERBOSITY terse
DELETE FROM parents WHERE id = 2;                -- fails: pin 1
\set VERBOSITY default
SELECT id FROM parents;
-- soft_delete() counts the cascade too
SELECT softdelete.restore('parents', 1);
SELECT softdelete.soft_delete('parents', 1);

-- stamp() called by hand is refused (0A000): nothing is noted or followed
SELECT softdelete.restore('parents', 1);
SELECT softdelete.stamp('parents'::regclass::oid, ctid) = now() AS is_now FROM parents WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM kids ORDER BY id;

-- prepared statements follow enable and disable
CREATE TABLE notes (id int PRIMARY KEY);
INSERT INTO notes SELECT generate_series(1, 6);
PREPARE drop_note(int) AS DELETE FROM notes WHERE id = $1 RETURNING id;
EXECUTE drop_note(1);                            -- hard: not enabled yet
SELECT softdelete.enable('notes');
EXECUTE drop_note(2);                            -- soft
EXECUTE drop_note(2);                            -- already in the trash: no row
SELECT softdelete.disable('notes');
EXECUTE drop_note(3);                            -- hard again
SELECT id, deleted_at IS NOT NULL AS trashed FROM notes ORDER BY id;
DEALLOCATE drop_note;

-- softdelete.delete_as_update = off leaves DELETE to the trigger path,
-- for statements planned after the change: still soft and counted right,
-- but RETURNING has no rows there (and a RETURNING statement's count is
-- the rows it returned)
SET softdelete.delete_as_update = off;
EXPLAIN (COSTS OFF) DELETE FROM acct WHERE id = 11;
DELETE FROM acct WHERE id = 11;
\echo :ROW_COUNT
SELECT softdelete.restore('acct', 11);
DELETE FROM acct WHERE id = 11 RETURNING id;
SELECT softdelete.restore('acct', 11);
RESET softdelete.delete_as_update;

-- the table's own DELETE triggers do not fire on the converted path (the
-- table's UPDATE triggers do); see README
CREATE TABLE log (what text);
CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO log VALUES (TG_OP || ' ' || TG_WHEN); RETURN NULL; END $$;
CREATE TRIGGER log_delete AFTER DELETE ON acct FOR EACH ROW EXECUTE FUNCTION log_it();
CREATE TRIGGER log_update AFTER UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION log_it();
DELETE FROM acct WHERE id = 11;
SELECT what FROM log;

DROP TABLE pins, kids, parents, desks, notes, log;
DROP VIEW acct_view;
DROP TABLE acct;
DROP FUNCTION drop_acct(int), log_it();
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RESET session_preload_libraries', current_database());
END $$;
