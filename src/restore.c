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
 * soft-deletable parents are locked FOR SHARE and must be live, except
 * along the key through which the row was found: its parents there are
 * rows this call restored (written, so locked, and live), when no
 * trigger of ours could have changed them since (see may_trust_walk); a unique
 * index that a restored row would break refuses it (23505, from the
 * index itself).  Any refusal undoes the whole call.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * A restored set of rows, and the foreign key through which it was found
 * from rows this call restored (InvalidOid for the rows named).
 */
typedef struct Restored
{
	RowSet	   *set;
	Oid			via;
	TimestampTz stamp;			/* of the deletion that took them */
} Restored;

/*
 * only_our_triggers says whether relid has no trigger but core's
 * internal ones and softdelete's own: nothing a user wrote runs when its
 * rows are written, so nothing can change or trash another row meanwhile.
 */
static bool
only_our_triggers(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Oid			nsp = get_namespace_oid(SOFTDELETE_SCHEMA, false);
	bool		ours = true;
	int			i;

	for (i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &rel->trigdesc->triggers[i];

		if (!trigger->tgisinternal && get_func_namespace(trigger->tgfoid) != nsp)
			ours = false;
	}
	table_close(rel, AccessShareLock);
	return ours;
}

/*
 * may_trust_walk says whether the rows found through a foreign key from
 * restored rows may skip the parent check along that key: true when no
 * restored table has a trigger of a user's (which could change a parent
 * after it was written, or trash it again).
 */
static bool
may_trust_walk(List *restored)
{
	ListCell   *lc;

	foreach(lc, restored)
	{
		if (!only_our_triggers(((Restored *) lfirst(lc))->set->relid))
			return false;
	}
	return true;
}

/*
 * restored_set records set, of the deletion with stamp, as restored,
 * found through via.
 */
static List *
restored_set(List *restored, RowSet *set, Oid via, TimestampTz stamp)
{
	Restored   *r = palloc(sizeof(Restored));

	r->set = set;
	r->via = via;
	r->stamp = stamp;
	return lappend(restored, r);
}

/*
 * restored_rows counts the restored rows per deletion and soft-deletable
 * table, for the journal: a list of RestoredRows.
 */
static List *
restored_rows(List *restored)
{
	List	   *counts = NIL;
	ListCell   *lc;

	foreach(lc, restored)
	{
		Restored   *r = (Restored *) lfirst(lc);
		Oid			table = softdelete_lookup(r->set->relid)->root;
		RestoredRows *count = NULL;
		ListCell   *lc2;

		foreach(lc2, counts)
		{
			RestoredRows *c = (RestoredRows *) lfirst(lc2);

			if (c->stamp == r->stamp && c->table == table)
				count = c;
		}
		if (count == NULL)
		{
			count = palloc0(sizeof(RestoredRows));
			count->stamp = r->stamp;
			count->table = table;
			counts = lappend(counts, count);
		}
		count->rows += r->set->n;
	}
	return counts;
}

/*
 * check_parents_live refuses the restore if a row of set references a
 * soft-deletable row that is still in the trash; every referenced parent
 * is locked FOR SHARE, so that a concurrent soft delete waits.  The
 * foreign key skip (if valid) is not checked.
 */
static void
check_parents_live(const RowSet *set, Oid skip)
{
	List	   *edges = softdelete_fk_outgoing(set->relid);
	ListCell   *lc;

	foreach(lc, edges)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		KeyArrays	keys;
		char	   *key;

		if (edge->conoid == skip)
			continue;
		if (!softdelete_edge_keys(set, edge, false, &keys))
			continue;
		key = softdelete_first_trashed_parent(edge, &keys);
		if (key != NULL)
			softdelete_report_refusal(SD_REFUSE_RESTORE_ORPHAN, edge, key);
	}
}

/*
 * check_all_parents_live checks the parents of every restored set.
 */
static void
check_all_parents_live(List *restored)
{
	bool		trust = may_trust_walk(restored);
	ListCell   *lc;

	foreach(lc, restored)
	{
		Restored   *r = (Restored *) lfirst(lc);

		check_parents_live(r->set, trust ? r->via : InvalidOid);
	}
}

/*
 * restore_deletion restores the rows of relid that sel names and that
 * carry stamp, and the rows their deletion cascaded to; appends every
 * restored set to *restored (a Restored each) and returns how many rows
 * came back.
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
	ListCell   *lc;
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
							SPI_OK_SELECT, softdelete_read_rowsets, &found,
							SD_RUN_GENERIC_PLAN);
	pfree(sql.data);

	/* the rows themselves, then level by level those with the same stamp */
	queue = NIL;
	foreach(lc, softdelete_apply_sets(found, SD_UNSTAMP, stamp, &count))
		queue = restored_set(queue, (RowSet *) lfirst(lc), InvalidOid, stamp);
	while (queue != NIL)
	{
		Restored   *done = (Restored *) linitial(queue);
		List	   *edges = softdelete_fk_incoming(done->set->relid);
		ListCell   *lc2;

		queue = list_delete_first(queue);
		*restored = lappend(*restored, done);
		foreach(lc, edges)
		{
			FkEdge	   *edge = (FkEdge *) lfirst(lc);
			KeyArrays	keys;
			List	   *children;

			if (!softdelete_edge_keys(done->set, edge, true, &keys))
				continue;
			children = softdelete_write_children(edge, &keys, SD_ROWS_STAMPED, stamp,
												 SD_UNSTAMP, &count);
			foreach(lc2, children)
				queue = restored_set(queue, (RowSet *) lfirst(lc2), edge->conoid, stamp);
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
	TimestampTz *stamps = NULL;
	uint64		nstamps;
	uint64		s;
	uint64		count = 0;

	/*
	 * the deletions that took the rows, one stamp each (generic plans here
	 * and in restore_deletion: a selector's array of many keys is not
	 * estimated element by element)
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT DISTINCT r.%s FROM %s r WHERE (%s) AND r.%s IS NOT NULL ORDER BY 1",
					 column, softdelete_qualified_name(relid), sel->condition, column);
	nstamps = softdelete_run_as_owner(relid, sql.data, sel->nparams, sel->types,
									  sel->values, SPI_OK_SELECT,
									  softdelete_read_stamps, &stamps,
									  SD_RUN_GENERIC_PLAN);
	pfree(sql.data);

	for (s = 0; s < nstamps; s++)
		count += restore_deletion(relid, sel, stamps[s], &restored);

	/* nothing restored may reference a row still in the trash */
	check_all_parents_live(restored);

	if (nstamps > 0)
		softdelete_journal_forget_emptied(relid, stamps[0], stamps[nstamps - 1],
										  restored_rows(restored));
	return count;
}

/*
 * softdelete_restore_deletion restores what the deletion of a journal
 * entry took and is still in the trash, in every table of the entry
 * (undo), all or nothing, and returns the number of rows restored.  Each
 * table is searched for the stamp, unless all of the deletion's rows
 * there came back already, through the foreign keys from another table's
 * rows (the entry's counts say how many it stamped there); then the
 * entry goes.
 */
uint64
softdelete_restore_deletion(const JournalEntry *entry)
{
	List	   *restored = NIL;
	ListCell   *lc;
	uint64		count = 0;

	foreach(lc, entry->tables)
	{
		Oid			relid = lfirst_oid(lc);
		RowSelector sel;
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1];

		if (!OidIsValid(softdelete_lookup(relid)->root) ||
			softdelete_journal_all_back(restored_rows(restored), entry,
										foreach_current_index(lc)))
			continue;
		values[0] = TimestampTzGetDatum(entry->stamp);
		sel.condition = psprintf("%s OPERATOR(pg_catalog.=) $1",
								 quote_identifier(NameStr(softdelete_lookup(relid)->column_name)));
		sel.nparams = 1;
		sel.types = types;
		sel.values = values;
		count += restore_deletion(relid, &sel, entry->stamp, &restored);
	}

	/* checked once all is back: a child may come before its parent */
	check_all_parents_live(restored);

	softdelete_journal_forget(entry->stamp);
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
	check_parents_live(&done, InvalidOid);
	softdelete_journal_forget_emptied(softdelete_lookup(relid)->root, stamp, stamp, NIL);
	return true;
}
