-- partitions: queried directly, created or attached later, detached.
SET ROLE regress_owner;
CREATE TABLE readings (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE readings_jan PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
INSERT INTO readings VALUES (1, '2026-01-05'), (2, '2026-01-06');
SELECT softdelete.enable('readings');
GRANT SELECT, DELETE ON readings, readings_jan TO regress_clerk;
DELETE FROM readings WHERE id = 1;

-- a partition queried directly, by an ordinary role and by the owner,
-- hides the trash as the parent does
SET ROLE regress_clerk;
SELECT id FROM readings_jan;
SELECT id FROM readings;
SET ROLE regress_owner;
SELECT id FROM readings_jan;
SELECT tbl, root, rls_was_enabled FROM softdelete.partitions ORDER BY tbl::text;

-- a partition created later gets the triggers and the filter
CREATE TABLE readings_feb PARTITION OF readings FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
GRANT SELECT, DELETE ON readings_feb TO regress_clerk;
INSERT INTO readings VALUES (3, '2026-02-01'), (4, '2026-02-02');
SET ROLE regress_clerk;
DELETE FROM readings_feb WHERE id = 3;       -- a partition named directly: soft
SELECT id FROM readings_feb;
SET ROLE regress_owner;
SELECT id FROM softdelete.trash(NULL::readings) ORDER BY id;
TRUNCATE readings_feb;                       -- refused on the new partition too

-- a table attached later, too
CREATE TABLE readings_mar (id int NOT NULL, day date NOT NULL, deleted_at timestamptz);
SELECT count(*) AS auto_enabled_on_its_own FROM softdelete.tables WHERE tbl = 'readings_mar'::regclass;
SELECT softdelete.disable('readings_mar');
INSERT INTO readings_mar VALUES (5, '2026-03-01');
ALTER TABLE readings ATTACH PARTITION readings_mar FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
DELETE FROM readings_mar WHERE id = 5;
SELECT id FROM readings_mar;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'readings_mar'::regclass ORDER BY tgname;
SELECT id FROM softdelete.trash(NULL::readings) ORDER BY id;

-- detached: it stays soft-deletable on its own, trash and all
SELECT softdelete.restore('readings', ROW(1, '2026-01-05'::date));
ALTER TABLE readings DETACH PARTITION readings_jan;
SELECT tbl, column_name FROM softdelete.tables WHERE tbl = 'readings_jan'::regclass;
DELETE FROM readings_jan WHERE id = 2;
SELECT id FROM readings_jan;
SELECT id FROM softdelete.trash(NULL::readings_jan);
SELECT count(*) AS still_recorded FROM softdelete.partitions WHERE tbl = 'readings_jan'::regclass;

-- disable restores every partition as it was
SELECT softdelete.disable('readings');
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) AS policies,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid AND tgname LIKE 'softdelete%') AS triggers
  FROM pg_class c WHERE c.relname IN ('readings', 'readings_feb', 'readings_mar') ORDER BY 1;
SELECT count(*) AS recorded FROM softdelete.partitions;

DROP TABLE readings, readings_jan;
RESET ROLE;
