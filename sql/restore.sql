-- restore(): brings a row back from the trash.
SET ROLE regress_owner;
CREATE TABLE people (id bigint PRIMARY KEY, email text);
INSERT INTO people VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');
SELECT softdelete.enable('people');
DELETE FROM people WHERE id IN (1, 2);

SELECT softdelete.restore('people', 1);       -- an int key for a bigint column
SELECT id FROM people ORDER BY id;
SELECT deleted_at FROM people WHERE id = 1;   -- NULL again

-- restoring a live row, or a key that does not exist, restores nothing
SELECT softdelete.restore('people', 1);
SELECT softdelete.restore('people', 42);
-- a string key is read by the key type's input function
SELECT softdelete.restore('people', '2'::text);
SELECT id FROM people ORDER BY id;

-- a restore that would break a unique index names the key and changes nothing
CREATE UNIQUE INDEX people_live_email ON people (email) WHERE deleted_at IS NULL;
DELETE FROM people WHERE id = 3;
INSERT INTO people VALUES (4, 'c@x');         -- the address is free among live rows
\set SHOW_CONTEXT never
SELECT softdelete.restore('people', 3);       -- fails: c@x is taken
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT id, email FROM softdelete.trash(NULL::people) ORDER BY id;

-- composite primary keys take a row constructor
CREATE TABLE seats (hall text, num int, PRIMARY KEY (hall, num));
INSERT INTO seats VALUES ('A', 1), ('A', 2), ('B', 1);
SELECT softdelete.enable('seats');
DELETE FROM seats WHERE hall = 'A';
SELECT softdelete.restore('seats', ROW('A', 2));
SELECT hall, num FROM seats ORDER BY 1, 2;

-- a UUID key, typed or as text; a bare literal has no type for anyelement
CREATE TABLE tokens (id uuid PRIMARY KEY);
INSERT INTO tokens VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
                          ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT softdelete.enable('tokens');
DELETE FROM tokens;
SELECT softdelete.restore('tokens', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid);
SELECT softdelete.restore('tokens', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::text);
SELECT softdelete.restore('tokens', 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');  -- fails: untyped
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM tokens;

-- a key type whose equality lives outside pg_catalog: citext's own
-- case-insensitive "=" is used, not text's
RESET ROLE;
CREATE EXTENSION citext;
SET ROLE regress_owner;
CREATE TABLE handles (name citext PRIMARY KEY);
INSERT INTO handles VALUES ('Alice'), ('bob');
SELECT softdelete.enable('handles');
DELETE FROM handles;
SELECT softdelete.restore('handles', 'ALICE'::citext);
SELECT softdelete.restore('handles', ARRAY['BOB']::citext[]);
SELECT name FROM handles ORDER BY name;

DROP TABLE people, seats, tokens, handles;
RESET ROLE;
DROP EXTENSION citext;
SET ROLE regress_owner;
RESET ROLE;
