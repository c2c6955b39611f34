/*-------------------------------------------------------------------------
 *
 * journal.c
 *	  softdelete.deletions: one entry per deletion, written once, at
 *	  commit; and the unique stamp each deletion carries.
 *
 * The stamp.  A deletion's stamp is the transaction's start time, moved
 * on by the smallest step (one microsecond) while another deletion holds
 * that value: one committed (its journal entry says so) or one still
 * running (it holds a transaction-level advisory lock on the value, in a
 * lock space of our own).  The lock is taken without waiting and kept to
 * the end of the transaction, and a lock is released only after its
 * transaction's commit is visible, so two deletions never share a stamp,
 * and restore, which follows "same stamp", never mixes them.
 *
 * The entry.  At commit (xact.c), a transaction that stamped rows gets
 * one row: its stamp, who deleted (current_user of the first deleting
 * statement), the application's actor (the softdelete.actor setting at
 * that moment), the rows in all and per table.  A transaction that rolls
 * back leaves none.  Entries are written and read as the extension's
 * owner; roles see, through a row-level security policy, the entries
 * that touch a table they may manage.  An entry goes when nothing of its
 * deletion is left in the trash: restore, undo and purge forget the
 * entries they empty.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(softdelete_may_manage_any);

/* locktag_field4 of our advisory locks on stamps (pg_advisory_* use 1, 2) */
#define STAMP_LOCK_SPACE	0x5D01

/*
 * run_as_extension_owner runs one statement on the journal as the
 * extension's owner, reading the latest committed state; reader copies
 * what it needs.  Returns the rows processed.
 */
static uint64
run_as_extension_owner(const char *sql, int nargs, Oid *types, Datum *values,
					   int expected, SoftDeleteReader reader, void *out)
{
	return softdelete_run_as_owner(InvalidOid, sql, nargs, types, values, expected,
								   reader, out,
								   SD_RUN_LATEST | SD_RUN_EXTENSION_OWNER);
}

/*
 * journal_exists says whether softdelete.deletions is there: a database
 * still at extension version 1.0 (the library is shared by every
 * version) has no journal until ALTER EXTENSION softdelete UPDATE.
 */
static bool
journal_exists(void)
{
	Oid			nsp = get_namespace_oid(SOFTDELETE_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("deletions", nsp));
}

/*
 * journal_open opens softdelete.deletions with lockmode, or returns NULL
 * if it is not there (see journal_exists).
 */
static Relation
journal_open(LOCKMODE lockmode)
{
	Oid			nsp = get_namespace_oid(SOFTDELETE_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("deletions", nsp) : InvalidOid;

	return OidIsValid(relid) ? table_open(relid, lockmode) : NULL;
}

/*
 * journal_attnum returns the number of the journal's column name.
 */
static AttrNumber
journal_attnum(Relation rel, const char *name)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"softdelete.deletions\" does not exist",
						name),
				 errhint("Reinstall the extension softdelete.")));
	return attnum;
}

/*
 * stamp_index returns a valid, non-partial btree index of the journal
 * whose only key is the stamp column, compared by timestamptz's own
 * equality (as the UNIQUE constraint's index is), or InvalidOid.
 */
static Oid
stamp_index(Relation rel, AttrNumber attnum)
{
	Oid			found = InvalidOid;
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		if (index->rd_index->indisvalid && index->rd_index->indnkeyatts == 1 &&
			index->rd_index->indkey.values[0] == attnum &&
			index->rd_rel->relam == BTREE_AM_OID &&
			index->rd_indcollation[0] == InvalidOid &&
			get_opcode(get_opfamily_member(index->rd_opfamily[0], TIMESTAMPTZOID,
										   TIMESTAMPTZOID,
										   BTEqualStrategyNumber)) == F_TIMESTAMPTZ_EQ &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
			found = RelationGetRelid(index);
		index_close(index, AccessShareLock);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	return found;
}

/*
 * stamp_taken says whether a committed deletion already carries stamp:
 * one probe of the stamp's unique index, in the latest committed state
 * (read directly: this runs once per deleting transaction).
 */
static bool
stamp_taken(TimestampTz stamp)
{
	Relation	rel = journal_open(AccessShareLock);
	AttrNumber	attnum;
	Oid			index;
	ScanKeyData key;
	Snapshot	snapshot;
	SysScanDesc scan;
	bool		taken;

	if (rel == NULL)
		return false;
	attnum = journal_attnum(rel, "stamp");
	index = stamp_index(rel, attnum);
	ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_TIMESTAMPTZ_EQ,
				TimestampTzGetDatum(stamp));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, index, OidIsValid(index), snapshot, 1, &key);
	taken = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return taken;
}

/*
 * softdelete_journal_choose_stamp returns the unique stamp of a deletion
 * that starts at "start" (see the file header).
 */
TimestampTz
softdelete_journal_choose_stamp(TimestampTz start)
{
	TimestampTz stamp = start;

	for (;;)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) stamp >> 32),
							 (uint32) stamp, STAMP_LOCK_SPACE);
		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL &&
			!stamp_taken(stamp))
			return stamp;
		stamp += 1;				/* the smallest step: one microsecond */
	}
}

/*
 * journal_row fills slot with the entry's values, id from the journal's
 * sequence and committed_at from the clock: the columns' defaults as
 * softdelete--1.1.sql declares them, computed here rather than planned
 * and evaluated for every entry.
 */
static void
journal_row(Relation rel, TupleTableSlot *slot, int nvalues,
			const char *const *names, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			seq = get_relname_relid("deletions_id_seq", RelationGetNamespace(rel));
	AttrNumber	id = journal_attnum(rel, "id");
	AttrNumber	committed_at = journal_attnum(rel, "committed_at");
	int			i;

	if (!OidIsValid(seq))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sequence \"softdelete.deletions_id_seq\" does not exist"),
				 errhint("Reinstall the extension softdelete.")));
	ExecClearTuple(slot);
	for (i = 0; i < tupdesc->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	/* the journal's own sequence: its owner's right to use it is the point */
	slot->tts_values[id - 1] = Int64GetDatum(nextval_internal(seq, false));
	slot->tts_isnull[id - 1] = false;
	slot->tts_values[committed_at - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
	slot->tts_isnull[committed_at - 1] = false;
	for (i = 0; i < nvalues; i++)
	{
		AttrNumber	attnum = journal_attnum(rel, names[i]);

		slot->tts_values[attnum - 1] = values[i];
		slot->tts_isnull[attnum - 1] = nulls[i];
	}
	ExecStoreVirtualTuple(slot);
}

/*
 * softdelete_journal_record writes the entry of a deletion about to
 * commit.  The row is inserted directly, as core's logical replication
 * apply inserts (execReplication.c): the journal's constraints, indexes
 * and any trigger apply, as its owner; no SQL is parsed or planned.
 */
void
softdelete_journal_record(TimestampTz stamp, Oid deleted_by, const char *actor,
						  uint64 rows, int ntables, Oid *tables, int64 *table_rows)
{
	static const char *const names[6] = {"stamp", "deleted_by", "actor", "rows",
	"tables", "table_rows"};
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	Datum	   *relids = palloc(sizeof(Datum) * Max(ntables, 1));
	Datum	   *counts = palloc(sizeof(Datum) * Max(ntables, 1));
	NameData	who;
	SoftDeleteIdentity saved;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	int			i;

	rel = journal_open(RowExclusiveLock);
	if (rel == NULL)
		return;
	for (i = 0; i < ntables; i++)
	{
		relids[i] = ObjectIdGetDatum(tables[i]);
		counts[i] = Int64GetDatum(table_rows[i]);
	}
	namestrcpy(&who, GetUserNameFromId(deleted_by, false));
	values[0] = TimestampTzGetDatum(stamp);
	values[1] = NameGetDatum(&who);
	values[2] = actor != NULL ? CStringGetTextDatum(actor) : (Datum) 0;
	nulls[2] = (actor == NULL);
	values[3] = Int64GetDatum((int64) rows);
	values[4] = PointerGetDatum(construct_array(relids, ntables, REGCLASSOID,
												sizeof(Oid), true, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(counts, ntables, INT8OID,
												sizeof(int64), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));

	/* as the journal's owner (the extension's), known from the relation */
	softdelete_become_owner_to_write(rel, &saved);
	estate = softdelete_executor_state(rel, 0, &rri);
	ExecOpenIndices(rri, false);
	slot = table_slot_create(rel, &estate->es_tupleTable);
	journal_row(rel, slot, 6, names, values, nulls);

	AfterTriggerBeginQuery();
	ExecSimpleRelationInsert(rri, estate, slot);
	AfterTriggerEndQuery(estate);

	ExecCloseResultRelations(estate);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	softdelete_restore_identity(&saved);
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

/*
 * read_entry copies stamp, tables and table_rows of the first row: out is
 * a JournalEntry *.  Counts that do not match the tables one for one (a
 * journal edited by hand) are left out: then nothing is taken from them.
 */
static void
read_entry(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	JournalEntry *entry = (JournalEntry *) out;
	bool		isnull;
	ArrayType  *tables;
	Datum	   *elems;
	int			n;
	int			i;

	entry->found = nrows > 0;
	if (!entry->found)
		return;
	entry->stamp = DatumGetTimestampTz(SPI_getbinval(tuptable->vals[0],
													 tuptable->tupdesc, 1, &isnull));
	tables = DatumGetArrayTypeP(SPI_getbinval(tuptable->vals[0], tuptable->tupdesc,
											  2, &isnull));
	deconstruct_array(tables, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, NULL, &n);
	entry->tables = NIL;
	for (i = 0; i < n; i++)
		entry->tables = lappend_oid(entry->tables, DatumGetObjectId(elems[i]));
	entry->table_rows = NULL;
	if (!heap_attisnull(tuptable->vals[0], 3, tuptable->tupdesc))
	{
		ArrayType  *rows = DatumGetArrayTypeP(SPI_getbinval(tuptable->vals[0],
															tuptable->tupdesc, 3,
															&isnull));
		bool	   *nulls;
		int			nrows;
		bool		complete = true;

		deconstruct_array(rows, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, &nulls, &nrows);
		for (i = 0; i < nrows; i++)
			complete = complete && !nulls[i];
		if (nrows == n && complete)
		{
			entry->table_rows = palloc(sizeof(int64) * Max(n, 1));
			for (i = 0; i < n; i++)
				entry->table_rows[i] = DatumGetInt64(elems[i]);
		}
	}
}

/*
 * softdelete_journal_entry reads the entry "id" (found is false if there
 * is none).
 */
JournalEntry
softdelete_journal_entry(int64 id)
{
	JournalEntry entry;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	memset(&entry, 0, sizeof(entry));
	if (!journal_exists())
		return entry;
	values[0] = Int64GetDatum(id);
	run_as_extension_owner("SELECT stamp, tables, table_rows FROM softdelete.deletions"
						   " WHERE id OPERATOR(pg_catalog.=) $1",
						   1, types, values, SPI_OK_SELECT, read_entry, &entry);
	return entry;
}

/*
 * read_stamp_tables reads (id, tables) rows into a list of JournalEntry.
 */
static void
read_entries(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	List	  **entries = (List **) out;
	uint64		r;

	for (r = 0; r < nrows; r++)
	{
		JournalEntry *entry = palloc0(sizeof(JournalEntry));
		SPITupleTable one = *tuptable;

		one.vals = &tuptable->vals[r];
		read_entry(&one, 1, entry);
		*entries = lappend(*entries, entry);
	}
}

/*
 * softdelete_journal_forget deletes the entry with this stamp, once
 * nothing of its deletion is left: undo calls it after searching every
 * table of the entry for the stamp; softdelete_journal_forget_emptied
 * after finding no row left.
 */
void
softdelete_journal_forget(TimestampTz stamp)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];

	if (!journal_exists())
		return;
	values[0] = TimestampTzGetDatum(stamp);
	run_as_extension_owner("DELETE FROM softdelete.deletions"
						   " WHERE stamp OPERATOR(pg_catalog.=) $1",
						   1, types, values, SPI_OK_DELETE, NULL, NULL);
}

/*
 * softdelete_journal_all_back says whether restored_rows (RestoredRows)
 * brought back, of the deletion of entry, as many rows in its table at
 * index as the deletion stamped there: then none of them is left in that
 * table.  Every path that stamps rows counts them for the entry (apply.c,
 * and a DELETE planned as an UPDATE, its CTEs' too, fidelity.c), so the
 * count is never below the rows that carry the stamp, but for a stamp a
 * role wrote by hand (not the deletion's: the README's Limits).  Restored
 * rows are counted for the soft-deletable table they are in now, so the
 * counts are compared only while that is the table the entry counted
 * for: the table is still its own (not attached since as a partition of
 * another) and no other table of the entry has become part of it.
 * Counts a journal lacks prove nothing.
 */
bool
softdelete_journal_all_back(const List *restored_rows, const JournalEntry *entry,
							int index)
{
	Oid			table = list_nth_oid(entry->tables, index);
	const ListCell *lc;
	uint64		back = 0;

	if (entry->table_rows == NULL || entry->table_rows[index] < 0 ||
		softdelete_lookup(table)->root != table)
		return false;
	foreach(lc, entry->tables)
	{
		Oid			other = lfirst_oid(lc);

		if (other != table && softdelete_lookup(other)->root == table)
			return false;
	}
	foreach(lc, restored_rows)
	{
		const RestoredRows *r = (const RestoredRows *) lfirst(lc);

		if (r->stamp == entry->stamp && r->table == table)
			back += r->rows;
	}
	return back >= (uint64) entry->table_rows[index];
}

/*
 * softdelete_journal_forget_emptied deletes the entries that list relid,
 * whose stamps are between "from" and "to", and of which nothing is left
 * in the trash of any of their tables: a table is searched for the stamp
 * unless restored_rows (the restore's RestoredRows, or NIL) shows that
 * all of that deletion's rows there came back.
 */
void
softdelete_journal_forget_emptied(Oid relid, TimestampTz from, TimestampTz to,
								  const List *restored_rows)
{
	Oid			types[3] = {REGCLASSOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	List	   *entries = NIL;
	ListCell   *lc;

	if (!journal_exists())
		return;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = TimestampTzGetDatum(from);
	values[2] = TimestampTzGetDatum(to);
	run_as_extension_owner("SELECT stamp, tables, table_rows FROM softdelete.deletions"
						   " WHERE $1 OPERATOR(pg_catalog.=) ANY (tables)"
						   " AND stamp OPERATOR(pg_catalog.>=) $2"
						   " AND stamp OPERATOR(pg_catalog.<=) $3",
						   3, types, values, SPI_OK_SELECT, read_entries, &entries);
	foreach(lc, entries)
	{
		JournalEntry *entry = (JournalEntry *) lfirst(lc);
		ListCell   *lc2;
		bool		left = false;

		foreach(lc2, entry->tables)
		{
			Oid			table = lfirst_oid(lc2);

			if (softdelete_journal_all_back(restored_rows, entry,
											foreach_current_index(lc2)))
				continue;
			if (OidIsValid(softdelete_lookup(table)->root) &&
				softdelete_stamp_left(table, entry->stamp))
			{
				left = true;
				break;
			}
		}
		if (!left)
			softdelete_journal_forget(entry->stamp);
	}
}

/*
 * may_manage_any(tables regclass[]) says whether the current role may
 * manage at least one of the tables: the journal's visibility policy.
 */
Datum
softdelete_may_manage_any(PG_FUNCTION_ARGS)
{
	ArrayType  *tables;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	tables = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(tables, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		Oid			relid = DatumGetObjectId(elems[i]);

		if (!nulls[i] && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) &&
			softdelete_may_manage(relid))
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}
