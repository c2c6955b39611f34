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

-- Retention (issue 11) ---------------------------------------------------
/*
 * How long each table keeps its trash: softdelete.registry.retention
 * (NULL: until purged by hand), shown by softdelete.tables, set by
 * set_retention(); purge_expired() empties every bin by it.
 */
ALTER TABLE softdelete.registry
    ADD COLUMN retention pg_catalog.interval
        CONSTRAINT registry_retention_not_negative
        CHECK (retention OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval);
COMMENT ON COLUMN softdelete.registry.retention IS
    'How long trashed rows are kept before softdelete.purge_expired() removes them; NULL: until purged by hand';

CREATE OR REPLACE VIEW softdelete.tables AS
    SELECT n.nspname AS schema_name,
           c.relname AS table_name,
           r.tbl AS tbl,
           r.column_name,
           c.relkind OPERATOR(pg_catalog.=) 'p' AS partitioned,
           (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
              FROM pg_catalog.pg_index i
              CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a
                ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
               AND a.attnum OPERATOR(pg_catalog.=) k.attnum
             WHERE i.indrelid OPERATOR(pg_catalog.=) r.tbl
               AND i.indisprimary) AS primary_key,
           r.rls_was_enabled,
           r.rls_was_forced,
           r.enabled_at,
           r.retention
      FROM softdelete.registry r
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace;
COMMENT ON VIEW softdelete.tables IS
    'Each soft-deletable table, its stamp column, its primary key, what disable() will put back, and its retention';

CREATE FUNCTION softdelete.set_retention(tbl pg_catalog.regclass,
                                         keep pg_catalog.interval)
    RETURNS void
    LANGUAGE C CALLED ON NULL INPUT SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_set_retention';
COMMENT ON FUNCTION softdelete.set_retention(pg_catalog.regclass, pg_catalog.interval) IS
    'Keeps the table''s trashed rows for keep, then softdelete.purge_expired() removes them; NULL keeps them until purged by hand';

/*
 * A procedure commits between its batches, which PostgreSQL allows only
 * to a procedure without SET clauses: purge_expired pins no search_path.
 * Its SQL is fully qualified, and the table's own triggers resolve names
 * as they would for the caller's DELETE, as with purge().
 */
CREATE PROCEDURE softdelete.purge_expired(batch_rows pg_catalog.int4 DEFAULT 10000)
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_purge_expired';
COMMENT ON PROCEDURE softdelete.purge_expired(pg_catalog.int4) IS
    'For every table with a retention, permanently removes the rows trashed longer ago than it, children first, at most batch_rows rows per transaction; CALL it outside a transaction block';
-- end of Retention (issue 11) --------------------------------------------
