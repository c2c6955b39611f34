/*-------------------------------------------------------------------------
 *
 * cascade.c
 *	  The soft-delete cascade: a deletion's rows, level by level along the
 *	  foreign keys that reference them (fkgraph.c), and the RESTRICT and
 *	  NO ACTION checks that a hard delete would make.
 *
 * The rows a statement collected are stamped (apply.c), then for each
 * foreign key that references them, by its ON DELETE action: CASCADE
 * stamps the live referencing rows with the same stamp, level by level;
 * RESTRICT and NO ACTION refuse (23503) if live referencing rows remain
 * once the whole cascade is done, NO ACTION at commit when the constraint
 * is INITIALLY DEFERRED (the deletion keeps those for xact.c); SET NULL
 * and SET DEFAULT leave the referencing rows alone.  A CASCADE into a
 * table that is not soft-deletable refuses the statement: never a hard
 * delete on the side.
 *
 * Every level is one statement per (table, foreign key): keys are passed
 * as arrays and matched with the constraint's own equality operators.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

/* A RESTRICT / NO ACTION check to run once the cascade is done */
typedef struct PendingCheck
{
	FkEdge	   *edge;
	RowSet	   *parents;
} PendingCheck;

/*
 * cascade_stamp stamps the live rows of the child side of edge that
 * reference keys, and returns them grouped by relation.
 */
static List *
cascade_stamp(const FkEdge *edge, KeyArrays *keys, TimestampTz stamp)
{
	const SoftDeleteTable *child = softdelete_lookup(edge->child);

	if (!OidIsValid(child->root))
	{
		/* refuse only if there is something the cascade would reach */
		char	   *key = softdelete_find_live_child(edge, keys);

		if (key != NULL)
			softdelete_report_refusal(SD_REFUSE_CASCADE_NOT_SOFT, edge, key);
		return NIL;
	}
	return softdelete_write_children(edge, keys, SD_ROWS_LIVE, stamp, SD_STAMP, NULL);
}

/*
 * cascade_from follows the foreign keys that reference a set of rows just
 * stamped, level by level, then checks the RESTRICT and NO ACTION foreign
 * keys that reference what was stamped.
 */
static void
cascade_from(RowSet *first)
{
	TimestampTz stamp = softdelete_deletion_stamp();
	List	   *queue = list_make1(first);
	List	   *checks = NIL;
	ListCell   *lc;

	/* level by level: each queued set is stamped already */
	while (queue != NIL)
	{
		RowSet	   *set = (RowSet *) linitial(queue);
		List	   *edges;

		queue = list_delete_first(queue);
		edges = softdelete_fk_incoming(set->relid);
		foreach(lc, edges)
		{
			FkEdge	   *edge = (FkEdge *) lfirst(lc);

			switch (edge->del_action)
			{
				case FKCONSTR_ACTION_CASCADE:
					{
						KeyArrays	keys;

						if (softdelete_fetch_keys(set, edge->parent, edge->parent_attnums,
									   edge->nkeys, &keys))
							queue = list_concat(queue, cascade_stamp(edge, &keys, stamp));
						break;
					}
				case FKCONSTR_ACTION_RESTRICT:
				case FKCONSTR_ACTION_NOACTION:
					if (edge->del_action == FKCONSTR_ACTION_NOACTION && edge->deferred)
						softdelete_deletion_defer_check(edge);
					else
					{
						PendingCheck *check = palloc(sizeof(PendingCheck));

						check->edge = edge;
						check->parents = set;
						checks = lappend(checks, check);
					}
					break;
				default:
					/* SET NULL, SET DEFAULT: the parent still exists */
					break;
			}
		}
	}

	/* RESTRICT and immediate NO ACTION: once the whole cascade is done */
	foreach(lc, checks)
	{
		PendingCheck *check = (PendingCheck *) lfirst(lc);
		KeyArrays	keys;
		char	   *key;

		if (!softdelete_fetch_keys(check->parents, check->edge->parent,
						check->edge->parent_attnums, check->edge->nkeys, &keys))
			continue;
		key = softdelete_find_live_child(check->edge, &keys);
		if (key != NULL)
			softdelete_report_refusal(SD_REFUSE_STILL_REFERENCED, check->edge, key);
	}
}

/*
 * softdelete_delete_rows soft-deletes the collected rows of relid and
 * everything their deletion cascades to.
 */
void
softdelete_delete_rows(Oid relid, ItemPointer tids, int ntids)
{
	RowSet	   *first;

	if (!softdelete_fk_has_incoming(relid))
	{
		softdelete_stamp(relid, tids, ntids, NULL);
		return;
	}
	first = palloc(sizeof(RowSet));
	first->relid = relid;
	first->n = 0;
	first->tids = NULL;
	softdelete_stamp(relid, tids, ntids, first);
	if (first->n > 0)
		cascade_from(first);
}

/*
 * softdelete_cascade_stamped follows the foreign keys from rows of relid
 * that a converted DELETE (fidelity.c) has stamped already.
 */
void
softdelete_cascade_stamped(Oid relid, ItemPointer tids, int ntids)
{
	RowSet	   *first;

	if (ntids <= 0 || !softdelete_fk_has_incoming(relid))
		return;
	first = palloc(sizeof(RowSet));
	first->relid = relid;
	first->n = ntids;
	first->tids = tids;
	cascade_from(first);
}

/*
 * softdelete_check_deferred runs, at commit, the checks of the INITIALLY
 * DEFERRED NO ACTION foreign keys that this transaction's soft deletes
 * touched: no live row may reference a row trashed by this transaction.
 */
void
softdelete_check_deferred(void)
{
	List	   *deferred = softdelete_deletion_take_deferred();
	TimestampTz stamp;
	ListCell   *lc;

	if (deferred == NIL)
		return;
	stamp = softdelete_deletion_stamp();

	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, deferred)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		const SoftDeleteTable *parent;
		StringInfoData sql;
		KeyArrays	keys;
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1];
		char	   *key;
		int			i;

		parent = softdelete_lookup(edge->parent);
		if (!OidIsValid(parent->root))
			continue;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT DISTINCT ");
		softdelete_append_columns(&sql, edge->parent, edge->parent_attnums, edge->nkeys, "r", ", ");
		appendStringInfo(&sql, " FROM %s r WHERE r.%s OPERATOR(pg_catalog.=) $1",
						 softdelete_qualified_name(edge->parent),
						 quote_identifier(NameStr(parent->column_name)));
		for (i = 0; i < edge->nkeys; i++)
			appendStringInfo(&sql, " AND r.%s IS NOT NULL",
							 quote_identifier(get_attname(edge->parent,
														  edge->parent_attnums[i], false)));
		values[0] = TimestampTzGetDatum(stamp);
		keys.nkeys = edge->nkeys;
		softdelete_run_as_owner(edge->parent, sql.data, 1, types, values, SPI_OK_SELECT,
								softdelete_read_keys, &keys, 0);
		if (keys.nrows == 0)
			continue;
		key = softdelete_find_live_child(edge, &keys);
		if (key != NULL)
			softdelete_report_refusal(SD_REFUSE_STILL_REFERENCED, edge, key);
	}
	PopActiveSnapshot();
}

/*
 * softdelete_delete_pending soft-deletes every row the row trigger has
 * collected so far (the AFTER statement trigger, and xact.c at commit
 * for rows collected without one), one set per relation.  Stamping can
 * fire user triggers that delete more rows; those are collected anew and
 * taken by the next round.
 */
void
softdelete_delete_pending(void)
{
	List	   *sets;

	while ((sets = softdelete_deletion_take_to_stamp()) != NIL)
	{
		ListCell   *lc;

		foreach(lc, sets)
		{
			RowSet	   *set = (RowSet *) lfirst(lc);

			softdelete_delete_rows(set->relid, set->tids, set->n);
		}
	}
}
