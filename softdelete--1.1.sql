/* softdelete--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION softdelete" to load this file. \quit

/*
 * The role whose members may manage every soft-deletable table: read the
 * trash, restore, purge, hard-delete, enable and disable.  Roles belong to
 * the cluster, not to a database, so a second database's CREATE EXTENSION
 * finds it already there, and DROP EXTENSION leaves it.
 */
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
                   WHERE rolname OPERATOR(pg_catalog.=) 'softdelete_admin') THEN
        CREATE ROLE softdelete_admin NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA softdelete TO PUBLIC;

/* The registry: one row per soft-deletable table */
CREATE TABLE softdelete.registry (
    tbl             pg_catalog.regclass PRIMARY KEY,
    column_name     pg_catalog.name NOT NULL,
    rls_was_enabled pg_catalog.bool NOT NULL,
    rls_was_forced  pg_catalog.bool NOT NULL,
    enabled_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- how long each table keeps its trash (NULL: until purged by hand);
    -- set by set_retention(), used by purge_expired()
    retention       pg_catalog.interval
        CONSTRAINT registry_retention_not_negative
        CHECK (retention OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval),
    -- a boolean column kept in step with the stamp (issue 12), named by
    -- enable(tbl, ..., live_flag => 'active') or (..., deleted_flag =>
    -- 'is_deleted'); at most one.  The table gets the CHECK constraint
    -- softdelete_flag_in_step and the flag's triggers (flags.c)
    live_flag       pg_catalog.name,
    deleted_flag    pg_catalog.name,
    CONSTRAINT registry_one_flag CHECK (live_flag IS NULL OR deleted_flag IS NULL)
);
COMMENT ON TABLE softdelete.registry IS
    'The soft-deletable tables, their stamp column, and the row-level security state each had before softdelete.enable()';
COMMENT ON COLUMN softdelete.registry.retention IS
    'How long trashed rows are kept before softdelete.purge_expired() removes them; NULL: until purged by hand';
COMMENT ON COLUMN softdelete.registry.live_flag IS
    'A boolean column that is true while the row is live, kept in step with the stamp; NULL if none';
COMMENT ON COLUMN softdelete.registry.deleted_flag IS
    'A boolean column that is true once the row is trashed, kept in step with the stamp; NULL if none';
SELECT pg_catalog.pg_extension_config_dump('softdelete.registry', '');
REVOKE ALL ON softdelete.registry FROM PUBLIC;
GRANT SELECT ON softdelete.registry TO PUBLIC;

/* The partitions of soft-deletable tables, with the state each had before */
CREATE TABLE softdelete.partitions (
    tbl             pg_catalog.regclass PRIMARY KEY,
    root            pg_catalog.regclass NOT NULL,
    rls_was_enabled pg_catalog.bool NOT NULL,
    rls_was_forced  pg_catalog.bool NOT NULL
);
COMMENT ON TABLE softdelete.partitions IS
    'Partitions of soft-deletable tables, and the row-level security state each had before it got the filter';
SELECT pg_catalog.pg_extension_config_dump('softdelete.partitions', '');
REVOKE ALL ON softdelete.partitions FROM PUBLIC;
GRANT SELECT ON softdelete.partitions TO PUBLIC;

CREATE VIEW softdelete.tables AS
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
GRANT SELECT ON softdelete.tables TO PUBLIC;

/* Triggers that enable() installs; not for calling by hand */
/*
 * A note on search_path.  Every statement these C functions run is fully
 * qualified (schemas, OPERATOR(pg_catalog.=), pg_catalog types), which
 * the search_path_attack test checks.  The functions that run DML on the
 * user's table -- the DELETE triggers, soft_delete, restore, purge,
 * hard_delete -- are declared without SET search_path on purpose: that
 * DML fires the table's own triggers, which must resolve names exactly as
 * they would for the caller's own DELETE or UPDATE, as core's
 * referential-integrity actions leave them to.  The row trigger would
 * also pay a GUC save and restore for every deleted row.
 */
CREATE FUNCTION softdelete.before_delete_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_before_delete';
COMMENT ON FUNCTION softdelete.before_delete_trigger() IS
    'BEFORE DELETE row trigger: collects live rows to be stamped and keeps the executor from removing them';
CREATE FUNCTION softdelete.after_delete_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_after_delete';
COMMENT ON FUNCTION softdelete.after_delete_trigger() IS
    'AFTER DELETE statement trigger: stamps the rows the statement collected, one UPDATE per table';
CREATE FUNCTION softdelete.truncate_trigger() RETURNS trigger
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_before_truncate';
COMMENT ON FUNCTION softdelete.truncate_trigger() IS
    'BEFORE TRUNCATE trigger: refuses TRUNCATE on a soft-deletable table';
-- The row trigger stays executable by PUBLIC: PostgreSQL clones it, as the
-- user creating or attaching a partition, onto every new partition of a
-- soft-deletable table.  On a table that is not soft-deletable it refuses
-- to run, so attaching it by hand gains nothing.
REVOKE ALL ON FUNCTION softdelete.after_delete_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION softdelete.truncate_trigger() FROM PUBLIC;

/*
 * stamp() is the new value of the stamp column when the planner hook
 * (fidelity.c, preloaded library only) turns a DELETE on a table that
 * foreign keys reference into an UPDATE: it returns now() and notes the
 * row for the cascade.  Only rows this transaction has stamped are ever
 * followed, so calling it by hand gains nothing; every role's DELETE
 * needs to be able to run it.
 */
CREATE FUNCTION softdelete.stamp(tableoid pg_catalog.oid, ctid pg_catalog.tid)
    RETURNS pg_catalog.timestamptz
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'softdelete_stamp_row';
COMMENT ON FUNCTION softdelete.stamp(pg_catalog.oid, pg_catalog.tid) IS
    'Internal: the stamp of a soft DELETE turned into an UPDATE; notes the row for the cascade';

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

/* The interface */
CREATE FUNCTION softdelete.enable(tbl pg_catalog.regclass,
                                  column_name pg_catalog.name DEFAULT 'deleted_at',
                                  live_flag pg_catalog.name DEFAULT NULL,
                                  deleted_flag pg_catalog.name DEFAULT NULL)
    RETURNS void
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_enable';
COMMENT ON FUNCTION softdelete.enable(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
    'Makes a table soft-deletable: adds the timestamptz column if missing, installs the triggers and the row-level security filter, records the table; live_flag or deleted_flag names a boolean column kept in step with the stamp. Idempotent.';

CREATE FUNCTION softdelete.disable(tbl pg_catalog.regclass)
    RETURNS void
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_disable';
COMMENT ON FUNCTION softdelete.disable(pg_catalog.regclass) IS
    'Removes what enable() installed and puts back the table''s row-level security state; keeps the column and every row';

CREATE FUNCTION softdelete.soft_delete(tbl pg_catalog.regclass, key anyelement)
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_soft_delete';
COMMENT ON FUNCTION softdelete.soft_delete(pg_catalog.regclass, anyelement) IS
    'Soft-deletes the row whose primary key is key (ROW(...) for a composite key), exactly as DELETE would; returns the rows stamped';

CREATE FUNCTION softdelete.restore(tbl pg_catalog.regclass, key anyelement)
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_restore';
COMMENT ON FUNCTION softdelete.restore(pg_catalog.regclass, anyelement) IS
    'Brings the row whose primary key is key back from the trash; returns the rows restored';

CREATE FUNCTION softdelete.trash(tbl anyelement)
    RETURNS SETOF anyelement
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_trash';
COMMENT ON FUNCTION softdelete.trash(anyelement) IS
    'The trashed rows of a table, named by its row type: softdelete.trash(NULL::orders)';

CREATE FUNCTION softdelete.with_trash(tbl anyelement)
    RETURNS SETOF anyelement
    LANGUAGE C SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_with_trash';
COMMENT ON FUNCTION softdelete.with_trash(anyelement) IS
    'Every row of a table, live and trashed, named by its row type: softdelete.with_trash(NULL::orders)';

CREATE FUNCTION softdelete.purge(tbl pg_catalog.regclass,
                                 older_than pg_catalog.interval DEFAULT '0')
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_purge';
COMMENT ON FUNCTION softdelete.purge(pg_catalog.regclass, pg_catalog.interval) IS
    'Permanently removes the rows trashed at least older_than ago; returns the rows removed';

-- hard_delete's cascade: issue 12
CREATE FUNCTION softdelete.hard_delete(tbl pg_catalog.regclass, key anyelement,
                                       cascade pg_catalog.bool DEFAULT false)
    RETURNS pg_catalog.int8
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'softdelete_hard_delete';
COMMENT ON FUNCTION softdelete.hard_delete(pg_catalog.regclass, anyelement, pg_catalog.bool) IS
    'Permanently removes the row whose primary key is key, live or trashed, with its trashed descendants; with cascade, also the live rows below it through ON DELETE CASCADE keys; returns the rows removed';

/*
 * The event triggers (event.c): tables that enable themselves, partitions
 * that follow their parent, protection of what enable() installed.  They
 * run as the extension's owner, since enabling a table is DDL on it.
 */
CREATE FUNCTION softdelete.ddl_command_end_trigger() RETURNS event_trigger
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_ddl_command_end';
COMMENT ON FUNCTION softdelete.ddl_command_end_trigger() IS
    'ddl_command_end event trigger: auto-enables tables with deleted_at, keeps partitions and renames in step';
CREATE FUNCTION softdelete.sql_drop_trigger() RETURNS event_trigger
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_sql_drop';
COMMENT ON FUNCTION softdelete.sql_drop_trigger() IS
    'sql_drop event trigger: forgets dropped tables, refuses dropping what enable() installed';
CREATE FUNCTION softdelete.ddl_command_start_trigger() RETURNS event_trigger
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'softdelete_ddl_command_start';
COMMENT ON FUNCTION softdelete.ddl_command_start_trigger() IS
    'ddl_command_start event trigger: refuses DROP EXTENSION softdelete while tables are soft-deletable';
REVOKE ALL ON FUNCTION softdelete.ddl_command_end_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION softdelete.sql_drop_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION softdelete.ddl_command_start_trigger() FROM PUBLIC;

CREATE EVENT TRIGGER softdelete_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                 'ALTER POLICY')
    EXECUTE FUNCTION softdelete.ddl_command_end_trigger();
CREATE EVENT TRIGGER softdelete_sql_drop ON sql_drop
    EXECUTE FUNCTION softdelete.sql_drop_trigger();
CREATE EVENT TRIGGER softdelete_ddl_command_start ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION softdelete.ddl_command_start_trigger();

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

-- end of issue 12 section

-- Retention (issue 11) ---------------------------------------------------
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
-- End of: the trash in referential integrity (issue 13) -----------------

-- Boolean flags kept in step with the stamp (issue 12) --------------------
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
