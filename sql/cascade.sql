-- cascade: a soft delete follows each foreign key's ON DELETE action.
SET ROLE regress_owner;

-- a helper that shows every row of a table with its state, as the owner
-- sees it through with_trash(); stamps are shown as their order among the
-- stamps of all three tables, so output does not depend on the clock
CREATE TABLE customers (id int PRIMARY KEY, name text);
CREATE TABLE orders (id int PRIMARY KEY,
                     customer_id int REFERENCES customers ON DELETE CASCADE);
CREATE TABLE lines (id int PRIMARY KEY,
                    order_id int REFERENCES orders ON DELETE CASCADE);
INSERT INTO customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
INSERT INTO orders VALUES (10, 1), (11, 1), (20, 2), (30, 3);
INSERT INTO lines VALUES (100, 10), (101, 10), (110, 11), (200, 20), (300, 30);
SELECT softdelete.enable('customers'), softdelete.enable('orders'), softdelete.enable('lines');

CREATE VIEW state AS
    WITH all_rows AS (
        SELECT 'customers' AS tbl, id, deleted_at FROM softdelete.with_trash(NULL::customers)
        UNION ALL SELECT 'orders', id, deleted_at FROM softdelete.with_trash(NULL::orders)
        UNION ALL SELECT 'lines', id, deleted_at FROM softdelete.with_trash(NULL::lines))
    SELECT tbl, id,
           CASE WHEN deleted_at IS NULL THEN 'live'
                ELSE 'stamp ' || dense_rank() OVER (ORDER BY deleted_at) END AS state
      FROM all_rows;

-- an order deleted first keeps its own, earlier stamp
DELETE FROM orders WHERE id = 11;
-- deleting the customer stamps its live orders and their lines, three levels
DELETE FROM customers WHERE id = 1;
SELECT * FROM state WHERE state <> 'live' ORDER BY tbl, id;
-- one stamp for the whole cascade
SELECT count(DISTINCT deleted_at) AS stamps FROM softdelete.with_trash(NULL::lines)
 WHERE order_id = 10;
-- soft_delete() counts every row stamped, in all tables
SELECT softdelete.soft_delete('customers', 2);
SELECT tbl, id FROM state WHERE state = 'live' ORDER BY tbl, id;
-- normal queries see none of the trashed rows, at any level
SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM orders) AS orders,
       (SELECT count(*) FROM lines) AS lines;

-- RESTRICT and NO ACTION: refused while live referencing rows remain,
-- and nothing changes; trashed referencing rows do not block
CREATE TABLE shelves (id int PRIMARY KEY);
CREATE TABLE books (id int PRIMARY KEY, shelf_id int REFERENCES shelves ON DELETE RESTRICT);
CREATE TABLE loans (id int PRIMARY KEY, shelf_id int REFERENCES shelves);  -- NO ACTION
INSERT INTO shelves VALUES (1), (2), (3);
INSERT INTO books VALUES (1, 1), (2, 2);
INSERT INTO loans VALUES (1, 3);
SELECT softdelete.enable('shelves'), softdelete.enable('books'), softdelete.enable('loans');
\set VERBOSITY default
DELETE FROM shelves WHERE id = 1;          -- fails: RESTRICT
\echo :LAST_ERROR_SQLSTATE
DELETE FROM shelves WHERE id = 3;          -- fails: NO ACTION
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM shelves ORDER BY id;        -- all three still live
DELETE FROM books WHERE id = 1;
DELETE FROM shelves WHERE id = 1;          -- the book is in the trash: allowed
DELETE FROM loans;
SELECT softdelete.soft_delete('shelves', 3);
SELECT id FROM shelves ORDER BY id;
-- the RESTRICT check runs once the whole cascade is done: a lamp that the
-- same deletion trashes (room -> desk -> lamp) does not block its room
CREATE TABLE rooms (id int PRIMARY KEY);
CREATE TABLE desks (id int PRIMARY KEY, room_id int REFERENCES rooms ON DELETE CASCADE);
CREATE TABLE lamps (id int PRIMARY KEY,
                    desk_id int REFERENCES desks ON DELETE CASCADE,
                    room_id int REFERENCES rooms ON DELETE RESTRICT);
INSERT INTO rooms VALUES (1), (2);
INSERT INTO desks VALUES (1, 1), (2, 2);
INSERT INTO lamps VALUES (1, 1, 1), (2, 1, 2);
SELECT softdelete.enable('rooms'), softdelete.enable('desks'), softdelete.enable('lamps');
DELETE FROM rooms WHERE id = 2;            -- fails: lamp 2 stands in room 2 on desk 1
\echo :LAST_ERROR_SQLSTATE
DELETE FROM rooms WHERE id = 1;            -- desk 1 and both its lamps go with it
SELECT id FROM rooms;
SELECT id FROM lamps;
DELETE FROM rooms WHERE id = 2;            -- lamp 2 is in the trash now: allowed
-- deleting the referencing rows first, earlier in the transaction, is fine
CREATE TABLE halls (id int PRIMARY KEY);
CREATE TABLE seats (id int PRIMARY KEY, hall_id int REFERENCES halls ON DELETE RESTRICT);
INSERT INTO halls VALUES (1);
INSERT INTO seats VALUES (1, 1);
SELECT softdelete.enable('halls'), softdelete.enable('seats');
BEGIN;
DELETE FROM seats WHERE hall_id = 1;
DELETE FROM halls WHERE id = 1;
COMMIT;

-- NO ACTION, DEFERRABLE INITIALLY DEFERRED (Django's foreign keys): the
-- check waits for COMMIT, so children deleted later in the transaction count
CREATE TABLE authors (id int PRIMARY KEY);
CREATE TABLE posts (id int PRIMARY KEY,
                    author_id int REFERENCES authors DEFERRABLE INITIALLY DEFERRED);
INSERT INTO authors VALUES (1), (2);
INSERT INTO posts VALUES (1, 1), (2, 2);
SELECT softdelete.enable('authors'), softdelete.enable('posts');
BEGIN;
DELETE FROM authors WHERE id = 1;          -- parent first: no error yet
DELETE FROM posts WHERE author_id = 1;     -- then the child
COMMIT;                                    -- passes
BEGIN;
DELETE FROM authors WHERE id = 2;
COMMIT;                                    -- fails at commit: post 2 is live
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM authors ORDER BY id;        -- author 2 still live: all rolled back
SELECT id FROM posts ORDER BY id;

-- SET NULL and SET DEFAULT: the referencing rows stay as they are, link
-- and all, since the parent still exists in the trash
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE players (id int PRIMARY KEY,
                      team_id int DEFAULT 0 REFERENCES teams ON DELETE SET NULL,
                      coach_team int DEFAULT 0 REFERENCES teams ON DELETE SET DEFAULT);
INSERT INTO teams VALUES (0), (1);
INSERT INTO players VALUES (1, 1, 1);
SELECT softdelete.enable('teams'), softdelete.enable('players');
DELETE FROM teams WHERE id = 1;
SELECT id, team_id, coach_team FROM players;

-- CASCADE into a table that is not soft-deletable refuses the whole
-- statement and changes nothing: never a hard delete on the side
CREATE TABLE folders (id int PRIMARY KEY);
CREATE TABLE files (id int PRIMARY KEY, folder_id int REFERENCES folders ON DELETE CASCADE);
INSERT INTO folders VALUES (1), (2);
INSERT INTO files VALUES (1, 1);
SELECT softdelete.enable('folders');
DELETE FROM folders;                       -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM folders ORDER BY id;
SELECT id FROM files;
DELETE FROM folders WHERE id = 2;          -- nothing references folder 2: allowed
SELECT id FROM folders ORDER BY id;
-- A new row may not reference a trashed parent (issue 13) ...
INSERT INTO files VALUES (2, 2);           -- fails
\echo :LAST_ERROR_SQLSTATE
-- ... but one can from before, say while folders was not soft-deletable;
-- purging that parent would hard-delete the row through CASCADE: refused
SELECT softdelete.disable('folders');
INSERT INTO files VALUES (2, 2);
SELECT softdelete.enable('folders');
SELECT softdelete.purge('folders');        -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM files ORDER BY id;
SELECT id FROM softdelete.trash(NULL::folders);
-- RESTRICT into a table that is not soft-deletable: every row there is live
CREATE TABLE tags (id int PRIMARY KEY);
CREATE TABLE tagged (tag_id int REFERENCES tags ON DELETE RESTRICT);
INSERT INTO tags VALUES (1);
INSERT INTO tagged VALUES (1);
SELECT softdelete.enable('tags');
DELETE FROM tags;                          -- fails
\echo :LAST_ERROR_SQLSTATE

DROP VIEW state;
DROP TABLE lines, orders, customers, loans, books, shelves, lamps, desks, rooms, seats, halls, posts,
           authors, players, teams, files, folders, tagged, tags;
RESET ROLE;
