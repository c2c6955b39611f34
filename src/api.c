/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The SQL-callable functions: enable, disable, soft_delete, restore,
 *	  trash, with_trash, purge, hard_delete.
 *
 * Each checks its arguments and the caller's privileges before it
 * touches anything, so that bad input changes nothing.  soft_delete runs
 * an ordinary DELETE as the caller, so the caller's privileges and
 * row-level security policies decide exactly as they would for DELETE;
 * everything else works as the table's owner past the soft-delete filter
 * (privileges.c), after checking that the caller owns the table or is a
 * member of softdelete_admin.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(softdelete_enable);
PG_FUNCTION_INFO_V1(softdelete_disable);
PG_FUNCTION_INFO_V1(softdelete_soft_delete);
PG_FUNCTION_INFO_V1(softdelete_restore);
PG_FUNCTION_INFO_V1(softdelete_trash);
PG_FUNCTION_INFO_V1(softdelete_with_trash);
PG_FUNCTION_INFO_V1(softdelete_purge);
PG_FUNCTION_INFO_V1(softdelete_hard_delete);
PG_FUNCTION_INFO_V1(softdelete_undo);

/*
 * require_soft_deletable returns the registry's view of relid, or raises
 * object_not_in_prerequisite_state if it is not soft-deletable.
 */
static const SoftDeleteTable *
require_soft_deletable(Oid relid)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);

	if (!OidIsValid(table->root))
	{
		char	   *relname = get_rel_name(relid);

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not soft-deletable", relname),
				 errhint("Call softdelete.enable('%s') first.",
						 softdelete_hint_name(relid))));
	}
	return table;
}

/*
 * managed_table_arg returns the soft-deletable table named by the first
 * argument, which the caller may manage.
 */
static Oid
managed_table_arg(FunctionCallInfo fcinfo, const char *funcname,
				  const char *action)
{
	Oid			relid = softdelete_arg_table(fcinfo, 0, funcname, action);

	softdelete_check_may_manage(relid, action);
	require_soft_deletable(relid);
	return relid;
}

/*
 * enable(tbl regclass, column_name name, live_flag name, deleted_flag
 * name) makes tbl soft-deletable, with a boolean flag kept in step if one
 * is named (flags.c).
 * Calling it again with the same column does nothing.
 */
Datum
softdelete_enable(PG_FUNCTION_ARGS)
{
	Oid			relid = softdelete_arg_table(fcinfo, 0, "enable", "enable soft delete on");
	char	   *column;
	char	   *relname;
	AttrNumber	attnum;
	RegistryRow row;
	char	   *live_flag = NULL;
	char	   *deleted_flag = NULL;
	bool		installed;

	softdelete_arg_required(fcinfo, 1, "column_name", "enable");
	column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	/* a 1.0 database not yet updated calls with two arguments */
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		live_flag = pstrdup(NameStr(*PG_GETARG_NAME(2)));
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		deleted_flag = pstrdup(NameStr(*PG_GETARG_NAME(3)));
	softdelete_check_may_manage(relid, "enable soft delete on");
	LockRelationOid(relid, AccessExclusiveLock);
	relname = get_rel_name(relid);

	if (get_rel_relispartition(relid))
	{
		const SoftDeleteTable *table = softdelete_lookup(relid);

		if (OidIsValid(table->root) && table->root != relid)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" is a partition of soft-deletable table \"%s\"",
							relname, get_rel_name(table->root)),
					 errdetail("A partition follows the settings of its partitioned table.")));
		if (!OidIsValid(table->root))
		{
			/* its trash would show through the partitioned table */
			Oid			top = llast_oid(get_partition_ancestors(relid));

			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot enable soft delete on partition \"%s\" of table \"%s\", which is not soft-deletable",
							relname, get_rel_name(top)),
					 errdetail("Queries on table \"%s\" would show the partition's trashed rows.",
							   get_rel_name(top)),
					 errhint("Call softdelete.enable('%s'); its partitions follow it.",
							 softdelete_hint_name(top))));
		}
	}
	else if (get_rel_relkind(relid) == RELKIND_RELATION &&
			 has_superclass(relid))
	{
		/* likewise through a parent of traditional inheritance */
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot enable soft delete on table \"%s\" because it inherits from another table",
						relname),
				 errdetail("Queries on the parent would show this table's trashed rows."),
				 errhint("Use declarative partitioning and enable the partitioned table, or ALTER TABLE %s NO INHERIT its parent first.",
						 softdelete_qualified_name(relid))));
	}

	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot enable soft delete on temporary table \"%s\"", relname),
				 errdetail("A temporary table goes at the end of its session without a DROP that would take it out of the registry.")));

	if (get_rel_relkind(relid) == RELKIND_RELATION &&
		find_inheritance_children(relid, NoLock) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot enable soft delete on table \"%s\" because it has inheritance children",
						relname),
				 errdetail("A DELETE through it would remove the children's rows for real."),
				 errhint("Use declarative partitioning, whose partitions follow their parent.")));

	row = softdelete_registry_read(relid);
	if (row.found && strcmp(NameStr(row.column_name), column) != 0)
	{
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is already soft-deletable with column \"%s\"",
						relname, NameStr(row.column_name)),
				 errhint("Call softdelete.disable('%s') first to change the column.",
						 softdelete_hint_name(relid))));
	}

	attnum = get_attnum(relid, column);
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column name \"%s\" conflicts with a system column name",
						column)));
	if (attnum > 0)
	{
		Oid			atttype = get_atttype(relid, attnum);
		bool		notnull;

		if (atttype != TIMESTAMPTZOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" is of type %s",
							column, relname, format_type_be(atttype)),
					 errdetail("The soft-delete column must be of type timestamp with time zone."),
					 errhint("Name another column, as in softdelete.enable('%s', 'deleted_at'), and it will be added if missing.",
							 softdelete_hint_name(relid))));
		notnull = softdelete_attribute(relid, attnum).attnotnull;
		if (notnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
					 errmsg("column \"%s\" of table \"%s\" is NOT NULL", column, relname),
					 errdetail("Live rows have NULL in the soft-delete column."),
					 errhint("Drop the NOT NULL constraint first.")));
		softdelete_check_stamp_writable(relid, column, false);
	}

	/* issue 12: the flag, checked before anything is changed */
	softdelete_flags_check_args(relid, column, live_flag, deleted_flag, &row);

	/* a registry row is not taken on trust: what is missing is installed */
	installed = row.found && softdelete_installed_fully(relid, &row);
	if (!installed)
	{
		softdelete_install(relid, column, &row);
		CacheInvalidateRelcacheByRelid(relid);
	}
	/* the flag adopted, or (named before) its constraint and triggers checked */
	if (live_flag != NULL || deleted_flag != NULL)
		softdelete_flags_adopt(relid, column, live_flag ? live_flag : deleted_flag,
							   live_flag != NULL);
	else if (NameStr(row.flag_name)[0] != '\0')
		softdelete_flags_adopt(relid, column, NameStr(row.flag_name),
							   row.flag_live_value);
	/* issue 12: name the unique constraints that keep trashed values */
	if (!installed)
		softdelete_unique_notice(relid);
	PG_RETURN_VOID();
}

/*
 * disable(tbl regclass) removes what enable installed; the column and
 * every row stay.  On a table that is not soft-deletable it does nothing.
 */
Datum
softdelete_disable(PG_FUNCTION_ARGS)
{
	Oid			relid = softdelete_arg_table(fcinfo, 0, "disable", "disable soft delete on");
	RegistryRow row;

	softdelete_check_may_manage(relid, "disable soft delete on");
	LockRelationOid(relid, AccessExclusiveLock);
	row = softdelete_registry_read(relid);
	if (!row.found)
	{
		ereport(NOTICE,
				(errmsg("table \"%s\" is not soft-deletable, skipping",
						get_rel_name(relid))));
		PG_RETURN_VOID();
	}
	/* issue 12: put back what unique_among_live() changed, or refuse */
	softdelete_unique_put_back(relid);
	/* issue 12: the flag's constraint and triggers go, its values stay */
	softdelete_flags_remove(relid);
	softdelete_uninstall(relid, &row);
	CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}

/*
 * key_arg checks the key argument and returns the selector of the rows
 * whose primary key it names.
 */
static RowSelector *
key_arg(FunctionCallInfo fcinfo, Oid relid, const char *funcname)
{
	Oid			keytype;

	softdelete_arg_required(fcinfo, 1, "key", funcname);
	keytype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (!OidIsValid(keytype))
		elog(ERROR, "could not determine the type of the key argument");
	return softdelete_select_by_key(relid, keytype, PG_GETARG_DATUM(1));
}

/*
 * soft_delete(tbl regclass, key anyelement) soft-deletes the row whose
 * primary key is key, exactly as DELETE ... WHERE pk = key run by the
 * caller would, and returns the number of rows stamped.
 */
Datum
softdelete_soft_delete(PG_FUNCTION_ARGS)
{
	Oid			relid = softdelete_arg_table(fcinfo, 0, "soft_delete", "soft-delete rows of");
	RowSelector *sel;
	StringInfoData sql;
	uint64		before;

	require_soft_deletable(relid);
	sel = key_arg(fcinfo, relid, "soft_delete");

	initStringInfo(&sql);
	appendStringInfo(&sql, "DELETE FROM %s WHERE %s",
					 softdelete_qualified_name(relid), sel->condition);
	before = softdelete_deletion_rows_stamped();
	softdelete_spi_connect();
	(void) softdelete_spi_run(sql.data, sel->nparams, sel->types, sel->values,
							  NULL, false, 0, SPI_OK_DELETE);
	softdelete_spi_finish();
	PG_RETURN_INT64((int64) (softdelete_deletion_rows_stamped() - before));
}

/*
 * restore(tbl regclass, key anyelement) brings the row back from the
 * trash and returns the number of rows restored.
 */
Datum
softdelete_restore(PG_FUNCTION_ARGS)
{
	Oid			relid = managed_table_arg(fcinfo, "restore", "restore rows of");

	PG_RETURN_INT64((int64) softdelete_restore_rows(relid,
													key_arg(fcinfo, relid, "restore")));
}

/*
 * read_rows is trash() and with_trash(): every row of the table named by
 * the argument's row type, trashed ones only or all, read as the table's
 * owner past the soft-delete filter.
 */
static Datum
read_rows(FunctionCallInfo fcinfo, bool trashed_only)
{
	const char *funcname = trashed_only ? "trash" : "with_trash";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			relid = OidIsValid(argtype) ? get_typ_typrelid(argtype) : InvalidOid;
	const SoftDeleteTable *table;
	StringInfoData sql;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("argument of softdelete.%s() must be a row of a table, not type %s",
						funcname, OidIsValid(argtype) ? format_type_be(argtype) : "unknown"),
				 errhint("Name the table through its row type, as in softdelete.%s(NULL::orders).",
						 funcname)));
	softdelete_check_table_kind(relid, trashed_only ? "read the trash of" :
								"read the trash of");
	softdelete_check_may_manage(relid, "read the trash of");
	table = require_soft_deletable(relid);

	InitMaterializedSRF(fcinfo, 0);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t FROM %s AS t", softdelete_qualified_name(relid));
	if (trashed_only)
		appendStringInfo(&sql, " WHERE t.%s IS NOT NULL",
						 quote_identifier(NameStr(table->column_name)));
	softdelete_read_rows_as_owner(relid, sql.data, rsinfo->setResult);
	return (Datum) 0;
}

/*
 * trash(NULL::tbl) returns the trashed rows of tbl.
 */
Datum
softdelete_trash(PG_FUNCTION_ARGS)
{
	return read_rows(fcinfo, true);
}

/*
 * with_trash(NULL::tbl) returns every row of tbl, live and trashed.
 */
Datum
softdelete_with_trash(PG_FUNCTION_ARGS)
{
	return read_rows(fcinfo, false);
}

/*
 * purge(tbl regclass, older_than interval) permanently removes the rows
 * of tbl that were trashed at least older_than ago, with their trashed
 * descendants, and returns how many rows were removed.
 */
Datum
softdelete_purge(PG_FUNCTION_ARGS)
{
	Oid			relid = softdelete_arg_table(fcinfo, 0, "purge", "purge");
	Interval   *older_than;
	Interval	zero;
	uint64		removed;

	softdelete_arg_required(fcinfo, 1, "older_than", "purge");
	older_than = PG_GETARG_INTERVAL_P(1);
	memset(&zero, 0, sizeof(zero));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp,
										  IntervalPGetDatum(older_than),
										  IntervalPGetDatum(&zero))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"older_than\" of softdelete.purge() must not be negative"),
				 errhint("Use '0' to purge everything in the trash.")));
	softdelete_check_may_manage(relid, "purge");
	require_soft_deletable(relid);
	removed = softdelete_remove_rows(relid,
									 softdelete_select_trashed_before(relid, older_than),
									 false);
	/* the journal forgets the deletions that purge emptied */
	if (removed > 0)
		softdelete_journal_forget_emptied(relid, DT_NOBEGIN,
										  DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
																				  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
																				  IntervalPGetDatum(older_than))),
										  NIL);
	PG_RETURN_INT64((int64) removed);
}

/*
 * hard_delete(tbl regclass, key anyelement, cascade boolean) permanently
 * removes the row whose primary key is key, live or trashed, with its
 * trashed descendants, and with cascade also the live rows below it
 * through ON DELETE CASCADE keys; returns how many rows were removed.
 * The 1.0 declaration has no third argument: cascade is false there.
 */
Datum
softdelete_hard_delete(PG_FUNCTION_ARGS)
{
	Oid			relid = managed_table_arg(fcinfo, "hard_delete", "hard-delete rows of");
	bool		cascade = false;

	/* the 1.0 declaration has no third argument: cascade is false there */
	if (PG_NARGS() > 2)
	{
		softdelete_arg_required(fcinfo, 2, "cascade", "hard_delete");
		cascade = PG_GETARG_BOOL(2);
	}
	PG_RETURN_INT64((int64) softdelete_remove_rows(relid,
												   key_arg(fcinfo, relid, "hard_delete"),
												   cascade));
}

/*
 * undo(deletion bigint) restores every row of that journal entry's
 * deletion that is still in the trash, in all its tables, all or
 * nothing; the caller must be allowed to restore on every one of them.
 */
Datum
softdelete_undo(PG_FUNCTION_ARGS)
{
	int64		id;
	JournalEntry entry;
	ListCell   *lc;
	bool		left = false;

	softdelete_arg_required(fcinfo, 0, "deletion", "undo");
	id = PG_GETARG_INT64(0);
	entry = softdelete_journal_entry(id);
	if (!entry.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("deletion %lld does not exist", (long long) id),
				 errdetail("softdelete.deletions has no entry with this id: it never existed, or nothing of it is left in the trash."),
				 errhint("Look the deletion up in softdelete.deletions.")));
	foreach(lc, entry.tables)
	{
		Oid			relid = lfirst_oid(lc);

		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			continue;
		softdelete_check_may_manage(relid, "restore rows of");
		/* privileges are checked on every table; the trash until found */
		if (!left && OidIsValid(softdelete_lookup(relid)->root) &&
			softdelete_stamp_left(relid, entry.stamp))
			left = true;
	}
	if (!left)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("nothing of deletion %lld is left in the trash", (long long) id),
				 errdetail("Its rows were restored or purged already.")));
	PG_RETURN_INT64((int64) softdelete_restore_deletion(&entry));
}
