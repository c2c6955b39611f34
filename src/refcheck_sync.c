/*-------------------------------------------------------------------------
 *
 * refcheck_sync.c
 *	  Where the reference checks of refcheck.c run: the internal check
 *	  triggers, one per foreign key to a soft-deletable table on each
 *	  referencing leaf, created and dropped as the schema changes.
 *
 * softdelete_refcheck_sync puts these triggers where they belong and
 * removes them where they no longer do: enable() and disable() call it,
 * the ddl_command_end event trigger calls it for the tables a command
 * touched (a foreign key created, a partition attached, a constraint's
 * deferrability altered), and the 1.0 -> 1.1 upgrade for every
 * soft-deletable table (softdelete.sync_reference_checks).
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "commands/tablecmds.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(softdelete_sync_reference_checks);

/*
 * check_function returns the OID of softdelete.reference_check_trigger(),
 * or InvalidOid while the extension is still at 1.0 (the library serves
 * both versions).
 */
static Oid
check_function(void)
{
	return LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
									 makeString("reference_check_trigger")),
						  0, NULL, true);
}

/*
 * Our check trigger on a referencing leaf, as found in pg_trigger.
 */
typedef struct FoundCheck
{
	Oid			trigoid;
	Oid			conoid;
	bool		deferrable;
	bool		deferred;
	int16		tgtype;
	int			natts;
} FoundCheck;

#define CHECK_TGTYPE (TRIGGER_TYPE_ROW | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE)

/*
 * parent_soft_deletable says whether a referenced table is soft-deletable
 * (or a partition of one).
 */
static bool
parent_soft_deletable(Oid relid)
{
	return OidIsValid(softdelete_lookup(relid)->root);
}

/*
 * drop_check drops one of our check triggers: the internal dependency on
 * its foreign key goes first, so that it may be dropped alone.  A trigger
 * with events still pending in this transaction is not dropped under
 * them (CheckTableNotInUse says so).
 */
static void
drop_check(Oid leaf, Oid trigoid)
{
	ObjectAddress obj;
	Relation	rel = table_open(leaf, AccessExclusiveLock);

	CheckTableNotInUse(rel, "DROP TRIGGER");
	table_close(rel, NoLock);
	deleteDependencyRecordsForClass(TriggerRelationId, trigoid,
									ConstraintRelationId, DEPENDENCY_INTERNAL);
	CommandCounterIncrement();
	ObjectAddressSet(obj, TriggerRelationId, trigoid);
	performDeletion(&obj, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	CommandCounterIncrement();
}

/*
 * create_check puts our check trigger for foreign key conoid on leaf, as
 * PostgreSQL creates its own: internal, tied to the constraint, with its
 * deferrability, firing on INSERT and on UPDATE OF the key columns.
 */
static void
create_check(Oid leaf, Oid conoid, Oid funcoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Form_pg_constraint con;
	CreateTrigStmt *stmt = makeNode(CreateTrigStmt);
	AttrNumber	child_attnums[INDEX_MAX_KEYS];
	AttrNumber	parent_attnums[INDEX_MAX_KEYS];
	Oid			pf_eq_op[INDEX_MAX_KEYS];
	int			nkeys;
	int			i;
	Oid			confrelid;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	stmt->deferrable = con->condeferrable;
	stmt->initdeferred = con->condeferred;
	confrelid = con->confrelid;
	DeconstructFkConstraintRow(tup, &nkeys, child_attnums, parent_attnums,
							   pf_eq_op, NULL, NULL, NULL, NULL);
	ReleaseSysCache(tup);

	stmt->replace = false;
	stmt->isconstraint = true;
	stmt->trigname = SOFTDELETE_TRIG_REFCHECK;
	stmt->relation = NULL;
	stmt->funcname = list_make2(makeString(SOFTDELETE_SCHEMA),
								makeString("reference_check_trigger"));
	stmt->args = NIL;
	stmt->row = true;
	stmt->timing = TRIGGER_TYPE_AFTER;
	stmt->events = TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE;
	stmt->columns = NIL;
	for (i = 0; i < nkeys; i++)
		stmt->columns = lappend(stmt->columns,
								makeString(get_attname(leaf, child_attnums[i], false)));
	stmt->whenClause = NULL;
	stmt->transitionRels = NIL;
	stmt->constrrel = NULL;

	(void) CreateTrigger(stmt, NULL, leaf, confrelid, conoid, InvalidOid,
						 funcoid, InvalidOid, NULL, true, false);
	CommandCounterIncrement();
}

/*
 * sync_leaf gives the ordinary table leaf exactly the check triggers it
 * should have: one for each foreign key of leaf that PostgreSQL checks
 * there (its RI_FKey_check_ins trigger) and whose referenced table is
 * soft-deletable, with the key's current deferrability.
 */
static void
sync_leaf(Oid leaf, Oid funcoid)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	SysScanDesc scan = softdelete_scan_of_table(tgrel, TriggerRelidNameIndexId,
												Anum_pg_trigger_tgrelid, leaf);
	HeapTuple	tup;
	List	   *wanted = NIL;
	List	   *found = NIL;
	ListCell   *lc;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

		if (trig->tgfoid == F_RI_FKEY_CHECK_INS && OidIsValid(trig->tgconstraint))
			wanted = list_append_unique_oid(wanted, trig->tgconstraint);
		else if (trig->tgfoid == funcoid)
		{
			FoundCheck *f = palloc(sizeof(FoundCheck));

			f->trigoid = trig->oid;
			f->conoid = trig->tgconstraint;
			f->deferrable = trig->tgdeferrable;
			f->deferred = trig->tginitdeferred;
			f->tgtype = trig->tgtype;
			f->natts = trig->tgattr.dim1;
			found = lappend(found, f);
		}
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);

	/* keep only the foreign keys to soft-deletable tables */
	foreach(lc, wanted)
	{
		HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(lfirst_oid(lc)));
		bool		keep = false;

		if (HeapTupleIsValid(ctup))
		{
			keep = parent_soft_deletable(((Form_pg_constraint) GETSTRUCT(ctup))->confrelid);
			ReleaseSysCache(ctup);
		}
		if (!keep)
			wanted = foreach_delete_current(wanted, lc);
	}

	/* drop what is not wanted, or is not as the key is now */
	foreach(lc, found)
	{
		FoundCheck *f = (FoundCheck *) lfirst(lc);
		bool		right = false;

		if (list_member_oid(wanted, f->conoid) && f->tgtype == CHECK_TGTYPE)
		{
			HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(f->conoid));

			if (HeapTupleIsValid(ctup))
			{
				Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctup);

				right = con->condeferrable == f->deferrable &&
					con->condeferred == f->deferred;
				ReleaseSysCache(ctup);
			}
		}
		if (right)
			wanted = list_delete_oid(wanted, f->conoid);
		else
			drop_check(leaf, f->trigoid);
	}

	foreach(lc, wanted)
		create_check(leaf, lfirst_oid(lc), funcoid);
}

/*
 * add_leaves appends relid, or the ordinary tables below it if it is
 * partitioned, to *leaves.
 */
static void
add_leaves(List **leaves, Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == RELKIND_RELATION)
		*leaves = list_append_unique_oid(*leaves, relid);
	else if (relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *tree = find_all_inheritors(relid, NoLock, NULL);
		ListCell   *lc;

		foreach(lc, tree)
			if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
				*leaves = list_append_unique_oid(*leaves, lfirst_oid(lc));
	}
}

/*
 * softdelete_refcheck_sync brings the check triggers in line around
 * relid: on relid itself (and its partitions) as a referencing table, and
 * on every table that references relid or one of its partitions.  The
 * registry must already say whether relid is soft-deletable (the caller
 * has made its change visible).
 */
void
softdelete_refcheck_sync(Oid relid)
{
	Oid			funcoid = check_function();
	List	   *rels;
	List	   *leaves = NIL;
	Relation	conrel;
	SysScanDesc scan;
	HeapTuple	tup;
	ListCell   *lc;

	if (!OidIsValid(funcoid) || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		rels = find_all_inheritors(relid, NoLock, NULL);
	else if (get_rel_relkind(relid) == RELKIND_RELATION)
		rels = list_make1_oid(relid);
	else
		return;
	foreach(lc, rels)
		add_leaves(&leaves, lfirst_oid(lc));

	/* pg_constraint has no index on confrelid: one scan, as fkgraph.c */
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	scan = systable_beginscan(conrel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype == CONSTRAINT_FOREIGN &&
			list_member_oid(rels, con->confrelid))
			add_leaves(&leaves, con->conrelid);
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);

	foreach(lc, leaves)
		sync_leaf(lfirst_oid(lc), funcoid);
}

/*
 * sync_reference_checks(tbl regclass): the upgrade script's way to put
 * the check triggers around a table enabled under 1.0.  For the table's
 * managers only.
 */
Datum
softdelete_sync_reference_checks(PG_FUNCTION_ARGS)
{
	Oid			relid;

	relid = softdelete_arg_table(fcinfo, 0, "sync_reference_checks", NULL);
	softdelete_check_may_manage(relid, "check references of");
	softdelete_refcheck_sync(relid);
	PG_RETURN_VOID();
}
