-- TRUNCATE on a soft-deletable table is refused, and removes nothing.
SET ROLE regress_owner;
CREATE TABLE boxes (id int PRIMARY KEY);
INSERT INTO boxes VALUES (1), (2);
SELECT softdelete.enable('boxes');
DELETE FROM boxes WHERE id = 2;
TRUNCATE boxes;             -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::boxes) ORDER BY id;

-- also through a partitioned table, and on a partition named directly
CREATE TABLE crates (id int, p int) PARTITION BY LIST (p);
CREATE TABLE crates_1 PARTITION OF crates FOR VALUES IN (1);
INSERT INTO crates VALUES (1, 1);
SELECT softdelete.enable('crates');
TRUNCATE crates;            -- fails
\echo :LAST_ERROR_SQLSTATE
TRUNCATE crates_1;          -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM crates;

-- after disable, TRUNCATE is the table owner's business again
SELECT softdelete.disable('boxes');
TRUNCATE boxes;
SELECT count(*) FROM boxes;
DROP TABLE boxes, crates;
RESET ROLE;
