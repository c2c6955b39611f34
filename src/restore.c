/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Restore: one deletion undone, from the rows a selector names.
 *
 * The rows, then recursively the rows that reference a restored row
 * through any foreign key and carry the same stamp: exactly what that
 * deletion took, and nothing that another deletion took.  Rows a
 * selector names that were trashed by different deletions are restored
 * each with its own deletion.  Afterwards every restored row's
 * soft-deletable parents are locked FOR SHARE and must be live; a unique
 * index that a restored row would break refuses it (23505, from the
 * index itself).  Any refusal undoes the whole call.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

/*
 * check_parents_live refuses the restore if a row of set references a
 * soft-deletable row that is still in the trash; every referenced parent
 * is locked FOR SHARE, so that a concurrent soft delete waits.
 */
static void
check_parents_live(const RowSet *set)
{
	List	   *edges = softdelete_fk_outgoing(set->relid);
	ListCell   *lc;

	foreach(lc, edges)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		KeyArrays	keys;
		char	   *key;

		if (!softdelete_edge_keys(set, edge, false, &keys))
			continue;
		key = softdelete_first_trashed_parent(edge, &keys);
		if (key != NULL)
			softdelete_report_refusal(SD_REFUSE_RESTORE_ORPHAN, edge, key);
	}
}

/*
 * restore_deletion restores the rows of relid that sel names and that
 * carry stamp, and the rows their deletion cascaded to; appends every
 * restored set to *restored and returns how many rows came back.
 */
static uint64
restore_deletion(Oid relid, const RowSelector *sel, TimestampTz stamp,
				 List **restored)
{
	const char *column = quote_identifier(NameStr(softdelete_lookup(relid)->column_name));
	StringInfoData sql;
	Oid		   *types = palloc(sizeof(Oid) * (sel->nparams + 1));
	Datum	   *values = palloc(sizeof(Datum) * (sel->nparams + 1));
	List	   *found = NIL;
	List	   *queue;
	uint64		count = 0;

	memcpy(types, sel->types, sizeof(Oid) * sel->nparams);
	memcpy(values, sel->values, sizeof(Datum) * sel->nparams);
	types[sel->nparams] = TIMESTAMPTZOID;
	values[sel->nparams] = TimestampTzGetDatum(stamp);

	/* lock the rows of this deletion */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT r.tableoid, r.ctid FROM %s r"
					 " WHERE (%s) AND r.%s OPERATOR(pg_catalog.=) $%d FOR UPDATE OF r",
					 softdelete_qualified_name(relid), sel->condition, column,
					 sel->nparams + 1);
	softdelete_run_as_owner(relid, sql.data, sel->nparams + 1, types, values,
							SPI_OK_SELECT, softdelete_read_rowsets, &found, 0);
	pfree(sql.data);

	/* the rows themselves, then level by level those with the same stamp */
	queue = softdelete_apply_sets(found, SD_UNSTAMP, stamp, &count);
	while (queue != NIL)
	{
		RowSet	   *set = (RowSet *) linitial(queue);
		List	   *edges = softdelete_fk_incoming(set->relid);
		ListCell   *lc;

		queue = list_delete_first(queue);
		*restored = lappend(*restored, set);
		foreach(lc, edges)
		{
			FkEdge	   *edge = (FkEdge *) lfirst(lc);
			KeyArrays	keys;
			List	   *children;

			if (!softdelete_edge_keys(set, edge, true, &keys))
				continue;
			children = softdelete_select_children(edge, &keys, SD_ROWS_STAMPED, stamp, 0);
			queue = list_concat(queue,
								softdelete_apply_sets(children, SD_UNSTAMP, stamp, &count));
		}
	}
	return count;
}

/*
 * softdelete_restore_rows restores the trashed rows of relid that sel
 * names, each with the rest of its deletion, and returns the number of
 * rows restored.
 */
uint64
softdelete_restore_rows(Oid relid, const RowSelector *sel)
{
	const char *column = quote_identifier(NameStr(softdelete_lookup(relid)->column_name));
	StringInfoData sql;
	List	   *restored = NIL;
	ListCell   *lc;
	TimestampTz *stamps = NULL;
	uint64		nstamps;
	uint64		s;
	uint64		count = 0;

	/* the deletions that took the rows, one stamp each */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT DISTINCT r.%s FROM %s r WHERE (%s) AND r.%s IS NOT NULL ORDER BY 1",
					 column, softdelete_qualified_name(relid), sel->condition, column);
	nstamps = softdelete_run_as_owner(relid, sql.data, sel->nparams, sel->types,
									  sel->values, SPI_OK_SELECT,
									  softdelete_read_stamps, &stamps, 0);
	pfree(sql.data);

	for (s = 0; s < nstamps; s++)
		count += restore_deletion(relid, sel, stamps[s], &restored);

	/* nothing restored may reference a row still in the trash */
	foreach(lc, restored)
		check_parents_live((RowSet *) lfirst(lc));

	if (nstamps > 0)
		softdelete_journal_forget_emptied(relid, stamps[0], stamps[nstamps - 1]);
	return count;
}

/*
 * softdelete_restore_deletion restores what the deletion with this stamp
 * took and is still in the trash, in every table of relids (undo), all
 * or nothing, and returns the number of rows restored.
 */
uint64
softdelete_restore_deletion(List *relids, TimestampTz stamp)
{
	List	   *restored = NIL;
	ListCell   *lc;
	uint64		count = 0;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		RowSelector sel;
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1];

		if (!OidIsValid(softdelete_lookup(relid)->root))
			continue;
		values[0] = TimestampTzGetDatum(stamp);
		sel.condition = psprintf("%s OPERATOR(pg_catalog.=) $1",
								 quote_identifier(NameStr(softdelete_lookup(relid)->column_name)));
		sel.nparams = 1;
		sel.types = types;
		sel.values = values;
		count += restore_deletion(relid, &sel, stamp, &restored);
	}

	/* checked once all is back: a child may come before its parent */
	foreach(lc, restored)
		check_parents_live((RowSet *) lfirst(lc));

	foreach(lc, relids)
	{
		if (OidIsValid(softdelete_lookup(lfirst_oid(lc))->root))
			softdelete_journal_forget_emptied(lfirst_oid(lc), stamp, stamp);
	}
	return count;
}

/*
 * softdelete_revive_row restores one trashed row alone, the version at
 * *tid that carries stamp, without what its deletion cascaded to (an
 * upsert meeting it, upsert.c): its soft-deletable parents must be live,
 * and the deletion's journal entry is forgotten once its trash is empty.
 * Returns whether the row came back (false if it changed meanwhile).
 */
bool
softdelete_revive_row(Oid relid, ItemPointer tid, TimestampTz stamp)
{
	RowSet		set;
	RowSet		done;

	set.relid = relid;
	set.n = 1;
	set.tids = tid;
	if (softdelete_apply(&set, SD_UNSTAMP, stamp, &done) == 0)
		return false;
	check_parents_live(&done);
	softdelete_journal_forget_emptied(softdelete_lookup(relid)->root, stamp, stamp);
	return true;
}
