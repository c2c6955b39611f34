/*-------------------------------------------------------------------------
 *
 * remove.c
 *	  Permanent removal (purge, hard_delete): the rows a selector names,
 *	  after their trashed descendants, children before parents, and the
 *	  bypass of the soft-delete trigger that lets exactly those rows go.
 *
 * A live descendant refuses the removal (23503), as does a CASCADE key
 * into a table that is not soft-deletable (55000).  Rows are removed by
 * apply.c as the caller; while it runs, the row trigger lets through
 * exactly the rows named here (the bypass), so that any other row a
 * trigger deletes meanwhile is soft-deleted as usual.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "catalog/pg_constraint.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* One active bypass: exactly these rows really may be deleted now */
typedef struct Bypass
{
	Oid			relid;
	int			n;
	ItemPointerData *tids;		/* sorted */
} Bypass;

/* Innermost first; forgotten at transaction end */
static List *bypass_stack = NIL;

/* The rows already scheduled for removal, so that cycles terminate */
typedef struct RemovedKey
{
	Oid			relid;
	ItemPointerData tid;
} RemovedKey;

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
 * softdelete_bypass_reset forgets every bypass at transaction end (an
 * error between push and pop leaves them behind).
 */
void
softdelete_bypass_reset(void)
{
	bypass_stack = NIL;
}

/*
 * scheduled_before looks a row up in the removal schedule (entering it,
 * with HASH_ENTER) and says whether it was there before.
 */
static bool
scheduled_before(HTAB *scheduled, Oid relid, ItemPointer tid, HASHACTION action)
{
	RemovedKey	key;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.tid = *tid;
	hash_search(scheduled, &key, action, &found);
	return found;
}

/*
 * mark_scheduled schedules a row for removal; false if it was already.
 */
static bool
mark_scheduled(HTAB *scheduled, Oid relid, ItemPointer tid)
{
	return !scheduled_before(scheduled, relid, tid, HASH_ENTER);
}

/*
 * is_scheduled says whether a row is scheduled for removal already.
 */
static bool
is_scheduled(HTAB *scheduled, Oid relid, ItemPointer tid)
{
	return scheduled_before(scheduled, relid, tid, HASH_FIND);
}

/*
 * How many more rows one removal may take (purge_expired's batches), and
 * whether it had to leave rows for a later one.
 */
typedef struct RemovalBudget
{
	uint64		left;
	bool		cut;
	ItemPointerData last;		/* the last row of relid first selected */
} RemovalBudget;

/*
 * select_children_within finds the rows below edge that remove_set takes
 * next, no more than the budget allows.  When the limit may have hidden
 * rows and every row it returned is scheduled already (a cycle back into
 * this removal), it reads them all; otherwise it marks the budget cut.
 */
static List *
select_children_within(const FkEdge *edge, KeyArrays *keys,
					   SoftDeleteRowState state, HTAB *scheduled,
					   RemovalBudget *budget)
{
	List	   *children;
	ListCell   *lc;
	uint64		fetched = 0;
	uint64		unscheduled = 0;

	if (budget == NULL)
		return softdelete_select_children(edge, keys, state, 0, 0);
	children = softdelete_select_children(edge, keys, state, 0, budget->left);
	foreach(lc, children)
	{
		RowSet	   *childset = (RowSet *) lfirst(lc);
		int			i;

		fetched += childset->n;
		for (i = 0; i < childset->n; i++)
			if (!is_scheduled(scheduled, childset->relid, &childset->tids[i]))
				unscheduled++;
	}
	if (fetched < budget->left)
		return children;
	if (unscheduled == 0)
		return softdelete_select_children(edge, keys, state, 0, 0);
	budget->cut = true;
	return children;
}

/*
 * remove_set permanently removes the rows of set, after their trashed
 * descendants (which must be trashed).  The rows of set may be live
 * (hard_delete's own row): the caller chose them.  With cascade
 * (hard_delete(..., cascade => true)), the live descendants through ON
 * DELETE CASCADE keys go too, each named in the bypass of its own
 * removal, as a plain hard DELETE would take them.
 */
static uint64
remove_set(RowSet *set, HTAB *scheduled, bool cascade, RemovalBudget *budget)
{
	List	   *edges = softdelete_fk_incoming(set->relid);
	ListCell   *lc;
	uint64		removed = 0;
	bool		outer_cut = false;

	check_stack_depth();		/* one level per generation of descendants */
	if (budget != NULL)
	{
		if (budget->left == 0)
		{
			budget->cut = true;
			return 0;
		}
		/* from here, budget->cut says whether this set's subtree was cut */
		outer_cut = budget->cut;
		budget->cut = false;
	}
	foreach(lc, edges)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		const SoftDeleteTable *child;
		KeyArrays	keys;

		if (edge->del_action == FKCONSTR_ACTION_SETNULL ||
			edge->del_action == FKCONSTR_ACTION_SETDEFAULT)
			continue;			/* PostgreSQL's own action applies */
		if (!softdelete_fetch_keys(set, edge->parent, edge->parent_attnums, edge->nkeys, &keys))
			continue;
		child = softdelete_lookup(edge->child);
		if (!OidIsValid(child->root))
		{
			char	   *key;

			if (edge->del_action != FKCONSTR_ACTION_CASCADE)
				continue;		/* PostgreSQL refuses by itself if need be */
			if (cascade)
				continue;		/* PostgreSQL's own action, asked for */
			key = softdelete_find_live_child(edge, &keys);
			if (key != NULL)
				softdelete_report_refusal(SD_REFUSE_REMOVE_CASCADE_NOT_SOFT, edge, key);
			continue;
		}
		else
		{
			/* with cascade, live rows below a CASCADE key go too */
			bool		take_live = cascade && edge->del_action == FKCONSTR_ACTION_CASCADE;
			char	   *key = take_live ? NULL : softdelete_find_live_child(edge, &keys);
			List	   *children = NIL;
			ListCell   *lc2;

			if (key != NULL)
				softdelete_report_refusal(SD_REFUSE_REMOVE_REFERENCED, edge, key);

			/* the trashed referencing rows go first (with take_live, all) */
			children = select_children_within(edge, &keys,
											  take_live ? SD_ROWS_ANY : SD_ROWS_TRASHED,
											  scheduled, budget);
			foreach(lc2, children)
			{
				RowSet	   *childset = (RowSet *) lfirst(lc2);
				int			i,
							kept = 0;

				for (i = 0; i < childset->n; i++)
					if (mark_scheduled(scheduled, childset->relid, &childset->tids[i]))
						childset->tids[kept++] = childset->tids[i];
				childset->n = kept;
				if (kept > 0)
					removed += remove_set(childset, scheduled, cascade, budget);
			}
		}
	}

	/* with a budget, rows whose descendants had to wait wait too */
	if (budget != NULL)
	{
		if (budget->cut)
			return removed;
		if ((uint64) set->n > budget->left)
		{
			set->n = (int) budget->left;
			budget->cut = true;
		}
		budget->left -= set->n;
		budget->cut = budget->cut || outer_cut;
	}

	/*
	 * Now the rows themselves, past the soft-delete trigger: exactly these
	 * rows, so that anything else a trigger deletes meanwhile stays soft.
	 */
	softdelete_bypass_push(set);
	PG_TRY();
	{
		removed += softdelete_apply(set, SD_REMOVE, 0, NULL);
	}
	PG_CATCH();
	{
		softdelete_bypass_pop();
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_bypass_pop();
	return removed;
}

/*
 * remove_matching permanently removes the rows of relid that sel
 * names (the selector says whether live rows may be among them), after
 * their trashed descendants, and with cascade after their live
 * descendants through ON DELETE CASCADE keys too.  Returns the number of rows removed, all
 * tables together.  Within a budget, rows that other transactions hold
 * locked are skipped, left for a later call.
 */
static uint64
remove_matching(Oid relid, const RowSelector *sel, bool cascade,
				RemovalBudget *budget)
{
	StringInfoData sql;
	List	   *sets = NIL;
	ListCell   *lc;
	HASHCTL		ctl;
	HTAB	   *scheduled;
	uint64		removed = 0;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT r.tableoid, r.ctid FROM %s r WHERE (%s)",
					 softdelete_qualified_name(relid), sel->condition);
	if (budget != NULL)
		appendStringInfo(&sql, " LIMIT " UINT64_FORMAT " FOR UPDATE OF r SKIP LOCKED",
						 budget->left);
	else
		appendStringInfoString(&sql, " FOR UPDATE OF r");
	softdelete_run_as_owner(relid, sql.data, sel->nparams, sel->types, sel->values,
							SPI_OK_SELECT, softdelete_read_rowsets, &sets, 0);

	ctl.keysize = sizeof(RemovedKey);
	ctl.entrysize = sizeof(RemovedKey);
	ctl.hcxt = CurrentMemoryContext;
	scheduled = hash_create("softdelete removal", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, sets)
	{
		RowSet	   *set = (RowSet *) lfirst(lc);
		int			i;

		for (i = 0; i < set->n; i++)
		{
			mark_scheduled(scheduled, set->relid, &set->tids[i]);
			if (budget != NULL && set->relid == relid &&
				ItemPointerCompare(&set->tids[i], &budget->last) > 0)
				budget->last = set->tids[i];
		}
	}
	foreach(lc, sets)
		removed += remove_set((RowSet *) lfirst(lc), scheduled, cascade, budget);
	hash_destroy(scheduled);
	return removed;
}

/*
 * softdelete_remove_rows permanently removes the rows of relid that sel
 * names, after their trashed descendants (with cascade, after their live
 * descendants through ON DELETE CASCADE keys too).  Returns the number
 * of rows removed, all tables together.
 */
uint64
softdelete_remove_rows(Oid relid, const RowSelector *sel, bool cascade)
{
	return remove_matching(relid, sel, cascade, NULL);
}

/*
 * softdelete_remove_rows_limited is softdelete_remove_rows for one batch
 * of purge_expired: it removes at most limit rows in all tables, children
 * before their parents, and skips rows that other transactions hold
 * locked.  A later call takes what is left; each call that finds a row it
 * may take removes at least one.  Returns the number of rows removed.
 * If resume is given and every row of relid that the batch selected was
 * removed, *resume moves on to the last of them (in TID order).
 */
uint64
softdelete_remove_rows_limited(Oid relid, const RowSelector *sel, uint64 limit,
							   ItemPointer resume)
{
	RemovalBudget budget;
	uint64		removed;

	Assert(limit > 0);
	budget.left = limit;
	budget.cut = false;
	ItemPointerSet(&budget.last, 0, 0);
	removed = remove_matching(relid, sel, false, &budget);
	if (resume != NULL && !budget.cut && ItemPointerCompare(&budget.last, resume) > 0)
		*resume = budget.last;
	return removed;
}
