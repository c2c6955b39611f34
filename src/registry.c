/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Which tables are soft-deletable: the rows of softdelete.registry,
 *	  and a per-backend cache of them keyed by relation.
 *
 * The cache answers, for any relation a trigger fires on, which
 * registered table it belongs to (itself, or a partitioned ancestor) and
 * where its stamp column is.  Entries are dropped by the relcache
 * callback whenever the relation or its registered root is invalidated;
 * enable() and disable() invalidate the relations they touch, so every
 * backend sees the change at its next statement.
 *
 * The callback may run at any catalog access, also while a caller is in
 * the middle of using an answer (across SPI, say).  So no pointer into
 * the hash ever leaves this file: softdelete_lookup hands out a copy,
 * and holds no pointer into the hash itself while it reads the registry.
 * An answer read while some invalidation arrived is returned but not
 * cached, since it may already be stale.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

static HTAB *lookup_cache = NULL;

/* Bumped by every call of the relcache callback */
static uint64 lookup_generation = 0;
static SPIPlanPtr read_plan = NULL;

/*
 * write_registry runs one statement that changes the registry, in its own
 * SPI connection, and checks that it did what was expected.
 */
static void
write_registry(const char *sql, int nargs, Oid *argtypes, Datum *values,
			   int expected)
{
	softdelete_spi_connect();
	(void) softdelete_spi_run(sql, nargs, argtypes, values, NULL, false, 0, expected);
	softdelete_spi_finish();
}

/*
 * registry_read_connected reads the registry row of relid; the caller
 * has connected to SPI.
 */
static RegistryRow
registry_read_connected(Oid relid)
{
	RegistryRow row;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	int			ret;
	char	   *flag;

	memset(&row, 0, sizeof(row));
	if (read_plan == NULL)
	{
		SPIPlanPtr	plan;

		/*
		 * The flags are read through to_jsonb: a 1.0 database not yet
		 * updated has no such columns, and its DELETEs must keep working.
		 */
		plan = SPI_prepare("SELECT column_name, rls_was_enabled, rls_was_forced,"
						   " pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'live_flag',"
						   " pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'deleted_flag'"
						   " FROM softdelete.registry r"
						   " WHERE tbl OPERATOR(pg_catalog.=) $1",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		read_plan = plan;
	}
	values[0] = ObjectIdGetDatum(relid);
	ret = SPI_execute_plan(read_plan, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		row.found = true;
		namestrcpy(&row.column_name,
				   NameStr(*DatumGetName(SPI_getbinval(tup, desc, 1, &isnull))));
		row.rls_was_enabled = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		row.rls_was_forced = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		flag = SPI_getvalue(tup, desc, 4);
		row.flag_live_value = (flag != NULL);
		if (flag == NULL)
			flag = SPI_getvalue(tup, desc, 5);
		if (flag != NULL)
			namestrcpy(&row.flag_name, flag);
	}
	return row;
}

/*
 * softdelete_registry_read returns the registry row of relid (found is
 * false when the table is not registered).  No cache: enable and
 * disable need the truth of this moment.
 */
RegistryRow
softdelete_registry_read(Oid relid)
{
	RegistryRow row;

	softdelete_spi_connect();
	row = registry_read_connected(relid);
	softdelete_spi_finish();
	return row;
}

/*
 * softdelete_registry_insert records a table as soft-deletable, with the
 * row-level security state it had before, so that disable() can put it
 * back.  The caller holds the table's lock and has checked privileges.
 */
void
softdelete_registry_insert(Oid relid, const char *column_name,
						   bool rls_was_enabled, bool rls_was_forced)
{
	Oid			argtypes[4] = {REGCLASSOID, NAMEOID, BOOLOID, BOOLOID};
	Datum		values[4];
	NameData	colname;

	namestrcpy(&colname, column_name);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = NameGetDatum(&colname);
	values[2] = BoolGetDatum(rls_was_enabled);
	values[3] = BoolGetDatum(rls_was_forced);

	write_registry("INSERT INTO softdelete.registry"
				   " (tbl, column_name, rls_was_enabled, rls_was_forced)"
				   " VALUES ($1, $2, $3, $4)",
				   4, argtypes, values, SPI_OK_INSERT);
}

/*
 * softdelete_registry_delete forgets a table.
 */
void
softdelete_registry_delete(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];

	values[0] = ObjectIdGetDatum(relid);
	write_registry("DELETE FROM softdelete.registry"
				   " WHERE tbl OPERATOR(pg_catalog.=) $1",
				   1, argtypes, values, SPI_OK_DELETE);
}

/*
 * softdelete_registry_set_column records a new name for the stamp column
 * of relid, after a rename.
 */
void
softdelete_registry_set_column(Oid relid, const char *column_name)
{
	Oid			argtypes[2] = {REGCLASSOID, NAMEOID};
	Datum		values[2];
	NameData	colname;

	namestrcpy(&colname, column_name);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = NameGetDatum(&colname);
	write_registry("UPDATE softdelete.registry SET column_name = $2"
				   " WHERE tbl OPERATOR(pg_catalog.=) $1",
				   2, argtypes, values, SPI_OK_UPDATE);
}

/*
 * softdelete_registry_set_flag records the flag of relid: a live_flag
 * (live_value) or a deleted_flag; NULL flag_name records none.
 */
void
softdelete_registry_set_flag(Oid relid, const char *flag_name, bool live_value)
{
	Oid			argtypes[3] = {REGCLASSOID, NAMEOID, NAMEOID};
	Datum		values[3];
	char		nulls[3] = {' ', 'n', 'n'};
	NameData	flag;
	SoftDeleteIdentity saved;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = values[2] = (Datum) 0;
	if (flag_name != NULL)
	{
		namestrcpy(&flag, flag_name);
		values[live_value ? 1 : 2] = NameGetDatum(&flag);
		nulls[live_value ? 1 : 2] = ' ';
	}
	/* the registry is the extension's: written as its owner */
	softdelete_become_extension_owner(&saved);
	softdelete_spi_connect();
	(void) softdelete_spi_run("UPDATE softdelete.registry"
							  " SET live_flag = $2, deleted_flag = $3"
							  " WHERE tbl OPERATOR(pg_catalog.=) $1",
							  3, argtypes, values, nulls, false, 0, SPI_OK_UPDATE);
	softdelete_spi_finish();
	softdelete_restore_identity(&saved);
}

/*
 * softdelete_partition_read returns what softdelete.partitions records of
 * a partition of a soft-deletable table: its root and the row-level
 * security state it had before (found is false if nothing is recorded).
 */
RegistryRow
softdelete_partition_read(Oid relid, Oid *root)
{
	RegistryRow row;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];

	memset(&row, 0, sizeof(row));
	*root = InvalidOid;
	values[0] = ObjectIdGetDatum(relid);
	softdelete_spi_connect();
	if (softdelete_spi_run("SELECT root, rls_was_enabled, rls_was_forced"
						   " FROM softdelete.partitions"
						   " WHERE tbl OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, false, 1, SPI_OK_SELECT) > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		row.found = true;
		*root = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		row.rls_was_enabled = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		row.rls_was_forced = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	}
	softdelete_spi_finish();
	return row;
}

/*
 * softdelete_partition_write records (insert = true) or forgets a
 * partition of a soft-deletable table.
 */
void
softdelete_partition_write(Oid relid, Oid root, bool rls_was_enabled,
						   bool rls_was_forced, bool insert)
{
	Oid			argtypes[4] = {REGCLASSOID, REGCLASSOID, BOOLOID, BOOLOID};
	Datum		values[4];

	values[0] = ObjectIdGetDatum(relid);
	values[1] = ObjectIdGetDatum(root);
	values[2] = BoolGetDatum(rls_was_enabled);
	values[3] = BoolGetDatum(rls_was_forced);
	if (insert)
		write_registry("INSERT INTO softdelete.partitions"
					   " (tbl, root, rls_was_enabled, rls_was_forced)"
					   " VALUES ($1, $2, $3, $4)",
					   4, argtypes, values, SPI_OK_INSERT);
	else
		write_registry("DELETE FROM softdelete.partitions"
					   " WHERE tbl OPERATOR(pg_catalog.=) $1",
					   1, argtypes, values, SPI_OK_DELETE);
}

/* read_oid appends the first column of a row, an OID, to a List * */
static void
read_oid(HeapTuple tup, TupleDesc desc, void *state)
{
	List	  **oids = (List **) state;
	bool		isnull;

	*oids = lappend_oid(*oids, DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull)));
}

/*
 * softdelete_oid_list runs a query of one OID parameter whose first
 * column is an OID, and returns that column as a list.
 */
List *
softdelete_oid_list(const char *sql, Oid param)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	List	   *result = NIL;
	MemoryContext caller = CurrentMemoryContext;

	values[0] = ObjectIdGetDatum(param);
	softdelete_spi_connect();
	(void) softdelete_spi_rows(sql, 1, argtypes, values, false, caller,
							   read_oid, &result);
	softdelete_spi_finish();
	return result;
}

/*
 * softdelete_partitions_recorded lists the partitions recorded under the
 * soft-deletable table root.
 */
List *
softdelete_partitions_recorded(Oid root)
{
	return softdelete_oid_list("SELECT tbl FROM softdelete.partitions"
							   " WHERE root OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							   root);
}

/*
 * softdelete_lookup says whether relid is soft-deletable, directly or as
 * a partition of a registered partitioned table, and where its stamp
 * column is.  The answer is cached until the relation is invalidated.
 * What it returns is a copy, palloc'd in the caller's memory context and
 * the caller's to keep: it stays valid whatever invalidations arrive.
 */
const SoftDeleteTable *
softdelete_lookup(Oid relid)
{
	SoftDeleteTable *entry;
	SoftDeleteTable *result = palloc(sizeof(SoftDeleteTable));
	uint64		started_at;

	if (lookup_cache == NULL)
		lookup_cache = softdelete_oid_hash("softdelete registry cache", 64,
										   sizeof(SoftDeleteTable), CacheMemoryContext);

	entry = hash_search(lookup_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
	{
		*result = *entry;
		return result;
	}

	/*
	 * Compute into result, holding no pointer into the hash: SPI and the
	 * catalog lookups may process invalidations that remove entries.
	 */
	started_at = lookup_generation;
	memset(result, 0, sizeof(SoftDeleteTable));
	result->relid = relid;
	result->root = InvalidOid;

	/*
	 * A preloaded library plans DELETEs in every database: where the
	 * extension is not installed, nothing is soft-deletable.  (enable()
	 * invalidates the table's relcache, which drops this answer.)
	 */
	if (OidIsValid(get_extension_oid("softdelete", true)))
	{
		RegistryRow flag;

		memset(&flag, 0, sizeof(flag));
		softdelete_spi_connect();
		{
			RegistryRow row = registry_read_connected(relid);

			if (row.found)
			{
				result->root = relid;
				result->column_name = row.column_name;
				flag = row;
			}
			else if (get_rel_relispartition(relid))
			{
				List	   *ancestors = get_partition_ancestors(relid);
				ListCell   *lc;

				foreach(lc, ancestors)
				{
					Oid			ancestor = lfirst_oid(lc);

					row = registry_read_connected(ancestor);
					if (row.found)
					{
						result->root = ancestor;
						result->column_name = row.column_name;
						flag = row;
						break;
					}
				}
				list_free(ancestors);
			}
		}
		softdelete_spi_finish();

		if (OidIsValid(result->root))
			result->attnum = get_attnum(relid, NameStr(result->column_name));
		if (OidIsValid(result->root) && NameStr(flag.flag_name)[0] != '\0')
		{
			result->flag_attnum = get_attnum(relid, NameStr(flag.flag_name));
			result->flag_live_value = flag.flag_live_value;
		}
	}

	/* cache it only if nothing was invalidated while it was read */
	if (lookup_generation == started_at)
	{
		entry = hash_search(lookup_cache, &relid, HASH_ENTER, NULL);
		*entry = *result;
	}
	return result;
}

/*
 * softdelete_registry_invalidate is the relcache callback: it drops the
 * cached answers about relid and about every partition whose answer came
 * from relid.  InvalidOid means everything.  Removing is safe: no pointer
 * into the hash is held anywhere while catalog access can happen.
 */
void
softdelete_registry_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SoftDeleteTable *entry;

	(void) arg;

	lookup_generation++;
	if (lookup_cache == NULL)
		return;
	hash_seq_init(&status, lookup_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid || entry->root == relid)
			hash_search(lookup_cache, &entry->relid, HASH_REMOVE, NULL);
	}
}

/*
 * softdelete_require_root returns the registry's view of relid, which
 * must be a soft-deletable table in its own right: a table that is not
 * soft-deletable, or a partition of one (detail says why the call is
 * for its partitioned table, partition_hint names it with one %s), is
 * refused with 55000.
 */
const SoftDeleteTable *
softdelete_require_root(Oid relid, const char *partition_detail,
						const char *partition_hint)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);

	if (!OidIsValid(table->root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not soft-deletable", get_rel_name(relid)),
				 errhint("Call softdelete.enable('%s') first.",
						 softdelete_hint_name(relid))));
	if (table->root != relid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is a partition of soft-deletable table \"%s\"",
						get_rel_name(relid), get_rel_name(table->root)),
				 errdetail("%s", partition_detail),
				 errhint(partition_hint, softdelete_hint_name(table->root))));
	return table;
}
