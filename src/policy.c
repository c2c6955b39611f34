/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Install and remove what enable() puts on a table: the stamp column,
 *	  the triggers, the row-level security filter, and the registry row
 *	  that remembers the table's row-level security state before.
 *
 * The DDL runs as the extension's owner with search_path pinned; the
 * caller has checked the user's privileges and locked the table.  Every
 * name put into SQL text is quoted.
 *
 * The filter is one RESTRICTIVE policy "USING (column IS NULL)", so the
 * planner sees exactly that predicate.  A permissive allow-all policy is
 * added only where the table had row-level security off, so a table that
 * already had its own policies keeps their meaning.  FORCE ROW LEVEL
 * SECURITY makes the owner see the filter too.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * run_ddl executes one utility statement; the caller is connected to SPI.
 */
static void
run_ddl(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql,
			 SPI_result_code_string(ret));
}

/*
 * partitions_of lists the partitions of relid at every level (not relid
 * itself); empty for an ordinary table.
 */
static List *
partitions_of(Oid relid)
{
	List	   *all;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return NIL;
	all = find_all_inheritors(relid, NoLock, NULL);
	return list_delete_first(all);
}

/*
 * statement_triggers_sql appends the statement-level triggers for one
 * relation.  A partition needs its own: statement triggers are not
 * cloned to partitions, and a DELETE naming a partition fires only the
 * partition's.
 */
static void
create_statement_triggers(const char *qualified)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s AFTER DELETE ON %s"
					 " FOR EACH STATEMENT EXECUTE FUNCTION softdelete.after_delete_trigger()",
					 quote_identifier(SOFTDELETE_TRIG_STMT), qualified);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE TRUNCATE ON %s"
					 " FOR EACH STATEMENT EXECUTE FUNCTION softdelete.truncate_trigger()",
					 quote_identifier(SOFTDELETE_TRIG_TRUNCATE), qualified);
	run_ddl(sql.data);
	pfree(sql.data);
}

static void
drop_statement_triggers(const char *qualified)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "DROP TRIGGER IF EXISTS %s ON %s",
					 quote_identifier(SOFTDELETE_TRIG_STMT), qualified);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "DROP TRIGGER IF EXISTS %s ON %s",
					 quote_identifier(SOFTDELETE_TRIG_TRUNCATE), qualified);
	run_ddl(sql.data);
	pfree(sql.data);
}

/*
 * softdelete_install makes relid soft-deletable with the stamp column
 * column_name, adding the column if it is missing.  The caller has
 * checked the column's type if it exists.
 */
void
softdelete_install(Oid relid, const char *column_name)
{
	SoftDeleteIdentity saved;
	HeapTuple	tup;
	bool		rls_enabled;
	bool		rls_forced;
	char	   *qualified = softdelete_qualified_name(relid);
	const char *column = quote_identifier(column_name);
	StringInfoData sql;
	ListCell   *lc;
	List	   *parts;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	rls_enabled = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	rls_forced = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);

	initStringInfo(&sql);
	softdelete_become_extension_owner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (get_attnum(relid, column_name) == InvalidAttrNumber)
	{
		appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s pg_catalog.timestamptz",
						 qualified, column);
		run_ddl(sql.data);
		resetStringInfo(&sql);
	}

	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE DELETE ON %s"
					 " FOR EACH ROW EXECUTE FUNCTION softdelete.before_delete_trigger()",
					 quote_identifier(SOFTDELETE_TRIG_ROW), qualified);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	create_statement_triggers(qualified);
	parts = partitions_of(relid);
	foreach(lc, parts)
		create_statement_triggers(softdelete_qualified_name(lfirst_oid(lc)));

	appendStringInfo(&sql,
					 "CREATE POLICY %s ON %s AS RESTRICTIVE FOR ALL TO PUBLIC"
					 " USING (%s IS NULL)",
					 quote_identifier(SOFTDELETE_POLICY_FILTER), qualified, column);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	if (!rls_enabled)
	{
		appendStringInfo(&sql,
						 "CREATE POLICY %s ON %s AS PERMISSIVE FOR ALL TO PUBLIC"
						 " USING (true) WITH CHECK (true)",
						 quote_identifier(SOFTDELETE_POLICY_ALLOW), qualified);
		run_ddl(sql.data);
		resetStringInfo(&sql);
	}
	appendStringInfo(&sql,
					 "ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
					 qualified);
	run_ddl(sql.data);

	SPI_finish();
	softdelete_registry_insert(relid, column_name, rls_enabled, rls_forced);
	softdelete_restore_identity(&saved);
	pfree(sql.data);
}

/*
 * softdelete_uninstall removes what softdelete_install put on relid and
 * puts the table's row-level security state back as the registry row
 * remembers it.  The column and every row stay.
 */
void
softdelete_uninstall(Oid relid, const RegistryRow *row)
{
	SoftDeleteIdentity saved;
	char	   *qualified = softdelete_qualified_name(relid);
	StringInfoData sql;
	ListCell   *lc;
	List	   *parts;

	initStringInfo(&sql);
	softdelete_become_extension_owner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	appendStringInfo(&sql, "DROP TRIGGER IF EXISTS %s ON %s",
					 quote_identifier(SOFTDELETE_TRIG_ROW), qualified);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	drop_statement_triggers(qualified);
	parts = partitions_of(relid);
	foreach(lc, parts)
		drop_statement_triggers(softdelete_qualified_name(lfirst_oid(lc)));

	appendStringInfo(&sql, "DROP POLICY IF EXISTS %s ON %s",
					 quote_identifier(SOFTDELETE_POLICY_FILTER), qualified);
	run_ddl(sql.data);
	resetStringInfo(&sql);
	if (!row->rls_was_enabled)
	{
		/* ours only where row-level security was off before */
		appendStringInfo(&sql, "DROP POLICY IF EXISTS %s ON %s",
						 quote_identifier(SOFTDELETE_POLICY_ALLOW), qualified);
		run_ddl(sql.data);
		resetStringInfo(&sql);
	}
	appendStringInfo(&sql, "ALTER TABLE %s %s ROW LEVEL SECURITY, %s ROW LEVEL SECURITY",
					 qualified,
					 row->rls_was_enabled ? "ENABLE" : "DISABLE",
					 row->rls_was_forced ? "FORCE" : "NO FORCE");
	run_ddl(sql.data);

	SPI_finish();
	softdelete_registry_delete(relid);
	softdelete_restore_identity(&saved);
	pfree(sql.data);
}
