-- DELETE on a soft-deletable table: rows stay, stamped, hidden.
SET ROLE regress_owner;
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 8) g;
SELECT softdelete.enable('items');
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO regress_clerk;

-- without the library preloaded, the client is told DELETE 0 (see README)
DELETE FROM items WHERE id IN (1, 2);
SELECT id FROM items ORDER BY id;
SELECT count(*) AS hidden_from_count FROM items WHERE id IN (1, 2);

-- every row deleted in one transaction carries the transaction's now()
BEGIN;
DELETE FROM items WHERE id = 3;
DELETE FROM items WHERE id = 4;
SELECT id, deleted_at = now() AS stamped_now FROM softdelete.trash(NULL::items)
 WHERE id IN (3, 4) ORDER BY id;
COMMIT;
SELECT count(DISTINCT deleted_at) AS stamps_3_and_4 FROM softdelete.trash(NULL::items)
 WHERE id IN (3, 4);

-- a row already in the trash is not touched again, even by a role that
-- sees past the filter
RESET ROLE;
CREATE ROLE regress_bypass BYPASSRLS;
GRANT SELECT, DELETE ON items TO regress_bypass;
SET ROLE regress_bypass;
CREATE TEMP TABLE before_stamp AS SELECT id, deleted_at FROM items WHERE id = 1;
DELETE FROM items WHERE id = 1;
SELECT i.deleted_at = b.deleted_at AS stamp_unchanged
  FROM items i JOIN before_stamp b USING (id);
RESET ROLE;
DROP OWNED BY regress_bypass;
DROP ROLE regress_bypass;

-- a role with DELETE privilege soft-deletes; it cannot see or touch the trash
SET ROLE regress_clerk;
DELETE FROM items WHERE id = 5;
SELECT id FROM items ORDER BY id;
UPDATE items SET name = 'x' WHERE id = 1;       -- trashed: no row to update
INSERT INTO items VALUES (100, 'born trashed', now());  -- fails: rows are born live
-- stamping by hand is refused by PostgreSQL's RLS check of the new row
UPDATE items SET deleted_at = now() WHERE id = 6;      -- fails
SET ROLE regress_owner;

-- a statement rolled back to a savepoint leaves nothing to be stamped later
BEGIN;
SAVEPOINT s;
DELETE FROM items WHERE id = 6;
ROLLBACK TO SAVEPOINT s;
DELETE FROM items WHERE id = 7;
COMMIT;
SELECT id FROM items ORDER BY id;

-- a statement that fails half way stamps nothing
BEGIN;
SAVEPOINT s;
DELETE FROM items WHERE 10 / (id - 8) > -100;  -- fails at row 8, after row 6 was collected
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT id FROM items ORDER BY id;

-- DELETE ... USING, inside a CTE, and inside a PL/pgSQL function: all soft
CREATE TABLE doomed (id int);
INSERT INTO doomed VALUES (6);
DELETE FROM items USING doomed WHERE items.id = doomed.id;
WITH d AS (DELETE FROM items WHERE id = 8 RETURNING id) SELECT count(*) AS returned FROM d;
INSERT INTO items VALUES (9, 'nine'), (10, 'ten');
CREATE FUNCTION drop_item(int) RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM items WHERE id = $1; END $$;
SELECT drop_item(9);
SELECT id FROM items ORDER BY id;
SELECT id FROM softdelete.trash(NULL::items) ORDER BY id;

-- the table's own triggers: a BEFORE DELETE trigger that cancels the row
-- keeps it live; the stamping is an UPDATE, so UPDATE triggers see it
CREATE TABLE item_log (id int, what text);
CREATE FUNCTION keep_ten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 10 THEN RETURN NULL; END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER a_keep_ten BEFORE DELETE ON items FOR EACH ROW EXECUTE FUNCTION keep_ten();
CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO item_log VALUES (NEW.id, 'stamped ' || (NEW.deleted_at IS NOT NULL));
    RETURN NULL;
END $$;
CREATE TRIGGER log_update AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION log_update();
INSERT INTO items VALUES (11, 'eleven');
DELETE FROM items WHERE id IN (10, 11);
SELECT id FROM items ORDER BY id;
SELECT * FROM item_log;

-- the filter is exactly "deleted_at IS NULL" to the planner: a partial
-- index on live rows is used
CREATE INDEX items_live_name ON items (name) WHERE deleted_at IS NULL;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE name = 'ten';
RESET enable_seqscan;

DROP TABLE items, doomed, item_log;
DROP FUNCTION drop_item(int), keep_ten(), log_update();
RESET ROLE;
