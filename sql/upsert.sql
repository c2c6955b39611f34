-- upsert: INSERT ... ON CONFLICT meeting a trashed row (issue 13).
-- Preloaded (expected/upsert.out): revived for a role that may restore,
-- then the ON CONFLICT action applies; 23505 for any other role.
-- Not preloaded (expected/upsert_1.out): PostgreSQL's own behaviour,
-- shown so that the README's account of it stays true.
SET ROLE regress_owner;
CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL UNIQUE, hits int NOT NULL DEFAULT 0);
SELECT softdelete.enable('tags');
GRANT SELECT, INSERT, UPDATE, DELETE ON tags TO regress_clerk, regress_admin;
INSERT INTO tags VALUES (1, 'red', 1), (2, 'green', 1), (3, 'blue', 1);
DELETE FROM tags WHERE id IN (1, 2);
CREATE FUNCTION tag_state() RETURNS TABLE (id int, name text, hits int, trashed bool)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS
$$ SELECT id, name, hits, deleted_at IS NOT NULL FROM softdelete.with_trash(NULL::public.tags) ORDER BY id $$;
GRANT EXECUTE ON FUNCTION tag_state() TO PUBLIC;

-- the owner: DO UPDATE revives the row, then updates it
INSERT INTO tags VALUES (1, 'red', 1) ON CONFLICT (id) DO UPDATE SET hits = tags.hits + 1
RETURNING id, name, hits, deleted_at IS NULL AS live;
-- DO NOTHING revives it and does nothing more: the row is live
INSERT INTO tags VALUES (2, 'green', 1) ON CONFLICT DO NOTHING;
SELECT * FROM tag_state();

-- a role that may insert and update but not restore: 23505, the key in
-- the detail, nothing changed
DELETE FROM tags WHERE id = 1;
SET ROLE regress_clerk;
INSERT INTO tags VALUES (1, 'red', 1) ON CONFLICT (id) DO UPDATE SET hits = tags.hits + 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO tags VALUES (1, 'red', 1) ON CONFLICT DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
-- the conflict on another unique index names that one
INSERT INTO tags VALUES (9, 'red', 1) ON CONFLICT (name) DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
-- no conflict with the trash: as ever
INSERT INTO tags VALUES (3, 'blue', 1) ON CONFLICT (id) DO UPDATE SET hits = tags.hits + 1;
INSERT INTO tags VALUES (4, 'white', 1) ON CONFLICT DO NOTHING;
-- the error carries the table and the index, as PostgreSQL's own does
DO $$
DECLARE s text; t text; c text; st text;
BEGIN
    INSERT INTO tags VALUES (1, 'red', 1) ON CONFLICT DO NOTHING;
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, s = SCHEMA_NAME,
                            t = TABLE_NAME, c = CONSTRAINT_NAME;
    RAISE NOTICE '% schema=% table=% constraint=%', st, s, t, c;
END $$;
-- members of softdelete_admin may restore: revived
SET ROLE regress_admin;
INSERT INTO tags VALUES (1, 'red', 1) ON CONFLICT (id) DO UPDATE SET hits = 10;
SET ROLE regress_owner;
SELECT * FROM tag_state();

-- the same trashed key twice in one statement: DO UPDATE refuses as
-- PostgreSQL does (21000), and nothing changes; DO NOTHING revives once
DELETE FROM tags WHERE id = 1;
INSERT INTO tags VALUES (1, 'red', 1), (1, 'red', 2) ON CONFLICT (id) DO UPDATE SET hits = excluded.hits;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tag_state() WHERE id = 1;
INSERT INTO tags VALUES (1, 'red', 1), (1, 'red', 2) ON CONFLICT (id) DO NOTHING;
SELECT * FROM tag_state() WHERE id = 1;

-- the row alone comes back, not what its deletion cascaded to; a row
-- whose parent is in the trash is refused as restore refuses it (23503);
-- undo of the deletion brings back the rest later
CREATE TABLE groups (id int PRIMARY KEY, name text);
CREATE TABLE memberships (group_id int REFERENCES groups ON DELETE CASCADE,
                          member text, role text,
                          PRIMARY KEY (group_id, member));
SELECT softdelete.enable('groups'), softdelete.enable('memberships');
INSERT INTO groups VALUES (1, 'ops'), (2, 'dev');
INSERT INTO memberships VALUES (1, 'ann', 'lead'), (1, 'bob', 'staff'), (2, 'cid', 'staff');
DELETE FROM groups WHERE id = 1;
-- fails: the group of (1, ann) is in the trash
INSERT INTO memberships VALUES (1, 'ann', 'staff') ON CONFLICT (group_id, member) DO UPDATE SET role = excluded.role;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO groups VALUES (1, 'ops') ON CONFLICT (id) DO UPDATE SET name = 'operations';
SELECT id, name FROM groups ORDER BY id;
SELECT group_id, member FROM softdelete.trash(NULL::memberships) ORDER BY 1, 2;
-- a two-column key, its parent live now
INSERT INTO memberships VALUES (1, 'ann', 'staff') ON CONFLICT (group_id, member) DO UPDATE SET role = excluded.role;
SELECT group_id, member, role FROM memberships ORDER BY 1, 2;
-- the deletion's undo takes what is left in the trash
SELECT softdelete.undo(max(id)) FROM softdelete.deletions WHERE 'groups'::regclass = ANY (tables);
SELECT group_id, member, role FROM memberships ORDER BY 1, 2;

-- an expression index as the arbiter
CREATE TABLE labels (id serial PRIMARY KEY, name text NOT NULL);
CREATE UNIQUE INDEX labels_lower_name ON labels (lower(name));
SELECT softdelete.enable('labels');
INSERT INTO labels (name) VALUES ('Urgent');
DELETE FROM labels;
INSERT INTO labels (name) VALUES ('URGENT') ON CONFLICT (lower(name)) DO UPDATE SET name = excluded.name
RETURNING id, name;

-- unique among live rows: the trash never conflicts, a new row is made
CREATE TABLE slugs (id int PRIMARY KEY, slug text NOT NULL UNIQUE);
SELECT softdelete.enable('slugs');
SELECT softdelete.unique_among_live('slugs');
INSERT INTO slugs VALUES (1, 'home');
DELETE FROM slugs;
INSERT INTO slugs VALUES (2, 'home') ON CONFLICT (slug) WHERE deleted_at IS NULL DO NOTHING;
SELECT id, slug, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::slugs) ORDER BY id;

-- a partitioned table: the row is found in its partition
CREATE TABLE events (region text, id int, note text, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
CREATE TABLE events_us (note text, id int NOT NULL, region text NOT NULL);  -- another column order
ALTER TABLE events ATTACH PARTITION events_us FOR VALUES IN ('us');
SELECT softdelete.enable('events');
INSERT INTO events VALUES ('eu', 1, 'a'), ('us', 1, 'b');
DELETE FROM events;
INSERT INTO events VALUES ('eu', 1, 'a2'), ('us', 1, 'b2')
    ON CONFLICT (region, id) DO UPDATE SET note = excluded.note;
SELECT tableoid::regclass, region, id, note FROM events ORDER BY 1, 2;

-- prepared statements, PL/pgSQL, a CTE, an exception block
DELETE FROM tags WHERE id IN (1, 2, 3);
PREPARE up(int) AS INSERT INTO tags VALUES ($1, 'p' || $1) ON CONFLICT (id) DO UPDATE SET hits = tags.hits + 100;
EXECUTE up(1);
EXECUTE up(1);
CREATE FUNCTION ensure_tag(i int) RETURNS void LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO tags VALUES (i, 'f' || i) ON CONFLICT DO NOTHING; END $$;
SELECT ensure_tag(2);
WITH up AS (INSERT INTO tags VALUES (3, 'blue') ON CONFLICT (id) DO UPDATE SET hits = 0 RETURNING *)
SELECT id, name, hits FROM up;
SELECT * FROM tag_state();
DELETE FROM tags WHERE id = 3;
SET ROLE regress_clerk;
DO $$
BEGIN
    BEGIN
        INSERT INTO tags VALUES (3, 'blue') ON CONFLICT DO NOTHING;
    EXCEPTION WHEN unique_violation THEN
        RAISE NOTICE 'refused, caught';
    END;
    INSERT INTO tags VALUES (5, 'black') ON CONFLICT DO NOTHING;
END $$;
SET ROLE regress_owner;
SELECT * FROM tag_state();

-- EXPLAIN shows PostgreSQL's own plan
EXPLAIN (COSTS OFF) INSERT INTO tags VALUES (3, 'blue') ON CONFLICT (id) DO NOTHING;

-- no INSERT privilege: PostgreSQL's 42501, before anything of ours
SET ROLE regress_stranger;
INSERT INTO tags VALUES (3, 'blue') ON CONFLICT DO NOTHING;
\echo :LAST_ERROR_SQLSTATE

-- A rule's INSERT ... ON CONFLICT runs as a statement of its own whose
-- ModifyTable does not set the command tag, so PostgreSQL lists it both
-- as the plan and among the secondary ModifyTables: it gets one gate.
SET ROLE regress_owner;
CREATE TABLE tag_log (id int);
CREATE RULE log_tags AS ON INSERT TO tag_log
  DO ALSO INSERT INTO tags VALUES (NEW.id, 'logged') ON CONFLICT (id) DO NOTHING;
INSERT INTO tag_log VALUES (40);
SELECT id, name FROM tags WHERE id = 40;
DROP TABLE tag_log;

RESET ROLE;
DEALLOCATE up;
DROP TABLE tags, memberships, groups, labels, slugs, events;
DROP FUNCTION tag_state(), ensure_tag(int);
