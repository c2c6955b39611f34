-- search_path attack: look-alike functions and operators planted in a
-- schema the caller puts first do not change what the extension does.
SET ROLE regress_owner;
CREATE SCHEMA trap;
CREATE TABLE trap.accounts (id int PRIMARY KEY);
INSERT INTO trap.accounts SELECT generate_series(1, 4);

-- an "=" for int that matches everything, a now() that lies, and an
-- "IS NULL"-ish helper: none may be picked up by our SQL
CREATE FUNCTION trap.always_true(int, int) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR trap.= (LEFTARG = int, RIGHTARG = int, FUNCTION = trap.always_true);
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '2000-01-01'::timestamptz$$;
CREATE FUNCTION trap.always_true_ts(timestamptz, timestamptz) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR trap.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = trap.always_true_ts);
SET search_path = trap, pg_catalog, public;

SELECT softdelete.enable('accounts');
SELECT softdelete.soft_delete('accounts', 1);           -- one row, not all
SELECT softdelete.restore('accounts', 1);                -- one row, not all
DELETE FROM accounts WHERE id OPERATOR(pg_catalog.=) 2;   -- our own query, qualified
SELECT softdelete.purge('accounts', '1 year');           -- 0: row 2 is new
SELECT softdelete.hard_delete('accounts', 3);            -- one row, not all
SELECT id, deleted_at IS NULL AS live,
       deleted_at OPERATOR(pg_catalog.>) '2020-01-01' AS stamped_with_real_time
  FROM softdelete.with_trash(NULL::accounts) ORDER BY id;
SELECT softdelete.disable('accounts');

RESET search_path;
DROP SCHEMA trap CASCADE;
RESET ROLE;
