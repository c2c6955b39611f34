/*-------------------------------------------------------------------------
 *
 * upsert.c
 *	  INSERT ... ON CONFLICT meeting a trashed row, when the library is
 *	  preloaded: revived for a role that may restore, a clear 23505 for
 *	  any other.
 *
 * Left alone, PostgreSQL finds the trashed row as the conflict and then
 * either fails on our filter ("new row violates row-level security
 * policy", DO UPDATE) or does nothing (DO NOTHING), so the row stays in
 * the trash and the statement says INSERT 0 0.
 *
 * The executor-start hook finds each ModifyTable that inserts with an
 * ON CONFLICT clause into a soft-deletable table (the statement's own
 * and those of its CTEs) and gates its subplan: every row the subplan
 * produces is, before ModifyTable sees it, routed to its partition and
 * probed against the arbiter indexes exactly as ExecInsert will probe
 * it (ExecCheckIndexConstraints: a dirty snapshot, waiting for a
 * concurrent writer of the same key).  A conflicting row that is in the
 * trash is then
 *	- revived, if the role may restore on the table (privileges.c): that
 *	  row alone, not its deletion's cascade, with restore's refusal of a
 *	  row whose parent is still trashed (restore.c); the statement's
 *	  command id moves past the revival, so that ExecInsert's own check
 *	  finds a live row and applies DO UPDATE or DO NOTHING to it;
 *	- refused with 23505 otherwise, naming the table and the key.
 * A unique index among live rows (unique_among_live) never conflicts
 * with the trash, so it is never the cause.
 *
 * Plain INSERTs, and INSERTs into tables that are not soft-deletable,
 * are not touched: nothing is added to their plans or their rows.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "utils/builtins.h"
#include "executor/execPartition.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

static ExecutorStart_hook_type prev_executor_start = NULL;

/* One gated subplan: the rows it produces are probed before insertion */
typedef struct UpsertGate
{
	ModifyTableState *mtstate;
	bool	   *junk;			/* per subplan column: not a table column */
	int			ncolumns;		/* subplan columns */
	TupleTableSlot *row;		/* the row, in the target table's row type */
} UpsertGate;

/*
 * key_description returns "(a, b)=(1, x)": the values of the new row in
 * the columns of the conflicting index, as core's unique violations show
 * them.  Core leaves them out under row-level security, but these are
 * the caller's own values; only an index on expressions, which could
 * show more than the caller gave, goes without them (NULL).
 */
static char *
key_description(ResultRelInfo *leaf, Oid indexoid, TupleTableSlot *row,
				const char **indexname)
{
	int			i;

	for (i = 0; i < leaf->ri_NumIndices; i++)
	{
		Relation	index = leaf->ri_IndexRelationDescs[i];
		TupleDesc	desc = RelationGetDescr(leaf->ri_RelationDesc);
		StringInfoData names;
		StringInfoData values;
		int			k;

		if (RelationGetRelid(index) != indexoid)
			continue;
		*indexname = RelationGetRelationName(index);
		initStringInfo(&names);
		initStringInfo(&values);
		for (k = 0; k < index->rd_index->indnkeyatts; k++)
		{
			AttrNumber	attnum = index->rd_index->indkey.values[k];
			Form_pg_attribute att;
			bool		isnull;
			Datum		value;
			Oid			output;
			bool		varlena;

			if (attnum <= 0)
				return NULL;
			att = TupleDescAttr(desc, attnum - 1);
			value = slot_getattr(row, attnum, &isnull);
			appendStringInfoString(&names, k > 0 ? ", " : "");
			appendStringInfoString(&names, quote_identifier(NameStr(att->attname)));
			appendStringInfoString(&values, k > 0 ? ", " : "");
			if (isnull)
			{
				appendStringInfoString(&values, "null");
				continue;
			}
			getTypeOutputInfo(att->atttypid, &output, &varlena);
			appendStringInfoString(&values, OidOutputFunctionCall(output, value));
		}
		return psprintf("(%s)=(%s)", names.data, values.data);
	}
	*indexname = get_rel_name(indexoid);
	return NULL;
}

/*
 * refuse raises the 23505 of a role that may not restore on the table.
 */
static void
refuse(ResultRelInfo *leaf, Oid root, Oid indexoid, TupleTableSlot *row)
{
	const char *indexname;
	char	   *key = key_description(leaf, indexoid, row, &indexname);

	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("duplicate key value of table \"%s\" is held by a row in the trash",
					get_rel_name(root)),
			 key ? errdetail("Key %s of unique index \"%s\" belongs to a soft-deleted row.",
							 key, indexname)
			 : errdetail("A soft-deleted row holds this key of unique index \"%s\".",
						 indexname),
			 errhint("Only the table's owner or a member of softdelete_admin may bring it back: ask one of them to restore it, e.g. with softdelete.restore('%s', ...).",
					 softdelete_hint_name(root)),
			 errtableconstraint(leaf->ri_RelationDesc, indexname)));
}

/*
 * trashed_stamp says whether the row version at *tid of rel is in the
 * trash, and gives its stamp.
 */
static bool
trashed_stamp(Relation rel, ItemPointer tid, AttrNumber attnum,
			  TimestampTz *stamp)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		isnull = true;
	Datum		value = (Datum) 0;

	if (table_tuple_fetch_row_version(rel, tid, SnapshotAny, slot))
		value = slot_getattr(slot, attnum, &isnull);
	if (!isnull)
		*stamp = DatumGetTimestampTz(value);
	ExecDropSingleTupleTableSlot(slot);
	return !isnull;
}

/*
 * arbiters returns the indexes ExecInsert will check the row against:
 * those ON CONFLICT names, or every unique and exclusion index.
 */
static List *
arbiters(ResultRelInfo *leaf)
{
	List	   *list = NIL;
	int			i;

	if (leaf->ri_onConflictArbiterIndexes != NIL)
		return leaf->ri_onConflictArbiterIndexes;
	for (i = 0; i < leaf->ri_NumIndices; i++)
	{
		IndexInfo  *info = leaf->ri_IndexRelationInfo[i];

		if (info->ii_Unique || info->ii_ExclusionOps != NULL)
			list = lappend_oid(list, RelationGetRelid(leaf->ri_IndexRelationDescs[i]));
	}
	return list;
}

/*
 * gate_row probes one row the subplan produced, and revives or refuses
 * a trashed row it conflicts with.
 */
static void
gate_row(UpsertGate *gate, TupleTableSlot *planslot)
{
	ModifyTableState *mt = gate->mtstate;
	EState	   *estate = mt->ps.state;
	ResultRelInfo *leaf = mt->resultRelInfo;
	TupleTableSlot *row = gate->row;
	const SoftDeleteTable *table;
	Relation	rel;
	ListCell   *lc;
	int			i,
				k = 0;

	/* the row as ExecInsert will see it: the subplan's table columns */
	slot_getallattrs(planslot);
	ExecClearTuple(row);
	for (i = 0; i < gate->ncolumns; i++)
	{
		if (gate->junk[i])
			continue;
		row->tts_values[k] = planslot->tts_values[i];
		row->tts_isnull[k] = planslot->tts_isnull[i];
		k++;
	}
	ExecStoreVirtualTuple(row);

	if (mt->mt_partition_tuple_routing != NULL)
	{
		TupleConversionMap *map;

		leaf = ExecFindPartition(mt, mt->resultRelInfo,
								 mt->mt_partition_tuple_routing, row, estate);
		map = sd_root_to_child_map(leaf, estate);
		if (map != NULL)
			row = execute_attr_map_slot(map->attrMap, row,
										leaf->ri_PartitionTupleSlot);
	}
	rel = leaf->ri_RelationDesc;
	table = softdelete_lookup(RelationGetRelid(rel));
	if (!OidIsValid(table->root) || table->attnum <= 0)
		return;
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(leaf, estate, row, CMD_INSERT);
	if (leaf->ri_IndexRelationDescs == NULL && rel->rd_rel->relhasindex)
		ExecOpenIndices(leaf, true);

	foreach(lc, arbiters(leaf))
	{
		Oid			indexoid = lfirst_oid(lc);
		ItemPointerData conflict;
		TimestampTz stamp;

		if (sd_check_index_constraints(leaf, row, estate, &conflict,
									   list_make1_oid(indexoid)))
			continue;
		if (!trashed_stamp(rel, &conflict, table->attnum, &stamp))
			continue;
		if (!softdelete_may_manage(table->root))
			refuse(leaf, table->root, indexoid, row);
		if (softdelete_revive_row(RelationGetRelid(rel), &conflict, stamp))
		{
			/* ExecInsert's check and DO UPDATE see the revived row */
			estate->es_output_cid = GetCurrentCommandId(true);
		}
	}
}

/*
 * gate_exec stands in for the subplan's ExecProcNode.
 */
static TupleTableSlot *
gate_exec(PlanState *node)
{
	void	   *arg;
	ExecProcNodeMtd real = softdelete_stood_in(node, &arg);
	TupleTableSlot *slot = real(node);
	UpsertGate *gate = (UpsertGate *) arg;

	if (!TupIsNull(slot))
		gate_row(gate, slot);
	return slot;
}

/*
 * gate_modify_table gates the subplan of mt if it inserts with ON
 * CONFLICT into a soft-deletable table.
 */
static void
gate_modify_table(ModifyTableState *mt)
{
	ModifyTable *plan = (ModifyTable *) mt->ps.plan;
	PlanState  *child = outerPlanState(mt);
	Relation	rel;
	UpsertGate *gate;
	ListCell   *lc;
	int			ncolumns = 0;
	int			nreal = 0;
	MemoryContext old;

	if (mt->operation != CMD_INSERT || plan->onConflictAction == ONCONFLICT_NONE ||
		child == NULL || mt->resultRelInfo == NULL)
		return;
	rel = mt->resultRelInfo->ri_RelationDesc;
	if (!OidIsValid(softdelete_lookup(RelationGetRelid(rel))->root))
		return;

	old = MemoryContextSwitchTo(mt->ps.state->es_query_cxt);
	gate = palloc0(sizeof(UpsertGate));
	gate->junk = palloc0(sizeof(bool) * (list_length(child->plan->targetlist) + 1));
	foreach(lc, child->plan->targetlist)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);

		gate->junk[ncolumns++] = tle->resjunk;
		if (!tle->resjunk)
			nreal++;
	}
	if (nreal != RelationGetDescr(rel)->natts)
	{
		MemoryContextSwitchTo(old);
		elog(ERROR, "softdelete: INSERT ... ON CONFLICT into \"%s\" produces %d columns for %d",
			 RelationGetRelationName(rel), nreal, RelationGetDescr(rel)->natts);
	}
	gate->ncolumns = ncolumns;
	gate->mtstate = mt;
	gate->row = ExecAllocTableSlot(&mt->ps.state->es_tupleTable,
								   RelationGetDescr(rel), &TTSOpsVirtual);
	MemoryContextSwitchTo(old);
	softdelete_stand_in(child, gate_exec, gate);
}

/*
 * softdelete_executor_start is the executor-start hook: INSERTs ... ON
 * CONFLICT get their gate; every statement first lets flags.c spare the
 * row locks of a flag's row trigger that cannot fire, and fidelity.c
 * count the rows of the DELETEs in its CTEs.
 */
static void
softdelete_executor_start(QueryDesc *queryDesc, int eflags)
{
	ListCell   *lc;

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		softdelete_flags_spare_row_lock(queryDesc->estate);
		softdelete_fidelity_count_cte_deletes(queryDesc->estate);
	}
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
		(queryDesc->operation != CMD_INSERT &&
		 queryDesc->estate->es_auxmodifytables == NIL))
		return;
	/* a rule's ModifyTable is both the plan and a secondary one: once */
	if (queryDesc->planstate != NULL && IsA(queryDesc->planstate, ModifyTableState) &&
		!list_member_ptr(queryDesc->estate->es_auxmodifytables, queryDesc->planstate))
		gate_modify_table((ModifyTableState *) queryDesc->planstate);
	foreach(lc, queryDesc->estate->es_auxmodifytables)
		gate_modify_table((ModifyTableState *) lfirst(lc));
}

/*
 * softdelete_upsert_install_hook chains the executor-start hook
 * (fidelity.c calls it when the library is preloaded).
 */
void
softdelete_upsert_install_hook(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = softdelete_executor_start;
}
