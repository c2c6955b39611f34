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
