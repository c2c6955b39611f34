-- identifiers that need quoting: every name the extension puts into SQL
-- is quoted, so odd names work and hostile names do nothing.
SET ROLE regress_owner;
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."My ""Quoted"" Table" ("Key Col" int PRIMARY KEY, "Value" text);
CREATE TABLE "x""; DROP TABLE victim;--" (id int PRIMARY KEY);
CREATE TABLE "MixedCase" ("ID" int PRIMARY KEY);
CREATE TABLE victim (id int);
INSERT INTO "Odd Schema"."My ""Quoted"" Table" VALUES (1, 'a'), (2, 'b');
INSERT INTO "x""; DROP TABLE victim;--" VALUES (1), (2);
INSERT INTO "MixedCase" VALUES (1), (2);

SELECT softdelete.enable('"Odd Schema"."My ""Quoted"" Table"', 'Gone At; DROP TABLE victim');
SELECT softdelete.enable('"x""; DROP TABLE victim;--"');
SELECT softdelete.enable('"MixedCase"', 'DeletedAt');
SELECT schema_name, table_name, column_name, primary_key FROM softdelete.tables ORDER BY table_name;

DELETE FROM "Odd Schema"."My ""Quoted"" Table" WHERE "Key Col" = 1;
DELETE FROM "x""; DROP TABLE victim;--" WHERE id = 1;
DELETE FROM "MixedCase" WHERE "ID" = 1;
SELECT "Key Col" FROM "Odd Schema"."My ""Quoted"" Table";
SELECT "Key Col", "Gone At; DROP TABLE victim" IS NOT NULL AS trashed
  FROM softdelete.trash(NULL::"Odd Schema"."My ""Quoted"" Table");
SELECT id FROM softdelete.trash(NULL::"x""; DROP TABLE victim;--");
SELECT "ID" FROM softdelete.trash(NULL::"MixedCase");

SELECT softdelete.restore('"Odd Schema"."My ""Quoted"" Table"', 1);
SELECT softdelete.soft_delete('"x""; DROP TABLE victim;--"', 2);
SELECT softdelete.hard_delete('"MixedCase"', 2);
SELECT softdelete.purge('"x""; DROP TABLE victim;--"');
SELECT id FROM softdelete.with_trash(NULL::"x""; DROP TABLE victim;--");
TRUNCATE "x""; DROP TABLE victim;--";   -- fails, and the message quotes nothing away

SELECT softdelete.disable('"Odd Schema"."My ""Quoted"" Table"');
SELECT softdelete.disable('"x""; DROP TABLE victim;--"');
SELECT softdelete.disable('"MixedCase"');
-- the victim survived every call
SELECT count(*) AS victim_rows FROM victim;

DROP SCHEMA "Odd Schema" CASCADE;
DROP TABLE "x""; DROP TABLE victim;--", "MixedCase", victim;
RESET ROLE;
