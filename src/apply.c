/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  Stamp a set of rows of one relation, as one UPDATE, as the table's
 *	  owner and past the soft-delete filter.
 *
 * One prepared plan per relation is kept for the life of the backend and
 * dropped when the relcache says the relation changed (a rename, a new
 * owner, disable()).  The stamp is the transaction's start time, so every
 * row soft-deleted in one transaction carries the same deleted_at.
 *
 * The relcache callback only marks plans stale.  A stale plan is replaced
 * at its relation's next stamp, but it may still be running further up
 * the stack (the stamping UPDATE fires the table's triggers, and one of
 * them may soft-delete rows of the same table after the invalidation
 * arrived), so it is freed only once no stamp is running.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* Rows stamped by this backend so far; callers measure differences */
uint64		softdelete_rows_stamped = 0;

typedef struct StampPlan
{
	Oid			relid;			/* hash key */
	bool		valid;
	SPIPlanPtr	plan[2];		/* without, with RETURNING ctid */
} StampPlan;

static HTAB *stamp_plans = NULL;

/* Stamps running in this backend, and replaced plans waiting to be freed */
static int	stamps_running = 0;
static List *retired_plans = NIL;

/*
 * retire_plan frees a replaced plan, or, while some stamp is running (it
 * may be that one), keeps it to be freed when none is.
 */
static void
retire_plan(SPIPlanPtr plan)
{
	MemoryContext old;

	if (plan == NULL)
		return;
	if (stamps_running == 0)
	{
		SPI_freeplan(plan);
		return;
	}
	old = MemoryContextSwitchTo(CacheMemoryContext);
	retired_plans = lappend(retired_plans, plan);
	MemoryContextSwitchTo(old);
}

/*
 * free_retired_plans frees the replaced plans once no stamp is running.
 */
static void
free_retired_plans(void)
{
	ListCell   *lc;

	if (stamps_running != 0 || retired_plans == NIL)
		return;
	foreach(lc, retired_plans)
		SPI_freeplan((SPIPlanPtr) lfirst(lc));
	list_free(retired_plans);
	retired_plans = NIL;
}

/*
 * stamp_plan_for returns the kept plan that stamps rows of relid by TID;
 * the caller is connected to SPI as the table's owner.  Entries are never
 * removed from the hash, so the entry pointer survives the catalog access
 * below; "valid" is set before the plan is made, so that an invalidation
 * arriving meanwhile clears it and the next call makes the plan again.
 */
static SPIPlanPtr
stamp_plan_for(Oid relid, bool returning)
{
	StampPlan  *entry;
	bool		found;
	const SoftDeleteTable *table;
	StringInfoData sql;
	Oid			argtypes[2] = {TIDARRAYOID, TIMESTAMPTZOID};
	const char *column;
	SPIPlanPtr	plan;

	if (stamp_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(StampPlan);
		ctl.hcxt = CacheMemoryContext;
		stamp_plans = hash_create("softdelete stamp plans", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	free_retired_plans();

	entry = hash_search(stamp_plans, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->plan[0] = entry->plan[1] = NULL;
	}
	if (entry->valid && entry->plan[returning] != NULL)
		return entry->plan[returning];
	if (!entry->valid)
	{
		/* the relation changed: drop both stale plans */
		retire_plan(entry->plan[0]);
		retire_plan(entry->plan[1]);
		entry->plan[0] = entry->plan[1] = NULL;
		entry->valid = true;
	}

	table = softdelete_lookup(relid);
	if (!OidIsValid(table->root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not soft-deletable", get_rel_name(relid))));
	column = quote_identifier(NameStr(table->column_name));

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE ONLY %s SET %s = $2"
					 " WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) AND %s IS NULL%s",
					 softdelete_qualified_name(relid), column, column,
					 returning ? " RETURNING ctid" : "");
	/*
	 * A generic plan: with the TIDs as a constant, a custom plan for a big
	 * set costs hundreds of milliseconds to make and picks a sequential
	 * scan; the generic plan is a TID scan, and is made once.
	 */
	plan = SPI_prepare_cursor(sql.data, 2, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	pfree(sql.data);

	/*
	 * Made while valid was set; if an invalidation cleared it meanwhile,
	 * the plan serves this call and is replaced at the next.
	 */
	entry->plan[returning] = plan;
	return plan;
}

/*
 * run_stamp_plan executes a stamp plan, counted as running meanwhile so
 * that no invalidation frees it under the executor.
 */
static pg_noinline int
run_stamp_plan(SPIPlanPtr plan, Datum *values)
{
	volatile int ret = 0;

	stamps_running++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		stamps_running--;
	}
	PG_END_TRY();
	return ret;
}

/*
 * softdelete_stamp sets the stamp column of the given rows of relid to
 * the transaction's start time, skipping rows already stamped.  It runs
 * as the table's owner without forced row-level security: the caller's
 * DELETE already decided which rows it may delete, and the caller's
 * SELECT policies would otherwise refuse the stamped row.  If stamped is
 * given, it receives the new TIDs of the rows stamped (for the cascade).
 */
void
softdelete_stamp(Oid relid, ItemPointer tids, int ntids, RowSet *stamped)
{
	SoftDeleteIdentity saved;
	MemoryContext caller = CurrentMemoryContext;
	Datum	   *elems;
	Datum		values[2];
	ArrayType  *array;
	SPIPlanPtr	plan;
	int			ret;
	int			i;

	if (ntids <= 0)
		return;

	elems = palloc_extended(sizeof(Datum) * ntids, MCXT_ALLOC_HUGE);
	for (i = 0; i < ntids; i++)
		elems[i] = PointerGetDatum(&tids[i]);
	array = construct_array(elems, ntids, TIDOID, sizeof(ItemPointerData),
							false, TYPALIGN_SHORT);
	values[0] = PointerGetDatum(array);
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	softdelete_become_owner(relid, &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = stamp_plan_for(relid, stamped != NULL);
	ret = run_stamp_plan(plan, values);
	if (ret != (stamped != NULL ? SPI_OK_UPDATE_RETURNING : SPI_OK_UPDATE))
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	softdelete_rows_stamped += SPI_processed;
	if (stamped != NULL)
	{
		uint64		j;

		stamped->relid = relid;
		stamped->n = (int) SPI_processed;
		stamped->tids = MemoryContextAllocExtended(caller,
												   sizeof(ItemPointerData) * Max(SPI_processed, 1),
												   MCXT_ALLOC_HUGE);
		for (j = 0; j < SPI_processed; j++)
		{
			bool		isnull;

			stamped->tids[j] = *(ItemPointer)
				DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[j],
											  SPI_tuptable->tupdesc, 1, &isnull));
		}
	}
	SPI_finish();
	softdelete_restore_identity(&saved);

	pfree(array);
	pfree(elems);
}

/*
 * softdelete_apply_invalidate is the relcache callback: a changed
 * relation's plan is marked stale and rebuilt at its next use.
 */
void
softdelete_apply_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	StampPlan  *entry;

	(void) arg;

	if (stamp_plans == NULL)
		return;
	hash_seq_init(&status, stamp_plans);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
	}
}
