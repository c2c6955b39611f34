-- ddl_attacks: DDL, the registry and the event triggers under hostile or
-- careless use.  Every refusal shows its SQLSTATE.
\set VERBOSITY default
SET ROLE regress_owner;
CREATE TABLE guarded (id int PRIMARY KEY, v text);
INSERT INTO guarded VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT softdelete.enable('guarded');
DELETE FROM guarded WHERE id = 3;
GRANT SELECT, DELETE ON guarded TO regress_clerk;
RESET ROLE;

-- a tiny check: what a table has of what enable() installs
CREATE FUNCTION regress_installed(tbl regclass) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT concat_ws(' ',
        'registered=' || EXISTS (SELECT FROM softdelete.registry r WHERE r.tbl = $1),
        'triggers=' || (SELECT count(*) FROM pg_trigger t
                         WHERE t.tgrelid = $1 AND t.tgfoid IN
                           ('softdelete.before_delete_trigger'::regproc,
                            'softdelete.after_delete_trigger'::regproc,
                            'softdelete.truncate_trigger'::regproc)),
        'policies=' || (SELECT count(*) FROM pg_policy p WHERE p.polrelid = $1),
        'rls=' || (SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = $1))
$$;

-- 2. an enable() that fails inside an EXCEPTION block leaves every
-- protection on for the rest of the transaction
CREATE FUNCTION regress_refuse_policy() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('regress.refuse_policy', true) = 'on' THEN
        RAISE EXCEPTION 'regress: no policies today';
    END IF;
END
$$;
CREATE EVENT TRIGGER regress_refuse_policy ON ddl_command_end
    WHEN TAG IN ('CREATE POLICY') EXECUTE FUNCTION regress_refuse_policy();
SET ROLE regress_owner;
CREATE TABLE victim (id int PRIMARY KEY);
BEGIN;
SET LOCAL regress.refuse_policy = on;
DO $$
BEGIN
    PERFORM softdelete.enable('victim');
EXCEPTION WHEN others THEN
    RAISE NOTICE 'enable failed: %', SQLERRM;
END
$$;
ALTER TABLE guarded DROP COLUMN deleted_at CASCADE;  -- fails: still protected
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT regress_installed('victim');
RESET ROLE;
DROP EVENT TRIGGER regress_refuse_policy;
DROP FUNCTION regress_refuse_policy();
SET ROLE regress_owner;
SELECT id FROM guarded ORDER BY id;
RESET ROLE;

-- 1. row_security = off (what pg_dump's scripts set, and anyone may) keeps
-- a restore from duplicating dumped objects, and skips nothing else
SET ROLE regress_owner;
CREATE TABLE meters (id int, part int, PRIMARY KEY (id, part)) PARTITION BY LIST (part);
CREATE TABLE meters_1 PARTITION OF meters FOR VALUES IN (1);
CREATE TABLE meters_2 PARTITION OF meters FOR VALUES IN (2);
SELECT softdelete.enable('meters');
INSERT INTO meters VALUES (1, 1), (2, 1), (3, 2);
DELETE FROM meters WHERE id = 1;
GRANT SELECT, DELETE ON meters, meters_1, meters_2 TO regress_clerk;
SET row_security = off;
-- fails: inheriting from a soft-deletable table is refused all the same
CREATE TABLE heir () INHERITS (guarded);
\echo :LAST_ERROR_SQLSTATE
-- a detached partition becomes soft-deletable on its own all the same
ALTER TABLE meters DETACH PARTITION meters_1;
-- a new partition gets its triggers and filter all the same
CREATE TABLE meters_3 PARTITION OF meters FOR VALUES IN (3);
-- a new table is not auto-enabled: a restore brings the registry's rows
CREATE TABLE restored (id int PRIMARY KEY, deleted_at timestamptz);
RESET row_security;
SELECT regress_installed('meters_1') AS detached,
       regress_installed('meters_3') AS new_partition,
       regress_installed('restored') AS restored;
INSERT INTO meters VALUES (4, 3);
GRANT SELECT, DELETE ON meters_3 TO regress_clerk;
SET ROLE regress_clerk;
DELETE FROM meters_1;
DELETE FROM meters_3;
RESET ROLE;
SELECT tableoid::regclass, id, deleted_at IS NOT NULL AS trashed
  FROM meters_1 UNION ALL SELECT tableoid::regclass, id, deleted_at IS NOT NULL FROM meters
 ORDER BY 1, 2;

-- cleanup
SET ROLE regress_owner;
SELECT softdelete.disable(tbl) FROM softdelete.registry ORDER BY tbl::text;
DROP TABLE guarded, victim, meters, meters_1, restored;
RESET ROLE;
DROP FUNCTION regress_installed(regclass);
