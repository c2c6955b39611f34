-- purge(): permanently removes trashed rows, older ones first by age.
SET ROLE regress_owner;
CREATE TABLE tickets (id int PRIMARY KEY);
INSERT INTO tickets SELECT generate_series(1, 6);
SELECT softdelete.enable('tickets');
DELETE FROM tickets WHERE id IN (1, 2, 3);

-- age the trash: rows 1 and 2 were deleted ten days ago (as a superuser
-- would see and edit them)
RESET ROLE;
UPDATE tickets SET deleted_at = now() - interval '10 days' WHERE id IN (1, 2);
SET ROLE regress_owner;

SELECT softdelete.purge('tickets', '30 days');   -- nothing that old
SELECT softdelete.purge('tickets', '7 days');    -- rows 1 and 2
SELECT id FROM softdelete.with_trash(NULL::tickets) ORDER BY id;
SELECT softdelete.purge('tickets');              -- the rest of the trash
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::tickets) ORDER BY id;
SELECT softdelete.purge('tickets');              -- empty trash: 0

-- rows trashed earlier in the same transaction are purged too
BEGIN;
DELETE FROM tickets WHERE id = 4;
SELECT softdelete.purge('tickets');
COMMIT;

-- purge never removes a live row, even if a trigger of the table's
-- deletes live rows while purge runs: those are soft-deleted as usual
CREATE FUNCTION sweep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        DELETE FROM tickets WHERE id = 7;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sweep AFTER DELETE ON tickets FOR EACH STATEMENT EXECUTE FUNCTION sweep();
DELETE FROM tickets WHERE id = 6;
INSERT INTO tickets VALUES (7);
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::tickets) ORDER BY id;
SELECT softdelete.purge('tickets');   -- removes 6; the trigger trashes 7
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::tickets) ORDER BY id;

-- a partitioned table is purged across its partitions
CREATE TABLE parts (id int, p int, PRIMARY KEY (id, p)) PARTITION BY LIST (p);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES IN (1);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES IN (2);
INSERT INTO parts VALUES (1, 1), (2, 2), (3, 2);
SELECT softdelete.enable('parts');
DELETE FROM parts WHERE id IN (1, 2);
SELECT softdelete.purge('parts');
SELECT id, p FROM softdelete.with_trash(NULL::parts);

DROP TABLE tickets, parts;
DROP FUNCTION sweep();
RESET ROLE;
