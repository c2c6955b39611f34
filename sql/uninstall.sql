-- uninstall: must run last.  DROP EXTENSION leaves user tables and rows.
SET ROLE regress_owner;
CREATE TABLE survivor (id int PRIMARY KEY);
INSERT INTO survivor VALUES (1), (2);
SELECT softdelete.enable('survivor');
DELETE FROM survivor WHERE id = 2;
RESET ROLE;
DROP EXTENSION softdelete;      -- fails: the table's triggers depend on it
DROP EXTENSION softdelete CASCADE;
-- the table and both rows are still there; the column keeps the stamp
SELECT id, deleted_at IS NOT NULL AS was_trashed FROM survivor ORDER BY id;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'survivor'::regclass;
DROP TABLE survivor;
DROP FUNCTION public.outcome(text);
REVOKE CREATE ON SCHEMA public FROM regress_owner;
DO $$ BEGIN
    EXECUTE format('REVOKE CREATE ON DATABASE %I FROM regress_owner', current_database());
END $$;
DROP ROLE regress_owner_member, regress_admin, regress_clerk, regress_stranger, regress_owner;
