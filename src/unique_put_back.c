/*-------------------------------------------------------------------------
 *
 * unique_put_back.c
 *	  disable()'s side of unique values among live rows: every unique
 *	  constraint and index that unique_among_live() (unique.c) limited to
 *	  live rows is put back as it was, from its record in
 *	  softdelete.unique_indexes, or disable is refused naming the ones
 *	  that trashed rows would now violate.
 *
 * Each one is tried in a subtransaction (softdelete_try), so that every
 * failure is named at once; the refusal then rolls back those that
 * succeeded.  The DDL runs as the extension's owner (policy.c's
 * softdelete_begin_ddl), as unique_among_live's does.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * run_sql executes one statement; the caller is connected to SPI.
 */
static void
run_sql(const char *sql, int nargs, Oid *types, Datum *values)
{
	(void) softdelete_spi_run(sql, nargs, types, values, NULL, false, 0, 0);
}

/* One record of softdelete.unique_indexes */
typedef struct UniqueRecord
{
	char	   *name;
	bool		is_constraint;
	char	   *definition;
} UniqueRecord;

/* read_record reads one record for read_records */
static void
read_record(HeapTuple tup, TupleDesc desc, void *state)
{
	List	  **records = (List **) state;
	UniqueRecord *rec = palloc0(sizeof(UniqueRecord));
	bool		isnull;

	rec->name = SPI_getvalue(tup, desc, 1);
	rec->is_constraint = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	rec->definition = SPI_getvalue(tup, desc, 3);
	*records = lappend(*records, rec);
}

/*
 * read_records reads the records of relid; the caller is connected to SPI.
 */
static List *
read_records(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *result = NIL;

	(void) softdelete_spi_rows("SELECT index_name, is_constraint, definition"
							   "  FROM softdelete.unique_indexes"
							   " WHERE tbl OPERATOR(pg_catalog.=) $1"
							   " ORDER BY index_name",
							   1, types, values, false, CurrentMemoryContext,
							   read_record, &result);
	return result;
}

/*
 * put_back drops the index among live rows named rec->name and creates
 * what it was; the caller is inside begin_ddl.
 */
static void
put_back(Oid relid, const UniqueRecord *rec, Oid indexoid)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *index = quote_qualified_identifier(nspname, rec->name);
	char	   *comment = GetComment(indexoid, RelationRelationId, 0);
	char	   *sql;
	List	   *parts;
	List	   *names;

	softdelete_partition_index_names(indexoid, &parts, &names);
	sql = psprintf("DROP INDEX %s", index);
	run_sql(sql, 0, NULL, NULL);
	if (rec->is_constraint)
		sql = psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", qualified,
					   quote_identifier(rec->name), rec->definition);
	else
		sql = psprintf("CREATE UNIQUE INDEX %s ON %s %s", quote_identifier(rec->name),
					   qualified, rec->definition);
	run_sql(sql, 0, NULL, NULL);
	softdelete_rename_partition_indexes(relid, rec->name, parts, names);
	if (comment != NULL)
	{
		sql = psprintf("COMMENT ON %s IS %s",
					   rec->is_constraint ?
					   psprintf("CONSTRAINT %s ON %s", quote_identifier(rec->name), qualified) :
					   psprintf("INDEX %s", index),
					   quote_literal_cstr(comment));
		run_sql(sql, 0, NULL, NULL);
	}
}

/* One put_back, as a step softdelete_try can run */
typedef struct PutBackStep
{
	Oid			relid;
	const UniqueRecord *rec;
	Oid			indexoid;
} PutBackStep;

static void
put_back_step(void *arg)
{
	PutBackStep *step = (PutBackStep *) arg;

	put_back(step->relid, step->rec, step->indexoid);
}

/*
 * softdelete_unique_put_back, for disable(), puts back every unique
 * constraint and index of relid that unique_among_live() changed.  If
 * rows that are trashed now would violate one of them, it refuses,
 * naming each such constraint with a duplicated key, and changes
 * nothing (the error rolls back what was put back already).  An index
 * that has been dropped or replaced since is left alone.  The caller
 * holds ACCESS EXCLUSIVE on relid.
 */
void
softdelete_unique_put_back(Oid relid)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);
	SoftDeleteIdentity saved;
	List	   *records;
	ListCell   *lc;
	StringInfoData failures;
	int			nfailures = 0;
	int			depth;

	initStringInfo(&failures);
	depth = softdelete_begin_ddl(&saved);
	PG_TRY();
	{
		records = read_records(relid);
		foreach(lc, records)
		{
			UniqueRecord *rec = (UniqueRecord *) lfirst(lc);
			Oid			indexoid = get_relname_relid(rec->name, get_rel_namespace(relid));
			HeapTuple	indextup = NULL;
			bool		ours = false;
			PutBackStep step;
			ErrorData  *edata;

			if (OidIsValid(indexoid))
				indextup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
			if (HeapTupleIsValid(indextup))
			{
				Form_pg_index form = (Form_pg_index) GETSTRUCT(indextup);

				ours = form->indrelid == relid && form->indisunique &&
					softdelete_index_live_only(indextup, table->attnum);
				ReleaseSysCache(indextup);
			}
			if (!ours)
			{
				ereport(NOTICE,
						(errmsg("unique index \"%s\" of table \"%s\" among live rows is gone or changed, and is not put back",
								rec->name, get_rel_name(relid)),
						 errdetail("It was: %s", rec->definition)));
				continue;
			}

			/* try it in a subtransaction, to name every one that fails */
			step.relid = relid;
			step.rec = rec;
			step.indexoid = indexoid;
			edata = softdelete_try(put_back_step, &step);
			if (edata == NULL)
				continue;
			if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
				ReThrowError(edata);
			appendStringInfo(&failures, "%s%s \"%s\": %s",
							 nfailures > 0 ? "\n" : "",
							 rec->is_constraint ? "Unique constraint" : "Unique index",
							 rec->name,
							 edata->detail != NULL ? edata->detail : edata->message);
			nfailures++;
			FreeErrorData(edata);
		}
		if (nfailures > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("cannot disable soft delete on table \"%s\": trashed rows duplicate the values of %s",
							get_rel_name(relid),
							nfailures == 1 ? "a unique constraint" : "unique constraints"),
					 errdetail("%s\nNothing was changed.", failures.data),
					 errhint("Purge or hard-delete the trashed rows that hold these values, or change them, then call softdelete.disable('%s') again.",
							 softdelete_hint_name(relid))));
		{
			Oid			types[1] = {OIDOID};
			Datum		values[1] = {ObjectIdGetDatum(relid)};

			run_sql("DELETE FROM softdelete.unique_indexes WHERE tbl OPERATOR(pg_catalog.=) $1",
					1, types, values);
		}
	}
	PG_CATCH();
	{
		softdelete_ddl_depth = depth;
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_end_ddl(&saved);
}
