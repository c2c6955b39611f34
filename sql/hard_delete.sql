-- hard_delete(): permanently removes one row, live or trashed.
SET ROLE regress_owner;
CREATE TABLE files (id int PRIMARY KEY, name text);
INSERT INTO files SELECT g, 'f' || g FROM generate_series(1, 4) g;
SELECT softdelete.enable('files');
DELETE FROM files WHERE id = 1;

SELECT softdelete.hard_delete('files', 1);   -- a trashed row
SELECT softdelete.hard_delete('files', 2);   -- a live row
SELECT softdelete.hard_delete('files', 2);   -- gone already: 0
SELECT softdelete.hard_delete('files', 42);  -- never existed: 0
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::files) ORDER BY id;

-- only the named row goes, even if a trigger deletes others meanwhile:
-- those are soft-deleted as any DELETE would be
CREATE FUNCTION also_three() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 4 THEN DELETE FROM files WHERE id = 3; END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER also_three AFTER DELETE ON files FOR EACH ROW EXECUTE FUNCTION also_three();
SELECT softdelete.hard_delete('files', 4);
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::files) ORDER BY id;

-- composite key on a partitioned table
CREATE TABLE shards (id int, s int, PRIMARY KEY (id, s)) PARTITION BY LIST (s);
CREATE TABLE shards_1 PARTITION OF shards FOR VALUES IN (1);
CREATE TABLE shards_2 PARTITION OF shards FOR VALUES IN (2);
INSERT INTO shards VALUES (1, 1), (1, 2);
SELECT softdelete.enable('shards');
SELECT softdelete.hard_delete('shards', ROW(1, 2));
SELECT id, s FROM softdelete.with_trash(NULL::shards);

DROP TABLE files, shards;
DROP FUNCTION also_three();
RESET ROLE;
