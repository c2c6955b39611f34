/*-------------------------------------------------------------------------
 *
 * deletion.c
 *	  The deletion of this transaction: the one structure that says what
 *	  the transaction has soft-deleted so far.
 *
 * Every row a transaction soft-deletes -- each statement's rows, every
 * row their cascades reach, soft_delete() calls -- belongs to one
 * deletion: one stamp, the rows waiting to be stamped or followed, the
 * deferred foreign-key checks to run at commit, and the counts (in all
 * and per table).  Both entry paths fill it: the row trigger collects
 * rows to stamp (intercept.c), the planned UPDATE notes the rows it
 * stamps (fidelity.c).  The cascade (cascade.c) drains it, apply.c counts
 * into it, and at commit xact.c has the deferred checks run from it.
 *
 * Rows wait in chunks tagged with the subtransaction that collected them
 * (an aborted one takes its rows with it) and, for noted rows, with the
 * executor depth of the statement that stamped them (a statement follows
 * only its own rows and those of statements nested in it).
 *
 * Lifetime: everything lives in a context under TopTransactionContext and
 * is forgotten at transaction end (softdelete_deletion_reset).
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/* Rows of one relation waiting, collected by one subtransaction */
typedef struct WaitingRows
{
	Oid			relid;
	SubTransactionId subid;
	int			depth;			/* executor depth (noted rows), or -1 */
	int			n;
	int			max;
	ItemPointerData *tids;
} WaitingRows;

/* Rows stamped in one relation by one subtransaction */
typedef struct TableCount
{
	Oid			relid;
	SubTransactionId subid;
	uint64		rows;
} TableCount;

/* The deletion of the current transaction */
typedef struct Deletion
{
	MemoryContext context;
	bool		stamp_chosen;
	TimestampTz stamp;			/* unique among deletions (journal.c) */
	Oid			deleted_by;		/* current_user of the first stamping */
	char	   *actor;			/* softdelete.actor then, or NULL */
	List	   *to_stamp;		/* WaitingRows: collected by the row trigger */
	List	   *noted;			/* WaitingRows: stamped by a planned UPDATE */
	List	   *deferred;		/* FkEdge *: deferred NO ACTION keys */
	List	   *tables;			/* TableCount *, for the journal */
	uint64		rows_stamped;	/* all tables, cascade included */
	int64		collected;		/* by the row trigger, this statement */
} Deletion;

static Deletion deletion;

/*
 * context_for returns the deletion's memory context, made on first use.
 */
static MemoryContext
context_for(void)
{
	if (deletion.context == NULL)
		deletion.context = AllocSetContextCreate(TopTransactionContext,
												 "softdelete deletion",
												 ALLOCSET_DEFAULT_SIZES);
	return deletion.context;
}

/*
 * softdelete_deletion_stamp returns the stamp of this transaction's
 * deletion, chosen at its first use: the transaction's start time, moved
 * on where another deletion holds it (journal.c).  Who deletes, and the
 * application's actor, are taken at the same moment.
 */
TimestampTz
softdelete_deletion_stamp(void)
{
	if (!deletion.stamp_chosen)
	{
		const char *actor = GetConfigOption("softdelete.actor", true, false);

		deletion.stamp = softdelete_journal_choose_stamp(GetCurrentTransactionStartTimestamp());
		deletion.deleted_by = GetUserId();
		deletion.actor = (actor != NULL && actor[0] != '\0') ?
			MemoryContextStrdup(context_for(), actor) : NULL;
		deletion.stamp_chosen = true;
	}
	return deletion.stamp;
}

/*
 * append_row adds a row to the last chunk of *list if it is of the same
 * relation, subtransaction and depth, or to a new chunk.
 */
static void
append_row(List **list, Oid relid, int depth, ItemPointer tid)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	MemoryContext old = MemoryContextSwitchTo(context_for());
	WaitingRows *chunk = NULL;

	if (*list != NIL)
	{
		chunk = (WaitingRows *) llast(*list);
		if (chunk->relid != relid || chunk->subid != subid || chunk->depth != depth)
			chunk = NULL;
	}
	if (chunk == NULL)
	{
		chunk = palloc(sizeof(WaitingRows));
		chunk->relid = relid;
		chunk->subid = subid;
		chunk->depth = depth;
		chunk->n = 0;
		chunk->max = 64;
		chunk->tids = palloc(sizeof(ItemPointerData) * chunk->max);
		*list = lappend(*list, chunk);
	}
	if (chunk->n == chunk->max)
	{
		chunk->max *= 2;
		chunk->tids = repalloc_huge(chunk->tids, sizeof(ItemPointerData) * chunk->max);
	}
	chunk->tids[chunk->n++] = *tid;
	MemoryContextSwitchTo(old);
}

/*
 * take_rows removes from *list the chunks at depth min_depth or deeper
 * and returns their rows as one RowSet per relation, in the current
 * memory context.
 */
static List *
take_rows(List **list, int min_depth)
{
	List	   *taken = NIL;
	List	   *sets = NIL;
	ListCell   *lc;

	foreach(lc, *list)
	{
		WaitingRows *chunk = (WaitingRows *) lfirst(lc);

		if (chunk->depth >= min_depth)
		{
			taken = lappend(taken, chunk);
			*list = foreach_delete_current(*list, lc);
		}
	}
	foreach(lc, taken)
	{
		WaitingRows *chunk = (WaitingRows *) lfirst(lc);
		RowSet	   *set = NULL;
		ListCell   *lc2;

		foreach(lc2, sets)
		{
			if (((RowSet *) lfirst(lc2))->relid == chunk->relid)
				set = (RowSet *) lfirst(lc2);
		}
		if (set == NULL)
		{
			set = palloc0(sizeof(RowSet));
			set->relid = chunk->relid;
			sets = lappend(sets, set);
		}
		if (set->tids == NULL)
			set->tids = palloc_extended(sizeof(ItemPointerData) * chunk->n,
										MCXT_ALLOC_HUGE);
		else
			set->tids = repalloc_huge(set->tids,
									  sizeof(ItemPointerData) * (set->n + chunk->n));
		memcpy(set->tids + set->n, chunk->tids, sizeof(ItemPointerData) * chunk->n);
		set->n += chunk->n;
	}
	return sets;
}

/*
 * softdelete_deletion_collect adds a row the row trigger kept from a
 * DELETE, to be stamped at the end of the statement.
 */
void
softdelete_deletion_collect(Oid relid, ItemPointer tid)
{
	append_row(&deletion.to_stamp, relid, -1, tid);
	deletion.collected++;
}

/*
 * softdelete_deletion_take_to_stamp hands over every row waiting to be
 * stamped, one RowSet per relation.
 */
List *
softdelete_deletion_take_to_stamp(void)
{
	return take_rows(&deletion.to_stamp, -1);
}

/*
 * softdelete_deletion_note_stamped adds a row version that a planned
 * UPDATE at executor depth "depth" is about to stamp, for the cascade.
 */
void
softdelete_deletion_note_stamped(Oid relid, ItemPointer tid, int depth)
{
	append_row(&deletion.noted, relid, depth, tid);
}

/*
 * softdelete_deletion_take_noted hands over the rows noted at executor
 * depth min_depth or deeper, one RowSet per relation.
 */
List *
softdelete_deletion_take_noted(int min_depth)
{
	return take_rows(&deletion.noted, min_depth);
}

/*
 * softdelete_deletion_swap_collected sets the count of rows the row
 * trigger collected during the running statement, returning the old one:
 * the executor hook saves it around each statement.
 */
int64
softdelete_deletion_swap_collected(int64 collected)
{
	int64		old = deletion.collected;

	deletion.collected = collected;
	return old;
}

/*
 * softdelete_deletion_count_stamped adds rows that apply.c (or a planned
 * UPDATE) stamped in relid, counted for its soft-deletable table (the
 * partitioned table, for a partition).
 */
void
softdelete_deletion_count_stamped(Oid relid, uint64 rows)
{
	ListCell   *lc;
	TableCount *count = NULL;
	MemoryContext old;

	if (rows == 0)
		return;
	deletion.rows_stamped += rows;
	/* a partition's rows count for its soft-deletable table */
	if (OidIsValid(softdelete_lookup(relid)->root))
		relid = softdelete_lookup(relid)->root;
	foreach(lc, deletion.tables)
	{
		TableCount *c = (TableCount *) lfirst(lc);

		if (c->relid == relid && c->subid == GetCurrentSubTransactionId())
			count = c;
	}
	if (count == NULL)
	{
		old = MemoryContextSwitchTo(context_for());
		count = palloc0(sizeof(TableCount));
		count->relid = relid;
		count->subid = GetCurrentSubTransactionId();
		deletion.tables = lappend(deletion.tables, count);
		MemoryContextSwitchTo(old);
	}
	count->rows += rows;
}

/*
 * softdelete_deletion_rows_stamped returns the rows stamped so far by
 * this transaction, all tables together (callers take differences).
 */
uint64
softdelete_deletion_rows_stamped(void)
{
	return deletion.rows_stamped;
}

/*
 * softdelete_deletion_defer_check remembers an INITIALLY DEFERRED NO
 * ACTION foreign key whose parents this deletion trashed, to be checked
 * at commit (once per constraint).
 */
void
softdelete_deletion_defer_check(const FkEdge *edge)
{
	ListCell   *lc;
	MemoryContext old;
	FkEdge	   *copy;

	foreach(lc, deletion.deferred)
	{
		if (((FkEdge *) lfirst(lc))->conoid == edge->conoid)
			return;
	}
	old = MemoryContextSwitchTo(context_for());
	copy = palloc(sizeof(FkEdge));
	memcpy(copy, edge, sizeof(FkEdge));
	deletion.deferred = lappend(deletion.deferred, copy);
	MemoryContextSwitchTo(old);
}

/*
 * softdelete_deletion_take_deferred hands over the deferred checks.
 */
List *
softdelete_deletion_take_deferred(void)
{
	List	   *deferred = deletion.deferred;

	deletion.deferred = NIL;
	return deferred;
}

/*
 * softdelete_deletion_subxact drops the rows an aborted subtransaction
 * collected or noted, and hands those of a committed one to its parent.
 */
void
softdelete_deletion_subxact(bool commit, SubTransactionId mySubid,
							SubTransactionId parentSubid)
{
	List	  **lists[2] = {&deletion.to_stamp, &deletion.noted};
	ListCell   *lc;
	int			i;

	for (i = 0; i < 2; i++)
	{
		foreach(lc, *lists[i])
		{
			WaitingRows *chunk = (WaitingRows *) lfirst(lc);

			if (chunk->subid != mySubid)
				continue;
			if (commit)
				chunk->subid = parentSubid;
			else
				*lists[i] = foreach_delete_current(*lists[i], lc);
		}
	}
	foreach(lc, deletion.tables)
	{
		TableCount *count = (TableCount *) lfirst(lc);

		if (count->subid != mySubid)
			continue;
		if (commit)
			count->subid = parentSubid;
		else
			deletion.tables = foreach_delete_current(deletion.tables, lc);
	}
}

/*
 * softdelete_deletion_record writes the journal entry of this deletion,
 * if it stamped any row (xact.c, before commit).  Rows stamped by
 * subtransactions that rolled back do not count.
 */
void
softdelete_deletion_record(void)
{
	Oid		   *tables;
	int64	   *rows;
	int			n = 0;
	uint64		total = 0;
	ListCell   *lc;

	if (deletion.tables == NIL)
		return;
	tables = palloc(sizeof(Oid) * list_length(deletion.tables));
	rows = palloc(sizeof(int64) * list_length(deletion.tables));
	foreach(lc, deletion.tables)
	{
		TableCount *count = (TableCount *) lfirst(lc);
		int			i;

		for (i = 0; i < n && tables[i] != count->relid; i++)
			;
		if (i == n)
		{
			tables[n] = count->relid;
			rows[n++] = 0;
		}
		rows[i] += count->rows;
		total += count->rows;
	}
	softdelete_journal_record(softdelete_deletion_stamp(), deletion.deleted_by,
							  deletion.actor, total, n, tables, rows);
	deletion.tables = NIL;
}

/*
 * softdelete_deletion_reset forgets the deletion at transaction end; its
 * memory goes with TopTransactionContext.
 */
void
softdelete_deletion_reset(void)
{
	memset(&deletion, 0, sizeof(deletion));
}
