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

-- Unique among live rows; hard_delete cascade (issue 12)

/*
 * The unique constraints and indexes that softdelete.unique_among_live()
 * made unique among live rows, and what each was: a constraint's
 * definition, after "ADD CONSTRAINT <name>", or an index's, after "ON <table>".
 * softdelete.disable() puts them back from here.  A row goes with its
 * table's registry row.
 */
CREATE TABLE softdelete.unique_indexes (
    tbl           pg_catalog.regclass NOT NULL
                  REFERENCES softdelete.registry (tbl) ON DELETE CASCADE,
    index_name    pg_catalog.name NOT NULL,
    is_constraint pg_catalog.bool NOT NULL,
    definition    pg_catalog.text NOT NULL,
    changed_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tbl, index_name)
);
COMMENT ON TABLE softdelete.unique_indexes IS
    'Unique constraints and indexes made unique among live rows by unique_among_live(), and what disable() puts back';
SELECT pg_catalog.pg_extension_config_dump('softdelete.unique_indexes', '');
REVOKE ALL ON softdelete.unique_indexes FROM PUBLIC;
GRANT SELECT ON softdelete.unique_indexes TO PUBLIC;

CREATE FUNCTION softdelete.unique_among_live(tbl pg_catalog.regclass)
    RETURNS SETOF pg_catalog.name
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_unique_among_live';
COMMENT ON FUNCTION softdelete.unique_among_live(pg_catalog.regclass) IS
    'Makes the table''s unique constraints and unique indexes (not the primary key, not those a foreign key uses) unique among live rows, keeping their names; returns the names changed';

-- hard_delete gains cascade: nothing in the extension depends on the old one
DROP FUNCTION softdelete.hard_delete(pg_catalog.regclass, anyelement);
CREATE FUNCTION softdelete.hard_delete(tbl pg_catalog.regclass, key anyelement,
                                       cascade pg_catalog.bool DEFAULT false)
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_hard_delete';
COMMENT ON FUNCTION softdelete.hard_delete(pg_catalog.regclass, anyelement, pg_catalog.bool) IS
    'Permanently removes the row whose primary key is key, live or trashed, with its trashed descendants; with cascade, also the live rows below it through ON DELETE CASCADE keys; returns the rows removed';
-- end of issue 12 section
