-- Boolean flags kept in step with the stamp (issue 12): the recipes'
-- "active" (live_flag) and "is_deleted" (deleted_flag).  Every path --
-- DELETE, cascade, restore, undo, purge, an UPDATE of the flag, partitions,
-- disable -- keeps flag and stamp in step; the constraint
-- softdelete_flag_in_step refuses anything else (23514).  Runs on both
-- paths until the UPDATE of the flag (which needs the library preloaded),
-- then preloaded; flags_1.out is the other path's output.
CREATE ROLE regress_flag_updater;   -- may UPDATE, not DELETE
CREATE ROLE regress_flag_deleter;   -- may UPDATE and DELETE
SET ROLE regress_owner;

-- the recipes' schemas: "active" with a partial index, a child with both
-- is_deleted and deleted_at, rows the old code had already flagged
CREATE TABLE textbooks (
    id int PRIMARY KEY,
    title text NOT NULL,
    active boolean NOT NULL DEFAULT true
);
CREATE INDEX textbooks_live_title ON textbooks (title) WHERE active;
CREATE TABLE chapters (
    id int PRIMARY KEY,
    textbook int REFERENCES textbooks ON DELETE CASCADE,
    is_deleted boolean NOT NULL DEFAULT false,
    deleted_at timestamptz
);
INSERT INTO textbooks
SELECT g, 'book ' || g, g <> 2 FROM generate_series(1, 6) g;
INSERT INTO chapters VALUES (10, 1, false, NULL), (20, 2, true, NULL),
    (30, 3, false, NULL), (40, 4, false, NULL), (50, 5, false, NULL);
-- chapters has deleted_at: auto-enabled, as 1.0 did (without the flag)
SELECT tbl, column_name, live_flag, deleted_flag FROM softdelete.tables;

-- how a row looks, trash included: flag, and whether it has a stamp
CREATE FUNCTION flags_of(t regclass) RETURNS TABLE (id int, flag boolean, stamped boolean)
LANGUAGE plpgsql AS $$
BEGIN
    IF t = 'textbooks'::regclass THEN
        RETURN QUERY SELECT b.id, b.active, b.deleted_at IS NOT NULL
                       FROM softdelete.with_trash(NULL::textbooks) b ORDER BY 1;
    ELSE
        RETURN QUERY SELECT c.id, c.is_deleted, c.deleted_at IS NOT NULL
                       FROM softdelete.with_trash(NULL::chapters) c ORDER BY 1;
    END IF;
END $$;

-- the row count a statement reports (the preloaded path counts the rows
-- an UPDATE of the flag soft-deletes, as it counts a DELETE's)
CREATE FUNCTION counted(cmd text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE cmd;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- bad input: each refused with its SQLSTATE, nothing changed
ALTER TABLE textbooks ADD COLUMN note text, ADD COLUMN maybe boolean,
    ADD COLUMN upper_title text GENERATED ALWAYS AS (upper(title)) STORED,
    ADD COLUMN gen_flag boolean GENERATED ALWAYS AS (id > 0) STORED;
UPDATE textbooks SET maybe = true WHERE id = 1;   -- NULL elsewhere
CREATE TABLE keyed (flag boolean PRIMARY KEY, x int);
\set VERBOSITY default
SELECT call, outcome(call) FROM (VALUES
    ($$SELECT softdelete.enable('textbooks', live_flag => 'title')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'maybe')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'nope')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'ctid')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'gen_flag')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'active', deleted_flag => 'active')$$),
    ($$SELECT softdelete.enable('textbooks', live_flag => 'active', deleted_flag => 'maybe')$$),
    ($$SELECT softdelete.enable('textbooks', 'active', live_flag => 'active')$$),
    ($$SELECT softdelete.enable('keyed', deleted_flag => 'flag')$$)
) AS v(call);
-- one with its detail and hint
SELECT softdelete.enable('textbooks', live_flag => 'maybe');   -- fails: NULLs
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
-- nothing changed: textbooks not enabled, no constraint, no trigger
SELECT count(*) AS registered FROM softdelete.registry WHERE tbl = 'textbooks'::regclass;
SELECT count(*) AS constraints FROM pg_constraint WHERE conrelid = 'textbooks'::regclass AND contype = 'c';
ALTER TABLE textbooks DROP COLUMN note, DROP COLUMN maybe, DROP COLUMN upper_title,
    DROP COLUMN gen_flag;
DROP TABLE keyed;

-- enable with the flags: the child first (its trashed chapter is trashed
-- with the textbook's cascade otherwise).  Rows the flag already says are
-- trashed go to the trash, as one deletion of this transaction.
BEGIN;
SELECT softdelete.enable('chapters', deleted_flag => 'is_deleted');
SELECT softdelete.enable('textbooks', live_flag => 'active');
COMMIT;
SELECT tbl, column_name, live_flag, deleted_flag FROM softdelete.tables ORDER BY 1;
SELECT rows, tables, table_rows FROM softdelete.deletions ORDER BY id;
SELECT * FROM flags_of('textbooks');
SELECT * FROM flags_of('chapters');
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid IN ('textbooks'::regclass, 'chapters'::regclass) AND contype = 'c' ORDER BY 1, 2;
-- enable again: nothing to do (idempotent); another flag: refused
SELECT softdelete.enable('textbooks', live_flag => 'active');
SELECT softdelete.enable('textbooks');
SELECT softdelete.enable('chapters', live_flag => 'is_deleted');   -- fails: other flag
\echo :LAST_ERROR_SQLSTATE

-- the application's own WHERE active and its partial index keep working
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM textbooks WHERE active AND title = 'book 3';
SELECT id FROM textbooks WHERE active AND title = 'book 3';
RESET enable_seqscan;

-- DELETE: flag and stamp together, the cascade too
SELECT counted('DELETE FROM textbooks WHERE id = 1');
SELECT * FROM flags_of('textbooks') WHERE id = 1;
SELECT * FROM flags_of('chapters') WHERE id = 10;
-- restore: both back
SELECT softdelete.restore('textbooks', 1);
SELECT * FROM flags_of('textbooks') WHERE id = 1;
SELECT * FROM flags_of('chapters') WHERE id = 10;

-- UPDATE ... SET active = false is a soft delete only where the UPDATE
-- can report the rows it soft-deletes: with the library preloaded.  In a
-- session without it (the trigger path), it is refused (0A000), naming
-- DELETE, and nothing changes.  (Preloaded, this soft-deletes row 3 and
-- the ROLLBACK takes it back.)
BEGIN;
UPDATE textbooks SET active = false WHERE id = 3;
\echo :SQLSTATE
ROLLBACK;
SELECT * FROM flags_of('textbooks') WHERE id = 3;
-- the rest of this file preloads the library for this database with
-- session_preload_libraries, and reconnects (both runs alike from here)
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET session_preload_libraries = ''softdelete''',
                   current_database());
END $$;
\c -
SHOW session_preload_libraries;
SET ROLE regress_owner;

-- UPDATE ... SET active = false: a soft delete of those rows, with the
-- cascade, as one deletion (UPDATE counts them)
SELECT counted('UPDATE textbooks SET active = false WHERE id = 3');
SELECT * FROM flags_of('textbooks') WHERE id = 3;
SELECT * FROM flags_of('chapters') WHERE id = 30;
SELECT rows, tables, table_rows FROM softdelete.deletions ORDER BY id DESC LIMIT 1;
-- the same with is_deleted on the child, and both columns set by hand
-- (the recipe's delete()): the stamp is the deletion's
SELECT counted($$UPDATE chapters SET is_deleted = true, deleted_at = '2000-01-01' WHERE id = 40$$);
SELECT * FROM flags_of('chapters') WHERE id = 40;
SELECT deleted_at > '2001-01-01' AS deletions_stamp
  FROM softdelete.with_trash(NULL::chapters) WHERE id = 40;
-- undo brings the deletion back, flags with it
SELECT softdelete.undo((SELECT max(id) FROM softdelete.deletions));
SELECT * FROM flags_of('chapters') WHERE id = 40;
-- rolled back to a savepoint, caught in an exception block: nothing
BEGIN;
SAVEPOINT s;
UPDATE textbooks SET active = false WHERE id = 4;
ROLLBACK TO SAVEPOINT s;
DO $$ BEGIN
    UPDATE textbooks SET active = false WHERE id = 4;
    RAISE EXCEPTION 'changed my mind';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
COMMIT;
SELECT * FROM flags_of('textbooks') WHERE id = 4;
-- inside a writable CTE (RETURNING returns nothing: the UPDATE skips the
-- rows it soft-deletes), and in PL/pgSQL
WITH u AS (UPDATE textbooks SET active = false WHERE id = 4 RETURNING id)
SELECT count(*) FROM u;
DO $$ BEGIN UPDATE textbooks SET active = false WHERE id = 5; END $$;
SELECT * FROM flags_of('textbooks') WHERE id IN (4, 5);
SELECT * FROM flags_of('chapters') WHERE id = 50;
SELECT softdelete.restore('textbooks', 4), softdelete.restore('textbooks', 5);

-- what is not a soft delete: refused, nothing changed
UPDATE textbooks SET active = false, title = 'renamed' WHERE id = 6;   -- fails: other column
\echo :LAST_ERROR_SQLSTATE
UPDATE textbooks SET active = NULL WHERE id = 6;                       -- fails: constraint
\echo :LAST_ERROR_SQLSTATE
INSERT INTO textbooks VALUES (7, 'born trashed', false);               -- fails: constraint
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a superuser sees the trash: the flag set back is not a restore
UPDATE textbooks SET active = true WHERE id = 2;                       -- fails: use restore
\echo :LAST_ERROR_SQLSTATE
UPDATE textbooks SET deleted_at = now() WHERE id = 6;                  -- fails: constraint
\echo :LAST_ERROR_SQLSTATE
UPDATE textbooks SET title = 'retitled' WHERE id = 2;                  -- other columns: fine
SET ROLE regress_owner;
SELECT * FROM flags_of('textbooks');

-- privileges: setting the flag is a DELETE
GRANT SELECT, UPDATE ON textbooks TO regress_flag_updater;
GRANT SELECT, UPDATE, DELETE ON textbooks, chapters TO regress_flag_deleter;
SET ROLE regress_flag_updater;
UPDATE textbooks SET active = false WHERE id = 6;                      -- fails: no DELETE
\echo :LAST_ERROR_SQLSTATE
UPDATE textbooks SET title = 'book six' WHERE id = 6;                  -- UPDATE is fine
SET ROLE regress_flag_deleter;
SELECT counted('UPDATE textbooks SET active = false WHERE id = 6');
SELECT count(*) AS visible FROM textbooks WHERE id = 6;
SELECT counted('UPDATE textbooks SET active = true WHERE id = 6');    -- the trash is hidden
SET ROLE regress_owner;
SELECT softdelete.restore('textbooks', 6);
-- DELETE policies: an UPDATE does not apply them, so it is refused
CREATE POLICY only_odd_deleted ON textbooks AS RESTRICTIVE FOR DELETE USING (id % 2 = 1);
SET ROLE regress_flag_deleter;
UPDATE textbooks SET active = false WHERE id = 6;                      -- fails: DELETE policy
\echo :LAST_ERROR_SQLSTATE
SELECT counted('DELETE FROM textbooks WHERE id = 6');                 -- the policy says no
SET ROLE regress_owner;
DROP POLICY only_odd_deleted ON textbooks;
SELECT * FROM flags_of('textbooks') WHERE id = 6;

-- purge: the rows go, flags do not matter any more
DELETE FROM textbooks WHERE id = 6;
SELECT softdelete.purge('textbooks');
SELECT * FROM flags_of('textbooks');

-- DDL: the flag column, its constraint and its triggers are protected
ALTER TABLE textbooks DROP CONSTRAINT softdelete_flag_in_step;          -- fails
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE textbooks DROP COLUMN active;                               -- fails
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE textbooks DROP COLUMN active CASCADE;                       -- fails
\echo :LAST_ERROR_SQLSTATE
BEGIN;
ALTER TABLE textbooks ALTER COLUMN active DROP DEFAULT;
ALTER TABLE textbooks ALTER COLUMN active TYPE int USING active::int;   -- fails (core)
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
ALTER TABLE textbooks RENAME CONSTRAINT softdelete_flag_in_step TO mine; -- fails
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER softdelete_flag_update ON textbooks;                       -- fails
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER softdelete_flag_after_update ON textbooks;                 -- fails
\echo :LAST_ERROR_SQLSTATE
-- a rename is followed
ALTER TABLE textbooks RENAME COLUMN active TO is_active;
SELECT live_flag FROM softdelete.tables WHERE tbl = 'textbooks'::regclass;
UPDATE textbooks SET is_active = false WHERE id = 5;
DELETE FROM textbooks WHERE id = 4;
SELECT b.id, b.is_active, b.deleted_at IS NOT NULL AS stamped
  FROM softdelete.with_trash(NULL::textbooks) b WHERE id IN (4, 5) ORDER BY 1;
ALTER TABLE textbooks RENAME COLUMN is_active TO active;

-- partitions: they all have the flag, its constraint and triggers
CREATE TABLE shelves (id int, region text, active boolean NOT NULL DEFAULT true,
                      PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE shelves_north PARTITION OF shelves FOR VALUES IN ('north');
-- a partition whose columns are in another order
CREATE TABLE shelves_south (active boolean NOT NULL DEFAULT true, region text NOT NULL, id int NOT NULL);
ALTER TABLE shelves ATTACH PARTITION shelves_south FOR VALUES IN ('south');
INSERT INTO shelves VALUES (1, 'north', true), (2, 'north', false), (3, 'south', false), (4, 'south', true);
SELECT softdelete.enable('shelves', live_flag => 'active');
CREATE TABLE shelves_east PARTITION OF shelves FOR VALUES IN ('east');
INSERT INTO shelves VALUES (5, 'east', true), (6, 'east', true);
UPDATE shelves SET active = false WHERE id = 5;             -- through the root
UPDATE shelves_east SET active = false WHERE id = 6;        -- the partition itself
UPDATE shelves_south SET active = false WHERE id = 4;
DELETE FROM shelves_north WHERE id = 1;
-- a move to another partition is not a soft delete
INSERT INTO shelves VALUES (8, 'north', true);
UPDATE shelves SET active = false, region = 'south' WHERE id = 8;   -- fails
\echo :LAST_ERROR_SQLSTATE
DELETE FROM shelves WHERE id = 8;
SELECT s.region, s.id, s.active, s.deleted_at IS NOT NULL AS stamped
  FROM softdelete.with_trash(NULL::shelves) s ORDER BY 2;
SELECT c.relname, count(*) FILTER (WHERE t.tgname = 'softdelete_flag_update') AS row_trigger,
       count(*) FILTER (WHERE t.tgname = 'softdelete_flag_after_update') AS stmt_trigger,
       bool_or(EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid
                         AND k.conname = 'softdelete_flag_in_step')) AS in_step
  FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid
 WHERE c.relname LIKE 'shelves%' AND c.relkind IN ('r', 'p')
 GROUP BY 1 ORDER BY 1;
-- a table without the flag column cannot be attached (PostgreSQL says so)
CREATE TABLE shelves_west (id int NOT NULL, region text NOT NULL);
ALTER TABLE shelves ATTACH PARTITION shelves_west FOR VALUES IN ('west');   -- fails
\echo :LAST_ERROR_SQLSTATE
-- nor one without the constraint; PARTITION OF gives both
CREATE TABLE shelves_west2 (id int NOT NULL, region text NOT NULL, active boolean NOT NULL,
                            deleted_at timestamptz);
ALTER TABLE shelves ATTACH PARTITION shelves_west2 FOR VALUES IN ('west');  -- fails
\echo :LAST_ERROR_SQLSTATE
DROP TABLE shelves_west2;
-- a detached partition is soft-deletable on its own, with the flag
ALTER TABLE shelves DETACH PARTITION shelves_east;
SELECT tbl, live_flag FROM softdelete.tables WHERE tbl = 'shelves_east'::regclass;
SELECT softdelete.restore('shelves_east', ROW(5, 'east'));
INSERT INTO shelves_east VALUES (7, 'east', true);
DELETE FROM shelves_east WHERE id = 7;
SELECT s.id, s.active, s.deleted_at IS NOT NULL AS stamped
  FROM softdelete.with_trash(NULL::shelves_east) s ORDER BY 1;

-- disable: the constraint and the triggers go; the flag keeps its values
SELECT softdelete.disable('textbooks');
SELECT id, active, deleted_at IS NOT NULL AS stamped FROM textbooks ORDER BY 1;
SELECT count(*) AS constraints FROM pg_constraint WHERE conrelid = 'textbooks'::regclass AND contype = 'c';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'textbooks'::regclass
   AND tgname LIKE 'softdelete_flag%';
-- enabled again with its flag: rows in step, nothing new to trash
SELECT softdelete.enable('textbooks', live_flag => 'active');
SELECT * FROM flags_of('textbooks');

-- an upsert that meets a trashed row (issue 13, preloaded) revives it
-- with its flag, then applies its action
CREATE TABLE tags (name text PRIMARY KEY, active boolean NOT NULL DEFAULT true,
                   hits int NOT NULL DEFAULT 0);
SELECT softdelete.enable('tags', live_flag => 'active');
INSERT INTO tags (name) VALUES ('red'), ('blue');
DELETE FROM tags;
INSERT INTO tags (name) VALUES ('red') ON CONFLICT (name) DO UPDATE SET hits = tags.hits + 1;
INSERT INTO tags (name) VALUES ('blue') ON CONFLICT DO NOTHING;
SELECT t.name, t.active, t.deleted_at IS NULL AS live, t.hits
  FROM softdelete.with_trash(NULL::tags) t ORDER BY 1;
DROP TABLE tags;

RESET ROLE;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RESET session_preload_libraries', current_database());
END $$;
DROP TABLE chapters, textbooks, shelves, shelves_east, shelves_west;
DROP FUNCTION flags_of(regclass), counted(text);
DROP ROLE regress_flag_updater, regress_flag_deleter;
