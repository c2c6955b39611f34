/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  Retention: how long each table keeps its trash (set_retention), and
 *	  the procedure that empties every bin by it (purge_expired).
 *
 * The retention is the column "retention" of softdelete.registry (NULL:
 * kept until purged by hand).  purge_expired is a procedure: for every
 * table with a retention that the caller may manage, it removes the rows
 * trashed longer ago than the retention (measured once, when the call
 * starts), with purge()'s rules (children first, a live referencing row
 * refuses), in batches of at most batch_rows rows, each batch a
 * transaction of its own (softdelete_remove_rows_limited in remove.c).
 * A session-level advisory lock on a fixed key keeps a second call in the
 * same database from doubling the work: it returns at once.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "utils/snapmgr.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(softdelete_set_retention);
PG_FUNCTION_INFO_V1(softdelete_purge_expired);

/*
 * The advisory lock purge_expired holds while it runs:
 * pg_try_advisory_lock(1936680564, 1886745191), 'soft' and 'purg'.
 */
#define PURGE_LOCK_KEY1		0x736f6674
#define PURGE_LOCK_KEY2		0x70757267

/* A table purge_expired works on */
typedef struct ExpiringTable
{
	Oid			relid;
	TimestampTz cutoff;			/* rows trashed at or before it expired */
} ExpiringTable;

/*
 * interval_is_negative says whether an interval is below zero, as
 * interval comparison sees it (a month is 30 days).
 */
static bool
interval_is_negative(Interval *value)
{
	Interval	zero;

	memset(&zero, 0, sizeof(zero));
	return DatumGetInt32(DirectFunctionCall2(interval_cmp,
											 IntervalPGetDatum(value),
											 IntervalPGetDatum(&zero))) < 0;
}

/*
 * set_retention(tbl regclass, keep interval) records how long tbl keeps
 * its trashed rows before purge_expired removes them; NULL clears it.
 */
Datum
softdelete_set_retention(PG_FUNCTION_ARGS)
{
	Oid			relid;
	SoftDeleteIdentity saved;
	Oid			argtypes[2] = {REGCLASSOID, INTERVALOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	relid = softdelete_arg_table(fcinfo, 0, "set_retention", "set the retention of");
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	else if (interval_is_negative(PG_GETARG_INTERVAL_P(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"keep\" of softdelete.set_retention() must not be negative"),
				 errhint("Use NULL to keep trashed rows until they are purged by hand.")));
	softdelete_check_may_manage(relid, "set the retention of");

	(void) softdelete_require_root(relid,
								   "A partition keeps its trash as long as its partitioned table does.",
								   "Set the retention of \"%s\".");

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);

	/* only the extension writes the registry */
	softdelete_become_extension_owner(&saved);
	softdelete_spi_connect();
	if (softdelete_spi_run("UPDATE softdelete.registry SET retention = $2"
						   " WHERE tbl OPERATOR(pg_catalog.=) $1",
						   2, argtypes, values, nulls, false, 0, SPI_OK_UPDATE) != 1)
		elog(ERROR, "registry row of table \"%s\" not found", get_rel_name(relid));
	softdelete_spi_finish();
	softdelete_restore_identity(&saved);
	PG_RETURN_VOID();
}

/* read_expiring reads one row of expiring_tables' query */
static void
read_expiring(HeapTuple tup, TupleDesc desc, void *state)
{
	List	  **tables = (List **) state;
	ExpiringTable *t = palloc(sizeof(ExpiringTable));
	bool		isnull;

	t->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	t->cutoff = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
	*tables = lappend(*tables, t);
}

/*
 * expiring_tables reads the tables that have a retention, with the
 * cutoff of each as of now, in name order.  The caller is connected to
 * SPI; the list is allocated in cxt.
 */
static List *
expiring_tables(MemoryContext cxt)
{
	List	   *tables = NIL;

	(void) softdelete_spi_rows("SELECT r.tbl::pg_catalog.oid,"
							  " pg_catalog.now() OPERATOR(pg_catalog.-) r.retention"
							  " FROM softdelete.registry r"
							  " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.tbl"
							  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
							  " WHERE r.retention IS NOT NULL"
							  " ORDER BY n.nspname, c.relname",
							  0, NULL, NULL, true, cxt, read_expiring, &tables);
	return tables;
}

/* One batch, as a step softdelete_try can run */
typedef struct PurgeStep
{
	Oid			relid;
	RowSelector sel;
	uint64		limit;
	ItemPointer resume;
	uint64		removed;
} PurgeStep;

static void
purge_step(void *arg)
{
	PurgeStep  *step = (PurgeStep *) arg;

	step->removed = softdelete_remove_rows_limited(step->relid, &step->sel,
												   step->limit, step->resume);
}

/*
 * purge_batch removes one batch of relid's expired rows in a
 * subtransaction.  A refusal by purge()'s rules (a live row references
 * an expired one: 23503 and its kin) or a table dropped meanwhile ends
 * the table's turn with a WARNING (*skipped), the rest of the call goes
 * on; any other error ends the call.  Returns the rows removed.  With
 * resume, only rows past *resume are looked at (cond takes it as $2),
 * and *resume moves on past the rows removed (remove.c).
 */
static uint64
purge_batch(Oid relid, const char *relname, const char *cond,
			TimestampTz cutoff, int batch_rows, ItemPointer resume, bool *skipped)
{
	Oid			types[2] = {TIMESTAMPTZOID, TIDOID};
	Datum		values[2];
	PurgeStep	step;
	ErrorData  *edata;

	values[0] = TimestampTzGetDatum(cutoff);
	values[1] = PointerGetDatum(resume);
	step.relid = relid;
	step.sel.condition = (char *) cond;
	step.sel.nparams = resume != NULL ? 2 : 1;
	step.sel.types = types;
	step.sel.values = values;
	step.limit = (uint64) batch_rows;
	step.resume = resume;
	step.removed = 0;
	edata = softdelete_try(purge_step, &step);
	*skipped = edata != NULL;
	if (edata == NULL)
		return step.removed;
	if (edata->sqlerrcode != ERRCODE_FOREIGN_KEY_VIOLATION &&
		edata->sqlerrcode != ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE &&
		edata->sqlerrcode != ERRCODE_UNDEFINED_TABLE)
		ReThrowError(edata);
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("softdelete.purge_expired: table %s skipped: %s",
					relname, edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0));
	FreeErrorData(edata);
	return 0;
}

/*
 * purge_tables runs purge_expired's work once the lock is held: every
 * table in turn, a batch per transaction.
 */
static void
purge_tables(int batch_rows)
{
	MemoryContext proccxt;
	MemoryContext batchcxt;
	List	   *tables;
	ListCell   *lc;
	uint64		total = 0;
	int			nchecked = 0;
	int			nskipped = 0;

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the SPI procedure context of a non-atomic call outlives each commit */
	proccxt = CurrentMemoryContext;
	batchcxt = AllocSetContextCreate(proccxt, "softdelete purge_expired batch",
									 ALLOCSET_DEFAULT_SIZES);
	tables = expiring_tables(proccxt);

	foreach(lc, tables)
	{
		ExpiringTable *t = (ExpiringTable *) lfirst(lc);
		char	   *relname;
		char	   *cond;
		char	   *cond_resume;
		const SoftDeleteTable *table;
		uint64		table_total = 0;
		int			batches = 0;
		bool		resuming;
		ItemPointerData resume;

		MemoryContextSwitchTo(batchcxt);
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(t->relid)))
			continue;			/* dropped since */
		table = softdelete_lookup(t->relid);
		if (table->root != t->relid)
			continue;			/* disabled since */
		relname = MemoryContextStrdup(proccxt, softdelete_qualified_name(t->relid));
		if (!softdelete_may_manage(t->relid))
		{
			nskipped++;
			ereport(NOTICE,
					(errmsg("softdelete.purge_expired: table %s skipped: permission denied",
							relname),
					 errdetail("Only the table's owner and members of role \"%s\" may purge it.",
							   SOFTDELETE_ADMIN_ROLE)));
			MemoryContextSwitchTo(proccxt);
			continue;
		}
		cond = MemoryContextStrdup(proccxt,
								   psprintf("%s IS NOT NULL AND %s OPERATOR(pg_catalog.<=) $1",
											quote_identifier(NameStr(table->column_name)),
											quote_identifier(NameStr(table->column_name))));
		/*
		 * A sweep in TID order first: each batch goes on where the last one
		 * ended (a TID range scan), instead of reading again, from the
		 * table's start, the dead rows of every batch before it.  Then
		 * batches over the whole table take what the sweep passed by (rows
		 * locked, moved or kept meanwhile), until one finds nothing.  A
		 * partitioned table's TIDs say nothing across partitions: no sweep.
		 */
		resuming = get_rel_relkind(t->relid) != RELKIND_PARTITIONED_TABLE;
		ItemPointerSet(&resume, 0, 0);
		cond_resume = MemoryContextStrdup(proccxt,
										  psprintf("%s AND ctid OPERATOR(pg_catalog.>) $2",
												   cond));
		nchecked++;
		for (;;)
		{
			bool		skipped;
			uint64		removed;
			instr_time	started;
			instr_time	took;

			INSTR_TIME_SET_CURRENT(started);
			MemoryContextSwitchTo(batchcxt);
			removed = purge_batch(t->relid, relname, resuming ? cond_resume : cond,
								  t->cutoff, batch_rows, resuming ? &resume : NULL,
								  &skipped);
			MemoryContextSwitchTo(proccxt);
			MemoryContextReset(batchcxt);
			SPI_commit();
			INSTR_TIME_SET_CURRENT(took);
			INSTR_TIME_SUBTRACT(took, started);
			/* how long each batch's transaction lasted (bench/ reads it) */
			ereport(DEBUG1,
					(errmsg_internal("softdelete.purge_expired: table %s: batch of " UINT64_FORMAT " rows took %.3f ms",
									 relname, removed, INSTR_TIME_GET_MILLISEC(took))));
			if (skipped)
				nskipped++;
			if (!skipped && removed == 0 && resuming)
			{
				resuming = false;	/* the sweep is done: the whole table */
				continue;
			}
			if (skipped || removed == 0)
				break;
			batches++;
			table_total += removed;
			ereport(NOTICE,
					(errmsg_plural("softdelete.purge_expired: table %s: batch %d: " UINT64_FORMAT " row removed",
								   "softdelete.purge_expired: table %s: batch %d: " UINT64_FORMAT " rows removed",
								   (unsigned long) removed, relname, batches, removed)));
			CHECK_FOR_INTERRUPTS();
		}
		if (table_total > 0)
		{
			/* the journal forgets the deletions this table's purge emptied */
			PushActiveSnapshot(GetTransactionSnapshot());
			softdelete_journal_forget_emptied(t->relid, DT_NOBEGIN, t->cutoff, NIL);
			PopActiveSnapshot();
			SPI_commit();
		}
		total += table_total;
	}
	MemoryContextSwitchTo(proccxt);
	ereport(NOTICE,
			(errmsg_plural("softdelete.purge_expired: " UINT64_FORMAT " row removed (%d %s checked, %d skipped)",
						   "softdelete.purge_expired: " UINT64_FORMAT " rows removed (%d %s checked, %d skipped)",
						   (unsigned long) total,
						   total, nchecked, nchecked == 1 ? "table" : "tables", nskipped)));
	MemoryContextDelete(batchcxt);
	softdelete_spi_finish();
}

/*
 * CALL purge_expired(batch_rows integer) permanently removes, for every
 * table with a retention, the rows trashed longer ago than it, at most
 * batch_rows rows per transaction.  It must be called with CALL outside
 * a transaction block, since it commits between batches.
 */
Datum
softdelete_purge_expired(PG_FUNCTION_ARGS)
{
	int			batch_rows;
	LOCKTAG		tag;

	softdelete_arg_required(fcinfo, 0, "batch_rows", "purge_expired");
	batch_rows = PG_GETARG_INT32(0);
	if (batch_rows < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"batch_rows\" of softdelete.purge_expired() must be at least 1")));
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("softdelete.purge_expired() cannot run inside a transaction block"),
				 errdetail("It commits after each batch of rows."),
				 errhint("Run CALL softdelete.purge_expired() on its own, outside BEGIN ... COMMIT and outside functions.")));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, PURGE_LOCK_KEY1, PURGE_LOCK_KEY2, 2);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		ereport(NOTICE,
				(errmsg("softdelete.purge_expired() is already running in this database; nothing to do")));
		PG_RETURN_VOID();
	}
	PG_TRY();
	{
		purge_tables(batch_rows);
	}
	PG_CATCH();
	{
		LockRelease(&tag, ExclusiveLock, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	LockRelease(&tag, ExclusiveLock, true);
	PG_RETURN_VOID();
}
