-- install: must run first.  Creates the extension and the roles every
-- other test uses; behaviour is tested as these non-superuser roles.
CREATE EXTENSION softdelete;
SELECT extname, extversion, extrelocatable, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'softdelete';
-- The extension's members, as \dx+ lists them, less the types PostgreSQL
-- makes on its own: from PostgreSQL 17 (commit e5bc9454e) the row type of
-- each table and view an extension creates, every array type and every
-- multirange type of its types are recorded as members too (pg_depend
-- deptype 'e'), so \dx+ on 17 and 18 shows six "type softdelete.*" lines
-- that 15 does not.  Left out here, so that one expected file serves every
-- major.
SELECT pg_describe_object(d.classid, d.objid, 0) AS "Object description"
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'softdelete')
   AND NOT EXISTS (SELECT FROM pg_type t
                    WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND (t.typtype = 'm'
                           OR EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)
                           OR EXISTS (SELECT FROM pg_class c
                                       WHERE c.reltype = t.oid AND c.relkind <> 'c')))
 ORDER BY 1;

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
