/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Install and remove what enable() puts on a table and its partitions:
 *	  the stamp column, the triggers, the row-level security filter, and
 *	  the records of the row-level security state each had before.
 *
 * The DDL runs as the extension's owner with search_path pinned; the
 * caller has checked the user's privileges and locked the table.  Every
 * name put into SQL text is quoted.  softdelete_ddl_depth is raised
 * meanwhile, so that our own event triggers leave this DDL alone.
 *
 * The filter is one RESTRICTIVE policy "USING (column IS NULL)", so the
 * planner sees exactly that predicate.  A permissive allow-all policy is
 * added only where the table had row-level security off, so a table that
 * already had its own policies keeps their meaning.  FORCE ROW LEVEL
 * SECURITY makes the owner see the filter too.
 *
 * Partitions: the row trigger of a partitioned table is cloned to every
 * partition by PostgreSQL; each partition also gets the statement
 * triggers (a DELETE naming a partition fires only the partition's) and
 * the filter (a query naming a partition does not see the parent's
 * policies).  Every step checks what is there first, so installing on a
 * partition is idempotent: the event trigger calls it for partitions
 * created or attached later.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
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
 * object_exists says whether relid has a trigger (is_trigger) or a policy
 * of that name; the caller is connected to SPI.
 */
static bool
object_exists(Oid relid, const char *name, bool is_trigger)
{
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		values[2];
	NameData	objname;
	int			ret;

	namestrcpy(&objname, name);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = NameGetDatum(&objname);
	ret = SPI_execute_with_args(is_trigger ?
								"SELECT 1 FROM pg_catalog.pg_trigger"
								" WHERE tgrelid OPERATOR(pg_catalog.=) $1"
								" AND tgname OPERATOR(pg_catalog.=) $2" :
								"SELECT 1 FROM pg_catalog.pg_policy"
								" WHERE polrelid OPERATOR(pg_catalog.=) $1"
								" AND polname OPERATOR(pg_catalog.=) $2",
								2, argtypes, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return SPI_processed > 0;
}

/*
 * rls_state reads a relation's ENABLE and FORCE ROW LEVEL SECURITY flags.
 */
static void
rls_state(Oid relid, bool *enabled, bool *forced)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	*enabled = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	*forced = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
}

/*
 * ensure_trigger creates one of our triggers on relid unless it is there.
 */
static void
ensure_trigger(Oid relid, const char *name, const char *when, const char *level,
			   const char *function)
{
	char	   *sql;

	if (object_exists(relid, name, true))
		return;
	sql = psprintf("CREATE TRIGGER %s %s ON %s FOR EACH %s EXECUTE FUNCTION softdelete.%s()",
				   quote_identifier(name), when, softdelete_qualified_name(relid),
				   level, function);
	run_ddl(sql);
	pfree(sql);
}

static void
drop_trigger(Oid relid, const char *name)
{
	char	   *sql = psprintf("DROP TRIGGER IF EXISTS %s ON %s", quote_identifier(name),
							   softdelete_qualified_name(relid));

	run_ddl(sql);
	pfree(sql);
}

/*
 * ensure_statement_triggers puts the statement-level triggers on relid.
 */
static void
ensure_statement_triggers(Oid relid)
{
	ensure_trigger(relid, SOFTDELETE_TRIG_STMT,
				   "AFTER DELETE", "STATEMENT", "after_delete_trigger");
	ensure_trigger(relid, SOFTDELETE_TRIG_TRUNCATE,
				   "BEFORE TRUNCATE", "STATEMENT", "truncate_trigger");
}

/*
 * ensure_filter puts the filter policy (and, if wanted, the allow-all
 * policy) on relid and turns row-level security on and forced.
 */
static void
ensure_filter(Oid relid, const char *column_name, bool with_allow)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *sql;

	if (!object_exists(relid, SOFTDELETE_POLICY_FILTER, false))
	{
		sql = psprintf("CREATE POLICY %s ON %s AS RESTRICTIVE FOR ALL TO PUBLIC"
					   " USING (%s IS NULL)",
					   quote_identifier(SOFTDELETE_POLICY_FILTER), qualified,
					   quote_identifier(column_name));
		run_ddl(sql);
		pfree(sql);
	}
	if (with_allow && !object_exists(relid, SOFTDELETE_POLICY_ALLOW, false))
	{
		sql = psprintf("CREATE POLICY %s ON %s AS PERMISSIVE FOR ALL TO PUBLIC"
					   " USING (true) WITH CHECK (true)",
					   quote_identifier(SOFTDELETE_POLICY_ALLOW), qualified);
		run_ddl(sql);
		pfree(sql);
	}
	sql = psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
				   qualified);
	run_ddl(sql);
	pfree(sql);
}

/*
 * remove_filter drops our policies from relid and puts its row-level
 * security flags back as recorded.  The allow-all policy is ours only
 * where row-level security was off before.
 */
static void
remove_filter(Oid relid, bool rls_was_enabled, bool rls_was_forced)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *sql;

	sql = psprintf("DROP POLICY IF EXISTS %s ON %s",
				   quote_identifier(SOFTDELETE_POLICY_FILTER), qualified);
	run_ddl(sql);
	pfree(sql);
	if (!rls_was_enabled)
	{
		sql = psprintf("DROP POLICY IF EXISTS %s ON %s",
					   quote_identifier(SOFTDELETE_POLICY_ALLOW), qualified);
		run_ddl(sql);
		pfree(sql);
	}
	sql = psprintf("ALTER TABLE %s %s ROW LEVEL SECURITY, %s ROW LEVEL SECURITY",
				   qualified,
				   rls_was_enabled ? "ENABLE" : "DISABLE",
				   rls_was_forced ? "FORCE" : "NO FORCE");
	run_ddl(sql);
	pfree(sql);
}

/*
 * begin_ddl and end_ddl bracket our DDL: the extension's owner, pinned
 * search_path, an SPI connection, and our event triggers told to stay out.
 * The caller runs the DDL under PG_TRY and calls abort_ddl when it fails:
 * an error caught by a PL/pgSQL EXCEPTION block must not leave our event
 * triggers out for the rest of the transaction.  (The subtransaction's
 * abort puts back the identity, the GUC nest level and SPI by itself.)
 */
static int
begin_ddl(SoftDeleteIdentity *saved)
{
	int			depth = softdelete_ddl_depth;

	softdelete_become_extension_owner(saved);
	softdelete_ddl_depth++;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return depth;
}

static void
end_ddl(SoftDeleteIdentity *saved)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	softdelete_ddl_depth--;
	softdelete_restore_identity(saved);
}

static void
abort_ddl(int depth)
{
	softdelete_ddl_depth = depth;
}

/*
 * install_on_partition gives one partition of root its statement triggers
 * and filter, recording its row-level security state the first time.
 * The caller is inside begin_ddl.
 */
static void
install_on_partition(Oid root, Oid part, const char *column_name)
{
	Oid			recorded_root;
	RegistryRow record = softdelete_partition_read(part, &recorded_root);

	if (!record.found)
	{
		rls_state(part, &record.rls_was_enabled, &record.rls_was_forced);
		softdelete_partition_write(part, root, record.rls_was_enabled,
								   record.rls_was_forced, true);
	}
	ensure_statement_triggers(part);
	ensure_filter(part, column_name, !record.rls_was_enabled);
	CacheInvalidateRelcacheByRelid(part);
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
 * softdelete_install makes relid soft-deletable with the stamp column
 * column_name, adding the column if it is missing.  The caller has
 * checked the column's type if it exists.
 */
void
softdelete_install(Oid relid, const char *column_name)
{
	SoftDeleteIdentity saved;
	bool		rls_enabled;
	bool		rls_forced;
	ListCell   *lc;
	List	   *parts;
	int			depth;

	rls_state(relid, &rls_enabled, &rls_forced);
	depth = begin_ddl(&saved);
	PG_TRY();
	{
		if (get_attnum(relid, column_name) == InvalidAttrNumber)
		{
			char	   *sql = psprintf("ALTER TABLE %s ADD COLUMN %s pg_catalog.timestamptz",
									   softdelete_qualified_name(relid),
									   quote_identifier(column_name));

			run_ddl(sql);
			pfree(sql);
		}
		ensure_trigger(relid, SOFTDELETE_TRIG_ROW, "BEFORE DELETE", "ROW",
					   "before_delete_trigger");
		ensure_statement_triggers(relid);
		ensure_filter(relid, column_name, !rls_enabled);
		softdelete_registry_insert(relid, column_name, rls_enabled, rls_forced);

		parts = partitions_of(relid);
		foreach(lc, parts)
			install_on_partition(relid, lfirst_oid(lc), column_name);
	}
	PG_CATCH();
	{
		abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	end_ddl(&saved);
	CacheInvalidateRelcacheByRelid(relid);
}

/*
 * softdelete_uninstall removes what softdelete_install put on relid and
 * its partitions, and puts each one's row-level security state back as
 * recorded.  The column and every row stay.
 */
void
softdelete_uninstall(Oid relid, const RegistryRow *row)
{
	SoftDeleteIdentity saved;
	List	   *parts;
	ListCell   *lc;
	int			depth;

	depth = begin_ddl(&saved);
	PG_TRY();
	{
		parts = softdelete_partitions_recorded(relid);
		foreach(lc, parts)
		{
			Oid			part = lfirst_oid(lc);
			Oid			root;
			RegistryRow record = softdelete_partition_read(part, &root);

			drop_trigger(part, SOFTDELETE_TRIG_STMT);
			drop_trigger(part, SOFTDELETE_TRIG_TRUNCATE);
			remove_filter(part, record.rls_was_enabled, record.rls_was_forced);
			softdelete_partition_write(part, relid, false, false, false);
			CacheInvalidateRelcacheByRelid(part);
		}
		drop_trigger(relid, SOFTDELETE_TRIG_ROW);
		drop_trigger(relid, SOFTDELETE_TRIG_STMT);
		drop_trigger(relid, SOFTDELETE_TRIG_TRUNCATE);
		remove_filter(relid, row->rls_was_enabled, row->rls_was_forced);
		softdelete_registry_delete(relid);
	}
	PG_CATCH();
	{
		abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	end_ddl(&saved);
	CacheInvalidateRelcacheByRelid(relid);
}

/*
 * softdelete_sync_partitions brings the partitions of the soft-deletable
 * table root in line after DDL: a partition created or attached since
 * gets the statement triggers and the filter; a recorded partition that
 * was detached becomes a soft-deletable table of its own, keeping its
 * trash, its filter and its recorded row-level security state (it gets
 * the row trigger it used to inherit).  With only_new (a restore, whose
 * dump brings the recorded partitions' triggers and policies itself),
 * partitions already recorded are left as they are.
 */
void
softdelete_sync_partitions(Oid root, const char *column_name, bool only_new)
{
	SoftDeleteIdentity saved;
	List	   *parts = partitions_of(root);
	List	   *recorded;
	ListCell   *lc;
	int			depth;

	depth = begin_ddl(&saved);
	PG_TRY();
	{
		recorded = softdelete_partitions_recorded(root);
		foreach(lc, parts)
		{
			if (only_new && list_member_oid(recorded, lfirst_oid(lc)))
				continue;
			install_on_partition(root, lfirst_oid(lc), column_name);
		}

		foreach(lc, recorded)
		{
			Oid			part = lfirst_oid(lc);
			Oid			recorded_root;
			RegistryRow record;

			if (list_member_oid(parts, part))
				continue;
			record = softdelete_partition_read(part, &recorded_root);
			softdelete_partition_write(part, root, false, false, false);
			if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(part)))
				continue;
			ensure_trigger(part, SOFTDELETE_TRIG_ROW, "BEFORE DELETE", "ROW",
						   "before_delete_trigger");
			softdelete_registry_insert(part, column_name, record.rls_was_enabled,
									   record.rls_was_forced);
			CacheInvalidateRelcacheByRelid(part);
		}
	}
	PG_CATCH();
	{
		abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	end_ddl(&saved);
}
