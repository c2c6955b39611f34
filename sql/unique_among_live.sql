-- unique_among_live(): unique constraints and indexes made unique among
-- live rows, so that a trashed row's values can be used again (issue 12).
-- Their names and everything else about them stay; enable() names those
-- that keep trashed values reserved; disable() puts them back or refuses.
SET ROLE regress_owner;
CREATE TABLE members (
    id int PRIMARY KEY,
    email text,
    handle text,
    team int,
    code text COLLATE "C",
    ref text CONSTRAINT members_ref_key UNIQUE,
    nick text
);
ALTER TABLE members ADD CONSTRAINT members_email_key UNIQUE (email)
    WITH (fillfactor = 80);
COMMENT ON CONSTRAINT members_email_key ON members IS 'one account per address';
-- an expression index that is partial already
CREATE UNIQUE INDEX members_lower_handle ON members (lower(handle)) WHERE team IS NOT NULL;
-- a name to be quoted, an operator class, an ordering, INCLUDE, options
CREATE UNIQUE INDEX "members ""odd"" name; DROP TABLE members" ON members
    (code text_pattern_ops DESC NULLS LAST) INCLUDE (team) WITH (fillfactor = 70);
ALTER TABLE members ADD CONSTRAINT members_team_code UNIQUE NULLS NOT DISTINCT (team, code);
-- deferrable: a partial unique index cannot be deferred, so it stays
ALTER TABLE members ADD CONSTRAINT members_nick_key UNIQUE (nick) DEFERRABLE INITIALLY DEFERRED;
-- a foreign key depends on members_ref_key: it stays
CREATE TABLE invites (id int PRIMARY KEY, ref text REFERENCES members (ref));
-- what the indexes were, to compare with after disable()
CREATE TABLE members_before AS
SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def,
       con.contype, con.condeferrable, con.condeferred,
       coalesce(obj_description(con.oid, 'pg_constraint'),
                obj_description(c.oid, 'pg_class')) AS comment
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
 WHERE i.indrelid = 'members'::regclass;

-- enable() names each one that keeps trashed values and that the call changes
SELECT softdelete.enable('members');

-- bad input and strangers: each refused, nothing changed
SELECT softdelete.unique_among_live(NULL);                  -- fails: NULL
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.unique_among_live('invites');             -- fails: not soft-deletable
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW members_view AS SELECT * FROM members;
SELECT softdelete.unique_among_live('members_view');        -- fails: a view
\echo :LAST_ERROR_SQLSTATE
DROP VIEW members_view;
GRANT SELECT, INSERT, DELETE ON members TO regress_clerk;
SET ROLE regress_clerk;
SELECT softdelete.unique_among_live('members');             -- fails: DELETE right only
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_stranger;
SELECT softdelete.unique_among_live('members');             -- fails: no rights
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_owner;
SELECT count(*) AS recorded FROM softdelete.unique_indexes;

-- a failure halfway changes nothing: a user's event trigger refuses the
-- second index created
RESET ROLE;
CREATE FUNCTION refuse_team_code() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
                WHERE object_identity = 'public.members_team_code') THEN
        RAISE EXCEPTION 'refused by a test event trigger';
    END IF;
END $$;
CREATE EVENT TRIGGER refuse_team_code ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION refuse_team_code();
SET ROLE regress_owner;
SELECT softdelete.unique_among_live('members');             -- fails halfway
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP EVENT TRIGGER refuse_team_code;
DROP FUNCTION refuse_team_code();
SET ROLE regress_owner;
SELECT count(*) AS recorded FROM softdelete.unique_indexes;
SELECT b.relname FROM members_before b
  JOIN pg_index i ON i.indexrelid = to_regclass(quote_ident(b.relname))
 WHERE pg_get_indexdef(i.indexrelid) = b.def ORDER BY 1;

-- the owner's call: the names changed; those left say why
SELECT * FROM softdelete.unique_among_live('members') ORDER BY 1;
SELECT c.relname, pg_get_indexdef(i.indexrelid), con.contype
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
 WHERE i.indrelid = 'members'::regclass ORDER BY 1;
SELECT obj_description('members_email_key'::regclass, 'pg_class') AS comment;
SELECT tbl, index_name, is_constraint, definition
  FROM softdelete.unique_indexes ORDER BY index_name;
-- a second call changes nothing more
SELECT * FROM softdelete.unique_among_live('members');
-- the table was locked ACCESS EXCLUSIVE before anything was read, so no
-- duplicate can slip in between the drop and the create
BEGIN;
SELECT count(*) FROM softdelete.unique_among_live('members');
SELECT mode FROM pg_locks
 WHERE relation = 'members'::regclass AND pid = pg_backend_pid() AND mode = 'AccessExclusiveLock';
ROLLBACK;

-- a trashed row's values can be used again; live rows stay unique
INSERT INTO members (id, email, handle, team, code) VALUES (1, 'a@example.com', 'Ann', 1, 'A');
DELETE FROM members WHERE id = 1;
INSERT INTO members (id, email, handle, team, code) VALUES (2, 'a@example.com', 'ann', 1, 'A');
INSERT INTO members (id, email) VALUES (3, 'a@example.com');   -- fails: live duplicate
\echo :LAST_ERROR_SQLSTATE
-- restoring the old row now fails with 23505 and changes nothing
SELECT softdelete.restore('members', 1);                    -- fails: value taken
\echo :LAST_ERROR_SQLSTATE
SELECT id, email, deleted_at IS NULL AS live
  FROM softdelete.with_trash(NULL::members) ORDER BY id;
-- the deferrable constraint still keeps trashed values reserved
INSERT INTO members (id, nick) VALUES (4, 'x');
DELETE FROM members WHERE id = 4;
BEGIN;
INSERT INTO members (id, nick) VALUES (5, 'x');
COMMIT;                                                     -- fails: deferred 23505
\echo :LAST_ERROR_SQLSTATE

-- disable() while a trashed row duplicates a live one: refused, naming
-- the constraint and the key, and nothing changed
SELECT softdelete.disable('members');                       -- fails: duplicates
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS recorded FROM softdelete.unique_indexes;
SELECT tbl FROM softdelete.tables WHERE tbl = 'members'::regclass;
-- without the duplicate, disable() puts back exactly what was there
SELECT softdelete.hard_delete('members', 1);
SELECT softdelete.disable('members');
SELECT count(*) AS recorded FROM softdelete.unique_indexes;
(SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def,
        con.contype, con.condeferrable, con.condeferred,
        coalesce(obj_description(con.oid, 'pg_constraint'),
                 obj_description(c.oid, 'pg_class')) AS comment
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
  WHERE i.indrelid = 'members'::regclass
 EXCEPT SELECT * FROM members_before)
UNION ALL
(SELECT * FROM members_before
 EXCEPT
 SELECT c.relname, pg_get_indexdef(i.indexrelid), con.contype, con.condeferrable,
        con.condeferred,
        coalesce(obj_description(con.oid, 'pg_constraint'),
                 obj_description(c.oid, 'pg_class'))
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
  WHERE i.indrelid = 'members'::regclass);
SELECT count(*) AS members_indexes FROM members_before;

-- an index dropped meanwhile is not put back, and said so
SELECT softdelete.enable('members');
SELECT * FROM softdelete.unique_among_live('members') ORDER BY 1;
DROP INDEX members_lower_handle;
SELECT softdelete.disable('members');
SELECT count(*) AS recorded FROM softdelete.unique_indexes;

-- dropping the table forgets its records
SELECT softdelete.enable('members');
SELECT * FROM softdelete.unique_among_live('members') ORDER BY 1;
DROP TABLE invites, members;
SELECT count(*) AS recorded FROM softdelete.unique_indexes;

-- partitioned tables: the partitioned table's unique index holds the
-- partition key, as it must; its partitions follow, new ones too
CREATE TABLE events (id int, region text, ref text, PRIMARY KEY (id, region),
                     CONSTRAINT events_ref_region UNIQUE (ref, region))
    PARTITION BY LIST (region);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
ALTER INDEX events_a_ref_region_key RENAME TO "events_a refs";
SELECT softdelete.enable('events');
SELECT softdelete.unique_among_live('events_a');            -- fails: a partition
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM softdelete.unique_among_live('events');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('b');
SELECT c.relname, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid IN ('events'::regclass, 'events_a'::regclass, 'events_b'::regclass)
   AND NOT i.indisprimary ORDER BY 1;
INSERT INTO events VALUES (1, 'a', 'r1'), (2, 'b', 'r2');
DELETE FROM events WHERE ref IN ('r1', 'r2');
INSERT INTO events VALUES (3, 'a', 'r1'), (4, 'b', 'r2');
INSERT INTO events VALUES (5, 'b', 'r2');                   -- fails: live duplicate
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.disable('events');                        -- fails: duplicates
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('events');
SELECT softdelete.disable('events');
SELECT c.relname, pg_get_indexdef(i.indexrelid), con.contype
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
 WHERE i.indrelid IN ('events'::regclass, 'events_a'::regclass, 'events_b'::regclass)
   AND NOT i.indisprimary ORDER BY 1;
DROP TABLE events, members_before;
RESET ROLE;
