/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  The plumbing under every room that runs SQL or tries a step: SPI
 *	  connections and statements checked in one place, and a step tried in
 *	  a subtransaction whose error is handed back to the caller.
 *
 * Nothing here chooses an identity or a search_path: run.c (a table's
 * owner) and ddl.c (the extension's owner) do that around these calls.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/*
 * softdelete_spi_connect connects to SPI, or fails.
 */
void
softdelete_spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * softdelete_spi_finish closes the SPI connection, or fails.
 */
void
softdelete_spi_finish(void)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * softdelete_spi_run executes one statement, with nargs parameters (none
 * is NULL unless nulls says so), and returns the rows it processed.  The
 * caller is connected to SPI.  expect is the SPI result the statement
 * must give (SPI_OK_SELECT, SPI_OK_INSERT, ...), or 0 for any success.
 */
uint64
softdelete_spi_run(const char *sql, int nargs, Oid *types, Datum *values,
				   const char *nulls, bool read_only, long count, int expect)
{
	int			ret = nargs > 0 ?
		SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count) :
		SPI_execute(sql, read_only, count);

	if (ret < 0 || (expect != 0 && ret != expect))
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql,
			 SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * softdelete_try runs step(arg) in a subtransaction.  It returns NULL if
 * the step succeeded (its work is kept), or else the step's error, copied
 * into the caller's memory context, with the subtransaction rolled back:
 * the caller decides whether the error is one to report and go on from,
 * or to throw again (ReThrowError).
 */
ErrorData *
softdelete_try(void (*step) (void *arg), void *arg)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;
	return edata;
}

/*
 * softdelete_spi_rows executes a query, as softdelete_spi_run does, and
 * hands each row of its result to reader, called in the memory context
 * into, so that what it keeps outlives the SPI connection.  Returns the
 * number of rows.
 */
uint64
softdelete_spi_rows(const char *sql, int nargs, Oid *types, Datum *values,
					bool read_only, MemoryContext into,
					SoftDeleteRowReader reader, void *state)
{
	uint64		n = softdelete_spi_run(sql, nargs, types, values, NULL,
									   read_only, 0, SPI_OK_SELECT);
	SPITupleTable *tuptable = SPI_tuptable;
	uint64		i;

	for (i = 0; i < n; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(into);

		reader(tuptable->vals[i], tuptable->tupdesc, state);
		MemoryContextSwitchTo(old);
	}
	return n;
}
