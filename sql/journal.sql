-- journal: softdelete.deletions, one entry per deletion; unique stamps;
-- softdelete.actor; undo (issue 11).
SET ROLE regress_owner;
CREATE TABLE shops (id int PRIMARY KEY);
CREATE TABLE items (id int PRIMARY KEY,
                    shop_id int REFERENCES shops ON DELETE CASCADE);
SELECT softdelete.enable('shops');
SELECT softdelete.enable('items');
INSERT INTO shops SELECT generate_series(1, 6);
INSERT INTO items SELECT 10 * s + i, s FROM generate_series(1, 6) s, generate_series(1, 2) i;
GRANT SELECT, DELETE ON shops, items TO regress_clerk;
-- the entries this test makes, newest last
CREATE VIEW mine AS
    SELECT deleted_by, actor, rows, tables, table_rows
      FROM softdelete.deletions
     WHERE 'shops'::regclass = ANY (tables) OR 'items'::regclass = ANY (tables)
     ORDER BY id;
GRANT SELECT ON mine TO PUBLIC;

-- a DELETE and its cascade: one entry, rows per table
DELETE FROM shops WHERE id = 1;
SELECT * FROM mine;

-- several statements in one transaction, as an ORM deletes (children
-- first, then the parent), with soft_delete() too: one entry, the actor
-- the application set
BEGIN;
SET LOCAL softdelete.actor = 'alice@example.com';
DELETE FROM items WHERE shop_id = 2;
DELETE FROM shops WHERE id = 2;
SELECT softdelete.soft_delete('shops', 3);
COMMIT;
SELECT * FROM mine;
SELECT count(DISTINCT deleted_at) AS stamps FROM softdelete.trash(NULL::shops) WHERE id IN (2, 3);

-- a rolled-back deletion leaves no entry; a rolled-back savepoint's rows
-- do not count
BEGIN;
DELETE FROM shops WHERE id = 4;
ROLLBACK;
BEGIN;
DELETE FROM items WHERE id = 41;
SAVEPOINT s;
DELETE FROM shops WHERE id = 4;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM mine;

-- deleted_by is the role that deleted; the clerk sees no entry (it may
-- not manage the tables), the owner and softdelete_admin see them all
SET ROLE regress_clerk;
DELETE FROM shops WHERE id = 5;
SELECT count(*) AS clerk_sees FROM softdelete.deletions;
SET ROLE regress_admin;
SELECT deleted_by, rows FROM mine;
SET ROLE regress_stranger;
SELECT count(*) AS stranger_sees FROM softdelete.deletions;
SELECT outcome($$INSERT INTO softdelete.deletions (stamp, deleted_by, rows, tables, table_rows)
                 VALUES (now(), 'x', 0, '{}', '{}')$$);
SELECT outcome($$DELETE FROM softdelete.deletions$$);

-- stamps are unique per deletion: where another deletion already holds
-- the transaction's start time, the stamp moves on by one microsecond
RESET ROLE;
BEGIN;
INSERT INTO softdelete.deletions (stamp, deleted_by, rows, tables, table_rows)
    VALUES (now(), 'regress_other', 0, '{}', '{}');
SET LOCAL ROLE regress_owner;
DELETE FROM shops WHERE id = 6;
SELECT deleted_at - now() AS step FROM softdelete.trash(NULL::shops) WHERE id = 6;
ROLLBACK;

-- undo: exactly what that entry took and is still in the trash
SET ROLE regress_owner;
SELECT softdelete.undo(id) FROM softdelete.deletions
 WHERE actor = 'alice@example.com';
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::shops) ORDER BY id;
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::items) ORDER BY id;
-- the entry is gone with its trash; the others stay
SELECT * FROM mine;

-- undo refusals, each changing nothing
SELECT outcome($$SELECT softdelete.undo(NULL)$$);
SELECT outcome($$SELECT softdelete.undo(-1)$$);
SET ROLE regress_clerk;
CREATE TEMP TABLE ids AS SELECT 0 AS id;
RESET ROLE;
INSERT INTO pg_temp.ids SELECT max(id) FROM softdelete.deletions;
SET ROLE regress_clerk;
SELECT outcome(format('SELECT softdelete.undo(%s)', (SELECT max(id) FROM pg_temp.ids)));
SET ROLE regress_owner;
SELECT count(*) AS shops_in_trash FROM softdelete.trash(NULL::shops);

-- an entry whose rows were restored by restore() goes too; one whose
-- rows were purged goes with purge
SELECT softdelete.restore('shops', 5);
SELECT softdelete.purge('shops');
SELECT softdelete.purge('items');
SELECT * FROM mine;

DROP VIEW mine;
DROP TABLE items, shops;
RESET ROLE;

-- A DELETE in a writable CTE counts in its deletion's entry, as any other
-- (preloaded, PostgreSQL counts only the statement's own rows, so the
-- CTE's are counted apart).  Restore and undo trust those counts: a table
-- whose rows of the deletion all came back through the foreign keys is
-- not searched again.  So undo brings back every row of its deletion,
-- also the row that a writable CTE trashed in the same transaction, out
-- of reach of the keys; restore() of the parent alone leaves that row,
-- and the entry stays until it is back.
SET ROLE regress_owner;
CREATE TABLE cte_p (id int PRIMARY KEY);
CREATE TABLE cte_c (id int PRIMARY KEY, pid int REFERENCES cte_p ON DELETE CASCADE);
SELECT softdelete.enable('cte_p'), softdelete.enable('cte_c');
INSERT INTO cte_p VALUES (1), (2);
INSERT INTO cte_c VALUES (1, 1), (2, 1), (3, 1), (4, 2);
BEGIN;
DELETE FROM cte_p WHERE id = 1;
WITH d AS (DELETE FROM cte_c WHERE id = 4) SELECT 'cte_c 4 deleted in a CTE' AS step;
COMMIT;
SELECT rows, tables, table_rows FROM softdelete.deletions
 WHERE 'cte_p'::regclass = ANY (tables) ORDER BY id DESC LIMIT 1;
SELECT softdelete.undo(max(id)) FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
SELECT count(*) AS cte_c_in_trash FROM softdelete.trash(NULL::cte_c);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
BEGIN;
DELETE FROM cte_p WHERE id = 1;
WITH d AS (DELETE FROM cte_c WHERE id = 4) SELECT 'cte_c 4 deleted in a CTE' AS step;
COMMIT;
SELECT softdelete.restore('cte_p', 1);
SELECT id AS cte_c_in_trash FROM softdelete.trash(NULL::cte_c);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
SELECT softdelete.restore('cte_c', 4);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
-- the CTE's row restored first: undo finds fewer rows than the entry
-- counts through the keys, searches the table, and takes the rest
BEGIN;
DELETE FROM cte_p WHERE id = 1;
WITH d AS (DELETE FROM cte_c WHERE id = 4) SELECT 'cte_c 4 deleted in a CTE' AS step;
COMMIT;
SELECT softdelete.restore('cte_c', 4);
SELECT softdelete.undo(max(id)) FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
SELECT count(*) AS in_trash FROM softdelete.trash(NULL::cte_c);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'cte_p'::regclass = ANY (tables);
-- a transaction whose only deletion is a writable CTE gets its entry,
-- also under a SELECT
WITH d AS (DELETE FROM cte_c WHERE id IN (1, 4)) SELECT 'cte_c 1 and 4 deleted in a CTE alone' AS step;
SELECT rows, tables, table_rows FROM softdelete.deletions
 WHERE 'cte_c'::regclass = ANY (tables) ORDER BY id DESC LIMIT 1;
SELECT softdelete.undo(max(id)) FROM softdelete.deletions WHERE 'cte_c'::regclass = ANY (tables);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'cte_c'::regclass = ANY (tables);
DROP TABLE cte_c, cte_p;
RESET ROLE;

-- A row that the table's own BEFORE UPDATE trigger keeps as it was is not
-- restored (nor stamped): it is not counted, so the journal does not take
-- it for back, and its entry stays while it is in the trash.
SET ROLE regress_owner;
CREATE TABLE kept (id int PRIMARY KEY, frozen boolean NOT NULL DEFAULT false);
SELECT softdelete.enable('kept');
CREATE FUNCTION keep_frozen() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN IF OLD.frozen THEN RETURN OLD; END IF; RETURN NEW; END $$;
CREATE TRIGGER keep_frozen BEFORE UPDATE ON kept FOR EACH ROW EXECUTE FUNCTION keep_frozen();
INSERT INTO kept VALUES (1), (2);
DELETE FROM kept;
RESET ROLE;
UPDATE kept SET frozen = true WHERE id = 1;  -- a superuser reaches the trash
SET ROLE regress_owner;
SELECT softdelete.restore('kept', ARRAY[1, 2]) AS restored;
SELECT id FROM softdelete.trash(NULL::kept);
SELECT rows, table_rows FROM softdelete.deletions WHERE 'kept'::regclass = ANY (tables);
-- and the other way: a live row the trigger keeps live stays live
UPDATE kept SET frozen = true WHERE id = 2;
DELETE FROM kept WHERE id = 2;
SELECT id FROM softdelete.trash(NULL::kept) ORDER BY id;
DROP TABLE kept;
DROP FUNCTION keep_frozen();

-- Restored rows count for the table they are in now: once a table of an
-- entry is attached as a partition of another table of it, the entry's
-- counts no longer say what is left in either, and both are searched.
CREATE TABLE pp (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE pp1 PARTITION OF pp FOR VALUES FROM (0) TO (100);
CREATE TABLE ll (id int PRIMARY KEY);
SELECT softdelete.enable('pp'), softdelete.enable('ll');
INSERT INTO pp VALUES (1), (2);
INSERT INTO ll VALUES (150), (151);
BEGIN;
DELETE FROM pp WHERE id = 1;
DELETE FROM ll WHERE id = 150;
COMMIT;
SELECT tables, table_rows FROM softdelete.deletions WHERE 'pp'::regclass = ANY (tables);
SELECT softdelete.disable('ll');
ALTER TABLE pp ATTACH PARTITION ll FOR VALUES FROM (100) TO (200);
SELECT softdelete.restore('pp', 150) AS restored;
SELECT id FROM softdelete.trash(NULL::pp);
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'pp'::regclass = ANY (tables);
SELECT softdelete.restore('pp', 1) AS restored;
SELECT count(*) AS entries FROM softdelete.deletions WHERE 'pp'::regclass = ANY (tables);
DROP TABLE pp;
RESET ROLE;

-- A trigger that a superuser adds to the journal runs as the journal's
-- owner with the search_path pinned to pg_catalog, pg_temp: a deleting
-- role's own schema, first on its search_path, does not capture a name
-- the trigger leaves unqualified (the entry is refused, 42883, and the
-- deletion with it).
CREATE SCHEMA clerk_things AUTHORIZATION regress_clerk;
CREATE FUNCTION public.journal_note() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN PERFORM note_of_entry(); RETURN NEW; END$$;
CREATE TRIGGER journal_note BEFORE INSERT ON softdelete.deletions
  FOR EACH ROW EXECUTE FUNCTION public.journal_note();
SET ROLE regress_owner;
CREATE TABLE notes (id int PRIMARY KEY);
SELECT softdelete.enable('notes');
INSERT INTO notes VALUES (1);
GRANT SELECT, DELETE ON notes TO regress_clerk;
SET ROLE regress_clerk;
CREATE FUNCTION clerk_things.note_of_entry() RETURNS void LANGUAGE plpgsql AS
  $$BEGIN RAISE NOTICE 'note_of_entry() ran as %', current_user; END$$;
SET search_path = clerk_things, public;
\set VERBOSITY sqlstate
DELETE FROM notes WHERE id = 1;
\set VERBOSITY default
RESET search_path;
SELECT count(*) AS live_notes FROM notes;
RESET ROLE;
DROP TRIGGER journal_note ON softdelete.deletions;
DROP FUNCTION public.journal_note();
DROP SCHEMA clerk_things CASCADE;
DROP TABLE notes;

-- The journal's id comes from its own sequence; without it the entry,
-- and with it the deletion, is refused (42704 naming the sequence, a
-- hint to reinstall) and nothing changes: the DDL that removed the
-- sequence rolls back with the deletion at COMMIT.
CREATE TABLE seqless (id int PRIMARY KEY);
SELECT softdelete.enable('seqless');
INSERT INTO seqless VALUES (1);
BEGIN;
ALTER EXTENSION softdelete DROP SEQUENCE softdelete.deletions_id_seq;
ALTER TABLE softdelete.deletions ALTER COLUMN id DROP DEFAULT;
DROP SEQUENCE softdelete.deletions_id_seq;
DELETE FROM seqless WHERE id = 1;
COMMIT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS live_seqless FROM seqless;
SELECT count(*) AS journal_sequence FROM pg_class
 WHERE oid = 'softdelete.deletions_id_seq'::regclass;
SELECT softdelete.disable('seqless');
DROP TABLE seqless;
