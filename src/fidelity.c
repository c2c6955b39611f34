/*-------------------------------------------------------------------------
 *
 * fidelity.c
 *	  Planner and executor hooks, when the library is preloaded: DELETE on
 *	  a soft-deletable table reports the rows it soft-deleted and returns
 *	  them from RETURNING, as a hard DELETE would.
 *
 * The planner hook rewrites such a DELETE, after the rewriter has applied
 * the caller's DELETE policies to it, into an UPDATE that sets the stamp
 * column to now() on rows where it is NULL (and the table's flag, if it
 * has one, to its trashed value: issue 12), before planning.  The
 * statement keeps its privileges (the caller needs DELETE, not UPDATE),
 * its row-level security (the DELETE policies, already attached as
 * security quals), its command tag and row count ("DELETE 3": the plan
 * still says CMD_DELETE), and its RETURNING list, which now sees the rows
 * with their new stamp.  It works inside CTEs, with USING, with WHERE
 * CURRENT OF, through updatable views and in PL/pgSQL.  The plan is as
 * fast as the hand-written UPDATE.  Enabling or disabling a table
 * invalidates its cached plans (the DDL does), so prepared statements are
 * re-planned with the table's current state.
 *
 * When the table is referenced by foreign keys, the cascade needs the
 * stamped rows: the new value is then softdelete.stamp(tableoid, ctid),
 * which returns now() and notes the row, and the executor-finish hook
 * follows the foreign keys from the rows noted (cascade.c).  Only rows
 * this transaction has stamped are followed, so calling stamp() by hand
 * gains nothing.
 *
 * A DELETE in a CTE that was planned so counts its own rows for the
 * journal (count_cte_delete): PostgreSQL counts only the statement's.
 *
 * Statements left to the trigger path (MERGE ... DELETE, our own purge
 * and hard_delete, or any session where the library is not preloaded) get
 * their count put right by the executor-run hook: the rows the BEFORE
 * DELETE trigger collected during the statement are added to the count;
 * so do the rows an UPDATE of a flag collected (flags.c).
 *
 * The hooks are installed only when the library is named in
 * shared_preload_libraries or session_preload_libraries, so that a
 * session behaves the same from its first statement to its last.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(softdelete_stamp_row);

static planner_hook_type prev_planner = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;

static void keep_stamped_successors(RowSet *set);

/*
 * Executor depth: ExecutorRun and ExecutorFinish each add one level.  The
 * rows a converted DELETE stamps are noted in the deletion with the depth
 * of their statement, and a statement's finish follows only its own rows
 * and those of statements nested in it -- never those of an outer
 * statement still running (a trigger's SQL finishes while the outer
 * UPDATE is half done).  Reset at transaction end.
 */
static int	capture_depth = 0;	/* executor depth: Run and Finish nest */

/*
 * listed_in says whether a library list GUC names softdelete.
 */
static bool
listed_in(const char *guc)
{
	const char *value = GetConfigOption(guc, true, false);
	char	   *copy;
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	if (value == NULL || value[0] == '\0')
		return false;
	copy = pstrdup(value);
	if (!SplitDirectoriesString(copy, ',', &names))
		return false;
	foreach(lc, names)
	{
		char	   *name = (char *) lfirst(lc);
		char	   *base = strrchr(name, '/');

		base = base ? base + 1 : name;
		if (strcmp(base, "softdelete") == 0 || strcmp(base, "softdelete.so") == 0)
			found = true;
	}
	return found;
}

/*
 * stamp_function returns the OID of softdelete.stamp(oid, tid).
 */
static Oid
stamp_function(void)
{
	Oid			argtypes[2] = {OIDOID, TIDOID};

	return LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
									 makeString("stamp")),
						  2, argtypes, false);
}

/*
 * referenced says whether a foreign key references rows of relid: the
 * table itself, its ancestors, or (for a partitioned table) any of its
 * partitions, which a foreign key may reference on its own.
 */
static bool
referenced(Oid relid)
{
	List	   *rels;
	ListCell   *lc;

	if (softdelete_fk_has_incoming(relid))
		return true;
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return false;
	rels = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, rels)
	{
		if (lfirst_oid(lc) != relid && softdelete_fk_has_incoming(lfirst_oid(lc)))
			return true;
	}
	return false;
}

/*
 * filtered_already says whether the security quals of the target already
 * hold "stamp IS NULL" at top level (our restrictive policy does, for a
 * role subject to row-level security), so that it is not added twice.
 */
static bool
filtered_already(RangeTblEntry *rte, int varno, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, rte->securityQuals)
	{
		Node	   *qual = (Node *) lfirst(lc);
		List	   *conjuncts;
		ListCell   *lc2;

		if (IsA(qual, BoolExpr) && ((BoolExpr *) qual)->boolop == AND_EXPR)
			conjuncts = ((BoolExpr *) qual)->args;
		else
			conjuncts = list_make1(qual);
		foreach(lc2, conjuncts)
		{
			NullTest   *nt = (NullTest *) lfirst(lc2);

			if (IsA(nt, NullTest) && nt->nulltesttype == IS_NULL &&
				nt->arg != NULL && IsA(nt->arg, Var) &&
				((Var *) nt->arg)->varno == varno &&
				((Var *) nt->arg)->varattno == attnum &&
				((Var *) nt->arg)->varlevelsup == 0)
				return true;
		}
	}
	return false;
}

/*
 * convert_delete turns a DELETE on a soft-deletable table into the UPDATE
 * that soft-deletes the same rows; also the DELETEs in its CTEs.  Returns
 * whether q itself was converted.
 */
static bool
convert_delete(Query *q)
{
	ListCell   *lc;
	RangeTblEntry *rte;
	const SoftDeleteTable *table;
	FuncExpr   *now;
	NullTest   *live;
	Var		   *stamp;

	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (cte->ctequery != NULL && IsA(cte->ctequery, Query))
			(void) convert_delete((Query *) cte->ctequery);
	}

	if (q->commandType != CMD_DELETE || q->resultRelation <= 0 ||
		q->targetList != NIL)
		return false;
	rte = rt_fetch(q->resultRelation, q->rtable);
	if (rte->rtekind != RTE_RELATION)
		return false;
	table = softdelete_lookup(rte->relid);
	if (!OidIsValid(table->root) || table->attnum <= 0)
		return false;

	/*
	 * SET stamp = softdelete.stamp(...), the deletion's stamp (unique among
	 * deletions, so not simply now()).  When the cascade needs the stamped
	 * rows, stamp(tableoid, ctid) also notes each row; otherwise its
	 * arguments are NULL and it notes nothing.
	 */
	if (referenced(rte->relid))
		now = makeFuncExpr(stamp_function(), TIMESTAMPTZOID,
						   list_make2(makeVar(q->resultRelation,
											  TableOidAttributeNumber,
											  OIDOID, -1, InvalidOid, 0),
									  makeVar(q->resultRelation,
											  SelfItemPointerAttributeNumber,
											  TIDOID, -1, InvalidOid, 0)),
						   InvalidOid, InvalidOid, COERCE_SQL_SYNTAX);	/* see stamp() */
	else
		now = makeFuncExpr(stamp_function(), TIMESTAMPTZOID,
						   list_make2(makeNullConst(OIDOID, -1, InvalidOid),
									  makeNullConst(TIDOID, -1, InvalidOid)),
						   InvalidOid, InvalidOid, COERCE_SQL_SYNTAX);
	q->targetList = list_make1(makeTargetEntry((Expr *) now, table->attnum,
											   pstrdup(NameStr(table->column_name)),
											   false));
	/* SET flag = <trashed value> too, in column order (issue 12) */
	if (table->flag_attnum > 0)
	{
		TargetEntry *flag = makeTargetEntry((Expr *) makeBoolConst(!table->flag_live_value, false),
											table->flag_attnum,
											get_attname(rte->relid, table->flag_attnum, false),
											false);

		if (table->flag_attnum < table->attnum)
			q->targetList = lcons(flag, q->targetList);
		else
			q->targetList = lappend(q->targetList, flag);
	}

	/* AND stamp IS NULL: rows already in the trash are not touched again */
	if (!filtered_already(rte, q->resultRelation, table->attnum))
	{
		stamp = makeVar(q->resultRelation, table->attnum, TIMESTAMPTZOID, -1,
						InvalidOid, 0);
		live = makeNode(NullTest);
		live->arg = (Expr *) stamp;
		live->nulltesttype = IS_NULL;
		live->argisrow = false;
		live->location = -1;
		q->jointree->quals = make_and_qual(q->jointree->quals, (Node *) live);
	}

	SD_RTE_UPDATED_COLS(q, rte) = bms_add_member(SD_RTE_UPDATED_COLS(q, rte),
												  table->attnum - FirstLowInvalidHeapAttributeNumber);
	q->commandType = CMD_UPDATE;
	return true;
}

/*
 * softdelete_planner is the planner hook.
 */
static PlannedStmt *
softdelete_planner(Query *parse, const char *query_string, int cursorOptions,
				   ParamListInfo boundParams)
{
	bool		converted = false;
	PlannedStmt *result;

	/*
	 * Our own removals (purge, hard_delete) must stay DELETEs, and so must
	 * core's referential actions (planned with row-level security not
	 * forced): a parent removed for real must not leave its children in
	 * the trash, so the row trigger refuses those.
	 */
	if (softdelete_delete_as_update && !softdelete_bypass_active() &&
		!IsBinaryUpgrade && !InNoForceRLSOperation())
		converted = convert_delete(parse);

	if (prev_planner)
		result = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (converted)
	{
		/* still a DELETE to the client: command tag, row count */
		result->commandType = CMD_DELETE;
	}
	return result;
}

/*
 * is_converted says whether a plan is a DELETE we turned into an UPDATE.
 */
static bool
is_converted(QueryDesc *queryDesc)
{
	Plan	   *top = queryDesc->plannedstmt->planTree;

	return queryDesc->plannedstmt->commandType == CMD_DELETE &&
		top != NULL && IsA(top, ModifyTable) &&
		((ModifyTable *) top)->operation == CMD_UPDATE;
}

/*
 * converted_relid returns the table a converted DELETE names.
 */
static Oid
converted_relid(QueryDesc *queryDesc)
{
	ModifyTable *mt = (ModifyTable *) queryDesc->plannedstmt->planTree;

	return rt_fetch(mt->nominalRelation, queryDesc->plannedstmt->rtable)->relid;
}

/*
 * softdelete_executor_run is the executor-run hook: it counts the rows a
 * DELETE soft-deleted, whichever path it took.
 */
static void
softdelete_executor_run(QueryDesc *queryDesc, ScanDirection direction,
						uint64 count SD_EXECUTE_ONCE_PARAM)
{
	int64		saved_collected = softdelete_deletion_swap_collected(0);
	int64		collected;
	uint64		before = queryDesc->estate->es_processed;

	capture_depth++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count SD_EXECUTE_ONCE_ARG);
		else
			standard_ExecutorRun(queryDesc, direction, count SD_EXECUTE_ONCE_ARG);
	}
	PG_CATCH();
	{
		capture_depth--;
		softdelete_deletion_swap_collected(saved_collected);
		PG_RE_THROW();
	}
	PG_END_TRY();
	capture_depth--;
	collected = softdelete_deletion_swap_collected(saved_collected);

	if (is_converted(queryDesc))
		softdelete_deletion_count_stamped(converted_relid(queryDesc),
										  queryDesc->estate->es_processed - before);
	else if (queryDesc->operation == CMD_DELETE || queryDesc->operation == CMD_MERGE ||
			 queryDesc->operation == CMD_UPDATE)
		queryDesc->estate->es_processed += collected;	/* UPDATE: of a flag */
}

/*
 * count_cte_delete stands in for the ExecProcNode of a DELETE in a CTE
 * that was planned as an UPDATE.  A CTE's ModifyTable does not count its
 * rows (canSetTag is false: es_processed is the statement's own count),
 * so it counts them here, the rows it actually updated, for the journal:
 * told to count while it runs, its count is taken and es_processed is
 * put back as it was.  A CTE reading another CTE nests correctly: each
 * stand-in puts back what it found.
 */
static TupleTableSlot *
count_cte_delete(PlanState *node)
{
	ModifyTableState *mt = (ModifyTableState *) node;
	EState	   *estate = node->state;
	uint64		before = estate->es_processed;
	void	   *arg;
	ExecProcNodeMtd real = softdelete_stood_in(node, &arg);
	TupleTableSlot *slot;

	mt->canSetTag = true;
	slot = real(node);
	mt->canSetTag = false;
	softdelete_deletion_count_stamped(exec_rt_fetch(((ModifyTable *) node->plan)->nominalRelation,
													estate)->relid,
									  estate->es_processed - before);
	estate->es_processed = before;
	return slot;
}

/*
 * softdelete_fidelity_count_cte_deletes runs at executor start (the
 * upsert.c hook): each ModifyTable of a CTE that is a DELETE planned as
 * an UPDATE gets count_cte_delete.  It is known by what it requires: an
 * UPDATE whose table needs the DELETE privilege and not UPDATE's, which
 * only convert_delete makes.
 */
void
softdelete_fidelity_count_cte_deletes(EState *estate)
{
	ListCell   *lc;

	foreach(lc, estate->es_auxmodifytables)
	{
		ModifyTableState *mt = (ModifyTableState *) lfirst(lc);
		RangeTblEntry *rte;
		AclMode		perms;

		if (mt->operation != CMD_UPDATE)
			continue;
		rte = exec_rt_fetch(((ModifyTable *) mt->ps.plan)->nominalRelation, estate);
		perms = SD_RTE_REQUIRED_PERMS(estate, rte);
		if ((perms & ACL_DELETE) != 0 && (perms & ACL_UPDATE) == 0)
			softdelete_stand_in(&mt->ps, count_cte_delete, NULL);
	}
}

/*
 * softdelete_executor_finish is the executor-finish hook: once the
 * statement (and its CTEs) is done, the rows converted DELETEs stamped
 * are followed along the foreign keys.  What a nested statement's finish
 * finds was stamped already, so following it then is just as right.
 */
static void
softdelete_executor_finish(QueryDesc *queryDesc)
{
	/* the ModifyTable nodes of CTEs run to completion in here */
	capture_depth++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		capture_depth--;
		PG_RE_THROW();
	}
	PG_END_TRY();
	capture_depth--;

	/* this statement's own rows, then those their cascade makes noted */
	for (;;)
	{
		List	   *sets = softdelete_deletion_take_noted(capture_depth + 1);
		ListCell   *lc;

		if (sets == NIL)
			break;
		foreach(lc, sets)
		{
			RowSet	   *set = (RowSet *) lfirst(lc);

			/* the notes name the versions before the update: follow them */
			keep_stamped_successors(set);
			softdelete_cascade_stamped(set->relid, set->tids, set->n);
		}
	}
}

/*
 * softdelete_fidelity_reset forgets the executor depth at transaction end
 * (an error unwinds the hooks without their decrements).
 */
void
softdelete_fidelity_reset(void)
{
	capture_depth = 0;
}

/*
 * stamp(tableoid oid, ctid tid) returns the transaction's start time, the
 * stamp, and notes the row (the version about to be updated) so that the
 * cascade can follow it once the statement is done.  What it notes is
 * checked then: only rows this transaction has stamped count.
 *
 * Only the planner hook calls it: convert_delete marks its call with
 * COERCE_SQL_SYNTAX, which no call written in SQL (or kept in a view)
 * can carry for this function.  Any other call gets one clean error,
 * never a look at an arbitrary relation or TID.
 */
Datum
softdelete_stamp_row(PG_FUNCTION_ARGS)
{
	Node	   *call = fcinfo->flinfo ? fcinfo->flinfo->fn_expr : NULL;

	if (call == NULL || !IsA(call, FuncExpr) ||
		((FuncExpr *) call)->funcformat != COERCE_SQL_SYNTAX || capture_depth <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("softdelete.stamp() can only be called by a DELETE on a soft-deletable table"),
				 errdetail("It is the value a DELETE planned as an UPDATE writes into the stamp column; it cannot be called by hand.")));
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
		softdelete_deletion_note_stamped(PG_GETARG_OID(0),
										 (ItemPointer) PG_GETARG_POINTER(1),
										 capture_depth);
	PG_RETURN_TIMESTAMPTZ(softdelete_deletion_stamp());
}

/*
 * keep_stamped_successors replaces the row versions noted in set by the
 * versions this transaction's soft delete made of them, dropping any
 * that were not stamped by this transaction (a note made by hand, or a
 * row the statement then skipped).  The relation is opened once per set.
 */
static void
keep_stamped_successors(RowSet *set)
{
	const SoftDeleteTable *table = softdelete_lookup(set->relid);
	TimestampTz stamp = softdelete_deletion_stamp();
	Relation	rel;
	int			i,
				kept = 0;

	if (!OidIsValid(table->root) || table->attnum <= 0)
	{
		set->n = 0;
		return;
	}
	rel = table_open(set->relid, AccessShareLock);
	for (i = 0; i < set->n; i++)
	{
		HeapTupleData tuple;
		Buffer		buffer;
		ItemPointerData next;

		tuple.t_self = set->tids[i];
		if (!heap_fetch(rel, SnapshotAny, &tuple, &buffer, false))
			continue;
		next = tuple.t_data->t_ctid;
		ReleaseBuffer(buffer);
		if (ItemPointerEquals(&next, &set->tids[i]) || !ItemPointerIsValid(&next))
			continue;
		tuple.t_self = next;
		if (heap_fetch(rel, SnapshotAny, &tuple, &buffer, false))
		{
			bool		isnull;
			Datum		value = heap_getattr(&tuple, table->attnum,
											 RelationGetDescr(rel), &isnull);

			if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple.t_data)) &&
				!isnull && DatumGetTimestampTz(value) == stamp)
				set->tids[kept++] = next;
			ReleaseBuffer(buffer);
		}
	}
	table_close(rel, AccessShareLock);
	set->n = kept;
}

/*
 * softdelete_install_hooks chains our hooks, if the library is preloaded.
 */
void
softdelete_install_hooks(void)
{
	if (!process_shared_preload_libraries_in_progress &&
		!listed_in("session_preload_libraries") &&
		!listed_in("shared_preload_libraries"))
		return;
	prev_planner = planner_hook;
	planner_hook = softdelete_planner;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = softdelete_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = softdelete_executor_finish;
	softdelete_preloaded = true;
	softdelete_upsert_install_hook();	/* upsert.c */
	softdelete_copy_install_hook();	/* copyfrom.c */
}
