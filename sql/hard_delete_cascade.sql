-- hard_delete(tbl, key, cascade => true): the live rows below the row
-- through ON DELETE CASCADE keys are removed too, as a plain hard DELETE
-- would remove them (issue 12); RESTRICT / NO ACTION still refuse.
SET ROLE regress_owner;
CREATE TABLE authors (id int PRIMARY KEY);
CREATE TABLE books (id int PRIMARY KEY,
                    author_id int REFERENCES authors ON DELETE CASCADE);
CREATE TABLE chapters (id int PRIMARY KEY,
                       book_id int REFERENCES books ON DELETE CASCADE);
CREATE TABLE reviews (id int PRIMARY KEY,
                      book_id int REFERENCES books ON DELETE RESTRICT);
CREATE TABLE notes (id int PRIMARY KEY,
                    author_id int REFERENCES authors ON DELETE SET NULL);
SELECT softdelete.enable(t)
  FROM unnest(ARRAY['authors', 'books', 'chapters', 'reviews', 'notes']::regclass[]) t;
INSERT INTO authors VALUES (1), (2), (3);
INSERT INTO books VALUES (10, 1), (11, 1), (20, 2), (30, 3), (31, 3);
INSERT INTO chapters VALUES (100, 10), (101, 10), (110, 11), (200, 20), (310, 31);
INSERT INTO reviews VALUES (300, 30), (301, 31);
INSERT INTO notes VALUES (400, 1);
DELETE FROM books WHERE id = 11;            -- book 11 and chapter 110 trashed
DELETE FROM reviews WHERE id = 301;         -- a trashed RESTRICT child

CREATE FUNCTION rows_left() RETURNS TABLE (tbl text, id int, live boolean)
LANGUAGE sql AS $$
    SELECT 'authors', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::authors)
    UNION ALL SELECT 'books', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::books)
    UNION ALL SELECT 'chapters', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::chapters)
    UNION ALL SELECT 'reviews', id, deleted_at IS NULL FROM softdelete.with_trash(NULL::reviews)
    ORDER BY 1, 2
$$;

-- without cascade, live children refuse, as before
SELECT softdelete.hard_delete('authors', 1);                  -- fails: live book 10
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hard_delete('authors', 1, false);           -- fails: the same
\echo :LAST_ERROR_SQLSTATE
-- with cascade: author 1, books 10 and 11, chapters 100, 101 and 110
SELECT softdelete.hard_delete('authors', 1, cascade => true);
SELECT * FROM rows_left();
-- SET NULL is PostgreSQL's own action
SELECT id, author_id FROM softdelete.with_trash(NULL::notes);

-- a RESTRICT key below a CASCADE one still refuses, and nothing changes
SELECT softdelete.hard_delete('authors', 3, cascade => true); -- fails: review 300
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM rows_left() WHERE tbl <> 'chapters' OR id > 300;
-- once that review is gone, the trashed review of book 31 goes with it
SELECT softdelete.hard_delete('reviews', 300);
SELECT softdelete.hard_delete('books', 30, true);
SELECT softdelete.hard_delete('authors', 3, cascade => true);
SELECT * FROM rows_left() WHERE id >= 30 AND id < 400 OR tbl = 'authors';

-- a cascade into a table that is not soft-deletable is PostgreSQL's own,
-- as for a plain DELETE; without cascade it is refused, as before
CREATE TABLE plain_log (id int PRIMARY KEY,
                        author_id int REFERENCES authors ON DELETE CASCADE);
INSERT INTO plain_log VALUES (500, 2);
SELECT softdelete.hard_delete('authors', 2);                  -- fails: live book 20
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hard_delete('authors', 2, cascade => true);
SELECT count(*) AS plain_log_rows FROM plain_log;
SELECT * FROM rows_left();

-- a self-referencing tree: every generation, live or trashed
CREATE TABLE folders (id int PRIMARY KEY,
                      parent_id int REFERENCES folders ON DELETE CASCADE);
SELECT softdelete.enable('folders');
INSERT INTO folders VALUES (1, NULL), (2, 1), (3, 2), (4, 1), (5, NULL), (6, 5), (7, 6);
DELETE FROM folders WHERE id = 3;
SELECT softdelete.hard_delete('folders', 1, cascade => true);
SELECT id FROM softdelete.with_trash(NULL::folders) ORDER BY id;
-- rows that reference each other in a circle cannot go children first:
-- PostgreSQL's own action would reach a row not yet named, so the call
-- is refused and nothing changes
UPDATE folders SET parent_id = 7 WHERE id = 5;    -- 5 -> 7 -> 6 -> 5
SELECT softdelete.hard_delete('folders', 5, cascade => true); -- fails: a cycle
\echo :LAST_ERROR_SQLSTATE
SELECT id, parent_id FROM softdelete.with_trash(NULL::folders) ORDER BY id;

-- only the rows named are removed for real: a row a trigger deletes
-- meanwhile is soft-deleted, as any DELETE would
CREATE TABLE shelves (id int PRIMARY KEY);
CREATE TABLE items (id int PRIMARY KEY,
                    shelf_id int REFERENCES shelves ON DELETE CASCADE);
SELECT softdelete.enable('shelves');
SELECT softdelete.enable('items');
INSERT INTO shelves VALUES (1), (2);
INSERT INTO items VALUES (10, 1), (20, 2);
CREATE FUNCTION also_twenty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM items WHERE id = 20;
    RETURN NULL;
END $$;
CREATE TRIGGER also_twenty AFTER DELETE ON items
    FOR EACH ROW WHEN (OLD.id = 10) EXECUTE FUNCTION also_twenty();
SELECT softdelete.hard_delete('shelves', 1, cascade => true);
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::items);

-- the rights: the owner or softdelete_admin; NULL is refused
GRANT SELECT, DELETE ON shelves, items TO regress_clerk;
SET ROLE regress_clerk;
SELECT softdelete.hard_delete('shelves', 2, cascade => true); -- fails: DELETE right only
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_owner;
SELECT softdelete.hard_delete('shelves', 2, NULL);            -- fails: NULL
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::shelves);

DROP TABLE plain_log, notes, reviews, chapters, books, authors, folders, items, shelves;
DROP FUNCTION rows_left(), also_twenty();
RESET ROLE;
