/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  Stamp, unstamp or remove one set of rows of one relation, as the
 *	  executor would for an UPDATE or DELETE by TID, under the caller's
 *	  identity.
 *
 * The rows were chosen by whoever calls: the DELETE's own row trigger, a
 * cascade level, a restore or a removal (locked, or, for
 * softdelete_apply_unmoved, found without a lock and chosen again if
 * they changed meanwhile).  Writing them
 * goes past the caller's privileges and row-level security, as core's
 * logical replication apply does (execReplication.c): no permission is
 * checked and no policy is applied, because the caller's DELETE (or the
 * caller's right to manage the table) already decided.  The table's own
 * triggers, constraints and indexes apply as for any UPDATE or DELETE,
 * and the triggers run with the caller's rights and the caller's
 * search_path, exactly as they would for the caller's own statement:
 * nothing here runs as anyone else.
 *
 * A stamp change is written in one step, as an UPDATE writes a row, when
 * the table has no BEFORE UPDATE row trigger and the row at the TID is
 * its newest version, in the expected state, and not changed by anyone
 * meanwhile (update_unlocked).  Otherwise the row is locked (following
 * its update chain under READ COMMITTED, failing with 40001 under
 * REPEATABLE READ as an UPDATE would) and its stamp re-read before it is
 * written, so a TID that is stale, already done by this command, or no
 * longer in the expected state is skipped, never written twice.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"
#include "compat.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * compare_tids orders TIDs physically, for qsort.
 */
static int
compare_tids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * lock_row locks the row at *tid for update, moving *tid to its latest
 * version under READ COMMITTED, and fills slot; *moved says whether the
 * row had changed since *tid was found (a newer version committed).
 * Returns false if the row is gone, invisible, or was already changed by
 * this very command.  A row moved to another partition meanwhile is a
 * serialization failure, which table_tuple_lock raises itself when it
 * follows the update chain.
 */
static bool
lock_row(Relation rel, ItemPointer tid, TupleTableSlot *slot, bool *moved)
{
	TM_FailureData tmfd;
	TM_Result	result;
	int			flags = IsolationUsesXactSnapshot() ? 0 :
		TUPLE_LOCK_FLAG_FIND_LAST_VERSION;

	tmfd.traversed = false;
	result = table_tuple_lock(rel, tid, GetLatestSnapshot(), slot,
							  GetCurrentCommandId(false), LockTupleExclusive,
							  LockWaitBlock, flags, &tmfd);
	*moved = tmfd.traversed;
	switch (result)
	{
		case TM_Ok:
			*tid = slot->tts_tid;
			return true;
		case TM_SelfModified:
		case TM_Invisible:
			/* done already by this command, or a stale version */
			return false;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			return false;
		default:
			elog(ERROR, "unexpected table_tuple_lock status: %u", result);
			return false;
	}
}

/*
 * fill_new_row makes newslot the row of oldslot with the stamp set
 * (SD_STAMP) or cleared (SD_UNSTAMP), and the flag, if the table has one,
 * following it (issue 12).
 */
static void
fill_new_row(const SoftDeleteTable *table, SoftDeleteAction action,
			 TimestampTz stamp, TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	slot_getallattrs(oldslot);
	ExecClearTuple(newslot);
	memcpy(newslot->tts_values, oldslot->tts_values,
		   sizeof(Datum) * oldslot->tts_tupleDescriptor->natts);
	memcpy(newslot->tts_isnull, oldslot->tts_isnull,
		   sizeof(bool) * oldslot->tts_tupleDescriptor->natts);
	newslot->tts_values[table->attnum - 1] =
		action == SD_STAMP ? TimestampTzGetDatum(stamp) : (Datum) 0;
	newslot->tts_isnull[table->attnum - 1] = (action != SD_STAMP);
	if (table->flag_attnum > 0)
	{
		newslot->tts_values[table->flag_attnum - 1] =
			BoolGetDatum(action == SD_STAMP ? !table->flag_live_value :
						 table->flag_live_value);
		newslot->tts_isnull[table->flag_attnum - 1] = false;
	}
	ExecStoreVirtualTuple(newslot);
	ItemPointerSetInvalid(&newslot->tts_tid);
}

/*
 * in_state says whether the row in slot is one action applies to: live
 * for SD_STAMP, trashed with stamp for SD_UNSTAMP (so, of a row just
 * written, in_state with the other action says it was written as asked).
 */
static bool
in_state(TupleTableSlot *slot, AttrNumber attnum, SoftDeleteAction action,
		 TimestampTz stamp)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);

	if (action == SD_STAMP)
		return isnull;
	return !isnull && DatumGetTimestampTz(value) == stamp;
}

/*
 * update_unlocked writes the stamp change of the row at *tid as an UPDATE
 * does, in one step, without locking the row first: when the table has
 * no BEFORE UPDATE row trigger (which would lock it anyway), its newest
 * version is the one at *tid and in the expected state, and no one
 * changes it meanwhile (table_tuple_update waits for a concurrent writer,
 * then fails if it changed the row).  It is what ExecSimpleRelationUpdate
 * does, with table_tuple_update's answer kept rather than raised.
 * Returns false, having written nothing, when the row must go the locking
 * way; else *tid is the new version.
 */
static bool
update_unlocked(ResultRelInfo *rri, EState *estate, const SoftDeleteTable *table,
				SoftDeleteAction action, TimestampTz stamp, ItemPointer tid,
				TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	Relation	rel = rri->ri_RelationDesc;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	SdUpdateIndexes update_indexes = SD_UPDATE_NO_INDEXES;
	List	   *recheck = NIL;

	if (!table_tuple_fetch_row_version(rel, tid, GetLatestSnapshot(), oldslot) ||
		!in_state(oldslot, table->attnum, action, stamp))
		return false;
	fill_new_row(table, action, stamp, oldslot, newslot);
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(rri, estate, newslot, CMD_UPDATE);
	if (rel->rd_att->constr)
		ExecConstraints(rri, newslot, estate);
	if (rel->rd_rel->relispartition)
		ExecPartitionCheck(rri, newslot, estate, true);
	if (table_tuple_update(rel, tid, newslot, GetCurrentCommandId(true),
						   estate->es_snapshot, InvalidSnapshot, true, &tmfd,
						   &lockmode, &update_indexes) != TM_Ok)
		return false;
	if (rri->ri_NumIndices > 0 && update_indexes != SD_UPDATE_NO_INDEXES)
		recheck = sd_insert_index_tuples(rri, newslot, estate, update_indexes);
	ExecARUpdateTriggers(estate, rri, NULL, NULL, tid, NULL, newslot, recheck,
						 NULL, false);
	list_free(recheck);
	*tid = newslot->tts_tid;
	return true;
}

/*
 * softdelete_apply applies one action to the rows of set (one relation):
 * SD_STAMP sets the stamp column to stamp where it is NULL, SD_UNSTAMP
 * sets it back to NULL where it holds stamp (a flag column, if the table
 * has one, follows: it is not among the updated columns, so the flag's
 * own UPDATE OF triggers stay out of it), SD_REMOVE deletes the rows
 * for real (the caller has made our own DELETE trigger let exactly these
 * rows through).  The table's row and statement triggers fire, as the
 * caller.  If done is given, it receives the TIDs written: the new
 * versions for SD_STAMP and SD_UNSTAMP.  Returns the number of rows
 * written.
 */
uint64
softdelete_apply(const RowSet *set, SoftDeleteAction action, TimestampTz stamp,
				 RowSet *done)
{
	return softdelete_apply_unmoved(set, action, stamp, done, NULL);
}

/*
 * softdelete_apply_unmoved is softdelete_apply for rows found without a
 * lock: a row that changed after it was found (under READ COMMITTED, a
 * newer version committed since) may no longer be one the caller would
 * choose, so if moved is given it is not written but locked and put in
 * moved (its latest version), for the caller to choose again.
 */
uint64
softdelete_apply_unmoved(const RowSet *set, SoftDeleteAction action,
						 TimestampTz stamp, RowSet *done, RowSet *moved)
{
	const SoftDeleteTable *table = softdelete_lookup(set->relid);
	AttrNumber	attnum = table->attnum;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext old;
	ItemPointerData *tids;
	int			ntids;
	int			i;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	EPQState	epqstate;
	TupleTableSlot *oldslot;
	TupleTableSlot *newslot = NULL;
	uint64		written = 0;
	bool		pushed_snapshot = false;
	bool		unlocked;

	if (done != NULL)
	{
		done->relid = set->relid;
		done->n = 0;
		done->tids = NULL;
	}
	if (moved != NULL)
	{
		moved->relid = set->relid;
		moved->n = 0;
		moved->tids = NULL;
	}
	if (set->n <= 0)
		return 0;
	if (!OidIsValid(table->root) || attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not soft-deletable",
						get_rel_name(set->relid))));

	work = AllocSetContextCreate(CurrentMemoryContext, "softdelete apply",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	/* physical order, each row once */
	tids = palloc_extended(sizeof(ItemPointerData) * set->n, MCXT_ALLOC_HUGE);
	memcpy(tids, set->tids, sizeof(ItemPointerData) * set->n);
	qsort(tids, set->n, sizeof(ItemPointerData), compare_tids);
	ntids = 0;
	for (i = 0; i < set->n; i++)
		if (ntids == 0 || !ItemPointerEquals(&tids[ntids - 1], &tids[i]))
			tids[ntids++] = tids[i];
	if (done != NULL)
		done->tids = MemoryContextAllocExtended(caller,
												sizeof(ItemPointerData) * ntids,
												MCXT_ALLOC_HUGE);
	if (moved != NULL)
		moved->tids = MemoryContextAllocExtended(caller,
												 sizeof(ItemPointerData) * ntids,
												 MCXT_ALLOC_HUGE);

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed_snapshot = true;
	}

	rel = table_open(set->relid, RowExclusiveLock);
	estate = softdelete_executor_state(rel, action == SD_REMOVE ? 0 : attnum, &rri);
	sd_epq_init(&epqstate, estate);
	ExecOpenIndices(rri, false);
	oldslot = table_slot_create(rel, &estate->es_tupleTable);
	if (action != SD_REMOVE)
		newslot = table_slot_create(rel, &estate->es_tupleTable);

	AfterTriggerBeginQuery();
	if (action == SD_REMOVE)
		ExecBSDeleteTriggers(estate, rri);
	else
		ExecBSUpdateTriggers(estate, rri);

	/* a stamp change is written in one step where no row trigger locks first */
	unlocked = action != SD_REMOVE &&
		!(rri->ri_TrigDesc != NULL && rri->ri_TrigDesc->trig_update_before_row);
	if (unlocked)
		CheckCmdReplicaIdentity(rel, CMD_UPDATE);

	for (i = 0; i < ntids; i++)
	{
		ItemPointerData tid = tids[i];
		bool		changed;

		CHECK_FOR_INTERRUPTS();
		if (unlocked &&
			update_unlocked(rri, estate, table, action, stamp, &tid, oldslot, newslot))
		{
			if (done != NULL)
				done->tids[done->n++] = tid;
			written++;
			continue;
		}
		if (!lock_row(rel, &tid, oldslot, &changed))
			continue;
		if (changed && moved != NULL)
		{
			moved->tids[moved->n++] = tid;
			continue;
		}
		if (action != SD_REMOVE && !in_state(oldslot, attnum, action, stamp))
			continue;

		if (action == SD_REMOVE)
		{
			ExecSimpleRelationDelete(rri, estate, &epqstate, oldslot);
			/* a BEFORE DELETE trigger may have kept the row */
			if (table_tuple_fetch_row_version(rel, &tid, SnapshotSelf, oldslot))
				continue;
			if (done != NULL)
				done->tids[done->n++] = tid;
			written++;
			continue;
		}

		fill_new_row(table, action, stamp, oldslot, newslot);
		oldslot->tts_tid = tid;
		ExecSimpleRelationUpdate(rri, estate, &epqstate, oldslot, newslot);
		/*
		 * a BEFORE UPDATE trigger that returns NULL skips the row; one that
		 * returns it unstamped (or still stamped) kept it as it was: not
		 * written as asked, so neither counted nor followed
		 */
		if (!ItemPointerIsValid(&newslot->tts_tid) ||
			!in_state(newslot, attnum, action == SD_STAMP ? SD_UNSTAMP : SD_STAMP, stamp))
			continue;
		if (done != NULL)
			done->tids[done->n++] = newslot->tts_tid;
		written++;
	}

	if (action == SD_REMOVE)
		ExecASDeleteTriggers(estate, rri, NULL);
	else
		ExecASUpdateTriggers(estate, rri, NULL);
	AfterTriggerEndQuery(estate);

	EvalPlanQualEnd(&epqstate);
	/* closes the indexes, and the relations the triggers opened */
	ExecCloseResultRelations(estate);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	if (pushed_snapshot)
		PopActiveSnapshot();

	/* what follows (the next level, a check) must see these changes */
	CommandCounterIncrement();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	if (action == SD_STAMP)
		softdelete_deletion_count_stamped(set->relid, written);
	return written;
}

/*
 * softdelete_apply_sets applies action to each set of sets and returns
 * the rows written, as new sets; adds their number to *count if given.
 */
List *
softdelete_apply_sets(List *sets, SoftDeleteAction action, TimestampTz stamp,
					  uint64 *count)
{
	List	   *written = NIL;
	ListCell   *lc;

	foreach(lc, sets)
	{
		RowSet	   *done = palloc(sizeof(RowSet));
		uint64		n = softdelete_apply((RowSet *) lfirst(lc), action, stamp, done);

		if (count != NULL)
			*count += n;
		if (done->n > 0)
			written = lappend(written, done);
	}
	return written;
}

/*
 * softdelete_stamp stamps the given rows of relid with this deletion's
 * stamp; if stamped is given it receives the new versions (for the
 * cascade).
 */
void
softdelete_stamp(Oid relid, ItemPointer tids, int ntids, RowSet *stamped)
{
	RowSet		set;

	set.relid = relid;
	set.n = ntids;
	set.tids = tids;
	(void) softdelete_apply(&set, SD_STAMP, softdelete_deletion_stamp(),
							stamped);
}
