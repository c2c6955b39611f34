-- install: must run first.  Creates the extension and the roles every
-- other test uses; behaviour is tested as these non-superuser roles.
CREATE EXTENSION softdelete;
SELECT extname, extversion, extrelocatable, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'softdelete';
\dx+ softdelete

-- the admin role exists and cannot log in
SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'softdelete_admin';

CREATE ROLE regress_owner;          -- owns the tables
CREATE ROLE regress_owner_member;   -- member of the owning role
GRANT regress_owner TO regress_owner_member;
CREATE ROLE regress_admin;          -- member of softdelete_admin
GRANT softdelete_admin TO regress_admin;
CREATE ROLE regress_clerk;          -- may DELETE, nothing more
CREATE ROLE regress_stranger;       -- no rights at all
GRANT CREATE ON SCHEMA public TO regress_owner;
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_owner', current_database());
END $$;

-- A probe that runs a statement and reports its SQLSTATE and message, for
-- tests that must show the exact error of each refusal on one line.
CREATE FUNCTION public.outcome(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    r text;
BEGIN
    EXECUTE cmd INTO r;
    RETURN 'ok' || coalesce(' ' || nullif(r, ''), '');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END
$$;
GRANT EXECUTE ON FUNCTION public.outcome(text) TO PUBLIC;
