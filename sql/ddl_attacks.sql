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

-- 3. our triggers and policies are known by what they are, not by name:
-- renamed, they are still protected, still work, and disable() finds them
SET ROLE regress_owner;
ALTER TRIGGER softdelete_before_delete ON guarded RENAME TO renamed_row;
DROP TRIGGER renamed_row ON guarded;                -- fails
\echo :LAST_ERROR_SQLSTATE
ALTER TRIGGER softdelete_after_delete ON guarded RENAME TO renamed_stmt;
DROP TRIGGER renamed_stmt ON guarded;               -- fails
\echo :LAST_ERROR_SQLSTATE
ALTER POLICY softdelete_filter ON guarded RENAME TO renamed_filter;
DROP POLICY renamed_filter ON guarded;              -- fails
\echo :LAST_ERROR_SQLSTATE
ALTER POLICY softdelete_allow ON guarded RENAME TO renamed_allow;
DROP POLICY renamed_allow ON guarded;               -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT regress_installed('guarded');
SET ROLE regress_clerk;
DELETE FROM guarded WHERE id = 2;
SELECT id FROM guarded ORDER BY id;
SET ROLE regress_owner;
SELECT id FROM softdelete.trash(NULL::guarded) ORDER BY id;
SELECT softdelete.restore('guarded', 2);
-- a trigger or policy of the user's own that merely looks like ours may go
CREATE POLICY softdelete_lookalike ON guarded AS RESTRICTIVE FOR SELECT USING (deleted_at IS NULL);
DROP POLICY softdelete_lookalike ON guarded;
-- and does not pass for ours: enable() installs the real one beside it
CREATE TABLE mimic (id int PRIMARY KEY, deleted_at timestamptz);
SELECT softdelete.disable('mimic');
CREATE TRIGGER mimic_row BEFORE DELETE ON mimic FOR EACH ROW WHEN (false)
    EXECUTE FUNCTION softdelete.before_delete_trigger();
CREATE POLICY mimic_filter ON mimic AS RESTRICTIVE FOR SELECT USING (deleted_at IS NULL);
SELECT softdelete.enable('mimic');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'mimic'::regclass ORDER BY tgname;
SELECT polname FROM pg_policy WHERE polrelid = 'mimic'::regclass ORDER BY polname;
DROP TRIGGER mimic_row ON mimic;
-- disable() removes ours, renamed or not
SELECT softdelete.disable('guarded');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'guarded'::regclass ORDER BY tgname;
SELECT polname FROM pg_policy WHERE polrelid = 'guarded'::regclass ORDER BY polname;
SELECT softdelete.enable('guarded');
SELECT regress_installed('guarded');

-- 4. enable() does not take a registry row on trust: a row that a dropped
-- table left behind (here planted by hand) does not stop it installing
CREATE TABLE heirloom (id int PRIMARY KEY, v text);
INSERT INTO heirloom VALUES (1, 'x'), (2, 'y');
RESET ROLE;
INSERT INTO softdelete.registry (tbl, column_name, rls_was_enabled, rls_was_forced)
    VALUES ('heirloom', 'deleted_at', true, true);
SET ROLE regress_owner;
ALTER TABLE heirloom ADD COLUMN deleted_at timestamptz;
SELECT softdelete.enable('heirloom');
SELECT regress_installed('heirloom');
SELECT rls_was_enabled, rls_was_forced FROM softdelete.registry WHERE tbl = 'heirloom'::regclass;
DELETE FROM heirloom WHERE id = 1;
SELECT id FROM heirloom;
SELECT id FROM softdelete.trash(NULL::heirloom);
-- a disabled trigger is not installed either
ALTER TABLE heirloom DISABLE TRIGGER softdelete_before_delete;
SELECT softdelete.enable('heirloom');
SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'heirloom'::regclass AND tgname = 'softdelete_before_delete';
RESET ROLE;

-- 4. temporary tables and copies of data are never enabled by the event
-- trigger; enable() refuses a temporary table (it would leave its registry
-- row behind at session end)
SET ROLE regress_owner;
CREATE TEMP TABLE scratch (id int PRIMARY KEY, deleted_at timestamptz);
SELECT regress_installed('scratch');
SELECT softdelete.enable('scratch');                -- fails
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE trash_copy AS SELECT * FROM softdelete.trash(NULL::guarded);
SELECT * INTO trash_copy2 FROM softdelete.trash(NULL::guarded);
SELECT regress_installed('trash_copy') AS create_as, regress_installed('trash_copy2') AS select_into;
SELECT id, deleted_at IS NOT NULL AS trashed FROM trash_copy;
DROP TABLE scratch, trash_copy, trash_copy2;
-- a registry row that names no table does not hold up DROP EXTENSION
RESET ROLE;
BEGIN;
INSERT INTO softdelete.registry (tbl, column_name, rls_was_enabled, rls_was_forced)
    VALUES (4000000000::oid, 'deleted_at', false, false);
SELECT count(*) AS listed FROM softdelete.tables WHERE tbl = 4000000000::oid;
SELECT softdelete.disable(tbl) FROM softdelete.tables ORDER BY tbl::text;
DROP EXTENSION softdelete;
ROLLBACK;

-- 5. no trash shows through a parent that is not soft-deletable
SET ROLE regress_owner;
CREATE TABLE base (id int PRIMARY KEY);
CREATE TABLE derived (deleted_at timestamptz) INHERITS (base);   -- not auto-enabled
SELECT regress_installed('derived');
SELECT softdelete.enable('derived');                -- fails
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE ledger (id int, part int, PRIMARY KEY (id, part)) PARTITION BY LIST (part);
CREATE TABLE ledger_1 PARTITION OF ledger FOR VALUES IN (1);
SELECT softdelete.enable('ledger_1');               -- fails
\echo :LAST_ERROR_SQLSTATE
-- a partitioned table disabled on purpose: its new partitions stay plain too
CREATE TABLE journal (id int, part int, deleted_at timestamptz, PRIMARY KEY (id, part))
    PARTITION BY LIST (part);
SELECT softdelete.disable('journal');
CREATE TABLE journal_1 PARTITION OF journal FOR VALUES IN (1);
SELECT regress_installed('journal_1');
-- nor may a soft-deletable table be attached to it
CREATE TABLE journal_2 (id int NOT NULL, part int NOT NULL, deleted_at timestamptz);  -- auto-enabled
ALTER TABLE journal ATTACH PARTITION journal_2 FOR VALUES IN (2);    -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT relispartition FROM pg_class WHERE oid = 'journal_2'::regclass;

-- 6. a generated stamp column is refused, by enable() and by auto-enable
CREATE TABLE computed (id int PRIMARY KEY,
                       deleted_at timestamptz GENERATED ALWAYS AS ('2000-01-01'::timestamptz) STORED);  -- fails
\echo :LAST_ERROR_SQLSTATE
SET softdelete.auto_enable = off;
CREATE TABLE computed (id int PRIMARY KEY,
                       gone_at timestamptz GENERATED ALWAYS AS (NULL::timestamptz) STORED);
RESET softdelete.auto_enable;
SELECT softdelete.enable('computed', 'gone_at');    -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT regress_installed('computed');

-- 7. so is a table partitioned on its stamp column, at any level
CREATE TABLE by_stamp (id int, deleted_at timestamptz) PARTITION BY RANGE (deleted_at);  -- fails
\echo :LAST_ERROR_SQLSTATE
SET softdelete.auto_enable = off;
CREATE TABLE by_stamp (id int, deleted_at timestamptz) PARTITION BY RANGE (deleted_at);
CREATE TABLE by_day (id int, gone_at timestamptz) PARTITION BY LIST ((gone_at IS NULL));
RESET softdelete.auto_enable;
SELECT softdelete.enable('by_stamp');               -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.enable('by_day', 'gone_at');      -- fails
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE layered (id int, part int, deleted_at timestamptz) PARTITION BY LIST (part);
CREATE TABLE layered_1 PARTITION OF layered FOR VALUES IN (1)
    PARTITION BY RANGE (deleted_at);                 -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT regress_installed('by_stamp') AS by_stamp, regress_installed('by_day') AS by_day;
RESET ROLE;

-- 8. softdelete.stamp() by hand, by anyone: one clean error, whichever
-- way it is called
SET ROLE regress_stranger;
SELECT softdelete.stamp(0, '(0,1)');                -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.stamp('guarded'::regclass, '(0,1)');  -- fails
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.stamp('meters'::regclass, '(0,1)');   -- fails
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_owner;
SELECT softdelete.stamp(tableoid, ctid) FROM guarded;   -- fails
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW stamper AS SELECT softdelete.stamp(tableoid, ctid) AS s FROM guarded;
SELECT s FROM stamper;                               -- fails
\echo :LAST_ERROR_SQLSTATE
DROP VIEW stamper;
RESET ROLE;

-- 9. foreign-key refusals carry the schema, table and constraint name
-- (as core's do), and show key values only to a role that may read them
SET ROLE regress_owner;
CREATE TABLE lender (id int PRIMARY KEY);
CREATE TABLE loan (id int PRIMARY KEY, lender_id int REFERENCES lender ON DELETE RESTRICT);
SELECT softdelete.enable('lender'), softdelete.enable('loan');
INSERT INTO lender VALUES (1), (2);
INSERT INTO loan VALUES (10, 1);
GRANT SELECT, DELETE ON lender TO regress_clerk;
CREATE FUNCTION diag(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; sch text; tbl text; con text; det text;
BEGIN
    EXECUTE cmd;
    RETURN 'ok';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, sch = SCHEMA_NAME,
        tbl = TABLE_NAME, con = CONSTRAINT_NAME, det = PG_EXCEPTION_DETAIL;
    RETURN concat_ws(' | ', st, sch, tbl, con, det);
END
$$;
GRANT EXECUTE ON FUNCTION diag(text) TO regress_clerk;
SELECT diag('DELETE FROM lender WHERE id = 1');
SET ROLE regress_clerk;
SELECT diag('DELETE FROM lender WHERE id = 1');
SET ROLE regress_owner;
DELETE FROM loan;
DELETE FROM lender WHERE id = 1;
SELECT diag($$SELECT softdelete.restore('loan', 10)$$);
SELECT softdelete.restore('lender', 1), softdelete.restore('loan', 10);
RESET ROLE;

-- ALTER POLICY on our filter (review R3): widening it, or giving it to one
-- role only, would show the trash; refused, nothing changes.  The table's
-- own policies may be altered as usual.
SET ROLE regress_owner;
CREATE TABLE altered (id int PRIMARY KEY);
SELECT softdelete.enable('altered');
CREATE POLICY mine ON altered FOR SELECT USING (true);
SELECT diag($$ALTER POLICY softdelete_filter ON altered USING (true)$$);
SELECT diag($$ALTER POLICY softdelete_filter ON altered TO regress_clerk$$);
SELECT diag($$ALTER POLICY mine ON altered USING (id > 0)$$);
SELECT pg_get_expr(polqual, polrelid) AS filter FROM pg_policy
 WHERE polrelid = 'altered'::regclass AND polname = 'softdelete_filter';
SELECT softdelete.disable('altered');
DROP TABLE altered;
RESET ROLE;

-- cleanup
SET ROLE regress_owner;
SELECT softdelete.disable(tbl) FROM softdelete.registry ORDER BY tbl::text;
DROP TABLE guarded, victim, meters, meters_1, restored, mimic, heirloom, base, derived,
    ledger, journal, journal_2, computed, by_stamp, by_day, layered, loan, lender;
DROP FUNCTION diag(text);
RESET ROLE;
DROP FUNCTION regress_installed(regclass);
