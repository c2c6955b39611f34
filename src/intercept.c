/*-------------------------------------------------------------------------
 *
 * intercept.c
 *	  The DELETE triggers: collect the rows a DELETE hits, hand the set on
 *	  to be stamped once per table, and refuse TRUNCATE.
 *
 * A BEFORE DELETE row trigger remembers the row's TID and returns NULL,
 * so the executor removes nothing; an AFTER DELETE statement trigger then
 * stamps everything collected with one UPDATE per table (apply.c).
 * Collected rows wait in a per-transaction list tagged with the
 * subtransaction that collected them, so that a statement rolled back to
 * a savepoint leaves nothing behind to be stamped later.
 *
 * purge() and hard_delete() must remove rows for real without going
 * through the soft-delete path; cascade.c pushes a narrow bypass (trashed
 * rows of one table, and an exact set of rows) for the duration of each
 * of its own DELETEs.  The bypass never lets a live row through unless
 * its exact TID was named.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/pg_constraint.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(softdelete_before_delete);
PG_FUNCTION_INFO_V1(softdelete_after_delete);
PG_FUNCTION_INFO_V1(softdelete_before_truncate);

/* Rows collected, in chunks of one relation and one subtransaction */
typedef struct PendingChunk
{
	Oid			relid;
	SubTransactionId subid;
	int			ntids;
	int			maxtids;
	ItemPointerData *tids;
} PendingChunk;

static MemoryContext pending_context = NULL;
static List *pending = NIL;

/* One active bypass: exactly these rows really may be deleted now */
typedef struct Bypass
{
	Oid			relid;
	int			n;
	ItemPointerData *tids;		/* sorted */
} Bypass;

static List *bypass_stack = NIL;

/* The row a BEFORE UPDATE trigger saw last: a DELETE of it moves it */
static struct
{
	bool		valid;
	Oid			relid;
	ItemPointerData tid;
	CommandId	cid;
}			moving;

/* Per-statement cache in the row trigger's fn_extra */
typedef struct RowTriggerCache
{
	Oid			relid;
	Oid			root;
	AttrNumber	attnum;
} RowTriggerCache;

/*
 * softdelete_collect remembers one row to be stamped at the end of the
 * statement.
 */
void
softdelete_collect(Oid relid, ItemPointer tid)
{
	PendingChunk *chunk = NULL;
	SubTransactionId subid = GetCurrentSubTransactionId();
	MemoryContext old;

	if (pending_context == NULL)
		pending_context = AllocSetContextCreate(TopTransactionContext,
												"softdelete pending rows",
												ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pending_context);

	if (pending != NIL)
	{
		chunk = (PendingChunk *) llast(pending);
		if (chunk->relid != relid || chunk->subid != subid)
			chunk = NULL;
	}
	if (chunk == NULL)
	{
		chunk = palloc(sizeof(PendingChunk));
		chunk->relid = relid;
		chunk->subid = subid;
		chunk->ntids = 0;
		chunk->maxtids = 64;
		chunk->tids = palloc(sizeof(ItemPointerData) * chunk->maxtids);
		pending = lappend(pending, chunk);
	}
	if (chunk->ntids == chunk->maxtids)
	{
		chunk->maxtids *= 2;
		chunk->tids = repalloc_huge(chunk->tids,
									sizeof(ItemPointerData) * chunk->maxtids);
	}
	chunk->tids[chunk->ntids++] = *tid;
	MemoryContextSwitchTo(old);
}

/*
 * softdelete_flush_pending stamps every collected row, one UPDATE per
 * relation.  Stamping can fire user triggers that delete more rows; those
 * are collected anew and stamped by the next round.
 */
void
softdelete_flush_pending(void)
{
	while (pending != NIL)
	{
		List	   *batch = pending;
		ListCell   *lc;

		pending = NIL;
		foreach(lc, batch)
		{
			PendingChunk *chunk = (PendingChunk *) lfirst(lc);
			ListCell   *lc2;
			int			total = 0;
			ItemPointerData *tids;

			if (chunk->ntids == 0)
				continue;

			/* gather every chunk of this relation into one set */
			for_each_cell(lc2, batch, lc)
			{
				PendingChunk *other = (PendingChunk *) lfirst(lc2);

				if (other->relid == chunk->relid)
					total += other->ntids;
			}
			tids = palloc_extended(sizeof(ItemPointerData) * total,
								   MCXT_ALLOC_HUGE);
			total = 0;
			for_each_cell(lc2, batch, lc)
			{
				PendingChunk *other = (PendingChunk *) lfirst(lc2);

				if (other->relid != chunk->relid)
					continue;
				memcpy(tids + total, other->tids,
					   sizeof(ItemPointerData) * other->ntids);
				total += other->ntids;
				other->ntids = 0;
			}
			softdelete_delete_rows(chunk->relid, tids, total);
			pfree(tids);
		}
	}
}

/*
 * softdelete_pending_xact_callback forgets everything at transaction end.
 * The memory itself belongs to TopTransactionContext.
 */
void
softdelete_pending_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* rows collected without a statement trigger to stamp them */
			if (pending != NIL)
			{
				PushActiveSnapshot(GetTransactionSnapshot());
				softdelete_flush_pending();
				PopActiveSnapshot();
			}
			softdelete_check_deferred();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending = NIL;
			pending_context = NULL;
			moving.valid = false;
			bypass_stack = NIL;
			softdelete_ddl_depth = 0;
			softdelete_forget_deferred();
			softdelete_forget_captured();
			break;
		default:
			break;
	}
}

/*
 * softdelete_pending_subxact_callback drops the rows collected by an
 * aborted subtransaction, and hands those of a committed one to its
 * parent.
 */
void
softdelete_pending_subxact_callback(SubXactEvent event,
									SubTransactionId mySubid,
									SubTransactionId parentSubid,
									void *arg)
{
	ListCell   *lc;

	(void) arg;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			PendingChunk *chunk = (PendingChunk *) lfirst(lc);

			if (chunk->subid == mySubid)
				pending = foreach_delete_current(pending, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			PendingChunk *chunk = (PendingChunk *) lfirst(lc);

			if (chunk->subid == mySubid)
				chunk->subid = parentSubid;
		}
	}
}

/*
 * compare_tids orders TIDs, for qsort and bsearch.
 */
static int
compare_tids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * softdelete_bypass_push lets exactly the rows of "rows" be removed for
 * real until the matching pop; any other row a trigger deletes meanwhile
 * is soft-deleted as usual.
 */
void
softdelete_bypass_push(const RowSet *rows)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	Bypass	   *b = palloc0(sizeof(Bypass));

	b->relid = rows->relid;
	b->n = rows->n;
	b->tids = palloc_extended(sizeof(ItemPointerData) * Max(rows->n, 1),
							  MCXT_ALLOC_HUGE);
	memcpy(b->tids, rows->tids, sizeof(ItemPointerData) * rows->n);
	qsort(b->tids, b->n, sizeof(ItemPointerData), compare_tids);
	bypass_stack = lcons(b, bypass_stack);
	MemoryContextSwitchTo(old);
}

/*
 * softdelete_bypass_pop ends the innermost bypass.
 */
void
softdelete_bypass_pop(void)
{
	if (bypass_stack != NIL)
		bypass_stack = list_delete_first(bypass_stack);
}

/*
 * softdelete_bypass_active says whether one of our own removals is
 * running (fidelity.c then leaves DELETEs as they are).
 */
bool
softdelete_bypass_active(void)
{
	return bypass_stack != NIL;
}

/*
 * softdelete_bypass_allows says whether the innermost bypass names this
 * row.
 */
bool
softdelete_bypass_allows(Oid relid, ItemPointer tid)
{
	Bypass	   *b;

	if (bypass_stack == NIL)
		return false;
	b = (Bypass *) linitial(bypass_stack);
	return b->relid == relid &&
		bsearch(tid, b->tids, b->n, sizeof(ItemPointerData), compare_tids) != NULL;
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
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot delete rows of table \"%s\": foreign key \"%s\" would cascade into soft-deletable table \"%s\"",
						get_rel_name(edge->parent), NameStr(edge->conname),
						RelationGetRelationName(rel)),
				 errdetail("The referenced rows would be gone for real while the referencing rows stay in the trash. Nothing was deleted."),
				 errhint("Call softdelete.enable('%s') too, so that deletes are soft all the way, or remove the referencing rows first.",
						 softdelete_qualified_name(edge->parent)),
				 errtableconstraint(rel, NameStr(edge->conname))));
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
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	RowTriggerCache *cache;
	Relation	rel;
	HeapTuple	tuple;
	ItemPointerData tid;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"softdelete_before_delete")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE DELETE or BEFORE UPDATE FOR EACH ROW",
						"softdelete_before_delete")));

	rel = trigdata->tg_relation;
	tuple = trigdata->tg_trigtuple;

	/*
	 * BEFORE UPDATE (on partitions only): note the row, whose update may
	 * turn out to move it to another partition.  PostgreSQL then deletes
	 * it here, firing BEFORE DELETE triggers, and inserts it there.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		moving.relid = RelationGetRelid(rel);
		moving.tid = trigdata->tg_trigslot->tts_tid;
		moving.cid = GetCurrentCommandId(false);
		moving.valid = true;
		return PointerGetDatum(trigdata->tg_newtuple);
	}
	tid = trigdata->tg_trigslot->tts_tid;
	if (moving.valid)
	{
		bool		moves = moving.relid == RelationGetRelid(rel) &&
			ItemPointerEquals(&moving.tid, &tid) &&
			moving.cid == GetCurrentCommandId(false);

		moving.valid = false;
		if (moves)
			return PointerGetDatum(tuple);	/* an UPDATE stays an UPDATE */
	}

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

	if (bypass_stack != NIL && softdelete_bypass_allows(cache->relid, &tid))
		return PointerGetDatum(tuple);

	/*
	 * Core's referential actions run their DELETE with row-level security
	 * not forced: a parent is being removed for real, so keeping the child
	 * in the trash would leave it referencing nothing.
	 */
	if (InNoForceRLSOperation())
		refuse_referential_delete(rel);

	if (isnull)
	{
		softdelete_collect(cache->relid, &tid);
		softdelete_rows_collected++;
	}

	return PointerGetDatum(NULL);
}

/*
 * softdelete_after_delete is the AFTER DELETE FOR EACH STATEMENT trigger:
 * it stamps what the statement's row triggers collected.
 */
Datum
softdelete_after_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"softdelete_after_delete")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER DELETE FOR EACH STATEMENT",
						"softdelete_after_delete")));

	softdelete_flush_pending();
	return PointerGetDatum(NULL);
}

/*
 * softdelete_before_truncate is the BEFORE TRUNCATE trigger: TRUNCATE
 * would remove live and trashed rows alike, so it is refused.
 */
Datum
softdelete_before_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *relname;
	Oid			root;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"softdelete_before_truncate")));
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE TRUNCATE",
						"softdelete_before_truncate")));

	/* name the registered table: a partition follows its root */
	root = softdelete_lookup(RelationGetRelid(trigdata->tg_relation))->root;
	relname = softdelete_qualified_name(OidIsValid(root) ? root :
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
