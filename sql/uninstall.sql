-- uninstall: must run last.  DROP EXTENSION is refused while tables are
-- soft-deletable (CASCADE would quietly make DELETE hard again); after
-- disable it goes, and leaves user tables and rows.
SET ROLE regress_owner;
CREATE TABLE survivor (id int PRIMARY KEY);
INSERT INTO survivor VALUES (1), (2);
SELECT softdelete.enable('survivor');
DELETE FROM survivor WHERE id = 2;
RESET ROLE;
\set VERBOSITY default
DROP EXTENSION softdelete;             -- fails
DROP EXTENSION softdelete CASCADE;     -- fails too
DROP SCHEMA softdelete CASCADE;        -- and so does this
SELECT softdelete.disable(tbl) FROM softdelete.tables;
DROP EXTENSION softdelete;
-- the table and both rows are still there; the column keeps the stamp;
-- nothing of the extension is left on the table
SELECT id, deleted_at IS NOT NULL AS was_trashed FROM survivor ORDER BY id;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'survivor'::regclass;
SELECT count(*) AS policies_left FROM pg_policy WHERE polrelid = 'survivor'::regclass;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'survivor'::regclass;
DROP TABLE survivor;
DROP FUNCTION public.outcome(text);
REVOKE CREATE ON SCHEMA public FROM regress_owner;
DO $$ BEGIN
    EXECUTE format('REVOKE CREATE ON DATABASE %I FROM regress_owner', current_database());
END $$;
DROP ROLE regress_owner_member, regress_admin, regress_clerk, regress_stranger, regress_owner;
