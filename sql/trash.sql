-- trash() and with_trash(): the deleted rows only, and every row.
SET ROLE regress_owner;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 5) g;
SELECT softdelete.enable('notes');
DELETE FROM notes WHERE id IN (2, 4);

SELECT id, body, deleted_at IS NOT NULL AS trashed FROM softdelete.trash(NULL::notes) ORDER BY id;
SELECT id, body, deleted_at IS NOT NULL AS trashed FROM softdelete.with_trash(NULL::notes) ORDER BY id;
-- the result has the table's row type, so it composes like the table
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live,
       count(*) FILTER (WHERE deleted_at IS NOT NULL) AS trashed
  FROM softdelete.with_trash(NULL::notes);
SELECT n.id FROM softdelete.trash(NULL::notes) n JOIN generate_series(1, 3) g ON g = n.id;

-- a dropped column does not confuse the row type
ALTER TABLE notes DROP COLUMN body;
ALTER TABLE notes ADD COLUMN title text DEFAULT 't';
SELECT id, title, deleted_at IS NOT NULL AS trashed FROM softdelete.trash(NULL::notes) ORDER BY id;

-- an empty trash is an empty set
SELECT softdelete.restore('notes', 2), softdelete.restore('notes', 4);
SELECT count(*) AS in_trash FROM softdelete.trash(NULL::notes);

-- a partitioned table's trash spans its partitions
CREATE TABLE logs (id int, part int, PRIMARY KEY (id, part)) PARTITION BY LIST (part);
CREATE TABLE logs_1 PARTITION OF logs FOR VALUES IN (1);
CREATE TABLE logs_2 PARTITION OF logs FOR VALUES IN (2);
INSERT INTO logs VALUES (1, 1), (2, 2), (3, 1);
SELECT softdelete.enable('logs');
DELETE FROM logs WHERE id IN (1, 2);
SELECT id, part FROM softdelete.trash(NULL::logs) ORDER BY id;
SELECT id, part, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::logs) ORDER BY id;

DROP TABLE notes, logs;
RESET ROLE;
