/* softdelete--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION softdelete UPDATE TO '1.1'" to load this file. \quit

/*
 * 1.1 puts a BEFORE UPDATE row trigger on every soft-deletable
 * partitioned table (cloned to its partitions): PostgreSQL deletes a row
 * that an UPDATE moves to another partition, firing BEFORE DELETE
 * triggers, and the row trigger must see that it is a move, not a DELETE.
 */
DO $$
DECLARE
    t pg_catalog.regclass;
BEGIN
    FOR t IN SELECT r.tbl FROM softdelete.registry r
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl
              WHERE c.relkind OPERATOR(pg_catalog.=) 'p'
                AND NOT EXISTS (
                    SELECT FROM pg_catalog.pg_trigger g
                     WHERE g.tgrelid OPERATOR(pg_catalog.=) r.tbl
                       AND g.tgfoid OPERATOR(pg_catalog.=)
                           'softdelete.before_delete_trigger()'::pg_catalog.regprocedure
                       -- ROW | BEFORE | UPDATE
                       AND g.tgtype OPERATOR(pg_catalog.=) 19)
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER softdelete_before_update BEFORE UPDATE ON %s'
            ' FOR EACH ROW EXECUTE FUNCTION softdelete.before_delete_trigger()', t);
    END LOOP;
END
$$;

-- The trash in referential integrity (issue 13) -------------------------
/*
 * The check that no row is inserted, or updated, to reference a trashed
 * row (refcheck.c).  It is created from C as PostgreSQL creates its own
 * foreign-key triggers: internal, tied to the foreign key, on every
 * referencing table of a soft-deletable table; not for calling by hand.
 * Triggers do not check EXECUTE when they fire, so PUBLIC needs nothing.
 */
CREATE FUNCTION softdelete.reference_check_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_reference_check';
COMMENT ON FUNCTION softdelete.reference_check_trigger() IS
    'AFTER INSERT OR UPDATE row trigger of a foreign key to a soft-deletable table: refuses new references to trashed rows';
REVOKE ALL ON FUNCTION softdelete.reference_check_trigger() FROM PUBLIC;

CREATE FUNCTION softdelete.sync_reference_checks(tbl pg_catalog.regclass)
    RETURNS void
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_sync_reference_checks';
COMMENT ON FUNCTION softdelete.sync_reference_checks(pg_catalog.regclass) IS
    'Internal: puts the reference checks on the tables that reference tbl, and removes those no longer wanted (enable, disable and the event trigger do it by themselves)';
REVOKE ALL ON FUNCTION softdelete.sync_reference_checks(pg_catalog.regclass) FROM PUBLIC;
-- Tables enabled under 1.0: their referencing tables get the checks now.
SELECT softdelete.sync_reference_checks(r.tbl)
  FROM softdelete.registry r
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl
 ORDER BY c.oid;
-- End of: the trash in referential integrity (issue 13) -----------------
