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

-- The journal (issue 11) ---------------------------------------------------
/*
 * softdelete.deletions: one entry per deletion (a transaction that
 * soft-deleted rows), written at its commit.  Carried by pg_dump.  A
 * role sees the entries that touch a table it may manage.  An entry goes
 * when nothing of its deletion is left in the trash (restore, undo and
 * purge forget the entries they empty).
 */
CREATE SEQUENCE softdelete.deletions_id_seq;
CREATE TABLE softdelete.deletions (
    id          pg_catalog.int8 PRIMARY KEY
                DEFAULT pg_catalog.nextval('softdelete.deletions_id_seq'),
    stamp       pg_catalog.timestamptz NOT NULL UNIQUE,
    deleted_by  pg_catalog.name NOT NULL,
    actor       pg_catalog.text,
    rows        pg_catalog.int8 NOT NULL,
    tables      pg_catalog.regclass[] NOT NULL,
    table_rows  pg_catalog.int8[] NOT NULL,
    committed_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
ALTER SEQUENCE softdelete.deletions_id_seq OWNED BY softdelete.deletions.id;
COMMENT ON TABLE softdelete.deletions IS
    'One entry per deletion: its stamp (the deleted_at of every row it took), who deleted, the application''s actor, rows in all and per table';
SELECT pg_catalog.pg_extension_config_dump('softdelete.deletions', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.deletions_id_seq', '');
REVOKE ALL ON softdelete.deletions FROM PUBLIC;
GRANT SELECT ON softdelete.deletions TO PUBLIC;

CREATE FUNCTION softdelete.may_manage_any(tables pg_catalog.regclass[])
    RETURNS pg_catalog.bool
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_may_manage_any';
COMMENT ON FUNCTION softdelete.may_manage_any(pg_catalog.regclass[]) IS
    'Whether the current role may manage (own, or be a member of softdelete_admin) at least one of the tables: who sees a journal entry';

ALTER TABLE softdelete.deletions ENABLE ROW LEVEL SECURITY;
CREATE POLICY managed ON softdelete.deletions FOR SELECT
    USING (softdelete.may_manage_any(tables));

CREATE FUNCTION softdelete.undo(deletion pg_catalog.int8)
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_undo';
COMMENT ON FUNCTION softdelete.undo(pg_catalog.int8) IS
    'Restores every row of that journal entry''s deletion still in the trash, in all its tables, all or nothing; returns the rows restored';

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

-- 1.1 also watches ALTER POLICY: our filter policy may not be changed ------
DROP EVENT TRIGGER softdelete_ddl_command_end;
CREATE EVENT TRIGGER softdelete_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                 'ALTER POLICY')
    EXECUTE FUNCTION softdelete.ddl_command_end_trigger();

-- enable() takes the flag arguments (issue 12): replaced, same C function.
-- Nothing in the extension depends on the old signature; grants on it
-- were PUBLIC's default ones, which the new function has too.
DROP FUNCTION softdelete.enable(pg_catalog.regclass, pg_catalog.name);
CREATE FUNCTION softdelete.enable(tbl pg_catalog.regclass,
                                  column_name pg_catalog.name DEFAULT 'deleted_at',
                                  live_flag pg_catalog.name DEFAULT NULL,
                                  deleted_flag pg_catalog.name DEFAULT NULL)
    RETURNS void
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_enable';
COMMENT ON FUNCTION softdelete.enable(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
    'Makes a table soft-deletable: adds the timestamptz column if missing, installs the triggers and the row-level security filter, records the table; live_flag or deleted_flag names a boolean column kept in step with the stamp. Idempotent.';

-- Boolean flags kept in step with the stamp (issue 12) --------------------
/*
 * enable(tbl, ..., live_flag => 'active') or (..., deleted_flag =>
 * 'is_deleted') records the flag here; at most one per table.  The table
 * gets the CHECK constraint softdelete_flag_in_step (flag and stamp never
 * out of step, on any path) and the triggers below (flags.c).
 */
ALTER TABLE softdelete.registry
    ADD COLUMN live_flag pg_catalog.name,
    ADD COLUMN deleted_flag pg_catalog.name,
    ADD CONSTRAINT registry_one_flag
        CHECK (live_flag IS NULL OR deleted_flag IS NULL);
COMMENT ON COLUMN softdelete.registry.live_flag IS
    'A boolean column that is true while the row is live, kept in step with the stamp; NULL if none';
COMMENT ON COLUMN softdelete.registry.deleted_flag IS
    'A boolean column that is true once the row is trashed, kept in step with the stamp; NULL if none';

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
           r.retention,
           r.live_flag,
           r.deleted_flag
      FROM softdelete.registry r
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace;
COMMENT ON VIEW softdelete.tables IS
    'Each soft-deletable table, its stamp column, its primary key, what disable() will put back, its retention and its flag';

/*
 * The flag's triggers: BEFORE UPDATE OF <flag> FOR EACH ROW turns setting
 * the flag to its trashed value into a soft delete of the row (the row is
 * collected, as a DELETE's is); AFTER UPDATE OF <flag> FOR EACH STATEMENT
 * stamps what the statement collected.  The row trigger stays executable
 * by PUBLIC: PostgreSQL clones it onto every new partition as the user
 * creating it; on a table without a flag it does nothing.
 */
CREATE FUNCTION softdelete.flag_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_flag_trigger';
COMMENT ON FUNCTION softdelete.flag_trigger() IS
    'UPDATE OF the flag triggers: setting the flag to its trashed value soft-deletes the row; not for calling by hand';
-- End of: boolean flags (issue 12) ----------------------------------------

-- COPY FROM into a soft-deletable table (issue 13): the per-row guard ----
/*
 * The check a COPY FROM run by a role that may not restore adds to its
 * WHERE: a row arriving with its stamp set is refused as our filter would
 * refuse its INSERT (42501).  STABLE, so that COPY keeps its multi-row
 * inserts; callable only from that COPY (see src/copyfrom.c).
 */
CREATE FUNCTION softdelete.copy_row_check(tbl pg_catalog.regclass, stamp pg_catalog.timestamptz)
    RETURNS pg_catalog.bool
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'softdelete_copy_row_check';
COMMENT ON FUNCTION softdelete.copy_row_check(pg_catalog.regclass, pg_catalog.timestamptz) IS
    'Internal: refuses a row that a COPY FROM by a role that may not restore would load into the trash';
