/*-------------------------------------------------------------------------
 *
 * intercept.c
 *	  The DELETE triggers: collect the rows a DELETE hits into the
 *	  deletion, have them soft-deleted at the end of the statement, and
 *	  refuse TRUNCATE.
 *
 * A BEFORE DELETE row trigger adds the row's TID to the transaction's
 * deletion (deletion.c) and returns NULL, so the executor removes
 * nothing; an AFTER DELETE statement trigger then has everything
 * collected soft-deleted, one set per table (cascade.c).
 *
 * The row trigger lets a row go for real in two cases only: purge() and
 * hard_delete() named exactly that row (remove.c's bypass), or an UPDATE
 * is moving it to another partition (the same function, fired BEFORE
 * UPDATE on partitions, notes the row first).  A referential action of
 * core (ON DELETE CASCADE from a table that is not soft-deletable) is
 * refused: the child would stay in the trash referencing nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/pg_constraint.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/partcache.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(softdelete_before_delete);
PG_FUNCTION_INFO_V1(softdelete_after_delete);
PG_FUNCTION_INFO_V1(softdelete_before_truncate);

/*
 * Rows whose UPDATE, as the BEFORE UPDATE trigger saw it, does not fit
 * their partition any more: PostgreSQL moves such a row by deleting it
 * here (firing BEFORE DELETE triggers) and inserting it in the right
 * partition.  The DELETE of a noted row at the same trigger depth, in the
 * same top-level statement, is that move, and takes its note.  One note
 * per row, so that statements nested in triggers (a deeper depth) cannot
 * disturb another's; the next row's UPDATE at the same depth drops a
 * note its own move never took (a later trigger skipped the UPDATE); an
 * UPDATE that fits its partition is noted nowhere.  Forgotten at
 * transaction end (softdelete_moving_reset).
 */
typedef struct MoveNote
{
	Oid			relid;
	ItemPointerData tid;
	int			depth;			/* trigger depth of the UPDATE */
	TimestampTz statement;		/* start of its top-level statement */
} MoveNote;

static List *moving = NIL;		/* MoveNote *, in TopTransactionContext */

/* The partition constraint, prepared once per statement (fn_extra) */
typedef struct PartitionCheck
{
	Oid			relid;
	EState	   *estate;
	ExprState  *check;
	TupleTableSlot *slot;
} PartitionCheck;

/* Per-statement cache in the row trigger's fn_extra */
typedef struct RowTriggerCache
{
	Oid			relid;
	Oid			root;
	AttrNumber	attnum;
} RowTriggerCache;

/*
 * trigger_data checks that funcname was called as a trigger and returns
 * its TriggerData.
 */
static TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *funcname)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						funcname)));
	return (TriggerData *) fcinfo->context;
}

/*
 * refuse_event raises the protocol error of funcname fired on the wrong
 * event; want says which one it must be fired on.
 */
static void
refuse_event(const char *funcname, const char *want)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function \"%s\" must be fired %s", funcname, want)));
}

/*
 * softdelete_moving_reset forgets the noted rows at transaction end.
 */
void
softdelete_moving_reset(void)
{
	moving = NIL;
}

/*
 * update_leaves_partition says whether newtuple, the new version of a row
 * of the partition rel, fails rel's partition constraint: its UPDATE will
 * move it to another partition.
 */
static bool
update_leaves_partition(FunctionCallInfo fcinfo, Relation rel, HeapTuple newtuple)
{
	PartitionCheck *pc = (PartitionCheck *) fcinfo->flinfo->fn_extra;
	ExprContext *econtext;
	bool		fits;

	if (!rel->rd_rel->relispartition)
		return false;
	if (pc == NULL || pc->relid != RelationGetRelid(rel))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		pc = palloc0(sizeof(PartitionCheck));
		pc->relid = RelationGetRelid(rel);
		pc->estate = CreateExecutorState();
		pc->check = ExecPrepareCheck(RelationGetPartitionQual(rel), pc->estate);
		/* a copy: a slot on the relcache's descriptor would pin it */
		pc->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)),
											&TTSOpsHeapTuple);
		fcinfo->flinfo->fn_extra = pc;
		MemoryContextSwitchTo(old);
	}
	econtext = GetPerTupleExprContext(pc->estate);
	ExecStoreHeapTuple(newtuple, pc->slot, false);
	econtext->ecxt_scantuple = pc->slot;
	fits = ExecCheck(pc->check, econtext);
	ResetExprContext(econtext);
	ExecClearTuple(pc->slot);
	return !fits;
}

/*
 * trigger_depth returns the depth of trigger nesting, as pg_trigger_depth().
 */
static int
trigger_depth(void)
{
	return DatumGetInt32(DirectFunctionCall1(pg_trigger_depth, (Datum) 0));
}

/*
 * take_move_note removes the note of this row at this depth in this
 * statement and returns true, if there is one; with tid NULL it drops
 * every note of relid at this depth (a new row's UPDATE begins).
 */
static bool
take_move_note(Oid relid, ItemPointer tid)
{
	int			depth = trigger_depth();
	TimestampTz statement = GetCurrentStatementStartTimestamp();
	ListCell   *lc;
	bool		found = false;

	foreach(lc, moving)
	{
		MoveNote   *note = (MoveNote *) lfirst(lc);

		if (note->relid != relid || note->depth != depth)
			continue;
		if (tid == NULL || note->statement != statement)
			moving = foreach_delete_current(moving, lc);
		else if (ItemPointerEquals(&note->tid, tid))
		{
			moving = foreach_delete_current(moving, lc);
			found = true;
		}
	}
	return found;
}

/*
 * refuse_referential_delete raises the error for a referential action
 * (ON DELETE CASCADE from a table that is not soft-deletable) that would
 * remove rows of the soft-deletable table rel for real.
 */
static void
refuse_referential_delete(Relation rel)
{
	List	   *edges = softdelete_fk_outgoing(RelationGetRelid(rel));
	ListCell   *lc;
	const FkEdge *edge = NULL;

	foreach(lc, edges)
	{
		const FkEdge *e = (const FkEdge *) lfirst(lc);

		if (e->del_action == FKCONSTR_ACTION_CASCADE &&
			!OidIsValid(softdelete_lookup(e->parent)->root))
		{
			edge = e;
			break;
		}
	}
	if (edge != NULL)
		softdelete_report_refusal(SD_REFUSE_REFERENTIAL_ACTION, edge, NULL);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot delete rows of soft-deletable table \"%s\" for real through a referential action",
					RelationGetRelationName(rel)),
			 errdetail("Nothing was deleted.")));
}

/*
 * softdelete_before_delete is the BEFORE DELETE FOR EACH ROW trigger.
 * A live row is collected to be stamped and skipped; a row already in
 * the trash is skipped untouched; a row a bypass names is let through.
 */
Datum
softdelete_before_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "softdelete_before_delete");
	RowTriggerCache *cache;
	Relation	rel;
	HeapTuple	tuple;
	ItemPointerData tid;
	bool		isnull;

	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		refuse_event("softdelete_before_delete",
					 "BEFORE DELETE or BEFORE UPDATE FOR EACH ROW");

	rel = trigdata->tg_relation;
	tuple = trigdata->tg_trigtuple;

	/*
	 * BEFORE UPDATE (on partitions only): note the row if its new version
	 * leaves the partition.  PostgreSQL then deletes it here, firing
	 * BEFORE DELETE triggers, and inserts it there.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		if (moving != NIL)
			(void) take_move_note(RelationGetRelid(rel), NULL);
		if (update_leaves_partition(fcinfo, rel, trigdata->tg_newtuple))
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
			MoveNote   *note = palloc(sizeof(MoveNote));

			note->relid = RelationGetRelid(rel);
			note->tid = trigdata->tg_trigslot->tts_tid;
			note->depth = trigger_depth();
			note->statement = GetCurrentStatementStartTimestamp();
			moving = lappend(moving, note);
			MemoryContextSwitchTo(old);
		}
		return PointerGetDatum(trigdata->tg_newtuple);
	}
	tid = trigdata->tg_trigslot->tts_tid;
	if (moving != NIL && take_move_note(RelationGetRelid(rel), &tid))
		return PointerGetDatum(tuple);	/* an UPDATE stays an UPDATE */

	cache = (RowTriggerCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL || cache->relid != RelationGetRelid(rel))
	{
		const SoftDeleteTable *entry = softdelete_lookup(RelationGetRelid(rel));

		if (!OidIsValid(entry->root))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" has trigger \"%s\" but is not soft-deletable",
							RelationGetRelationName(rel), trigdata->tg_trigger->tgname),
					 errdetail("The row was not deleted."),
					 errhint("Call softdelete.enable() on the table, or drop the trigger.")));
		if (entry->attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of soft-deletable table \"%s\" does not exist",
							NameStr(entry->column_name),
							RelationGetRelationName(rel)),
					 errdetail("The row was not deleted.")));
		if (cache == NULL)
			cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
									   sizeof(RowTriggerCache));
		cache->relid = entry->relid;
		cache->root = entry->root;
		cache->attnum = entry->attnum;
		fcinfo->flinfo->fn_extra = cache;
	}

	(void) heap_getattr(tuple, cache->attnum, RelationGetDescr(rel), &isnull);

	if (softdelete_bypass_allows(cache->relid, &tid))
		return PointerGetDatum(tuple);

	/*
	 * Core's referential actions run their DELETE with row-level security
	 * not forced: a parent is being removed for real, so keeping the child
	 * in the trash would leave it referencing nothing.
	 */
	if (InNoForceRLSOperation())
		refuse_referential_delete(rel);

	if (isnull)
		softdelete_deletion_collect(cache->relid, &tid);

	return PointerGetDatum(NULL);
}

/*
 * softdelete_after_delete is the AFTER DELETE FOR EACH STATEMENT trigger:
 * it stamps what the statement's row triggers collected.
 */
Datum
softdelete_after_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "softdelete_after_delete");

	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		refuse_event("softdelete_after_delete", "AFTER DELETE FOR EACH STATEMENT");

	softdelete_delete_pending();
	return PointerGetDatum(NULL);
}

/*
 * softdelete_before_truncate is the BEFORE TRUNCATE trigger: TRUNCATE
 * would remove live and trashed rows alike, so it is refused.
 */
Datum
softdelete_before_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "softdelete_before_truncate");
	const char *relname;
	Oid			root;

	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		refuse_event("softdelete_before_truncate", "BEFORE TRUNCATE");

	/* name the registered table: a partition follows its root */
	root = softdelete_lookup(RelationGetRelid(trigdata->tg_relation))->root;
	relname = softdelete_hint_name(OidIsValid(root) ? root :
								   RelationGetRelid(trigdata->tg_relation));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot truncate soft-deletable table \"%s\"",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("TRUNCATE would permanently remove live and trashed rows alike."),
			 errhint("Use DELETE to move rows to the trash and softdelete.purge('%s') to empty it, or call softdelete.disable('%s') first.",
					 relname, relname)));
	PG_RETURN_NULL();
}
