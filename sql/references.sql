-- references: no row is inserted, or updated, to reference a trashed row
-- (issue 13), from any referencing table, soft-deletable or not.
SET ROLE regress_owner;
CREATE TABLE customers (id int PRIMARY KEY, name text);
CREATE TABLE orders (id int PRIMARY KEY,
                     customer_id int REFERENCES customers ON DELETE CASCADE);
CREATE TABLE invoices (id int PRIMARY KEY,            -- not soft-deletable
                       customer_id int REFERENCES customers ON DELETE SET NULL);
CREATE TABLE notes (id int PRIMARY KEY,               -- Django's foreign keys
                    customer_id int REFERENCES customers
                                    DEFERRABLE INITIALLY DEFERRED);
SELECT softdelete.enable('customers'), softdelete.enable('orders');
INSERT INTO customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cid');
INSERT INTO orders VALUES (10, 1), (20, 2);
INSERT INTO invoices VALUES (100, 2);
SELECT softdelete.soft_delete('customers', 2);

-- each foreign key to a soft-deletable table has its check, one per
-- referencing table, tied to the key and as deferrable as it is
SELECT tgrelid::regclass AS on_table, c.conname AS foreign_key,
       tgdeferrable, tginitdeferred, tgisinternal,
       tgname ~ '^softdelete_reference_check_[0-9]+$' AS named
  FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
 WHERE tgfoid = 'softdelete.reference_check_trigger()'::regprocedure
 ORDER BY tgrelid::regclass::text;

-- fails: customer 2 is in the trash, from a soft-deletable table ...
INSERT INTO orders VALUES (21, 2);
\echo :LAST_ERROR_SQLSTATE
-- ... and from one that is not
INSERT INTO invoices VALUES (101, 2);
\echo :LAST_ERROR_SQLSTATE
-- fails: an UPDATE that points a row at it
UPDATE orders SET customer_id = 2 WHERE id = 10;
\echo :LAST_ERROR_SQLSTATE
-- the error carries the constraint, as PostgreSQL's own does
DO $$
DECLARE s text; t text; c text; st text;
BEGIN
    INSERT INTO invoices VALUES (102, 2);
EXCEPTION WHEN foreign_key_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, s = SCHEMA_NAME,
                            t = TABLE_NAME, c = CONSTRAINT_NAME;
    RAISE NOTICE '% schema=% table=% constraint=%', st, s, t, c;
END $$;

-- live parents, NULL keys, and updates that keep the key are fine:
-- invoice 100 references customer 2 since before its deletion (SET NULL
-- leaves it), and may still be edited
INSERT INTO orders VALUES (11, 1), (12, NULL);
INSERT INTO invoices VALUES (103, 1);
UPDATE invoices SET id = 104 WHERE id = 100;
UPDATE orders SET customer_id = 3 WHERE id = 11;
SELECT id, customer_id FROM invoices ORDER BY id;

-- a deferred key is checked when the key is checked: at commit ...
BEGIN;
INSERT INTO notes VALUES (1, 2);
SELECT 'not checked yet' AS note;
COMMIT;
\echo :LAST_ERROR_SQLSTATE
-- ... or when SET CONSTRAINTS names the foreign key
BEGIN;
INSERT INTO notes VALUES (1, 2);
SET CONSTRAINTS notes_customer_id_fkey IMMEDIATE;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- inserted then pointed at a live row before commit: nothing to refuse
BEGIN;
INSERT INTO notes VALUES (1, 2);
UPDATE notes SET customer_id = 1 WHERE id = 1;
COMMIT;
SELECT * FROM notes;

-- restoring the parent makes it referenceable again
SELECT softdelete.restore('customers', 2);
INSERT INTO invoices VALUES (101, 2);
INSERT INTO orders VALUES (21, 2);

-- a soft delete in the same transaction is seen at once
BEGIN;
SELECT softdelete.soft_delete('customers', 3);
INSERT INTO invoices VALUES (105, 3);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- roles that may not read the key get the error without it
GRANT SELECT, INSERT ON orders TO regress_clerk;
GRANT SELECT ON customers TO regress_clerk;
SELECT softdelete.soft_delete('customers', 3);
SET ROLE regress_clerk;
INSERT INTO orders VALUES (30, 3);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_owner;
INSERT INTO orders VALUES (30, 3);
\echo :LAST_ERROR_SQLSTATE

-- composite keys, self-references and partitioned referencing tables
CREATE TABLE folders (tenant int, id int, parent_id int,
                      PRIMARY KEY (tenant, id),
                      FOREIGN KEY (tenant, parent_id) REFERENCES folders);
CREATE TABLE files (tenant int, folder_id int, name text,
                    FOREIGN KEY (tenant, folder_id) REFERENCES folders)
    PARTITION BY LIST (tenant);
CREATE TABLE files_1 PARTITION OF files FOR VALUES IN (1);
SELECT softdelete.enable('folders');
CREATE TABLE files_2 PARTITION OF files FOR VALUES IN (2);
INSERT INTO folders VALUES (1, 1, NULL), (1, 2, 1), (2, 1, NULL);
SELECT softdelete.soft_delete('folders', ROW(1, 2));
SELECT softdelete.soft_delete('folders', ROW(2, 1));
INSERT INTO folders VALUES (1, 3, 2);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO files VALUES (1, 2, 'a');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO files VALUES (2, 1, 'b');     -- a partition made after enable()
\echo :LAST_ERROR_SQLSTATE
INSERT INTO files VALUES (1, 1, 'c');
SELECT tgrelid::regclass AS on_table
  FROM pg_trigger WHERE tgfoid = 'softdelete.reference_check_trigger()'::regprocedure
 ORDER BY tgrelid::regclass::text;

-- the checks are protected as PostgreSQL's own foreign-key triggers are
SELECT regexp_replace(public.outcome(format('DROP TRIGGER %I ON invoices', tgname)), '_[0-9]+', '_N')
  FROM pg_trigger WHERE tgrelid = 'invoices'::regclass
   AND tgfoid = 'softdelete.reference_check_trigger()'::regprocedure;
SELECT regexp_replace(public.outcome(format('ALTER TABLE invoices DISABLE TRIGGER %I', tgname)),
                      '_[0-9]+', '_N')
  FROM pg_trigger WHERE tgrelid = 'invoices'::regclass
   AND tgfoid = 'softdelete.reference_check_trigger()'::regprocedure;
SELECT regexp_replace(public.outcome('ALTER TABLE invoices DISABLE TRIGGER ALL'), '_[0-9]+', '_N');
-- the internal helper is not for PUBLIC
SET ROLE regress_clerk;
SELECT public.outcome('SELECT softdelete.sync_reference_checks(''customers'')');
SET ROLE regress_owner;

-- a foreign key created later gets its check, and takes it along when it
-- goes; ALTER CONSTRAINT carries the deferrability over
CREATE TABLE tickets (id int PRIMARY KEY, customer_id int);
ALTER TABLE tickets ADD FOREIGN KEY (customer_id) REFERENCES customers;
INSERT INTO tickets VALUES (1, 3);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE tickets ALTER CONSTRAINT tickets_customer_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
SELECT tgdeferrable, tginitdeferred FROM pg_trigger
 WHERE tgrelid = 'tickets'::regclass
   AND tgfoid = 'softdelete.reference_check_trigger()'::regprocedure;
ALTER TABLE tickets DROP CONSTRAINT tickets_customer_id_fkey;
INSERT INTO tickets VALUES (1, 3);
SELECT count(*) AS checks_on_tickets FROM pg_trigger
 WHERE tgrelid = 'tickets'::regclass
   AND tgfoid = 'softdelete.reference_check_trigger()'::regprocedure;

-- the check follows a renamed parent and key column (its plan names them)
ALTER TABLE customers RENAME TO clients;
ALTER TABLE clients RENAME COLUMN id TO client_id;
INSERT INTO invoices VALUES (107, 3);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE clients RENAME COLUMN client_id TO id;
ALTER TABLE clients RENAME TO customers;

-- disable() takes the checks away with the rest; enable() brings them back
SELECT softdelete.disable('customers');
SELECT count(*) AS checks FROM pg_trigger
 WHERE tgfoid = 'softdelete.reference_check_trigger()'::regprocedure
   AND tgconstrrelid = 'customers'::regclass;
INSERT INTO invoices VALUES (106, 3);   -- no longer a soft-deletable parent
SELECT softdelete.enable('customers');
SELECT count(*) AS checks FROM pg_trigger
 WHERE tgfoid = 'softdelete.reference_check_trigger()'::regprocedure
   AND tgconstrrelid = 'customers'::regclass;

RESET ROLE;
DROP TABLE tickets, notes, invoices, orders, customers, files, folders;
