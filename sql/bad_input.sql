-- bad input: each refusal has its SQLSTATE, names the object, and
-- changes nothing.
SET ROLE regress_owner;
CREATE TABLE good (id int PRIMARY KEY, deleted_at timestamptz);
INSERT INTO good VALUES (1, NULL), (2, NULL);
SELECT softdelete.enable('good');
CREATE TABLE wrong_type (id int PRIMARY KEY, deleted_at date);
CREATE TABLE not_null_col (id int PRIMARY KEY, deleted_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE no_pk (v int);
INSERT INTO no_pk VALUES (1);
SELECT softdelete.enable('no_pk');
CREATE TABLE not_enabled (id int PRIMARY KEY);
CREATE TABLE duo (a int, b int, PRIMARY KEY (a, b));
SELECT softdelete.enable('duo');
CREATE VIEW a_view AS SELECT * FROM good;
CREATE MATERIALIZED VIEW a_matview AS SELECT 1 AS x;
CREATE SEQUENCE a_seq;
CREATE TYPE a_type AS (x int);
RESET ROLE;
CREATE FOREIGN DATA WRAPPER regress_fdw;
CREATE SERVER regress_server FOREIGN DATA WRAPPER regress_fdw;
CREATE FOREIGN TABLE a_foreign (x int) SERVER regress_server;
ALTER FOREIGN TABLE a_foreign OWNER TO regress_owner;
SET ROLE regress_owner;

\set VERBOSITY default
SELECT call, outcome(call) FROM (VALUES
    -- not a table
    ($$SELECT softdelete.enable('a_view')$$),
    ($$SELECT softdelete.enable('a_matview')$$),
    ($$SELECT softdelete.enable('a_foreign')$$),
    ($$SELECT softdelete.enable('a_seq')$$),
    ($$SELECT softdelete.enable('a_type')$$),
    ($$SELECT softdelete.enable('pg_catalog.pg_class')$$),
    ($$SELECT softdelete.restore('pg_class', 1)$$),
    -- unknown tables
    ($$SELECT softdelete.enable('no_such_table')$$),
    ($$SELECT softdelete.enable(4000000000::oid::regclass)$$),
    -- wrong column type, NOT NULL column, system column name
    ($$SELECT softdelete.enable('wrong_type')$$),
    ($$SELECT softdelete.enable('not_null_col')$$),
    ($$SELECT softdelete.enable('not_enabled', 'ctid')$$),
    -- NULL arguments
    ($$SELECT softdelete.enable(NULL)$$),
    ($$SELECT softdelete.enable('good', NULL)$$),
    ($$SELECT softdelete.disable(NULL)$$),
    ($$SELECT softdelete.soft_delete(NULL, 1)$$),
    ($$SELECT softdelete.soft_delete('good', NULL::int)$$),
    ($$SELECT softdelete.restore('good', NULL::int)$$),
    ($$SELECT softdelete.hard_delete('good', NULL::int)$$),
    ($$SELECT softdelete.purge(NULL)$$),
    ($$SELECT softdelete.purge('good', NULL)$$),
    ($$SELECT softdelete.restore('duo', ROW(1, NULL))$$),
    -- a negative age
    ($$SELECT softdelete.purge('good', '-1 day')$$),
    -- not soft-deletable
    ($$SELECT softdelete.soft_delete('not_enabled', 1)$$),
    ($$SELECT softdelete.restore('not_enabled', 1)$$),
    ($$SELECT softdelete.purge('not_enabled')$$),
    ($$SELECT softdelete.hard_delete('not_enabled', 1)$$),
    ($$SELECT * FROM softdelete.trash(NULL::not_enabled)$$),
    -- no primary key where a key is needed
    ($$SELECT softdelete.soft_delete('no_pk', 1)$$),
    ($$SELECT softdelete.restore('no_pk', 1)$$),
    ($$SELECT softdelete.hard_delete('no_pk', 1)$$),
    -- keys of the wrong type
    ($$SELECT softdelete.restore('good', 1.5)$$),
    ($$SELECT softdelete.restore('good', now())$$),
    ($$SELECT softdelete.restore('good', ROW(1, 2))$$),
    ($$SELECT softdelete.hard_delete('good', true)$$),
    ($$SELECT softdelete.soft_delete('good', 'one'::text)$$),
    -- trash() needs a table's row type
    ($$SELECT * FROM softdelete.trash(1)$$),
    ($$SELECT * FROM softdelete.with_trash(NULL::a_type)$$),
    ($$SELECT * FROM softdelete.trash(NULL::a_view)$$)
) v(call);

-- traditional inheritance: a DELETE through the parent would remove the
-- children's rows for real, so neither side of it is allowed
CREATE TABLE heir_parent (id int PRIMARY KEY);
CREATE TABLE heir_child () INHERITS (heir_parent);
SELECT outcome($$SELECT softdelete.enable('heir_parent')$$);
DROP TABLE heir_child;
SELECT softdelete.enable('heir_parent');
SELECT outcome($$CREATE TABLE heir_late () INHERITS (heir_parent)$$);
SET softdelete.auto_enable = off;
CREATE TABLE heir_other (id int NOT NULL, deleted_at timestamptz);
RESET softdelete.auto_enable;
SELECT outcome($$ALTER TABLE heir_other INHERIT heir_parent$$);
SELECT count(*) AS children FROM pg_inherits WHERE inhparent = 'heir_parent'::regclass;
DROP TABLE heir_parent, heir_other;

-- the same refusals in full, for the detail and hint they carry
SELECT softdelete.enable('a_view');
SELECT softdelete.enable('wrong_type');
SELECT softdelete.restore('good', ROW(1, 2));
SELECT softdelete.soft_delete('no_pk', 1);
SELECT softdelete.purge('not_enabled');
SELECT * FROM softdelete.trash(1);

-- nothing changed: good still has both rows live, nothing else registered,
-- no column was added, no trigger or policy left behind
SELECT id, deleted_at FROM good ORDER BY id;
SELECT tbl FROM softdelete.tables ORDER BY tbl::text;
SELECT attname FROM pg_attribute WHERE attrelid = 'not_enabled'::regclass AND attnum > 0;
SELECT pg_typeof(deleted_at) FROM wrong_type;
SELECT count(*) AS stray_triggers FROM pg_trigger WHERE tgname LIKE 'softdelete%'
   AND tgrelid NOT IN ('good'::regclass, 'no_pk'::regclass, 'duo'::regclass);
SELECT count(*) AS stray_policies FROM pg_policy WHERE polname LIKE 'softdelete%'
   AND polrelid NOT IN ('good'::regclass, 'no_pk'::regclass, 'duo'::regclass);

RESET ROLE;
DROP FOREIGN TABLE a_foreign;
DROP SERVER regress_server;
DROP FOREIGN DATA WRAPPER regress_fdw;
SET ROLE regress_owner;
DROP VIEW a_view;
DROP MATERIALIZED VIEW a_matview;
DROP TABLE good, wrong_type, not_null_col, no_pk, not_enabled, duo;
DROP SEQUENCE a_seq;
DROP TYPE a_type;
RESET ROLE;
