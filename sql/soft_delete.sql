-- soft_delete(): DELETE of one row by its primary key, as the caller.
SET ROLE regress_owner;
CREATE TABLE cards (id int PRIMARY KEY, holder text);
INSERT INTO cards SELECT g, 'h' || g FROM generate_series(1, 4) g;
SELECT softdelete.enable('cards');
GRANT SELECT, DELETE ON cards TO regress_clerk;
GRANT SELECT ON cards TO regress_stranger;

SELECT softdelete.soft_delete('cards', 1);     -- 1 row stamped
SELECT softdelete.soft_delete('cards', 1);     -- already in the trash: 0
SELECT softdelete.soft_delete('cards', 99);    -- no such row: 0
SELECT id FROM cards ORDER BY id;

-- the caller's privileges decide, as for DELETE
SET ROLE regress_clerk;
SELECT softdelete.soft_delete('cards', 2);
SET ROLE regress_stranger;
SELECT softdelete.soft_delete('cards', 3);     -- fails: no DELETE privilege
SET ROLE regress_owner;
SELECT id FROM cards ORDER BY id;

-- ...and so do the table's own row-level security policies for DELETE
CREATE TABLE desks (id int PRIMARY KEY, floor int);
INSERT INTO desks VALUES (1, 1), (2, 2);
CREATE POLICY see_all ON desks FOR SELECT USING (true);
CREATE POLICY delete_floor_1 ON desks FOR DELETE USING (floor = 1);
ALTER TABLE desks ENABLE ROW LEVEL SECURITY;
SELECT softdelete.enable('desks');
GRANT SELECT, DELETE ON desks TO regress_clerk;
SET ROLE regress_clerk;
SELECT softdelete.soft_delete('desks', 2);     -- policy says no: 0
SELECT softdelete.soft_delete('desks', 1);
SELECT id FROM desks ORDER BY id;
SET ROLE regress_owner;

-- composite key
CREATE TABLE pairs (a int, b text, PRIMARY KEY (a, b));
INSERT INTO pairs VALUES (1, 'x'), (1, 'y');
SELECT softdelete.enable('pairs');
SELECT softdelete.soft_delete('pairs', ROW(1, 'y'));
SELECT a, b FROM pairs;

DROP TABLE cards, desks, pairs;
RESET ROLE;
