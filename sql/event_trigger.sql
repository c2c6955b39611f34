-- the event trigger: tables that enable themselves.
SET ROLE regress_owner;

-- created with a deleted_at timestamptz column: enabled at once
CREATE TABLE born (id int PRIMARY KEY, deleted_at timestamptz);
SELECT tbl, column_name FROM softdelete.tables WHERE tbl = 'born'::regclass;
INSERT INTO born VALUES (1), (2);
DELETE FROM born WHERE id = 1;
SELECT id FROM born;
SELECT id FROM softdelete.trash(NULL::born);

-- altered to gain one (a Django or Rails migration): enabled then
CREATE TABLE grown (id int PRIMARY KEY);
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'grown'::regclass;
ALTER TABLE grown ADD COLUMN deleted_at timestamptz;
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'grown'::regclass;

-- a copy of data (CREATE TABLE AS, SELECT INTO) is not enabled: a copy of
-- the trash shows what was copied
CREATE TABLE copied AS SELECT 1 AS id, NULL::timestamptz AS deleted_at;
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'copied'::regclass;

-- not a candidate: another type, NOT NULL, another name
CREATE TABLE dated (id int, deleted_at date);
CREATE TABLE strict_col (id int, deleted_at timestamptz NOT NULL);
CREATE TABLE other_name (id int, removed_at timestamptz);
SELECT count(*) AS registered FROM softdelete.tables
 WHERE tbl IN ('dated'::regclass, 'strict_col'::regclass, 'other_name'::regclass);

-- auto_enable off, per session: nothing happens
SET softdelete.auto_enable = off;
CREATE TABLE manual (id int PRIMARY KEY, deleted_at timestamptz);
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'manual'::regclass;
RESET softdelete.auto_enable;
SHOW softdelete.auto_enable;
-- and off for a database (or a role: ALTER ROLE ... SET works the same),
-- before the library is even loaded in the session
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET softdelete.auto_enable = off', current_database());
END $$;
\c -
SHOW softdelete.auto_enable;
SET ROLE regress_owner;
CREATE TABLE manual2 (id int PRIMARY KEY, deleted_at timestamptz);
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'manual2'::regclass;
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RESET softdelete.auto_enable', current_database());
END $$;
\c -
SET ROLE regress_owner;

-- a table disabled on purpose stays disabled through later DDL
SELECT softdelete.disable('born');
ALTER TABLE born ADD COLUMN note text;
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'born'::regclass;
-- renaming a column to deleted_at counts as gaining it
ALTER TABLE other_name RENAME COLUMN removed_at TO deleted_at;
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'other_name'::regclass;

-- unrelated DDL does nothing (periods' "beeswax" test): no new registry
-- rows, no new triggers or policies anywhere
CREATE TEMP TABLE before_ddl AS
    SELECT (SELECT count(*) FROM softdelete.registry) AS registry,
           (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'softdelete%') AS triggers,
           (SELECT count(*) FROM pg_policy WHERE polname LIKE 'softdelete%') AS policies;
CREATE TABLE beeswax (id int, wax text);
ALTER TABLE beeswax ADD COLUMN hive int;
ALTER TABLE beeswax RENAME COLUMN wax TO honey;
CREATE INDEX ON beeswax (hive);
CREATE VIEW beeswax_view AS SELECT * FROM beeswax;
CREATE SEQUENCE beeswax_seq;
COMMENT ON TABLE beeswax IS 'buzz';
ALTER TABLE grown ADD COLUMN extra int;      -- DDL on an enabled table
ALTER TABLE grown RENAME COLUMN extra TO extra2;
DROP VIEW beeswax_view;
DROP TABLE beeswax;
DROP SEQUENCE beeswax_seq;
SELECT (SELECT count(*) FROM softdelete.registry) - registry AS new_registry_rows,
       (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'softdelete%') - triggers AS new_triggers,
       (SELECT count(*) FROM pg_policy WHERE polname LIKE 'softdelete%') - policies AS new_policies
  FROM before_ddl;

DROP TABLE born, grown, copied, dated, strict_col, other_name, manual, manual2;
RESET ROLE;
