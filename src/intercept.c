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

/*
 * The row a BEFORE UPDATE trigger saw last: a DELETE of it in the same
 * command moves it.  Forgotten at transaction end (softdelete_moving_reset).
 */
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
 * softdelete_moving_reset forgets the noted row at transaction end.
 */
void
softdelete_moving_reset(void)
{
	moving.valid = false;
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
