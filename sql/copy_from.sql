-- copy_from: COPY ... FROM into a soft-deletable table (issue 13).
-- Preloaded (expected/copy_from.out): works for every role that may
-- insert, rows with a stamp go to the trash only for a role that may
-- restore.  Not preloaded (expected/copy_from_1.out): PostgreSQL refuses
-- COPY FROM under row-level security (0A000), as the README says.
-- The rows come from files in sql/data/ (relative to the directory
-- pg_regress runs psql in, the top of the tree) through psql's \copy,
-- which sends COPY ... FROM STDIN and the file's lines over the protocol:
-- the server sees what an inline COPY FROM STDIN sends.  Not inline data
-- after COPY FROM STDIN in this script: when the server refuses the COPY
-- before it starts (0A000, 42501, 25006 below), psql 18 reads those
-- lines as SQL, where psql 15 and 17 skipped them.
SET ROLE regress_owner;
CREATE TABLE items (id int PRIMARY KEY, name text, qty int DEFAULT 1);
SELECT softdelete.enable('items');
GRANT INSERT ON items TO regress_clerk;         -- INSERT only: no SELECT
GRANT SELECT ON items TO regress_stranger;      -- SELECT only: no INSERT
CREATE FUNCTION item_state() RETURNS TABLE (id int, name text, qty int, trashed bool)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS
$$ SELECT id, name, qty, deleted_at IS NOT NULL FROM softdelete.with_trash(NULL::public.items) ORDER BY id $$;
GRANT EXECUTE ON FUNCTION item_state() TO PUBLIC;

-- the owner (row-level security forced on it): a column list
\copy items (id, name) from 'sql/data/copy_items_1_2.txt'
-- the owner may load rows straight into the trash
\copy items from 'sql/data/copy_items_3_trashed.csv' (format csv)
-- a WHERE clause, as PostgreSQL's own
\copy items (id, name, qty) from 'sql/data/copy_items_4_5_qty.txt' where qty > 1
SELECT * FROM item_state();

-- a role with INSERT only
SET ROLE regress_clerk;
\copy items (id, name) from 'sql/data/copy_items_6.txt'
\copy items (id, name, qty) from 'sql/data/copy_items_7_qty.txt'
-- fails: a row arriving in the trash, from a role that may not restore
-- (42501, as INSERT of that row would be); nothing of the COPY is kept
\copy items from 'sql/data/copy_items_8_9_trashed.csv' (format csv)
-- (psql does not set LAST_ERROR_SQLSTATE for an error in the middle of a
-- COPY: the same again, showing the SQLSTATE)
\set VERBOSITY sqlstate
\copy items from 'sql/data/copy_items_9_trashed.csv' (format csv)
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
\copy items (id, name, qty) from 'sql/data/copy_items_10_qty.txt'
\echo :LAST_ERROR_SQLSTATE
-- fails: no INSERT at all (42501)
SET ROLE regress_stranger;
\copy items (id, name) from 'sql/data/copy_items_11.txt'
\echo :LAST_ERROR_SQLSTATE
-- fails: a read-only transaction (25006)
SET ROLE regress_owner;
BEGIN READ ONLY;
\copy items (id, name) from 'sql/data/copy_items_12.txt'
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- fails: row_security = off, as for any query row-level security affects
-- (42501, as pg_dump's restore by a role that is not a superuser gets)
SET row_security = off;
\copy items (id, name) from 'sql/data/copy_items_12.txt'
\echo :LAST_ERROR_SQLSTATE
RESET row_security;
SELECT * FROM item_state();

-- COPY TO is PostgreSQL's own: the filter applies to what the role reads
COPY items TO STDOUT;

-- the table's own policies: one that applies to INSERT for this role is
-- not bypassed (0A000, naming it); one for SELECT only is no obstacle
CREATE POLICY items_select ON items FOR SELECT USING (qty > 0);
\copy items (id, name) from 'sql/data/copy_items_13.txt'
CREATE POLICY items_small ON items FOR INSERT TO regress_clerk WITH CHECK (qty < 100);
SET ROLE regress_clerk;
\copy items (id, name) from 'sql/data/copy_items_14.txt'
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_owner;
\copy items (id, name) from 'sql/data/copy_items_15.txt'
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
\copy readings (region, id, value) from 'sql/data/copy_readings_eu1_us1.txt'
\copy readings_us (region, id, value) from 'sql/data/copy_readings_us2.txt'
-- fails: a trashed row, into the partition too
\copy readings_us from 'sql/data/copy_readings_us3_trashed.csv' (format csv)
\set VERBOSITY sqlstate
\copy readings_us from 'sql/data/copy_readings_us3_trashed.csv' (format csv)
\set VERBOSITY default
SET ROLE regress_owner;
-- the owner may put one in the trash
\copy readings from 'sql/data/copy_readings_us4_trashed.csv' (format csv)
SELECT tableoid::regclass, region, id, value FROM readings ORDER BY 1, 3;
SELECT region, id, value, deleted_at IS NOT NULL AS trashed
  FROM softdelete.with_trash(NULL::readings) ORDER BY 1, 2;

-- the guard cannot be called by hand
SELECT softdelete.copy_row_check('items', now());
\echo :LAST_ERROR_SQLSTATE

RESET ROLE;
DROP TABLE items, readings;
DROP FUNCTION item_state();
