/*-------------------------------------------------------------------------
 *
 * flags.c
 *	  Boolean flags kept in step with the stamp (issue 12): the recipes'
 *	  "active" (live_flag, true while live) or "is_deleted" (deleted_flag,
 *	  true once trashed), named at enable().
 *
 * The stamp stays the truth: the filter, restore and the journal read it.
 * The flag follows it on every path because one rule holds it there: the
 * CHECK constraint softdelete_flag_in_step, "(stamp IS NULL) IS NOT
 * DISTINCT FROM flag" (IS NOT for a deleted_flag), which no writer -- our
 * own apply.c and planner hook, which write both columns, or raw SQL, a
 * dump being restored, a path forgotten -- can get past.
 *
 * What this file owns:
 *	- the checks of the flag arguments of enable(), before anything
 *	  changes, and the adoption of a flag: the registry row, trashed rows
 *	  flagged, flagged rows trashed (one deletion, cascade included), the
 *	  constraint and the triggers;
 *	- the triggers: BEFORE UPDATE OF flag FOR EACH ROW makes setting the
 *	  flag to its trashed value a soft delete of that row (it needs the
 *	  DELETE privilege; the row is collected as a DELETE's is and the
 *	  UPDATE skips it), and refuses setting it back on a trashed row (that
 *	  is restore()); AFTER UPDATE OF flag FOR EACH STATEMENT, on the table
 *	  and on each partition, stamps what the statement collected;
 *	- what disable() removes, what the event triggers keep in step
 *	  (partitions, a renamed flag) and refuse to see dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(softdelete_flag_trigger);

#define FLAG_ROW_TYPE	(TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_UPDATE)
#define FLAG_STMT_TYPE	(TRIGGER_TYPE_UPDATE)

/*
 * flag_trigger_name returns the name of relid's flag trigger of type
 * tgtype (ours: our function, that type, no WHEN), or NULL.  With
 * own_only, a clone of the partitioned parent's does not count.
 */
static char *
flag_trigger_name(Oid relid, int16 tgtype, bool own_only)
{
	return softdelete_find_trigger(relid, "flag_trigger", tgtype,
								   tgtype == FLAG_ROW_TYPE ? SOFTDELETE_TRIG_FLAG_ROW :
								   SOFTDELETE_TRIG_FLAG_STMT,
								   own_only, NULL);
}

/*
 * softdelete_flags_spare_row_lock runs at executor start (preloaded): on
 * each result relation with a flag that the statement does not set (the
 * flag is not among its updated columns: a DELETE planned as an UPDATE
 * writes the flag but lists only the stamp), the flag's BEFORE UPDATE OF
 * row trigger cannot fire.  Core would still lock every row before its
 * update for a table that has BEFORE UPDATE row triggers, before looking
 * at their column lists; when ours is the relation's only one, the
 * executor is told there is none, and updates as for a table without.
 */
void
softdelete_flags_spare_row_lock(EState *estate)
{
	Oid			ours = InvalidOid;
	ListCell   *lc;

	foreach(lc, estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);
		TriggerDesc *trigdesc = rri->ri_TrigDesc;
		const SoftDeleteTable *table;
		bool		only_ours = true;
		int			i;

		if (trigdesc == NULL || !trigdesc->trig_update_before_row)
			continue;
		table = softdelete_lookup(RelationGetRelid(rri->ri_RelationDesc));
		if (!OidIsValid(table->root) || table->flag_attnum <= 0 ||
			bms_is_member(table->flag_attnum - FirstLowInvalidHeapAttributeNumber,
						  ExecGetAllUpdatedCols(rri, estate)))
			continue;
		if (!OidIsValid(ours))
			ours = LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
											 makeString("flag_trigger")),
								  0, NULL, false);
		for (i = 0; i < trigdesc->numtriggers; i++)
		{
			Trigger    *trigger = &trigdesc->triggers[i];

			if (TRIGGER_TYPE_MATCHES(trigger->tgtype, TRIGGER_TYPE_ROW,
									 TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_UPDATE) &&
				trigger->tgfoid != ours)
				only_ours = false;
		}
		if (only_ours)
			trigdesc->trig_update_before_row = false;
	}
}

/*
 * tree_of lists relid and, for a partitioned table, all its partitions.
 */
static List *
tree_of(Oid relid)
{
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		return find_all_inheritors(relid, NoLock, NULL);
	return list_make1_oid(relid);
}

/*
 * ensure_pieces gives relid (and its partitions) what a flag needs, as
 * the extension's owner: the constraint, the row trigger (partitions get
 * clones), the statement trigger on each table of the tree.
 */
static void
ensure_pieces(Oid relid, const char *column, const char *flag, bool live_value)
{
	SoftDeleteIdentity saved;
	int			depth = softdelete_begin_ddl(&saved);
	char	   *tbl = softdelete_qualified_name(relid);

	PG_TRY();
	{
		ListCell   *lc;
		List	   *tree = tree_of(relid);

		if (!OidIsValid(get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true)))
			softdelete_run_ddl(psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK ((%s IS %sNULL) IS NOT DISTINCT FROM %s)",
							 tbl, SOFTDELETE_FLAG_CHECK, quote_identifier(column),
							 live_value ? "" : "NOT ", quote_identifier(flag)));
		if (flag_trigger_name(relid, FLAG_ROW_TYPE, false) == NULL)
			softdelete_run_ddl(psprintf("CREATE TRIGGER %s BEFORE UPDATE OF %s ON %s FOR EACH ROW"
							 " EXECUTE FUNCTION softdelete.flag_trigger()",
							 SOFTDELETE_TRIG_FLAG_ROW, quote_identifier(flag), tbl));
		foreach(lc, tree)
		{
			Oid			part = lfirst_oid(lc);

			if (flag_trigger_name(part, FLAG_STMT_TYPE, false) == NULL)
				softdelete_run_ddl(psprintf("CREATE TRIGGER %s AFTER UPDATE OF %s ON %s FOR EACH STATEMENT"
								 " EXECUTE FUNCTION softdelete.flag_trigger()",
								 SOFTDELETE_TRIG_FLAG_STMT, quote_identifier(flag),
								 softdelete_qualified_name(part)));
		}
	}
	PG_CATCH();
	{
		softdelete_abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_end_ddl(&saved);
}

/*
 * softdelete_flags_check_args checks the flag arguments of enable() on
 * relid, whose stamp column is column and whose registry row is row:
 * every refusal comes before anything is changed.
 */
void
softdelete_flags_check_args(Oid relid, const char *column, const char *live_flag,
							const char *deleted_flag, const RegistryRow *row)
{
	const char *flag = live_flag ? live_flag : deleted_flag;
	const char *relname = get_rel_name(relid);
	AttrNumber	attnum;
	HeapTuple	atttup;
	Form_pg_attribute att;
	Relation	rel;
	Bitmapset  *pkey;
	ListCell   *lc;
	char	   *sql;

	if (flag == NULL)
		return;
	if (live_flag != NULL && deleted_flag != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("live_flag and deleted_flag cannot both be given"),
				 strcmp(live_flag, deleted_flag) == 0 ?
				 errdetail("Column \"%s\" cannot be true both while a row is live and once it is trashed.", flag) :
				 errdetail("A table has one flag."),
				 errhint("Name the column that is true on live rows as live_flag, or the one that is true on trashed rows as deleted_flag.")));
	if (strcmp(flag, column) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" cannot be both the stamp column and the flag", flag)));
	if (row->found && NameStr(row->flag_name)[0] != '\0' &&
		(strcmp(NameStr(row->flag_name), flag) != 0 ||
		 row->flag_live_value != (live_flag != NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is already soft-deletable with %s \"%s\"",
						relname, row->flag_live_value ? "live_flag" : "deleted_flag",
						NameStr(row->flag_name)),
				 errhint("Call softdelete.disable('%s') first to change the flag.",
						 softdelete_hint_name(relid))));

	attnum = get_attnum(relid, flag);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"%s\" does not exist", flag, relname),
				 errdetail("A flag is not added: it must be a boolean column of the table.")));
	atttup = SearchSysCacheAttNum(relid, attnum);
	if (!HeapTupleIsValid(atttup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u", attnum, relid);
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	if (att->atttypid != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of table \"%s\" is of type %s",
						flag, relname, format_type_be(att->atttypid)),
				 errdetail("A flag must be of type boolean.")));
	if (att->attgenerated != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of table \"%s\" is a generated column", flag, relname),
				 errdetail("Soft delete and restore write the flag.")));
	ReleaseSysCache(atttup);

	rel = table_open(relid, AccessShareLock);
	pkey = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	table_close(rel, AccessShareLock);
	if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, pkey))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of table \"%s\" is part of its primary key", flag, relname),
				 errdetail("A flag changes when a row is trashed or restored; a key must not.")));

	/* every partition has the table's columns; checked all the same */
	foreach(lc, tree_of(relid))
	{
		if (get_attnum(lfirst_oid(lc), flag) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("partition \"%s\" of table \"%s\" has no column \"%s\"",
							get_rel_name(lfirst_oid(lc)), relname, flag)));
	}

	sql = psprintf("SELECT 1 FROM %s WHERE %s IS NULL LIMIT 1",
				   softdelete_qualified_name(relid), quote_identifier(flag));
	if (softdelete_run_as_owner(relid, sql, 0, NULL, NULL, SPI_OK_SELECT,
								NULL, NULL, 0) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of table \"%s\" contains null values", flag, relname),
				 errdetail("A flag must say of every row whether it is live."),
				 errhint("Set it first, as in UPDATE %s SET %s = %s WHERE %s IS NULL.",
						 softdelete_qualified_name(relid), quote_identifier(flag),
						 live_flag ? "true" : "false", quote_identifier(flag))));
}

/*
 * bring_in_step makes the rows of relid agree with the flag about to be
 * enforced: trashed rows get the trashed value, and live rows that the
 * flag already says are trashed go to the trash, as one deletion of this
 * transaction, with the cascade a DELETE of them would make.
 */
static void
bring_in_step(Oid relid, const char *column, const char *flag, bool live_value)
{
	char	   *tbl = softdelete_qualified_name(relid);
	const char *qcol = quote_identifier(column);
	const char *qflag = quote_identifier(flag);
	Oid			types[1] = {BOOLOID};
	Datum		values[1] = {BoolGetDatum(!live_value)};
	List	   *sets = NIL;
	ListCell   *lc;
	uint64		rows = 0;

	(void) softdelete_run_as_owner(relid,
								   psprintf("UPDATE %s SET %s = $1 WHERE %s IS NOT NULL"
											" AND %s IS DISTINCT FROM $1",
											tbl, qflag, qcol, qflag),
								   1, types, values, SPI_OK_UPDATE, NULL, NULL, 0);
	(void) softdelete_run_as_owner(relid,
								   psprintf("SELECT tableoid, ctid FROM %s WHERE %s IS NULL"
											" AND %s IS NOT DISTINCT FROM $1",
											tbl, qcol, qflag),
								   1, types, values, SPI_OK_SELECT,
								   softdelete_read_rowsets, &sets, 0);
	foreach(lc, sets)
	{
		RowSet	   *set = (RowSet *) lfirst(lc);

		softdelete_delete_rows(set->relid, set->tids, set->n);
		rows += set->n;
	}
	if (rows > 0)
		ereport(NOTICE,
				(errmsg_plural("%llu row of table \"%s\" whose \"%s\" says trashed was moved to the trash",
							   "%llu rows of table \"%s\" whose \"%s\" says trashed were moved to the trash",
							   rows, (unsigned long long) rows, get_rel_name(relid), flag),
				 errdetail("Moved as one deletion of this transaction, with the rows it cascaded to.")));
}

/*
 * softdelete_flags_adopt makes flag (live_value: its value on live rows)
 * the flag of relid, enabled with stamp column column: recorded, rows
 * brought in step, constraint and triggers in place.  On a table that
 * has it already, it only puts back what is missing.
 */
void
softdelete_flags_adopt(Oid relid, const char *column, const char *flag,
					   bool live_value)
{
	RegistryRow row = softdelete_registry_read(relid);

	if (strcmp(NameStr(row.flag_name), flag) != 0)
	{
		softdelete_registry_set_flag(relid, flag, live_value);
		CacheInvalidateRelcacheByRelid(relid);
		CommandCounterIncrement();
	}
	if (!OidIsValid(get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true)))
		bring_in_step(relid, column, flag, live_value);
	ensure_pieces(relid, column, flag, live_value);
	CacheInvalidateRelcacheByRelid(relid);
}

/*
 * softdelete_flags_copy gives the table part, just detached from the
 * soft-deletable table root and now soft-deletable on its own, the flag
 * of root, which its constraint still enforces.
 */
void
softdelete_flags_copy(Oid root, Oid part)
{
	RegistryRow row = softdelete_registry_read(root);

	if (NameStr(row.flag_name)[0] == '\0')
		return;
	softdelete_registry_set_flag(part, NameStr(row.flag_name), row.flag_live_value);
	CacheInvalidateRelcacheByRelid(part);
	ensure_pieces(part, NameStr(row.column_name), NameStr(row.flag_name),
				  row.flag_live_value);
}

/*
 * softdelete_flags_remove takes away the flag's constraint and triggers
 * from relid (disable); the flag column keeps its values.
 */
void
softdelete_flags_remove(Oid relid)
{
	SoftDeleteIdentity saved;
	int			depth;
	char	   *tbl = softdelete_qualified_name(relid);

	if (NameStr(softdelete_registry_read(relid).flag_name)[0] == '\0')
		return;
	depth = softdelete_begin_ddl(&saved);
	PG_TRY();
	{
		List	   *tree = tree_of(relid);
		ListCell   *lc;
		char	   *name;

		if (OidIsValid(get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true)))
			softdelete_run_ddl(psprintf("ALTER TABLE %s DROP CONSTRAINT %s", tbl, SOFTDELETE_FLAG_CHECK));
		while ((name = flag_trigger_name(relid, FLAG_ROW_TYPE, true)) != NULL)
			softdelete_run_ddl(psprintf("DROP TRIGGER %s ON %s", quote_identifier(name), tbl));
		foreach(lc, tree)
		{
			while ((name = flag_trigger_name(lfirst_oid(lc), FLAG_STMT_TYPE, true)) != NULL)
				softdelete_run_ddl(psprintf("DROP TRIGGER %s ON %s", quote_identifier(name),
								 softdelete_qualified_name(lfirst_oid(lc))));
		}
	}
	PG_CATCH();
	{
		softdelete_abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_end_ddl(&saved);
	softdelete_registry_set_flag(relid, NULL, false);
}

/*
 * softdelete_flags_sync keeps the flag of the registered table relid in
 * step after DDL (the event trigger): a renamed flag column is followed
 * (the constraint names it by number), a renamed constraint is refused,
 * new partitions get the statement trigger.
 */
void
softdelete_flags_sync(Oid relid)
{
	RegistryRow row = softdelete_registry_read(relid);
	const char *flag = NameStr(row.flag_name);

	if (!row.found || flag[0] == '\0')
		return;
	if (get_attnum(relid, flag) == InvalidAttrNumber)
	{
		Oid			conoid = get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true);
		HeapTuple	tup = OidIsValid(conoid) ?
			SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid)) : NULL;

		if (!HeapTupleIsValid(tup))
			return;
		{
			bool		isnull;
			Datum		keys = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conkey, &isnull);
			ArrayType  *arr = DatumGetArrayTypeP(keys);
			int16	   *attnums = (int16 *) ARR_DATA_PTR(arr);
			int			i;

			for (i = 0; !isnull && i < ARR_DIMS(arr)[0]; i++)
			{
				if (get_atttype(relid, attnums[i]) == BOOLOID)
				{
					softdelete_registry_set_flag(relid, get_attname(relid, attnums[i], false),
												 row.flag_live_value);
					CacheInvalidateRelcacheByRelid(relid);
					flag = get_attname(relid, attnums[i], false);
				}
			}
		}
		ReleaseSysCache(tup);
	}
	/* the constraint is known by its name: it keeps it */
	if (!OidIsValid(get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("constraint \"%s\" of soft-deletable table \"%s\" cannot be renamed",
						SOFTDELETE_FLAG_CHECK, get_rel_name(relid)),
				 errdetail("It keeps the flag \"%s\" in step with the stamp.", flag),
				 errhint("Call softdelete.disable('%s') first.", softdelete_hint_name(relid))));
	ensure_pieces(relid, NameStr(row.column_name), flag, row.flag_live_value);
}

/*
 * softdelete_flags_missing says whether a drop took away part of what the
 * flag of relid (a soft-deletable table or partition) needs: the flag
 * column itself (dropped_column), its constraint, or its triggers.
 */
bool
softdelete_flags_missing(Oid relid, const char *dropped_column)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);
	RegistryRow row;

	if (!OidIsValid(table->root))
		return false;
	row = softdelete_registry_read(table->root);
	if (NameStr(row.flag_name)[0] == '\0')
		return false;
	if (dropped_column != NULL)
		return strcmp(dropped_column, NameStr(row.flag_name)) == 0;
	return !OidIsValid(get_relation_constraint_oid(relid, SOFTDELETE_FLAG_CHECK, true)) ||
		flag_trigger_name(relid, FLAG_ROW_TYPE, false) == NULL ||
		flag_trigger_name(relid, FLAG_STMT_TYPE, false) == NULL;
}

/*
 * has_delete_policies says whether rel has row-level security policies
 * for DELETE that apply to the current user: an UPDATE does not apply
 * them, so it cannot stand for a DELETE there.
 */
static bool
has_delete_policies(Relation rel)
{
	ListCell   *lc;

	if (rel->rd_rsdesc == NULL ||
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		if (((RowSecurityPolicy *) lfirst(lc))->polcmd == ACL_DELETE_CHR)
			return true;
	}
	return false;
}

/*
 * check_may_soft_delete refuses the soft delete of a row of rel (a table
 * of the soft-deletable table root) by an UPDATE of its flag where a
 * DELETE would not have been allowed, or would not do the same: without
 * the DELETE privilege, under DELETE policies, or with other columns
 * changed (old and new: the row's versions).
 */
static void
check_may_soft_delete(Relation rel, Oid root, HeapTuple old, HeapTuple new,
					  const SoftDeleteTable *table)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	const char *flag = NameStr(TupleDescAttr(desc, table->flag_attnum - 1)->attname);
	bool		policies = false;
	int			i;

	if (pg_class_aclcheck(root, GetUserId(), ACL_DELETE) != ACLCHECK_OK &&
		pg_class_aclcheck(relid, GetUserId(), ACL_DELETE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to soft-delete rows of table \"%s\" by setting \"%s\"",
						get_rel_name(root), flag),
				 errdetail("Setting the flag to its trashed value is a soft delete, which needs the DELETE privilege on the table.")));
	if (root != relid)
	{
		Relation	rootrel = table_open(root, AccessShareLock);

		policies = has_delete_policies(rootrel);
		table_close(rootrel, AccessShareLock);
	}
	if (policies || has_delete_policies(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot soft-delete rows of table \"%s\" by setting \"%s\"",
						get_rel_name(root), flag),
				 errdetail("The table has row-level security policies for DELETE, which an UPDATE does not apply."),
				 errhint("Use DELETE.")));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		n1,
					n2;
		Datum		v1,
					v2;

		if (att->attisdropped || att->attgenerated != '\0' ||
			att->attnum == table->attnum || att->attnum == table->flag_attnum)
			continue;
		v1 = heap_getattr(old, att->attnum, desc, &n1);
		v2 = heap_getattr(new, att->attnum, desc, &n2);
		if (n1 != n2 || (!n1 && !datumIsEqual(v1, v2, att->attbyval, att->attlen)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot soft-delete rows of table \"%s\" by an UPDATE that also changes column \"%s\"",
							get_rel_name(root), NameStr(att->attname)),
					 errdetail("Setting \"%s\" to its trashed value is a soft delete, which keeps the row as it was.",
							   flag),
					 errhint("Use DELETE, or set \"%s\" alone.", flag)));
	}
}

/*
 * softdelete_flag_trigger is the flag's UPDATE OF trigger, at both
 * levels.  Row, BEFORE: a live row whose flag goes to its trashed value
 * is collected to be soft-deleted and skipped by the UPDATE, its count put
 * right by the executor hook, as a DELETE's; without the hooks (library
 * not preloaded) that count would be 0, so the UPDATE is refused, naming
 * DELETE, rather than done unfaithfully.  A trashed row whose flag goes
 * back to live is refused (restore() does that).  Statement, AFTER: the
 * rows collected are stamped and the cascade follows.
 */
Datum
softdelete_flag_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const SoftDeleteTable *table;
	TupleDesc	desc;
	bool		old_null,
				new_null,
				flag_null;
	bool		flag_trashed;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("softdelete.flag_trigger() must be called as an UPDATE trigger")));
	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
	{
		if (!TRIGGER_FIRED_AFTER(td->tg_event))
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("softdelete.flag_trigger() must be fired AFTER at statement level")));
		softdelete_delete_pending();
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("softdelete.flag_trigger() must be fired BEFORE at row level")));

	table = softdelete_lookup(RelationGetRelid(td->tg_relation));
	if (!OidIsValid(table->root) || table->attnum <= 0 || table->flag_attnum <= 0)
		return PointerGetDatum(td->tg_newtuple);
	desc = RelationGetDescr(td->tg_relation);
	(void) heap_getattr(td->tg_trigtuple, table->attnum, desc, &old_null);
	(void) heap_getattr(td->tg_newtuple, table->attnum, desc, &new_null);
	flag_trashed = DatumGetBool(heap_getattr(td->tg_newtuple, table->flag_attnum,
											 desc, &flag_null)) != table->flag_live_value;
	if (flag_null)
		return PointerGetDatum(td->tg_newtuple);	/* the constraint refuses */

	if (old_null && flag_trashed && !softdelete_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot soft-delete rows of table \"%s\" by setting \"%s\" in a session where softdelete is not preloaded",
						get_rel_name(table->root),
						get_attname(RelationGetRelid(td->tg_relation), table->flag_attnum, false)),
				 errdetail("Without the library preloaded, the UPDATE could not report the rows it soft-deleted: it would say it updated none."),
				 errhint("Use DELETE, which soft-deletes on every path, or add softdelete to shared_preload_libraries or session_preload_libraries.")));
	if (old_null && flag_trashed)
	{
		check_may_soft_delete(td->tg_relation, table->root, td->tg_trigtuple,
							  td->tg_newtuple, table);
		softdelete_deletion_collect(RelationGetRelid(td->tg_relation),
									&td->tg_trigtuple->t_self);
		return PointerGetDatum(NULL);
	}
	if (!old_null && !flag_trashed && !new_null)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot restore a row of table \"%s\" by setting \"%s\"",
						get_rel_name(table->root),
						get_attname(RelationGetRelid(td->tg_relation), table->flag_attnum, false)),
				 errdetail("The row is in the trash; restore brings it back with its flag."),
				 errhint("Use softdelete.restore('%s', key) or softdelete.undo(deletion).",
						 softdelete_hint_name(table->root))));
	return PointerGetDatum(td->tg_newtuple);
}
