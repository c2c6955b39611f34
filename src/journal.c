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

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
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
 * stamp_taken says whether a committed deletion already carries stamp.
 */
static bool
stamp_taken(TimestampTz stamp)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];

	if (!journal_exists())
		return false;

	values[0] = TimestampTzGetDatum(stamp);
	return run_as_extension_owner("SELECT 1 FROM softdelete.deletions"
								  " WHERE stamp OPERATOR(pg_catalog.=) $1",
								  1, types, values, SPI_OK_SELECT, NULL, NULL) > 0;
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
 * softdelete_journal_record writes the entry of a deletion about to
 * commit.
 */
void
softdelete_journal_record(TimestampTz stamp, Oid deleted_by, const char *actor,
						  uint64 rows, int ntables, Oid *tables, int64 *table_rows)
{
	Oid			types[6] = {TIMESTAMPTZOID, NAMEOID, TEXTOID, INT8OID,
	REGCLASSARRAYOID, INT8ARRAYOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *relids = palloc(sizeof(Datum) * Max(ntables, 1));
	Datum	   *counts = palloc(sizeof(Datum) * Max(ntables, 1));
	NameData	who;
	SoftDeleteIdentity saved;
	int			ret;
	int			i;

	if (!journal_exists())
		return;
	for (i = 0; i < ntables; i++)
	{
		relids[i] = ObjectIdGetDatum(tables[i]);
		counts[i] = Int64GetDatum(table_rows[i]);
	}
	namestrcpy(&who, GetUserNameFromId(deleted_by, false));
	values[0] = TimestampTzGetDatum(stamp);
	values[1] = NameGetDatum(&who);
	if (actor != NULL)
		values[2] = CStringGetTextDatum(actor);
	else
		nulls[2] = 'n';
	values[3] = Int64GetDatum((int64) rows);
	values[4] = PointerGetDatum(construct_array(relids, ntables, REGCLASSOID,
												sizeof(Oid), true, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(counts, ntables, INT8OID,
												sizeof(int64), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));

	softdelete_become_extension_owner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("INSERT INTO softdelete.deletions"
								" (stamp, deleted_by, actor, rows, tables, table_rows)"
								" VALUES ($1, $2, $3, $4, $5, $6)",
								6, types, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	softdelete_restore_identity(&saved);
}

/*
 * read_entry copies stamp and tables of the first row: out is a
 * JournalEntry *.
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
	run_as_extension_owner("SELECT stamp, tables FROM softdelete.deletions"
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
 * softdelete_journal_forget_emptied deletes the entries that list relid,
 * whose stamps are between "from" and "to", and of which nothing is left
 * in the trash of any of their tables.
 */
void
softdelete_journal_forget_emptied(Oid relid, TimestampTz from, TimestampTz to)
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
	run_as_extension_owner("SELECT stamp, tables FROM softdelete.deletions"
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

			if (OidIsValid(softdelete_lookup(table)->root) &&
				softdelete_stamp_left(table, entry->stamp))
			{
				left = true;
				break;
			}
		}
		if (left)
			continue;
		values[1] = TimestampTzGetDatum(entry->stamp);
		run_as_extension_owner("DELETE FROM softdelete.deletions"
							   " WHERE stamp OPERATOR(pg_catalog.=) $1",
							   1, types + 1, values + 1, SPI_OK_DELETE, NULL, NULL);
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
