-- copy_from: COPY ... FROM into a soft-deletable table (issue 13).
-- Preloaded (expected/copy_from.out): works for every role that may
-- insert, rows with a stamp go to the trash only for a role that may
-- restore.  Not preloaded (expected/copy_from_1.out): PostgreSQL refuses
-- COPY FROM under row-level security (0A000), as the README says.
SET ROLE regress_owner;
CREATE TABLE items (id int PRIMARY KEY, name text, qty int DEFAULT 1);
SELECT softdelete.enable('items');
GRANT INSERT ON items TO regress_clerk;         -- INSERT only: no SELECT
GRANT SELECT ON items TO regress_stranger;      -- SELECT only: no INSERT
CREATE FUNCTION item_state() RETURNS TABLE (id int, name text, qty int, trashed bool)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS
$$ SELECT id, name, qty, deleted_at IS NOT NULL FROM softdelete.with_trash(NULL::public.items) ORDER BY id $$;
GRANT EXECUTE ON FUNCTION item_state() TO PUBLIC;

-- the owner (row-level security forced on it): STDIN, a column list
COPY items (id, name) FROM STDIN;
1	bolt
2	nut
\.
-- the owner may load rows straight into the trash
COPY items FROM STDIN (FORMAT csv);
3,washer,5,2024-01-01 00:00:00+00
\.
-- a WHERE clause, as PostgreSQL's own
COPY items (id, name, qty) FROM STDIN WHERE qty > 1;
4	screw	10
5	nail	0
\.
SELECT * FROM item_state();

-- a role with INSERT only
SET ROLE regress_clerk;
COPY items (id, name) FROM STDIN;
6	rivet
\.
\copy items (id, name, qty) from stdin
7	pin	3
\.
-- fails: a row arriving in the trash, from a role that may not restore
-- (42501, as INSERT of that row would be); nothing of the COPY is kept
COPY items FROM STDIN (FORMAT csv);
8,hook,1,
9,stud,1,2024-01-01 00:00:00+00
\.
-- (psql does not set LAST_ERROR_SQLSTATE for an error in the middle of a
-- COPY: the same again, showing the SQLSTATE)
\set VERBOSITY sqlstate
COPY items FROM STDIN (FORMAT csv);
9,stud,1,2024-01-01 00:00:00+00
\.
\set VERBOSITY default
-- fails: no server files for a plain role (42501; PostgreSQL 16 reworded
-- the message, which we word as the server's own version does)
\set VERBOSITY sqlstate
COPY items FROM '/dev/null';
\set VERBOSITY default
-- fails: a column it may not insert into (42501)
SET ROLE regress_owner;
REVOKE INSERT ON items FROM regress_clerk;
GRANT INSERT (id, name) ON items TO regress_clerk;
SET ROLE regress_clerk;
COPY items (id, name, qty) FROM STDIN;
10	cog	1
\.
\echo :LAST_ERROR_SQLSTATE
-- fails: no INSERT at all (42501)
SET ROLE regress_stranger;
COPY items (id, name) FROM STDIN;
11	gear
\.
\echo :LAST_ERROR_SQLSTATE
-- fails: a read-only transaction (25006)
SET ROLE regress_owner;
BEGIN READ ONLY;
COPY items (id, name) FROM STDIN;
12	axle
\.
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- fails: row_security = off, as for any query row-level security affects
-- (42501, as pg_dump's restore by a role that is not a superuser gets)
SET row_security = off;
COPY items (id, name) FROM STDIN;
12	axle
\.
\echo :LAST_ERROR_SQLSTATE
RESET row_security;
SELECT * FROM item_state();

-- COPY TO is PostgreSQL's own: the filter applies to what the role reads
COPY items TO STDOUT;

-- the table's own policies: one that applies to INSERT for this role is
-- not bypassed (0A000, naming it); one for SELECT only is no obstacle
CREATE POLICY items_select ON items FOR SELECT USING (qty > 0);
COPY items (id, name) FROM STDIN;
13	spring
\.
CREATE POLICY items_small ON items FOR INSERT TO regress_clerk WITH CHECK (qty < 100);
SET ROLE regress_clerk;
COPY items (id, name) FROM STDIN;
14	lever
\.
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_owner;
COPY items (id, name) FROM STDIN;
15	wheel
\.
DROP POLICY items_small ON items;
DROP POLICY items_select ON items;
SELECT * FROM item_state();

-- a partitioned table: COPY into the root routes the rows; into a
-- partition directly too
CREATE TABLE readings (region text, id int, value int, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE readings_eu PARTITION OF readings FOR VALUES IN ('eu');
CREATE TABLE readings_us PARTITION OF readings FOR VALUES IN ('us');
SELECT softdelete.enable('readings');
GRANT INSERT ON readings, readings_us TO regress_clerk;
SET ROLE regress_clerk;
COPY readings (region, id, value) FROM STDIN;
eu	1	10
us	1	20
\.
COPY readings_us (region, id, value) FROM STDIN;
us	2	30
\.
-- fails: a trashed row, into the partition too
COPY readings_us FROM STDIN (FORMAT csv);
us,3,40,2024-01-01 00:00:00+00
\.
\set VERBOSITY sqlstate
COPY readings_us FROM STDIN (FORMAT csv);
us,3,40,2024-01-01 00:00:00+00
\.
\set VERBOSITY default
SET ROLE regress_owner;
-- the owner may put one in the trash
COPY readings FROM STDIN (FORMAT csv);
us,4,50,2024-01-01 00:00:00+00
\.
SELECT tableoid::regclass, region, id, value FROM readings ORDER BY 1, 3;
SELECT region, id, value, deleted_at IS NOT NULL AS trashed
  FROM softdelete.with_trash(NULL::readings) ORDER BY 1, 2;

-- the guard cannot be called by hand
SELECT softdelete.copy_row_check('items', now());
\echo :LAST_ERROR_SQLSTATE

RESET ROLE;
DROP TABLE items, readings;
DROP FUNCTION item_state();
