-- shapes that must terminate and be right: self-references, cycles,
-- composite keys, several keys between two tables, partitioned tables on
-- either side, keys referencing a unique constraint.
SET ROLE regress_owner;

-- a chain of managers
CREATE TABLE staff (id int PRIMARY KEY, manager_id int REFERENCES staff ON DELETE CASCADE);
INSERT INTO staff VALUES (1, NULL), (2, 1), (3, 2), (4, 3), (5, 1), (6, NULL);
SELECT softdelete.enable('staff');
DELETE FROM staff WHERE id = 2;            -- 2 and everyone under it
SELECT id FROM staff ORDER BY id;
SELECT softdelete.restore('staff', 2);     -- 2, 3, 4
SELECT softdelete.soft_delete('staff', 1); -- the whole tree under 1: 5 rows
SELECT softdelete.restore('staff', 1);
SELECT id FROM staff ORDER BY id;
-- a row that references itself
INSERT INTO staff VALUES (7, 7);
SELECT softdelete.soft_delete('staff', 7);
SELECT softdelete.restore('staff', 7);

-- a cycle between two tables (deferred keys, CASCADE both ways)
CREATE TABLE husbands (id int PRIMARY KEY, wife_id int);
CREATE TABLE wives (id int PRIMARY KEY, husband_id int REFERENCES husbands ON DELETE CASCADE);
ALTER TABLE husbands ADD FOREIGN KEY (wife_id) REFERENCES wives ON DELETE CASCADE
    DEFERRABLE INITIALLY DEFERRED;
INSERT INTO husbands VALUES (1, NULL);
INSERT INTO wives VALUES (1, 1);
UPDATE husbands SET wife_id = 1;
SELECT softdelete.enable('husbands'), softdelete.enable('wives');
SELECT softdelete.soft_delete('husbands', 1);  -- both, and it stops
SELECT softdelete.restore('wives', 1);          -- both again
SELECT (SELECT count(*) FROM husbands) AS husbands, (SELECT count(*) FROM wives) AS wives;

-- composite keys, and two foreign keys between the same two tables
CREATE TABLE accounts (bank text, num int, PRIMARY KEY (bank, num));
CREATE TABLE transfers (id int PRIMARY KEY,
    from_bank text, from_num int, to_bank text, to_num int,
    FOREIGN KEY (from_bank, from_num) REFERENCES accounts ON DELETE CASCADE,
    FOREIGN KEY (to_bank, to_num) REFERENCES accounts ON DELETE CASCADE);
INSERT INTO accounts VALUES ('A', 1), ('A', 2), ('B', 1);
INSERT INTO transfers VALUES (1, 'A', 1, 'A', 2), (2, 'A', 2, 'B', 1), (3, 'B', 1, 'A', 1);
SELECT softdelete.enable('accounts'), softdelete.enable('transfers');
SELECT softdelete.soft_delete('accounts', ROW('A', 2));   -- the account and transfers 1, 2
SELECT id FROM transfers ORDER BY id;
SELECT softdelete.restore('accounts', ROW('A', 2));
SELECT id FROM transfers ORDER BY id;

-- a key that references a unique constraint, not the primary key
CREATE TABLE products (id int PRIMARY KEY, sku text UNIQUE);
CREATE TABLE prices (id int PRIMARY KEY, sku text REFERENCES products (sku) ON DELETE CASCADE);
INSERT INTO products VALUES (1, 'x-1'), (2, 'x-2');
INSERT INTO prices VALUES (1, 'x-1'), (2, 'x-2'), (3, 'x-1');
SELECT softdelete.enable('products'), softdelete.enable('prices');
DELETE FROM products WHERE sku = 'x-1';
SELECT id FROM prices ORDER BY id;
SELECT softdelete.restore('products', 1);
SELECT id FROM prices ORDER BY id;

-- partitioned tables on both sides
CREATE TABLE regions (id int, zone int, PRIMARY KEY (id, zone)) PARTITION BY LIST (zone);
CREATE TABLE regions_1 PARTITION OF regions FOR VALUES IN (1);
CREATE TABLE regions_2 PARTITION OF regions FOR VALUES IN (2);
CREATE TABLE shops (id int, zone int, region_id int, PRIMARY KEY (id, zone),
    FOREIGN KEY (region_id, zone) REFERENCES regions ON DELETE CASCADE) PARTITION BY LIST (zone);
CREATE TABLE shops_1 PARTITION OF shops FOR VALUES IN (1);
CREATE TABLE shops_2 PARTITION OF shops FOR VALUES IN (2);
INSERT INTO regions VALUES (1, 1), (2, 2);
INSERT INTO shops VALUES (1, 1, 1), (2, 1, 1), (3, 2, 2);
SELECT softdelete.enable('regions'), softdelete.enable('shops');
DELETE FROM regions_1;                     -- a partition, named directly
SELECT id, zone FROM shops ORDER BY id;
SELECT softdelete.restore('regions', ROW(1, 1));
SELECT id, zone FROM shops ORDER BY id;
DELETE FROM regions WHERE zone = 2;        -- through the parent
SELECT id, zone FROM softdelete.trash(NULL::shops) ORDER BY id;

-- purge and hard_delete take trashed descendants with them, children
-- first; a live descendant refuses the removal and nothing changes
SELECT softdelete.purge('regions');        -- region 2 and shop 3
SELECT id FROM softdelete.with_trash(NULL::shops) ORDER BY id;
DELETE FROM shops WHERE id = 2;
\set VERBOSITY default
SELECT softdelete.hard_delete('regions', ROW(1, 1));   -- fails: shop 1 is live
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.soft_delete('shops', ROW(1, 1));
SELECT softdelete.hard_delete('regions', ROW(1, 1));   -- region 1, shops 1 and 2
SELECT count(*) AS regions, (SELECT count(*) FROM softdelete.with_trash(NULL::shops)) AS shops
  FROM softdelete.with_trash(NULL::regions);
-- the manager chain: purge removes the whole trashed tree in one call
SELECT softdelete.soft_delete('staff', 1);
SELECT softdelete.purge('staff');
SELECT id FROM softdelete.with_trash(NULL::staff) ORDER BY id;

DROP TABLE staff, transfers, accounts, prices, products, shops, regions;
ALTER TABLE husbands DROP CONSTRAINT husbands_wife_id_fkey;
DROP TABLE wives, husbands;
RESET ROLE;
