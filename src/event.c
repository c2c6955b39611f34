/*-------------------------------------------------------------------------
 *
 * event.c
 *	  The event triggers: tables that enable themselves, partitions that
 *	  follow their parent, protection of what enable() installed, and the
 *	  registry kept in step with DROP and RENAME.
 *
 * ddl_command_end: a table created with, or altered to gain, a deleted_at
 * timestamptz column is enabled while softdelete.auto_enable is on (only
 * by the command that gave it the column: a table disabled on purpose
 * stays disabled through later DDL); a
 * partition created or attached under a soft-deletable table gets its
 * triggers and filter; a detached one becomes soft-deletable on its own;
 * a renamed stamp column is renamed in the registry.
 *
 * sql_drop: a dropped table leaves the registry; dropping the stamp
 * column, our triggers or our policies of a soft-deletable table is
 * refused (the transaction rolls back), unless the table itself goes.
 *
 * ddl_command_start: DROP EXTENSION softdelete (or DROP SCHEMA softdelete)
 * is refused while tables are soft-deletable: CASCADE would drop the
 * triggers and quietly make DELETE hard again.
 *
 * While row_security is off -- pg_dump's scripts turn it off, and any
 * session may -- the ddl_command_end trigger skips exactly what a restore
 * brings back by itself and would otherwise get twice: auto-enable (the
 * dump has the registry's rows, triggers and policies) and installing on
 * partitions already recorded (the dump has their triggers and policies).
 * Everything that protects -- refusing inheritance from a soft-deletable
 * table, a detached partition made soft-deletable on its own, a new
 * partition given its triggers and filter -- runs all the same.  Our own
 * DDL (softdelete_ddl_depth > 0) is left alone.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(softdelete_ddl_command_end);
PG_FUNCTION_INFO_V1(softdelete_sql_drop);
PG_FUNCTION_INFO_V1(softdelete_ddl_command_start);

static Oid	registered_table_named(const char *schema, const char *table,
								   RegistryRow *row, bool *is_partition,
								   bool *with_allow);

/*
 * check_altered_policies refuses an ALTER POLICY that changes one of
 * our policies (recognised by what it is, as for a DROP): the filter
 * widened or given to some roles only would show the trash.
 */
static void
check_altered_policies(void)
{
	List	   *tables = NIL;
	ListCell   *lc;
	uint64		i;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT n.nspname, c.relname"
					  " FROM pg_catalog.pg_event_trigger_ddl_commands() d"
					  " JOIN pg_catalog.pg_policy p ON p.oid OPERATOR(pg_catalog.=) d.objid"
					  " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid"
					  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
					  " WHERE d.command_tag OPERATOR(pg_catalog.=) 'ALTER POLICY'",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		tables = lappend(tables, list_make2(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
											SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
		MemoryContextSwitchTo(old);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	foreach(lc, tables)
	{
		List	   *names = (List *) lfirst(lc);
		RegistryRow row;
		bool		is_partition;
		bool		with_allow;
		Oid			relid = registered_table_named((char *) linitial(names),
												   (char *) lsecond(names), &row,
												   &is_partition, &with_allow);

		if (OidIsValid(relid) &&
			softdelete_missing_piece(relid, NameStr(row.column_name), with_allow,
									 is_partition) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot alter the row-level security policies that softdelete put on table \"%s\"",
							(char *) lsecond(names)),
					 errdetail("The filter policy must stay exactly \"%s IS NULL\" for every role, or the trash shows.",
							   NameStr(row.column_name)),
					 errhint("Add a policy of your own instead; softdelete.disable() removes ours.")));
	}
}

/*
 * check_event_protocol refuses calls that are not this event.
 */
static EventTriggerData *
check_event_protocol(FunctionCallInfo fcinfo, const char *event,
					 const char *funcname)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by event trigger manager",
						funcname)));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (strcmp(trigdata->event, event) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired on %s", funcname, event)));
	return trigdata;
}

/*
 * auto_enable_candidate says whether relid is a permanent table, neither
 * a partition nor an inheritance child, with a nullable deleted_at
 * timestamptz column.  A temporary table is dropped at session end
 * without sql_drop, which would leave its registry row behind; a
 * partition follows its root (one whose root is not soft-deletable, say
 * disabled on purpose, stays as it is) and a child of a plain parent
 * would show its trash through the parent.
 */
static bool
auto_enable_candidate(Oid relid)
{
	AttrNumber	attnum = get_attnum(relid, SOFTDELETE_DEFAULT_COLUMN);
	HeapTuple	tup;
	bool		notnull;

	if (attnum <= 0 || get_atttype(relid, attnum) != TIMESTAMPTZOID)
		return false;
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP ||
		get_rel_relispartition(relid) || has_superclass(relid))
		return false;
	tup = SearchSysCacheAttNum(relid, attnum);
	if (!HeapTupleIsValid(tup))
		return false;
	notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	ReleaseSysCache(tup);
	return !notnull;
}

/*
 * registered_ancestor returns the nearest soft-deletable partitioned
 * ancestor of a partition, reading the registry directly.
 */
static Oid
registered_ancestor(Oid relid, RegistryRow *row)
{
	Oid			child = relid;

	while (get_rel_relispartition(child))
	{
		Oid			parent = get_partition_parent(child, true);

		*row = softdelete_registry_read(parent);
		if (row->found)
			return parent;
		child = parent;
	}
	return InvalidOid;
}

/*
 * is_stamp_name says whether a column name is the auto-enable name.
 */
static bool
is_stamp_name(const char *name)
{
	return name != NULL && strcmp(name, SOFTDELETE_DEFAULT_COLUMN) == 0;
}

/*
 * command_gives_deleted_at says whether a collected command could have
 * given its table a deleted_at timestamptz column: CREATE TABLE (not a
 * copy of data: CREATE TABLE AS and SELECT INTO never enable), or ALTER TABLE that adds, retypes, renames to, or drops NOT NULL
 * from a column named deleted_at.  Other DDL on a table never enables it:
 * a table disabled on purpose stays disabled.
 */
static bool
command_gives_deleted_at(const char *tag, CollectedCommand *cmd)
{
	ListCell   *lc;

	/* a copy of data (CREATE TABLE AS, SELECT INTO) is not a definition */
	if (strcmp(tag, "CREATE TABLE") == 0)
		return true;
	if (cmd == NULL)
		return false;
	if (cmd->type == SCT_Simple && cmd->parsetree != NULL &&
		IsA(cmd->parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) cmd->parsetree;

		return stmt->renameType == OBJECT_COLUMN && is_stamp_name(stmt->newname);
	}
	if (cmd->type != SCT_AlterTable)
		return false;
	foreach(lc, cmd->d.alterTable.subcmds)
	{
		CollectedATSubcmd *sub = (CollectedATSubcmd *) lfirst(lc);
		AlterTableCmd *at = (AlterTableCmd *) sub->parsetree;

		if (at == NULL || !IsA(at, AlterTableCmd))
			continue;
		switch (at->subtype)
		{
			case AT_AddColumn:
			SD_CASE_AT_ADD_COLUMN_RECURSE
				if (at->def != NULL && IsA(at->def, ColumnDef) &&
					is_stamp_name(((ColumnDef *) at->def)->colname))
					return true;
				break;
			case AT_AlterColumnType:
			case AT_DropNotNull:
				if (is_stamp_name(at->name))
					return true;
				break;
			default:
				break;
		}
	}
	return false;
}

/*
 * inheritance_parents lists the tables relid inherits from.
 */
static List *
inheritance_parents(Oid relid)
{
	return softdelete_oid_list("SELECT inhparent FROM pg_catalog.pg_inherits"
							   " WHERE inhrelid OPERATOR(pg_catalog.=) $1",
							   relid);
}

/*
 * handle_table reacts to DDL on one table (attnum: the column the
 * command named, if any; gives: whether the command may have given the
 * table a deleted_at column; restoring: row_security is off, see above).
 */
static void
handle_table(Oid relid, int32 attnum, bool gives, bool restoring)
{
	char		relkind;
	RegistryRow row;
	Oid			root;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return;

	/* an ordinary table may not inherit from a soft-deletable one */
	if (relkind == RELKIND_RELATION && !get_rel_relispartition(relid))
	{
		List	   *parents = inheritance_parents(relid);
		ListCell   *lc;

		foreach(lc, parents)
		{
			if (softdelete_registry_read(lfirst_oid(lc)).found)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("table \"%s\" cannot inherit from soft-deletable table \"%s\"",
								get_rel_name(relid), get_rel_name(lfirst_oid(lc))),
						 errdetail("A DELETE through the parent would remove this table's rows for real."),
						 errhint("Use declarative partitioning, whose partitions follow their parent.")));
		}
	}

	row = softdelete_registry_read(relid);
	if (row.found)
	{
		/* a RENAME COLUMN of the stamp column: follow it */
		if (get_attnum(relid, NameStr(row.column_name)) == InvalidAttrNumber &&
			attnum > 0 && get_atttype(relid, attnum) == TIMESTAMPTZOID)
		{
			char	   *newname = get_attname(relid, attnum, false);

			softdelete_registry_set_column(relid, newname);
			namestrcpy(&row.column_name, newname);
			CacheInvalidateRelcacheByRelid(relid);
		}
		if (relkind == RELKIND_PARTITIONED_TABLE)
		{
			/* a partition attached may not be partitioned on the stamp */
			softdelete_check_stamp_writable(relid, NameStr(row.column_name), false);
			softdelete_sync_partitions(relid, NameStr(row.column_name), restoring);
		}
		if (!restoring)
			softdelete_flags_sync(relid);	/* issue 12: renamed, partitions */
		return;
	}

	root = registered_ancestor(relid, &row);
	if (OidIsValid(root))
	{
		/* a partition created or attached under a soft-deletable table */
		softdelete_check_stamp_writable(relid, NameStr(row.column_name), false);
		softdelete_sync_partitions(root, NameStr(row.column_name), restoring);
		if (!restoring)
			softdelete_flags_sync(root);
		return;
	}

	/*
	 * A plain partitioned table may not hold a soft-deletable table (one
	 * attached to it): queries on it would show that table's trash.
	 */
	if (relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *tree = find_all_inheritors(relid, NoLock, NULL);
		ListCell   *lc;

		foreach(lc, tree)
		{
			if (lfirst_oid(lc) != relid &&
				softdelete_registry_read(lfirst_oid(lc)).found)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("soft-deletable table \"%s\" cannot be a partition of table \"%s\", which is not soft-deletable",
								get_rel_name(lfirst_oid(lc)), get_rel_name(relid)),
						 errdetail("Queries on table \"%s\" would show the partition's trashed rows.",
								   get_rel_name(relid)),
						 errhint("Call softdelete.disable('%s') first; as a partition it follows its partitioned table.",
								 softdelete_hint_name(lfirst_oid(lc)))));
		}
	}

	if (gives && !restoring && softdelete_auto_enable && auto_enable_candidate(relid))
	{
		softdelete_check_stamp_writable(relid, SOFTDELETE_DEFAULT_COLUMN, true);
		softdelete_install(relid, SOFTDELETE_DEFAULT_COLUMN, NULL);
	}
}

/*
 * softdelete_ddl_command_end is the ddl_command_end event trigger.
 */
Datum
softdelete_ddl_command_end(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *relids = NIL;
	List	   *attnums = NIL;
	List	   *gives = NIL;
	ListCell   *lc1,
			   *lc2,
			   *lc3;
	uint64		i;
	int			ret;

	check_event_protocol(fcinfo, "ddl_command_end", "softdelete_ddl_command_end");
	if (softdelete_ddl_depth > 0)
		PG_RETURN_VOID();
	if (strcmp(GetCommandTagName(((EventTriggerData *) fcinfo->context)->tag),
			   "ALTER POLICY") == 0)
	{
		check_altered_policies();
		PG_RETURN_VOID();
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a constraint renamed stands for its table (issue 12: the flag's) */
	ret = SPI_execute("SELECT objid, objsubid, command_tag, command"
					  " FROM pg_catalog.pg_event_trigger_ddl_commands()"
					  " WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					  " AND object_type OPERATOR(pg_catalog.=) ANY ('{table,\"table column\"}')"
					  " UNION ALL SELECT k.conrelid, 0, d.command_tag, d.command"
					  " FROM pg_catalog.pg_event_trigger_ddl_commands() d"
					  " JOIN pg_catalog.pg_constraint k ON k.oid OPERATOR(pg_catalog.=) d.objid"
					  " WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass"
					  " AND k.conrelid OPERATOR(pg_catalog.<>) 0",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(caller);

		relids = lappend_oid(relids,
							 DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1, &isnull)));
		attnums = lappend_int(attnums,
							  DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 2, &isnull)));
		{
			char	   *tag = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
			Datum		command = SPI_getbinval(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 4, &isnull);

			gives = lappend_int(gives,
								command_gives_deleted_at(tag, isnull ? NULL :
														 (CollectedCommand *) DatumGetPointer(command)));
		}
		MemoryContextSwitchTo(old);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	forthree(lc1, relids, lc2, attnums, lc3, gives)
		handle_table(lfirst_oid(lc1), (int32) lfirst_int(lc2), lfirst_int(lc3) != 0,
					 !row_security);
	/* issue 13: foreign keys to soft-deletable tables get their checks */
	foreach(lc1, relids)
		softdelete_refcheck_sync(lfirst_oid(lc1));
	PG_RETURN_VOID();
}

/*
 * One row of pg_event_trigger_dropped_objects(), as sql_drop needs it.
 */
typedef struct DroppedObject
{
	Oid			objid;
	int32		objsubid;
	char	   *type;
	char	   *schema;			/* address_names[1] */
	char	   *table;			/* address_names[2] */
	char	   *name;			/* address_names[3], if any */
} DroppedObject;

/*
 * registered_table_named returns the OID of the soft-deletable table (or
 * recorded partition) schema.table, or InvalidOid.  row is the registry
 * row of the table or of its root; *is_partition says which, and
 * *with_allow whether the allow-all policy on the table is ours.
 */
static Oid
registered_table_named(const char *schema, const char *table, RegistryRow *row,
					   bool *is_partition, bool *with_allow)
{
	Oid			nsp = get_namespace_oid(schema, true);
	Oid			relid;
	Oid			root;
	RegistryRow record;

	if (!OidIsValid(nsp))
		return InvalidOid;
	relid = get_relname_relid(table, nsp);
	if (!OidIsValid(relid))
		return InvalidOid;
	*row = softdelete_registry_read(relid);
	if (row->found)
	{
		*is_partition = false;
		*with_allow = !row->rls_was_enabled;
		return relid;
	}
	record = softdelete_partition_read(relid, &root);
	if (record.found)
	{
		*row = softdelete_registry_read(root);
		*is_partition = true;
		*with_allow = !record.rls_was_enabled;
		return row->found ? relid : InvalidOid;
	}
	return InvalidOid;
}

/*
 * refuse_drop raises the error for a drop that would take away part of
 * what enable() installed.
 */
static void
refuse_drop(const char *what, const char *name, const char *table)
{
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot drop %s \"%s\" of soft-deletable table \"%s\"",
					what, name, table),
			 errdetail("Without it, deletes would no longer be soft or trashed rows would show."),
			 errhint("Call softdelete.disable('%s') first.", table)));
}

/*
 * softdelete_sql_drop is the sql_drop event trigger.
 */
Datum
softdelete_sql_drop(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *dropped = NIL;
	List	   *dropped_tables = NIL;
	ListCell   *lc;
	uint64		i;
	int			ret;

	check_event_protocol(fcinfo, "sql_drop", "softdelete_sql_drop");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT objid, objsubid, object_type, address_names"
					  " FROM pg_catalog.pg_event_trigger_dropped_objects()"
					  " WHERE object_type OPERATOR(pg_catalog.=) ANY"
					  " ('{table,\"table column\",\"table constraint\",trigger,policy}')",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(caller);
		DroppedObject *obj = palloc0(sizeof(DroppedObject));
		Datum		names;

		obj->objid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		obj->objsubid = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		obj->type = SPI_getvalue(tup, desc, 3);
		names = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false,
							  TYPALIGN_INT, &elems, &nulls, &n);
			if (n >= 1)
				obj->schema = TextDatumGetCString(elems[0]);
			if (n >= 2)
				obj->table = TextDatumGetCString(elems[1]);
			if (n >= 3)
				obj->name = TextDatumGetCString(elems[2]);
		}
		if (strcmp(obj->type, "table") == 0)
			dropped_tables = lappend_oid(dropped_tables, obj->objid);
		dropped = lappend(dropped, obj);
		MemoryContextSwitchTo(old);
	}

	/* dropped tables leave the registry */
	foreach(lc, dropped_tables)
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1];

		values[0] = ObjectIdGetDatum(lfirst_oid(lc));
		ret = SPI_execute_with_args("DELETE FROM softdelete.registry"
									" WHERE tbl OPERATOR(pg_catalog.=) $1", 1,
									argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		ret = SPI_execute_with_args("DELETE FROM softdelete.partitions"
									" WHERE tbl OPERATOR(pg_catalog.=) $1", 1,
									argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	if (softdelete_ddl_depth > 0)
		PG_RETURN_VOID();

	/*
	 * Nothing enable() installed may go while the table stays.  Our
	 * triggers and policies are recognised by what they are, not by their
	 * names (a renamed one is still ours): after the drop, the table must
	 * still have all of them.
	 */
	foreach(lc, dropped)
	{
		DroppedObject *obj = (DroppedObject *) lfirst(lc);
		RegistryRow row;
		Oid			relid;
		bool		is_partition;
		bool		with_allow;

		if (strcmp(obj->type, "table") == 0 || obj->schema == NULL || obj->table == NULL)
			continue;
		relid = registered_table_named(obj->schema, obj->table, &row,
									   &is_partition, &with_allow);
		if (!OidIsValid(relid) || list_member_oid(dropped_tables, relid))
			continue;
		if (strcmp(obj->type, "table column") == 0)
		{
			if (obj->name != NULL && (strcmp(obj->name, NameStr(row.column_name)) == 0 ||
									  softdelete_flags_missing(relid, obj->name)))
				refuse_drop("column", obj->name, obj->table);
		}
		else if (softdelete_missing_piece(relid, NameStr(row.column_name),
										  with_allow, is_partition) != NULL ||
				 softdelete_flags_missing(relid, NULL))
			refuse_drop(obj->type, obj->name ? obj->name : "?", obj->table);
	}
	PG_RETURN_VOID();
}

/*
 * names_softdelete says whether a DROP's object list names "softdelete".
 */
static bool
names_softdelete(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *obj = (Node *) lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), SOFTDELETE_SCHEMA) == 0)
			return true;
	}
	return false;
}

/*
 * softdelete_ddl_command_start is the ddl_command_start event trigger:
 * it refuses to drop the extension, or its schema, while tables are
 * soft-deletable.
 */
Datum
softdelete_ddl_command_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	MemoryContext caller = CurrentMemoryContext;
	int			ret;
	char	   *tables = NULL;

	trigdata = check_event_protocol(fcinfo, "ddl_command_start",
									"softdelete_ddl_command_start");
	if (trigdata->parsetree == NULL || !IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if ((stmt->removeType != OBJECT_EXTENSION && stmt->removeType != OBJECT_SCHEMA) ||
		!names_softdelete(stmt->objects))
		PG_RETURN_VOID();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a registry row that names no table (left behind) holds nothing up */
	ret = SPI_execute("SELECT pg_catalog.string_agg(r.tbl::pg_catalog.text, ', ' ORDER BY r.tbl::pg_catalog.text)"
					  " FROM softdelete.registry r"
					  " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		tables = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (tables != NULL)
		tables = MemoryContextStrdup(caller, tables);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	if (tables != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop %s softdelete while tables are soft-deletable",
						stmt->removeType == OBJECT_EXTENSION ? "extension" : "schema"),
				 errdetail("Soft-deletable tables: %s.", tables),
				 errhint("Call softdelete.disable() on each first: SELECT softdelete.disable(tbl) FROM softdelete.tables;")));
	PG_RETURN_VOID();
}
