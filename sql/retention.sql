-- retention: set_retention() and CALL purge_expired(), which removes the
-- rows each table has kept in the trash longer than its retention, in
-- batches of at most batch_rows rows, each batch its own transaction.
SET ROLE regress_owner;
CREATE TABLE shelves (id int PRIMARY KEY);
CREATE TABLE boxes (id int PRIMARY KEY, shelf int REFERENCES shelves ON DELETE CASCADE);
CREATE TABLE notes (id int PRIMARY KEY);            -- no retention
INSERT INTO shelves SELECT generate_series(1, 6);
INSERT INTO boxes SELECT i, (i + 1) / 2 FROM generate_series(1, 12) i;   -- two per shelf
INSERT INTO notes SELECT generate_series(1, 3);
SELECT softdelete.enable('shelves'), softdelete.enable('boxes'), softdelete.enable('notes');

-- no table has a retention yet
SELECT table_name, retention FROM softdelete.tables
 WHERE table_name IN ('shelves', 'boxes', 'notes') ORDER BY 1;
SELECT softdelete.set_retention('shelves', '30 days');
SELECT softdelete.set_retention('boxes', '1 day');
SELECT table_name, retention FROM softdelete.tables
 WHERE table_name IN ('shelves', 'boxes', 'notes') ORDER BY 1;
SELECT softdelete.set_retention('boxes', NULL);      -- NULL clears it
SELECT softdelete.set_retention('boxes', '60 days'); -- and again
SELECT softdelete.set_retention('boxes', '60 days'); -- idempotent

-- trash: shelves 1-3 (with their boxes) and box 9 on their own, notes 1;
-- then age them, as a superuser would see and edit them
DELETE FROM shelves WHERE id IN (1, 2, 3);
DELETE FROM boxes WHERE id = 9;
DELETE FROM notes WHERE id = 1;
RESET ROLE;
UPDATE shelves SET deleted_at = now() - interval '40 days' WHERE id IN (1, 2);
UPDATE boxes SET deleted_at = now() - interval '40 days' WHERE shelf IN (1, 2);
UPDATE shelves SET deleted_at = now() - interval '10 days' WHERE id = 3;
UPDATE boxes SET deleted_at = now() - interval '10 days' WHERE shelf = 3 OR id = 9;
UPDATE notes SET deleted_at = now() - interval '400 days' WHERE id = 1;
SET ROLE regress_owner;

-- shelves keep 30 days: shelves 1 and 2 go, and their boxes with them
-- (children first, as purge() does), though boxes keep 60 days; notes
-- have no retention and keep everything.  Two rows a batch: the boxes,
-- then the shelves.
CALL softdelete.purge_expired(2);
SELECT 'shelves' AS t, id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::shelves)
UNION ALL
SELECT 'boxes', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::boxes)
UNION ALL
SELECT 'notes', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::notes)
ORDER BY 1, 2;
-- boxes keep 7 days from now on: boxes 5 and 6 (their shelf 3 stays in
-- the trash) and 9 go
SELECT softdelete.set_retention('boxes', '7 days');
CALL softdelete.purge_expired();
SELECT id FROM softdelete.trash(NULL::boxes) ORDER BY id;
-- nothing left to do
CALL softdelete.purge_expired();

-- a restore still works on what was kept
SELECT softdelete.restore('shelves', 3);

-- one batch is one transaction: the default batch takes all at once
DELETE FROM boxes WHERE id IN (10, 11, 12);
RESET ROLE;
UPDATE boxes SET deleted_at = now() - interval '8 days' WHERE id IN (10, 11, 12);
SET ROLE regress_owner;
CALL softdelete.purge_expired();
SELECT id FROM softdelete.trash(NULL::boxes) ORDER BY id;

-- a live row that references an expired one refuses its removal, as in
-- purge(): that table is skipped with a WARNING, the others go on.  The
-- stamp is set by hand here, so that live boxes reference a trashed shelf.
RESET ROLE;
UPDATE shelves SET deleted_at = now() - interval '50 days' WHERE id = 4;
DELETE FROM notes WHERE id = 2;
UPDATE notes SET deleted_at = now() - interval '50 days' WHERE id = 2;
SET ROLE regress_owner;
SELECT softdelete.set_retention('notes', '30 days');
CALL softdelete.purge_expired();
SELECT id FROM softdelete.trash(NULL::shelves) ORDER BY id;
SELECT id FROM softdelete.trash(NULL::notes) ORDER BY id;
-- once the boxes are trashed and expired too, the next run goes through
DELETE FROM boxes WHERE shelf = 4;
RESET ROLE;
UPDATE boxes SET deleted_at = now() - interval '50 days' WHERE shelf = 4;
SET ROLE regress_owner;
CALL softdelete.purge_expired();
SELECT id FROM softdelete.trash(NULL::shelves) ORDER BY id;
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::boxes) ORDER BY id;

-- privileges: the owner, a member of the owning role, and softdelete_admin
-- may set a retention; anyone else gets 42501 and nothing changes
SET ROLE regress_owner_member;
SELECT softdelete.set_retention('notes', '100 days');
SET ROLE regress_admin;
SELECT softdelete.set_retention('notes', '200 days');
SET ROLE regress_stranger;
SELECT softdelete.set_retention('notes', '1 day');     -- fails: not the owner
\echo :LAST_ERROR_SQLSTATE
SELECT table_name, retention FROM softdelete.tables WHERE table_name = 'notes';
UPDATE softdelete.registry SET retention = '1 day';    -- fails: only the extension writes it
\echo :LAST_ERROR_SQLSTATE
-- purge_expired purges only what the caller may manage: the rest is
-- skipped with a NOTICE
RESET ROLE;
UPDATE notes SET deleted_at = now() - interval '300 days' WHERE id = 3;
SET ROLE regress_stranger;
CALL softdelete.purge_expired();
SET ROLE regress_owner;
SELECT id FROM softdelete.trash(NULL::notes) ORDER BY id;
SET ROLE regress_admin;
CALL softdelete.purge_expired();
SET ROLE regress_owner;
SELECT id FROM softdelete.trash(NULL::notes) ORDER BY id;

-- bad input: a clear SQLSTATE, and nothing changes
CREATE TABLE plain (id int PRIMARY KEY);
CREATE VIEW shelf_view AS SELECT * FROM shelves;
CREATE TABLE racks (id int, zone int, PRIMARY KEY (id, zone)) PARTITION BY LIST (zone);
CREATE TABLE racks_1 PARTITION OF racks FOR VALUES IN (1);
SELECT softdelete.enable('racks');
\set VERBOSITY default
SELECT softdelete.set_retention(NULL, '1 day');            -- fails: NULL table
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention('shelves', '-1 day');       -- fails: negative
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention('shelves', '1 month -40 days');  -- fails: negative overall
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention('plain', '1 day');          -- fails: not soft-deletable
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention('shelf_view', '1 day');     -- fails: a view
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention('racks_1', '1 day');        -- fails: a partition
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_retention(4000000000::oid::regclass, '1 day');  -- fails: no such table
\echo :LAST_ERROR_SQLSTATE
CALL softdelete.purge_expired(0);                           -- fails: batch below 1
\echo :LAST_ERROR_SQLSTATE
CALL softdelete.purge_expired(-5);                          -- fails: batch below 1
\echo :LAST_ERROR_SQLSTATE
CALL softdelete.purge_expired(NULL);                        -- fails: NULL batch
\echo :LAST_ERROR_SQLSTATE
BEGIN;
CALL softdelete.purge_expired();                            -- fails: in a transaction block
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION purge_from_a_function() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CALL softdelete.purge_expired();
END $$;
SELECT purge_from_a_function();                             -- fails: a function cannot commit
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
-- a DO block outside a transaction block may call it
DO $$ BEGIN CALL softdelete.purge_expired(); END $$;
-- nothing changed
SELECT table_name, retention FROM softdelete.tables
 WHERE table_name IN ('shelves', 'boxes', 'notes', 'racks') ORDER BY 1;
RESET ROLE;
-- the registry itself refuses a negative retention
UPDATE softdelete.registry SET retention = '-1 day' WHERE tbl = 'shelves'::regclass;
\echo :LAST_ERROR_SQLSTATE

-- disable forgets the retention with the rest of the registry row
SET ROLE regress_owner;
SELECT softdelete.disable('notes');
SELECT softdelete.enable('notes');
SELECT table_name, retention FROM softdelete.tables WHERE table_name = 'notes';

SELECT softdelete.disable(t) FROM unnest(ARRAY['boxes', 'shelves', 'notes', 'racks']::regclass[]) t;
DROP FUNCTION purge_from_a_function();
DROP VIEW shelf_view;
DROP TABLE boxes, shelves, notes, plain, racks;
RESET ROLE;
