/*-------------------------------------------------------------------------
 *
 * unique.c
 *	  Unique values among live rows (issue 12): unique_among_live() turns
 *	  a soft-deletable table's UNIQUE constraints and unique indexes into
 *	  unique indexes on its live rows, enable() tells which ones keep the
 *	  values of trashed rows reserved, and disable() puts them back.
 *
 * A candidate is a valid unique index of the registered table itself
 * that is not the primary key, not one a foreign key depends on, not the
 * replica identity, not clustered on, not backing a deferrable constraint
 * (a partial unique index cannot be deferred) and not already limited to
 * live rows (a predicate with the conjunct "<stamp> IS NULL").  Each one
 * is dropped and created again under the same name, from its own
 * definition (pg_get_indexdef_string: method, columns and expressions,
 * collations, operator classes, orderings, INCLUDE, NULLS NOT DISTINCT,
 * storage parameters, tablespace, predicate) with "<stamp> IS NULL"
 * added to its predicate.  What it was -- the constraint's definition
 * (pg_get_constraintdef_command) or the index's, less its name and table -- goes
 * into softdelete.unique_indexes, a configuration table that pg_dump
 * carries, so that disable() knows what to put back.
 *
 * On a partitioned table the registered table's own unique indexes are
 * changed; PostgreSQL builds the partitions' indexes from them.  A
 * unique index on a partitioned table must contain the partition key,
 * which the original did, and a partial one may be created there.
 * Unique indexes that a partition has on its own are left as they are.
 *
 * Everything runs in the caller's transaction under an ACCESS EXCLUSIVE
 * lock on the table, taken before anything is read: no row can be
 * written between the drop and the create, and an error at any point
 * leaves everything as it was.  The DDL runs as the extension's owner
 * with search_path pinned, as enable's does (ddl.c); the definitions
 * are deparsed under that same search_path, so the names they print
 * resolve to the same objects.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(softdelete_unique_among_live);

/* One unique index of a table, as read from the catalogs */
typedef struct UniqueIndex
{
	Oid			indexoid;
	char	   *name;
	Oid			conoid;			/* its UNIQUE constraint, or InvalidOid */
	bool		live_only;		/* predicate has "<stamp> IS NULL" already */
	const char *kept_because;	/* why it is not a candidate, or NULL */
} UniqueIndex;

/*
 * has_live_conjunct says whether an index predicate (implicit or
 * explicit AND) has the conjunct "attnum IS NULL".
 */
static bool
has_live_conjunct(Node *pred, AttrNumber attnum)
{
	List	   *conjuncts;
	ListCell   *lc;

	if (pred == NULL)
		return false;
	conjuncts = make_ands_implicit((Expr *) pred);
	foreach(lc, conjuncts)
	{
		NullTest   *nt = (NullTest *) lfirst(lc);

		if (IsA(nt, NullTest) && nt->nulltesttype == IS_NULL &&
			nt->arg != NULL && IsA(nt->arg, Var) &&
			((Var *) nt->arg)->varattno == attnum)
			return true;
	}
	return false;
}

/*
 * index_predicate returns the predicate of an index as a node tree, or
 * NULL if the index is not partial.
 */
static Node *
index_predicate(HeapTuple indextup)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(INDEXRELID, indextup, Anum_pg_index_indpred,
									&isnull);

	return isnull ? NULL : (Node *) stringToNode(TextDatumGetCString(d));
}

/*
 * softdelete_index_live_only says whether an index (its pg_index tuple)
 * covers live rows only: its predicate has the conjunct "attnum IS NULL",
 * attnum being the stamp column.  Trashed rows never conflict in it.
 */
bool
softdelete_index_live_only(HeapTuple indextup, AttrNumber attnum)
{
	return has_live_conjunct(index_predicate(indextup), attnum);
}

/*
 * unique_indexes lists the unique indexes of relid other than its
 * primary key, by name, each with the reason it cannot become unique
 * among live rows, if any.  attnum is the stamp column.
 */
static List *
unique_indexes(Oid relid, AttrNumber attnum)
{
	const char *sql =
		"SELECT i.indexrelid, c.relname,"
		"       (SELECT u.oid FROM pg_catalog.pg_constraint u"
		"         WHERE u.conindid OPERATOR(pg_catalog.=) i.indexrelid"
		"           AND u.conrelid OPERATOR(pg_catalog.=) i.indrelid"
		"           AND u.contype OPERATOR(pg_catalog.=) 'u'),"
		"       (SELECT pg_catalog.min(f.conname) FROM pg_catalog.pg_constraint f"
		"         WHERE f.conindid OPERATOR(pg_catalog.=) i.indexrelid"
		"           AND f.contype OPERATOR(pg_catalog.=) 'f'),"
		"       EXISTS (SELECT FROM pg_catalog.pg_constraint d"
		"                WHERE d.conindid OPERATOR(pg_catalog.=) i.indexrelid"
		"                  AND d.conrelid OPERATOR(pg_catalog.=) i.indrelid"
		"                  AND d.contype OPERATOR(pg_catalog.=) 'u'"
		"                  AND d.condeferrable),"
		"       i.indisvalid, i.indisreplident, i.indisclustered"
		"  FROM pg_catalog.pg_index i"
		"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
		" WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisunique"
		"   AND NOT i.indisprimary"
		" ORDER BY c.relname";
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	MemoryContext caller = CurrentMemoryContext;
	List	   *result = NIL;
	uint64		i;
	uint64		n;

	softdelete_spi_connect();
	n = softdelete_spi_run(sql, 1, types, values, NULL, true, 0, SPI_OK_SELECT);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(caller);
		UniqueIndex *ui = palloc0(sizeof(UniqueIndex));
		bool		isnull;
		char	   *fkname;
		HeapTuple	indextup;

		ui->indexoid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		ui->name = SPI_getvalue(tup, desc, 2);
		ui->conoid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		if (isnull)
			ui->conoid = InvalidOid;
		fkname = SPI_getvalue(tup, desc, 4);
		if (fkname != NULL)
			ui->kept_because = psprintf("foreign key \"%s\" depends on it", fkname);
		else if (DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
			ui->kept_because = "it is deferrable, which a partial unique index cannot be";
		else if (!DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull)))
			ui->kept_because = "it is not valid";
		else if (DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull)))
			ui->kept_because = "it is the replica identity, which a partial index cannot be";
		else if (DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull)))
			ui->kept_because = "the table is clustered on it, which a partial index cannot be";

		indextup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(ui->indexoid));
		if (!HeapTupleIsValid(indextup))
			elog(ERROR, "cache lookup failed for index %u", ui->indexoid);
		ui->live_only = softdelete_index_live_only(indextup, attnum);
		ReleaseSysCache(indextup);
		result = lappend(result, ui);
		MemoryContextSwitchTo(old);
	}
	softdelete_spi_finish();
	return result;
}

/*
 * what_index names an index for messages: "unique constraint" or
 * "unique index".
 */
static const char *
what_index(const UniqueIndex *ui)
{
	return OidIsValid(ui->conoid) ? "unique constraint" : "unique index";
}

/*
 * registered_table returns the registry's view of relid, which must be a
 * soft-deletable table in its own right (not a partition).
 */
static const SoftDeleteTable *
registered_table(Oid relid)
{
	return softdelete_require_root(relid,
								   "The unique indexes of a partitioned table are changed for all its partitions.",
								   "Call softdelete.unique_among_live('%s').");
}

/*
 * softdelete_unique_notice raises, for enable(), one NOTICE per unique
 * constraint or index of relid that keeps the values of trashed rows
 * reserved and that unique_among_live() would change.
 */
void
softdelete_unique_notice(Oid relid)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);
	List	   *indexes;
	ListCell   *lc;

	if (!OidIsValid(table->root) || table->root != relid || table->attnum <= 0)
		return;
	indexes = unique_indexes(relid, table->attnum);
	foreach(lc, indexes)
	{
		UniqueIndex *ui = (UniqueIndex *) lfirst(lc);

		if (ui->live_only || ui->kept_because != NULL)
			continue;
		ereport(NOTICE,
				(errmsg("%s \"%s\" of table \"%s\" keeps the values of trashed rows reserved",
						what_index(ui), ui->name, get_rel_name(relid)),
				 errhint("Call softdelete.unique_among_live('%s') to make it unique among live rows only.",
						 softdelete_hint_name(relid))));
	}
}

/*
 * run_sql executes one statement; the caller is connected to SPI.
 */
static void
run_sql(const char *sql, int nargs, Oid *types, Datum *values)
{
	(void) softdelete_spi_run(sql, nargs, types, values, NULL, false, 0, 0);
}

/*
 * index_definition_tail returns the definition of a unique index after
 * "CREATE UNIQUE INDEX <name> ON <table> ", as pg_get_indexdef_string
 * prints it (with its tablespace), and its predicate as printed at its
 * end (NULL if the index is not partial).  Both are checked against
 * what we expect, so that a crafted name cannot shift the text.
 */
static char *
index_definition_tail(Oid relid, const UniqueIndex *ui, char **predicate)
{
	char	   *def = pg_get_indexdef_string(ui->indexoid);
	char	   *prefix = psprintf("CREATE UNIQUE INDEX %s ON %s ",
								  quote_identifier(ui->name),
								  softdelete_qualified_name(relid));
	char	   *tail;
	HeapTuple	indextup;
	Node	   *pred;

	if (strncmp(def, prefix, strlen(prefix)) != 0)
		elog(ERROR, "unexpected definition of index \"%s\": %s", ui->name, def);
	tail = def + strlen(prefix);

	indextup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(ui->indexoid));
	if (!HeapTupleIsValid(indextup))
		elog(ERROR, "cache lookup failed for index %u", ui->indexoid);
	pred = index_predicate(indextup);
	ReleaseSysCache(indextup);
	*predicate = NULL;
	if (pred != NULL)
	{
		char	   *str = deparse_expression(pred,
											 deparse_context_for(get_rel_name(relid), relid),
											 false, false);
		char	   *where = psprintf(" WHERE %s", str);
		size_t		len = strlen(tail);

		if (len < strlen(where) || strcmp(tail + len - strlen(where), where) != 0)
			elog(ERROR, "unexpected predicate of index \"%s\": %s", ui->name, def);
		tail[len - strlen(where)] = '\0';
		*predicate = str;
	}
	return tail;
}

/*
 * constraint_definition returns a unique constraint's definition after
 * "ALTER TABLE <table> ADD CONSTRAINT <name> ", with its storage
 * parameters and tablespace (which pg_get_constraintdef leaves out).
 */
static char *
constraint_definition(Oid relid, const UniqueIndex *ui)
{
	char	   *def = pg_get_constraintdef_command(ui->conoid);
	char	   *prefix = psprintf("ALTER TABLE %s ADD CONSTRAINT %s ",
								  softdelete_qualified_name(relid),
								  quote_identifier(ui->name));
	size_t		len;

	if (strncmp(def, prefix, strlen(prefix)) != 0)
		elog(ERROR, "unexpected definition of constraint \"%s\": %s", ui->name, def);
	def += strlen(prefix);
	len = strlen(def);
	if (len > 0 && def[len - 1] == ';')
		def[len - 1] = '\0';
	return def;
}

/*
 * softdelete_partition_index_names lists, for a unique index of a partitioned
 * table, the names of the indexes of its partitions at every level,
 * as (partition, name) pairs: two lists in step.
 */
void
softdelete_partition_index_names(Oid indexoid, List **parts, List **names)
{
	List	   *all;
	ListCell   *lc;

	*parts = NIL;
	*names = NIL;
	if (get_rel_relkind(indexoid) != RELKIND_PARTITIONED_INDEX)
		return;
	all = find_all_inheritors(indexoid, NoLock, NULL);
	foreach(lc, all)
	{
		Oid			child = lfirst_oid(lc);

		if (child == indexoid)
			continue;
		*parts = lappend_oid(*parts, IndexGetRelation(child, false));
		*names = lappend(*names, get_rel_name(child));
	}
}

/*
 * softdelete_rename_partition_indexes gives the partitions' indexes of the index
 * just created under name the names that their predecessors had:
 * CREATE INDEX and ADD CONSTRAINT name them by their own rules.
 */
void
softdelete_rename_partition_indexes(Oid relid, const char *name, List *parts, List *names)
{
	Oid			indexoid = get_relname_relid(name, get_rel_namespace(relid));
	List	   *now_parts;
	List	   *now_names;
	ListCell   *lc1;
	ListCell   *lc2;

	if (parts == NIL || !OidIsValid(indexoid))
		return;
	softdelete_partition_index_names(indexoid, &now_parts, &now_names);
	forboth(lc1, now_parts, lc2, now_names)
	{
		char	   *old = NULL;
		char	   *sql;
		ListCell   *lc3;
		ListCell   *lc4;

		forboth(lc3, parts, lc4, names)
		{
			if (lfirst_oid(lc3) == lfirst_oid(lc1))
				old = (char *) lfirst(lc4);
		}
		if (old == NULL)
			continue;
		if (strcmp(old, (char *) lfirst(lc2)) == 0)
			continue;
		sql = psprintf("ALTER INDEX %s RENAME TO %s",
					   quote_qualified_identifier(get_namespace_name(get_rel_namespace(lfirst_oid(lc1))),
												  (char *) lfirst(lc2)),
					   quote_identifier(old));
		run_sql(sql, 0, NULL, NULL);
		pfree(sql);
	}
}

/*
 * make_live_only drops one candidate and creates it again, under the
 * same name, as a unique index among live rows; records what it was.
 * The caller is inside begin_ddl and holds ACCESS EXCLUSIVE on relid.
 */
static void
make_live_only(Oid relid, const char *column, const UniqueIndex *ui)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *predicate;
	char	   *tail = index_definition_tail(relid, ui, &predicate);
	char	   *original;
	char	   *comment = NULL;
	StringInfoData sql;
	Oid			types[4] = {OIDOID, NAMEOID, BOOLOID, TEXTOID};
	Datum		values[4];

	List	   *parts;
	List	   *names;

	/* what it was, and its comment, which goes to the new index */
	softdelete_partition_index_names(ui->indexoid, &parts, &names);
	initStringInfo(&sql);
	if (OidIsValid(ui->conoid))
	{
		original = constraint_definition(relid, ui);
		comment = GetComment(ui->conoid, ConstraintRelationId, 0);
		appendStringInfo(&sql, "ALTER TABLE %s DROP CONSTRAINT %s", qualified,
						 quote_identifier(ui->name));
	}
	else
	{
		original = predicate == NULL ? pstrdup(tail) :
			psprintf("%s WHERE %s", tail, predicate);
		comment = GetComment(ui->indexoid, RelationRelationId, 0);
		appendStringInfo(&sql, "DROP INDEX %s",
						 quote_qualified_identifier(nspname, ui->name));
	}
	run_sql(sql.data, 0, NULL, NULL);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE UNIQUE INDEX %s ON %s %s WHERE ",
					 quote_identifier(ui->name), qualified, tail);
	if (predicate != NULL)
		appendStringInfo(&sql, "(%s) AND ", predicate);
	appendStringInfo(&sql, "(%s IS NULL)", quote_identifier(column));
	run_sql(sql.data, 0, NULL, NULL);
	softdelete_rename_partition_indexes(relid, ui->name, parts, names);

	if (comment != NULL)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "COMMENT ON INDEX %s IS %s",
						 quote_qualified_identifier(nspname, ui->name),
						 quote_literal_cstr(comment));
		run_sql(sql.data, 0, NULL, NULL);
	}

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(ui->name));
	values[2] = BoolGetDatum(OidIsValid(ui->conoid));
	values[3] = CStringGetTextDatum(original);
	run_sql("INSERT INTO softdelete.unique_indexes (tbl, index_name, is_constraint, definition)"
			" VALUES ($1, $2, $3, $4)", 4, types, values);
	pfree(sql.data);
}

/*
 * unique_among_live(tbl regclass) makes the unique constraints and
 * unique indexes of tbl unique among its live rows, and returns the
 * names of those it changed.  Calling it again changes nothing more.
 */
Datum
softdelete_unique_among_live(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	const SoftDeleteTable *table;
	char	   *column;
	List	   *indexes;
	List	   *volatile changed = NIL;
	ListCell   *lc;
	SoftDeleteIdentity saved;
	int			depth;

	relid = softdelete_arg_table(fcinfo, 0, "unique_among_live", "change the unique indexes of");
	softdelete_check_may_manage(relid, "change the unique indexes of");
	/* before anything is read: no write slips in between drop and create */
	LockRelationOid(relid, AccessExclusiveLock);
	table = registered_table(relid);
	column = pstrdup(NameStr(table->column_name));
	if (table->attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of soft-deletable table \"%s\" does not exist",
						column, get_rel_name(relid))));

	/* SETOF name, materialized */
	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	{
		MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		TupleDesc	desc = CreateTemplateTupleDesc(1);

		TupleDescInitEntry(desc, (AttrNumber) 1, "unique_among_live", NAMEOID, -1, 0);
		rsinfo->returnMode = SFRM_Materialize;
		rsinfo->setDesc = desc;
		rsinfo->setResult = tuplestore_begin_heap(false, false, work_mem);
		MemoryContextSwitchTo(old);
	}

	indexes = unique_indexes(relid, table->attnum);
	depth = softdelete_begin_ddl(&saved);
	PG_TRY();
	{
		foreach(lc, indexes)
		{
			UniqueIndex *ui = (UniqueIndex *) lfirst(lc);

			if (ui->live_only)
				continue;
			if (ui->kept_because != NULL)
			{
				ereport(NOTICE,
						(errmsg("%s \"%s\" of table \"%s\" is left as it is: %s",
								what_index(ui), ui->name, get_rel_name(relid),
								ui->kept_because),
						 errdetail("It keeps the values of trashed rows reserved.")));
				continue;
			}
			make_live_only(relid, column, ui);
			changed = lappend(changed, ui->name);
		}
	}
	PG_CATCH();
	{
		softdelete_ddl_depth = depth;
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_end_ddl(&saved);

	foreach(lc, changed)
	{
		Datum		value = DirectFunctionCall1(namein,
												CStringGetDatum((char *) lfirst(lc)));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}
