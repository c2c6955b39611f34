-- nothing_lost: the paths that fire a DELETE trigger or run the table's
-- code, tried as an attacker and as a careless application would.  Each
-- block names the finding it covers (issue 8); each failed on 1.0.

-- 8.2  A clerk with SELECT and DELETE runs the owner's UPDATE trigger when
-- the row is stamped.  That trigger writes to an unqualified audit_log.
-- The clerk plants a temp table of that name with a trigger of its own,
-- which tries to read the trash and purge it.  The planted trigger must run
-- with the clerk's rights (as for the clerk's own UPDATE), so both fail.
SET ROLE regress_owner;
CREATE TABLE audit_log (who name, what text);
CREATE TABLE ledger (id int PRIMARY KEY, note text);
CREATE TABLE ledger_lines (id int PRIMARY KEY,
                           ledger_id int REFERENCES ledger ON DELETE CASCADE);
INSERT INTO ledger VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO ledger_lines VALUES (10, 2), (11, 3);
CREATE FUNCTION ledger_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log VALUES (current_user, TG_TABLE_NAME || ' ' || NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER audit AFTER UPDATE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_audit();
CREATE TRIGGER audit AFTER UPDATE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_audit();
SELECT softdelete.enable('ledger');
SELECT softdelete.enable('ledger_lines');
GRANT SELECT, DELETE ON ledger, ledger_lines TO regress_clerk;
GRANT INSERT ON audit_log TO regress_clerk;

SET ROLE regress_clerk;
CREATE TEMP TABLE audit_log (who name, what text);
CREATE TEMP TABLE spied (who name, trash text, purge text);
CREATE FUNCTION pg_temp.spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.spied VALUES (current_user,
        public.outcome('SELECT count(*) FROM softdelete.trash(NULL::public.ledger)'),
        public.outcome('SELECT softdelete.purge(''public.ledger'')'));
    RETURN NEW;
END $$;
CREATE TRIGGER spy AFTER INSERT ON pg_temp.audit_log
    FOR EACH ROW EXECUTE FUNCTION pg_temp.spy();
DELETE FROM ledger WHERE id = 1;           -- the stamp fires the owner's trigger
DELETE FROM ledger WHERE id = 2;           -- and the cascade into ledger_lines
SELECT * FROM pg_temp.audit_log ORDER BY what;
SELECT * FROM pg_temp.spied;
DROP TABLE pg_temp.audit_log, pg_temp.spied;
-- nothing was purged: both rows and the child are still in the trash
SET ROLE regress_owner;
SELECT id FROM softdelete.trash(NULL::ledger) ORDER BY id;
SELECT id FROM softdelete.trash(NULL::ledger_lines) ORDER BY id;
SELECT count(*) AS owner_audit_rows FROM audit_log;

-- 8.3  An UPDATE that moves a row to another partition is an UPDATE: the
-- row moves, it is not trashed, and UPDATE privilege alone trashes nothing.
SET ROLE regress_owner;
CREATE TABLE shelves (id int, zone text, PRIMARY KEY (id, zone))
    PARTITION BY LIST (zone);
CREATE TABLE shelves_a PARTITION OF shelves FOR VALUES IN ('a');
CREATE TABLE shelves_b PARTITION OF shelves FOR VALUES IN ('b');
CREATE TABLE boxes (id int PRIMARY KEY, shelf int, zone text,
                    FOREIGN KEY (shelf, zone) REFERENCES shelves
                        ON DELETE CASCADE ON UPDATE CASCADE);
SELECT softdelete.enable('shelves');
SELECT softdelete.enable('boxes');
INSERT INTO shelves VALUES (1, 'a'), (2, 'a');
INSERT INTO boxes VALUES (10, 1, 'a');
GRANT SELECT, UPDATE ON shelves TO regress_clerk;
SET ROLE regress_clerk;
WITH moved AS (UPDATE shelves SET zone = 'b' WHERE id = 1 RETURNING id)
SELECT count(*) AS updated FROM moved;
SET ROLE regress_owner;
SELECT id, zone, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::shelves) ORDER BY id;
SELECT tableoid::regclass AS part, id FROM shelves ORDER BY id;
SELECT id, shelf, zone, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::boxes) ORDER BY id;
-- a DELETE of a partition's row is still soft, after a move in the same
-- transaction too
BEGIN;
UPDATE shelves SET zone = 'b' WHERE id = 2;
DELETE FROM shelves WHERE id = 2;
COMMIT;
SELECT id, zone, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::shelves) ORDER BY id;

-- 8.4  A BEFORE UPDATE trigger that runs SQL (an audit) must not make the
-- DELETE skip its cascade or its RESTRICT check (preloaded path).
SET ROLE regress_owner;
CREATE TABLE customers (id int PRIMARY KEY, touched int DEFAULT 0);
CREATE TABLE orders (id int PRIMARY KEY,
                     customer_id int REFERENCES customers ON DELETE CASCADE);
CREATE TABLE invoices (id int PRIMARY KEY,
                       customer_id int REFERENCES customers ON DELETE RESTRICT);
CREATE TABLE customer_audit (customer_id int);
CREATE FUNCTION customer_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_audit VALUES (OLD.id);
    RETURN NEW;
END $$;
CREATE TRIGGER audit BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION customer_audit();
SELECT softdelete.enable('customers');
SELECT softdelete.enable('orders');
SELECT softdelete.enable('invoices');
INSERT INTO customers (id) VALUES (1), (2);
INSERT INTO orders VALUES (100, 1), (101, 1);
INSERT INTO invoices VALUES (200, 2);
DELETE FROM customers WHERE id = 1;
SELECT id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::orders) ORDER BY id;
SELECT outcome($$DELETE FROM customers WHERE id = 2$$);   -- fails: invoice 200
SELECT id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::customers) ORDER BY id;

-- 8.5  A foreign key may reference one partition; a DELETE that names the
-- partitioned table must still follow it.
CREATE TABLE accounts (id int, region text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE accounts_a PARTITION OF accounts FOR VALUES IN ('a');
CREATE TABLE accounts_b PARTITION OF accounts FOR VALUES IN ('b');
ALTER TABLE accounts_a ADD UNIQUE (id);
CREATE TABLE statements (id int PRIMARY KEY,
                         account_id int REFERENCES accounts_a (id) ON DELETE CASCADE);
CREATE TABLE holds (id int PRIMARY KEY,
                    account_id int REFERENCES accounts_a (id) ON DELETE RESTRICT);
SELECT softdelete.enable('accounts');
SELECT softdelete.enable('statements');
SELECT softdelete.enable('holds');
INSERT INTO accounts VALUES (1, 'a'), (2, 'a'), (3, 'b');
INSERT INTO statements VALUES (10, 1), (11, 2);
INSERT INTO holds VALUES (20, 2);
DELETE FROM accounts WHERE id = 1;
SELECT id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::statements) ORDER BY id;
SELECT outcome($$DELETE FROM accounts WHERE id = 2$$);    -- fails: hold 20
SELECT id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::accounts) ORDER BY id;

-- 8.6  A hard DELETE on a table that is not soft-deletable, cascading into
-- a soft-deletable child, would leave trashed children referencing
-- nothing.  It is refused, and nothing changes.
CREATE TABLE folders (id int PRIMARY KEY);
CREATE TABLE sheets (id int PRIMARY KEY,
                     folder_id int REFERENCES folders ON DELETE CASCADE);
SELECT softdelete.enable('sheets');
INSERT INTO folders VALUES (1), (2);
INSERT INTO sheets VALUES (10, 1), (11, 2);
DELETE FROM sheets WHERE id = 11;                -- a trashed child counts too
\set SHOW_CONTEXT never
DELETE FROM folders WHERE id = 1;                -- fails
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
-- the error carries core's fields: schema, table, constraint
CREATE FUNCTION pg_temp.fields(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; sch text; tbl text; con text;
BEGIN
    EXECUTE cmd;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, sch = SCHEMA_NAME,
                            tbl = TABLE_NAME, con = CONSTRAINT_NAME;
    RETURN format('%s schema=%s table=%s constraint=%s', st, sch, tbl, con);
END $$;
SELECT pg_temp.fields($$DELETE FROM folders WHERE id = 2$$);   -- fails
SELECT id FROM folders ORDER BY id;
SELECT id, folder_id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::sheets) ORDER BY id;

-- 8.8  While hard_delete() and purge() run, only the rows they named are
-- removed for real: anything else the table's own DELETE trigger deletes
-- is soft-deleted (or, already trashed, left in the trash).
CREATE TABLE docs (id int PRIMARY KEY);
INSERT INTO docs SELECT generate_series(1, 6);
SELECT softdelete.enable('docs');
CREATE FUNCTION docs_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM docs WHERE id = OLD.id + 1;
    RETURN OLD;
END $$;
DELETE FROM docs WHERE id IN (1, 2, 4, 5);
CREATE TRIGGER chain AFTER DELETE ON docs
    FOR EACH ROW EXECUTE FUNCTION docs_chain();
RESET ROLE;
UPDATE docs SET deleted_at = now() - interval '2 hours' WHERE id = 4;
SET ROLE regress_owner;
SELECT softdelete.hard_delete('docs', 1);        -- 1: row 2 stays in the trash
SELECT softdelete.purge('docs', '1 hour');       -- 1: row 4; row 5 stays
SELECT id, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::docs) ORDER BY id;
DROP TRIGGER chain ON docs;

-- 8.9  PREPARE TRANSACTION checks the deferred NO ACTION keys as COMMIT does.
CREATE TABLE albums (id int PRIMARY KEY);
CREATE TABLE tracks (id int PRIMARY KEY,
                     album_id int REFERENCES albums DEFERRABLE INITIALLY DEFERRED);
SELECT softdelete.enable('albums');
INSERT INTO albums VALUES (1);
INSERT INTO tracks VALUES (10, 1);
BEGIN;
DELETE FROM albums WHERE id = 1;
PREPARE TRANSACTION 'regress_softdelete_prepare';       -- fails: track 10
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS prepared FROM pg_prepared_xacts
 WHERE gid = 'regress_softdelete_prepare';
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::albums);


-- 8.3, again (found by a review of the fix): a note that a row is moving
-- must never let another DELETE of it through, and nested statements must
-- not disturb a real move.  (a) An UPDATE that a later BEFORE UPDATE
-- trigger skips (the manual's suppress_redundant_updates_trigger, named to
-- fire last), then a DELETE of the same row in the same statement: soft.
SET ROLE regress_owner;
CREATE TABLE acc (id int, region int, v int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE acc_1 PARTITION OF acc FOR VALUES IN (1);
SELECT softdelete.enable('acc');
INSERT INTO acc VALUES (1, 1, 0), (2, 1, 0), (3, 1, 0);
CREATE TRIGGER z_min_update BEFORE UPDATE ON acc
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
GRANT SELECT, UPDATE, DELETE ON acc TO regress_clerk;
SET ROLE regress_clerk;
WITH u AS (UPDATE acc SET v = v WHERE id = 1 RETURNING id)
DELETE FROM acc WHERE id = 1 AND (SELECT count(*) FROM u) >= 0;
WITH u AS (UPDATE acc SET v = v WHERE id = 2 RETURNING id)
MERGE INTO acc a USING (SELECT 2 AS id) s
   ON a.id = s.id AND (SELECT count(*) FROM u) >= 0
 WHEN MATCHED THEN DELETE;
SET ROLE regress_owner;
SELECT id, deleted_at IS NOT NULL AS trashed
  FROM softdelete.with_trash(NULL::acc) ORDER BY id;
-- (b) a BEFORE UPDATE trigger that updates another row of the table while
-- a row moves: the move is still an UPDATE
CREATE TABLE ord (id int, region int, touched int DEFAULT 0, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE ord_1 PARTITION OF ord FOR VALUES IN (1);
CREATE TABLE ord_2 PARTITION OF ord FOR VALUES IN (2);
SELECT softdelete.enable('ord');
INSERT INTO ord VALUES (1, 1), (2, 1);
CREATE FUNCTION touch_other() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        UPDATE ord SET touched = touched + 1 WHERE id = 2;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER touch BEFORE UPDATE ON ord
    FOR EACH ROW EXECUTE FUNCTION touch_other();
GRANT SELECT, UPDATE ON ord TO regress_clerk;
SET ROLE regress_clerk;
WITH moved AS (UPDATE ord SET region = 2 WHERE id = 1 RETURNING id)
SELECT count(*) AS updated FROM moved;
SET ROLE regress_owner;
SELECT id, region, touched, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::ord) ORDER BY id;
DROP TABLE acc, ord;
DROP FUNCTION touch_other();

DROP TABLE ledger_lines, ledger, audit_log, boxes, shelves, orders, invoices,
    customers, customer_audit, statements, holds, accounts, sheets, folders,
    docs, tracks, albums;
DROP FUNCTION ledger_audit(), customer_audit(), docs_chain();
RESET ROLE;
