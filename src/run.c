/*-------------------------------------------------------------------------
 *
 * run.c
 *	  SQL run on a table's behalf: as the table's owner, past the
 *	  soft-delete filter, with search_path pinned, its results copied out
 *	  before the SPI connection closes; and the pieces every such
 *	  statement is made of (key arrays, TID arrays, key matches along a
 *	  foreign key, the rows that reference a set of keys).
 *
 * Only reading happens here: rows are found and locked as the owner (as
 * core's referential-integrity queries do), and written by apply.c as
 * the caller.  Every name put into SQL is quoted, every operator
 * schema-qualified.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

/*
 * softdelete_run_as_owner runs one statement as the owner of relid, past the
 * soft-delete filter, and lets reader copy what it needs of the result
 * into the caller's memory context before the SPI connection closes.
 * Returns the number of rows processed.  With SD_RUN_GENERIC_PLAN, the plan is
 * made without looking at the parameters: a big array of TIDs or keys as
 * a constant would cost much to plan (the planner estimates every
 * element) and tempt it into a sequential scan, where the generic plan
 * is a TID scan, or an index scan of the keys as core's RI queries do.  With
 * SD_RUN_LATEST, it reads the latest committed state under REPEATABLE
 * READ too, as core's RI checks do.
 */
uint64
softdelete_run_as_owner(Oid relid, const char *sql, int nargs, Oid *types,
						Datum *values, int expected, SoftDeleteReader reader,
						void *out, int flags)
{
	bool		generic_plan = (flags & SD_RUN_GENERIC_PLAN) != 0;
	bool		latest = (flags & SD_RUN_LATEST) != 0;

	SoftDeleteIdentity saved;
	MemoryContext caller = CurrentMemoryContext;
	uint64		processed;
	int			ret;

	if (flags & SD_RUN_EXTENSION_OWNER)
		softdelete_become_extension_owner(&saved);
	else
		softdelete_become_owner(relid, &saved);
	softdelete_spi_connect();
	if (generic_plan || latest)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types,
											  generic_plan ? CURSOR_OPT_GENERIC_PLAN : 0);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare_cursor failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (latest)
		{
			/*
			 * As core's RI checks do under REPEATABLE READ: look at the
			 * latest committed state, so that a row committed after this
			 * transaction's snapshot is not missed.
			 */
			CommandCounterIncrement();
			ret = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
									   InvalidSnapshot, false, false, 0);
		}
		else
			ret = SPI_execute_plan(plan, values, NULL, false, 0);
	}
	else
		ret = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (ret != expected)
		elog(ERROR, "SPI execution failed for \"%s\": %s", sql,
			 SPI_result_code_string(ret));
	processed = SPI_processed;
	if (reader != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		reader(SPI_tuptable, processed, out);
		MemoryContextSwitchTo(old);
	}
	softdelete_spi_finish();
	softdelete_restore_identity(&saved);
	return processed;
}

/*
 * softdelete_read_rowsets groups a result whose first two columns are tableoid and
 * ctid into one RowSet per relation, appended to the List * at out.
 */
void
softdelete_read_rowsets(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	List	  **sets = (List **) out;
	List	   *mine = NIL;
	ListCell   *lc;
	uint64		i;
	int			pass;

	/* count the rows of each relation, then copy: sets sized exactly */
	for (pass = 0; pass < 2; pass++)
	{
		for (i = 0; i < nrows; i++)
		{
			bool		isnull;
			Oid			relid = DatumGetObjectId(SPI_getbinval(tuptable->vals[i],
															   tuptable->tupdesc, 1, &isnull));
			RowSet	   *set = NULL;

			foreach(lc, mine)
			{
				if (((RowSet *) lfirst(lc))->relid == relid)
				{
					set = (RowSet *) lfirst(lc);
					break;
				}
			}
			if (pass == 0)
			{
				if (set == NULL)
				{
					set = palloc0(sizeof(RowSet));
					set->relid = relid;
					mine = lappend(mine, set);
				}
				set->n++;
			}
			else
				set->tids[set->n++] = *(ItemPointer)
					DatumGetPointer(SPI_getbinval(tuptable->vals[i],
												  tuptable->tupdesc, 2, &isnull));
		}
		if (pass == 0)
		{
			foreach(lc, mine)
			{
				RowSet	   *set = (RowSet *) lfirst(lc);

				set->tids = palloc_extended(sizeof(ItemPointerData) * set->n,
											MCXT_ALLOC_HUGE);
				set->n = 0;
			}
		}
	}
	*sets = list_concat(*sets, mine);
}

/*
 * softdelete_read_keys turns a result of key columns (no NULLs) into one array per
 * column; out is a KeyArrays * whose nkeys is set.
 */
void
softdelete_read_keys(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	KeyArrays  *keys = (KeyArrays *) out;
	Datum	   *elems = palloc_extended(sizeof(Datum) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	int			k;

	keys->nrows = (int) nrows;
	for (k = 0; k < keys->nkeys; k++)
	{
		Oid			elemtype = SPI_gettypeid(tuptable->tupdesc, k + 1);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		uint64		i;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		for (i = 0; i < nrows; i++)
		{
			bool		isnull;

			elems[i] = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc,
									 k + 1, &isnull);
		}
		keys->arraytypes[k] = get_array_type(elemtype);
		if (!OidIsValid(keys->arraytypes[k]))
			elog(ERROR, "no array type for type %u", elemtype);
		keys->arrays[k] = PointerGetDatum(construct_array(elems, (int) nrows, elemtype,
														  typlen, typbyval, typalign));
	}
	pfree(elems);
}

/*
 * softdelete_read_first_text copies the first column of the first row as text;
 * out is a char **.  Used for the key shown in an error.
 */
void
softdelete_read_first_text(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	char	  **text = (char **) out;

	*text = nrows > 0 ? SPI_getvalue(tuptable->vals[0], tuptable->tupdesc, 1) : NULL;
}

/*
 * softdelete_read_stamps copies the first column of a result, timestamps, into a
 * palloc'd array; out is a TimestampTz ** whose count is nrows.
 */
void
softdelete_read_stamps(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	TimestampTz **stamps = (TimestampTz **) out;
	uint64		i;

	*stamps = palloc(sizeof(TimestampTz) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		bool		isnull;

		(*stamps)[i] = DatumGetTimestampTz(SPI_getbinval(tuptable->vals[i],
														 tuptable->tupdesc, 1, &isnull));
	}
}

/*
 * softdelete_tid_array makes a tid[] datum of a RowSet.
 */
Datum
softdelete_tid_array(const RowSet *set)
{
	Datum	   *elems = palloc_extended(sizeof(Datum) * Max(set->n, 1), MCXT_ALLOC_HUGE);
	int			i;
	ArrayType  *array;

	for (i = 0; i < set->n; i++)
		elems[i] = PointerGetDatum(&set->tids[i]);
	array = construct_array(elems, set->n, TIDOID, sizeof(ItemPointerData),
							false, TYPALIGN_SHORT);
	pfree(elems);
	return PointerGetDatum(array);
}

/*
 * softdelete_append_columns appends "prefix.col1, prefix.col2" for attnums of relid.
 */
void
softdelete_append_columns(StringInfo buf, Oid relid, const AttrNumber *attnums, int n,
			   const char *prefix, const char *sep)
{
	int			i;

	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%s.%s", i > 0 ? sep : "", prefix,
						 quote_identifier(get_attname(relid, attnums[i], false)));
}

/*
 * softdelete_fetch_keys reads the distinct, non-NULL values of the given columns of
 * a set of rows (relid's own attnums, named through names_rel), sorted,
 * as arrays.  Returns false if there are none.
 */
bool
softdelete_fetch_keys(const RowSet *set, Oid names_rel, const AttrNumber *attnums, int n,
		   KeyArrays *keys)
{
	StringInfoData sql;
	Oid			types[1] = {TIDARRAYOID};
	Datum		values[1];
	int			i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT DISTINCT ");
	softdelete_append_columns(&sql, names_rel, attnums, n, "r", ", ");
	appendStringInfo(&sql, " FROM ONLY %s r WHERE r.ctid OPERATOR(pg_catalog.=) ANY ($1)",
					 softdelete_qualified_name(set->relid));
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, " AND r.%s IS NOT NULL",
						 quote_identifier(get_attname(names_rel, attnums[i], false)));
	appendStringInfoString(&sql, " ORDER BY ");
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, "%s%d", i > 0 ? ", " : "", i + 1);

	values[0] = softdelete_tid_array(set);
	keys->nkeys = n;
	softdelete_run_as_owner(set->relid, sql.data, 1, types, values, SPI_OK_SELECT,
							softdelete_read_keys, keys, SD_RUN_GENERIC_PLAN);
	pfree(sql.data);
	return keys->nrows > 0;
}

/*
 * softdelete_append_key_match appends "EXISTS (SELECT 1 FROM ROWS FROM (unnest($1),
 * unnest($2), ...) k WHERE k.k1 = alias.col1 AND ...)", matching keys of the parent side of
 * edge (in the arrays) to the child side's columns under alias, or the
 * other way round when child_keys: the constraint's own operators.
 */
void
softdelete_append_key_match(StringInfo buf, const FkEdge *edge, int first_param,
				 const char *alias, bool child_keys)
{
	int			i;

	if (edge->nkeys == 1 &&
		get_atttype(edge->parent, edge->parent_attnums[0]) ==
		get_atttype(edge->child, edge->child_attnums[0]))
	{
		/*
		 * One column of one type: "col = ANY ($1)" lets the executor visit
		 * the rows in key order through an index, or hash the array for a
		 * scan, where a semi-join would visit them in hash order.
		 */
		HeapTuple	optup = SearchSysCache1(OPEROID,
											ObjectIdGetDatum(edge->pf_eq_op[0]));
		Form_pg_operator op;

		if (!HeapTupleIsValid(optup))
			elog(ERROR, "cache lookup failed for operator %u", edge->pf_eq_op[0]);
		op = (Form_pg_operator) GETSTRUCT(optup);
		appendStringInfo(buf, "%s.%s OPERATOR(%s.%s) ANY ($%d)", alias,
						 quote_identifier(child_keys ?
										  get_attname(edge->parent, edge->parent_attnums[0], false) :
										  get_attname(edge->child, edge->child_attnums[0], false)),
						 quote_identifier(get_namespace_name(op->oprnamespace)),
						 NameStr(op->oprname), first_param);
		ReleaseSysCache(optup);
		return;
	}

	appendStringInfoString(buf, "EXISTS (SELECT 1 FROM ROWS FROM (");
	for (i = 0; i < edge->nkeys; i++)
		appendStringInfo(buf, "%spg_catalog.unnest($%d)", i > 0 ? ", " : "",
						 first_param + i);
	appendStringInfoString(buf, ") AS k(");
	for (i = 0; i < edge->nkeys; i++)
		appendStringInfo(buf, "%sk%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoString(buf, ") WHERE ");
	for (i = 0; i < edge->nkeys; i++)
	{
		char		kcol[16];
		char	   *other;
		Oid			ptype = get_atttype(edge->parent, edge->parent_attnums[i]);
		Oid			ctype = get_atttype(edge->child, edge->child_attnums[i]);

		snprintf(kcol, sizeof(kcol), "k.k%d", i + 1);
		if (i > 0)
			appendStringInfoString(buf, " AND ");
		if (child_keys)
		{
			other = psprintf("%s.%s", alias,
							 quote_identifier(get_attname(edge->parent,
														  edge->parent_attnums[i], false)));
			generate_operator_clause(buf, other, ptype, edge->pf_eq_op[i],
									 kcol, ctype);
		}
		else
		{
			other = psprintf("%s.%s", alias,
							 quote_identifier(get_attname(edge->child,
														  edge->child_attnums[i], false)));
			generate_operator_clause(buf, kcol, ptype, edge->pf_eq_op[i],
									 other, ctype);
		}
	}
	appendStringInfoChar(buf, ')');
}

/*
 * begin_key_select starts sql as "SELECT pg_catalog.concat_ws(', ',
 * alias.col1, ...)": a key as text, for messages.
 */
static void
begin_key_select(StringInfo sql, Oid relid, const AttrNumber *attnums, int n,
				 const char *alias)
{
	initStringInfo(sql);
	appendStringInfoString(sql, "SELECT pg_catalog.concat_ws(', ', ");
	softdelete_append_columns(sql, relid, attnums, n, alias, ", ");
	appendStringInfoChar(sql, ')');
}

/*
 * softdelete_edge_keys reads the keys that the rows of set hold on their
 * side of edge (the parent side if from_parent), for a walk toward the
 * other side; returns false if that side is not soft-deletable or there
 * are no keys.
 */
bool
softdelete_edge_keys(const RowSet *set, const FkEdge *edge, bool from_parent,
					 KeyArrays *keys)
{
	Oid			toward = from_parent ? edge->child : edge->parent;

	if (!OidIsValid(softdelete_lookup(toward)->root))
		return false;
	if (from_parent)
		return softdelete_fetch_keys(set, edge->parent, edge->parent_attnums,
									 edge->nkeys, keys);
	return softdelete_fetch_keys(set, edge->child, edge->child_attnums,
								 edge->nkeys, keys);
}

/*
 * run_key_query runs, as the owner of one side of edge (the parent's,
 * aliased p, or the child's, aliased c), "SELECT <its key columns>
 * <columns> FROM <it> WHERE <condition><the match of keys><tail>" with
 * keys as the parameters, through reader into out.
 */
static void
run_key_query(const FkEdge *edge, bool parent_side, const char *columns,
			  const char *condition, const char *tail, KeyArrays *keys,
			  SoftDeleteReader reader, void *out, int flags)
{
	Oid			relid = parent_side ? edge->parent : edge->child;
	const char *alias = parent_side ? "p" : "c";
	StringInfoData sql;

	begin_key_select(&sql, relid,
					 parent_side ? edge->parent_attnums : edge->child_attnums,
					 edge->nkeys, alias);
	appendStringInfo(&sql, "%s FROM %s %s WHERE %s", columns,
					 softdelete_qualified_name(relid), alias, condition);
	softdelete_append_key_match(&sql, edge, 1, alias, parent_side);
	appendStringInfoString(&sql, tail);
	softdelete_run_as_owner(relid, sql.data, keys->nkeys, keys->arraytypes,
							keys->arrays, SPI_OK_SELECT, reader, out, flags);
	pfree(sql.data);
}

/*
 * softdelete_find_live_child returns the key (as text) of a live row of the child
 * side of edge that references one of keys, or NULL if there is none.
 * Rows of a child table that is not soft-deletable all count as live.
 */
char *
softdelete_find_live_child(const FkEdge *edge, KeyArrays *keys)
{
	const SoftDeleteTable *child = softdelete_lookup(edge->child);
	char	   *found = NULL;

	run_key_query(edge, false, "",
				  OidIsValid(child->root) ?
				  psprintf("c.%s IS NULL AND ", quote_identifier(NameStr(child->column_name))) : "",
				  " LIMIT 1", keys, softdelete_read_first_text, &found,
	/* READ COMMITTED reads the latest state anyway */
				  SD_RUN_GENERIC_PLAN |
				  (IsolationUsesXactSnapshot() ? SD_RUN_LATEST : 0));
	return found;
}

/*
 * children_query runs "SELECT c.tableoid, c.ctid FROM <child side of
 * edge> c WHERE <state> AND <the match of keys>", with, if again is
 * given, the rows of that one relation alone (its latest versions, which
 * apply.c locked), at most limit rows if limit > 0, locked FOR UPDATE if
 * lock; returns the rows grouped by relation.
 */
static List *
children_query(const FkEdge *edge, KeyArrays *keys, SoftDeleteRowState state,
			   TimestampTz stamp, uint64 limit, bool lock, const RowSet *again)
{
	const SoftDeleteTable *child = softdelete_lookup(edge->child);
	const char *column = quote_identifier(NameStr(child->column_name));
	StringInfoData sql;
	Oid			types[INDEX_MAX_KEYS + 3];
	Datum		values[INDEX_MAX_KEYS + 3];
	int			nparams = keys->nkeys;
	List	   *sets = NIL;

	memcpy(types, keys->arraytypes, sizeof(Oid) * keys->nkeys);
	memcpy(values, keys->arrays, sizeof(Datum) * keys->nkeys);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT c.tableoid, c.ctid FROM %s c WHERE ",
					 softdelete_qualified_name(edge->child));
	switch (state)
	{
		case SD_ROWS_LIVE:
			appendStringInfo(&sql, "c.%s IS NULL AND ", column);
			break;
		case SD_ROWS_TRASHED:
			appendStringInfo(&sql, "c.%s IS NOT NULL AND ", column);
			break;
		case SD_ROWS_STAMPED:
			types[nparams] = TIMESTAMPTZOID;
			values[nparams++] = TimestampTzGetDatum(stamp);
			appendStringInfo(&sql, "c.%s OPERATOR(pg_catalog.=) $%d AND ",
							 column, nparams);
			break;
		case SD_ROWS_ANY:
			break;
	}
	if (again != NULL)
	{
		types[nparams] = OIDOID;
		values[nparams++] = ObjectIdGetDatum(again->relid);
		types[nparams] = TIDARRAYOID;
		values[nparams++] = softdelete_tid_array(again);
		appendStringInfo(&sql, "c.tableoid OPERATOR(pg_catalog.=) $%d"
						 " AND c.ctid OPERATOR(pg_catalog.=) ANY ($%d) AND ",
						 nparams - 1, nparams);
	}
	softdelete_append_key_match(&sql, edge, 1, "c", false);
	if (limit > 0)
		appendStringInfo(&sql, " LIMIT " UINT64_FORMAT, limit);
	if (lock)
		appendStringInfoString(&sql, " FOR UPDATE OF c");
	softdelete_run_as_owner(edge->child, sql.data, nparams, types, values,
							SPI_OK_SELECT, softdelete_read_rowsets, &sets,
							again != NULL ? 0 : SD_RUN_GENERIC_PLAN);
	pfree(sql.data);
	return sets;
}

/*
 * softdelete_select_children finds and locks (FOR UPDATE) the rows of
 * the child side of edge that reference keys and are in the given state:
 * live, trashed, trashed with this stamp, or any; at most limit rows if
 * limit > 0.  Returns them grouped by relation.
 */
List *
softdelete_select_children(const FkEdge *edge, KeyArrays *keys,
						   SoftDeleteRowState state, TimestampTz stamp,
						   uint64 limit)
{
	return children_query(edge, keys, state, stamp, limit, true, NULL);
}

/*
 * softdelete_write_children applies action (SD_STAMP or SD_UNSTAMP, with
 * stamp) to the rows of the child side of edge that reference keys and
 * are in the given state, and returns the rows written, grouped by
 * relation; adds their number to *count if given.  The rows are found
 * without a lock, as an UPDATE's scan finds them, and apply.c writes each
 * as an UPDATE does (in one step, or locked first where a row trigger of
 * the table would lock it anyway).  A row that changed after it was found
 * (a newer version committed meanwhile) is chosen again, as an UPDATE
 * rechecks its condition on the newest version: found again with the
 * same condition, locked, and written only if it still meets it.
 */
List *
softdelete_write_children(const FkEdge *edge, KeyArrays *keys,
						  SoftDeleteRowState state, TimestampTz stamp,
						  SoftDeleteAction action, uint64 *count)
{
	List	   *written = NIL;
	ListCell   *lc;
	uint64		n = 0;

	foreach(lc, children_query(edge, keys, state, stamp, 0, false, NULL))
	{
		RowSet	   *done = palloc(sizeof(RowSet));
		RowSet		moved;

		n += softdelete_apply_unmoved((RowSet *) lfirst(lc), action, stamp,
									  done, &moved);
		if (done->n > 0)
			written = lappend(written, done);
		if (moved.n > 0)
			written = list_concat(written,
								  softdelete_apply_sets(children_query(edge, keys, state,
																	   stamp, 0, true,
																	   &moved),
														action, stamp, &n));
	}
	if (count != NULL)
		*count += n;
	return written;
}

/*
 * read_first_flagged copies, as text, the first column of the first row
 * whose second column (a boolean) is true; out is a char **.
 */
static void
read_first_flagged(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	char	  **text = (char **) out;
	uint64		i;

	*text = NULL;
	for (i = 0; i < nrows; i++)
	{
		bool		isnull;

		if (DatumGetBool(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 2, &isnull)))
		{
			*text = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 1);
			return;
		}
	}
}

/*
 * softdelete_first_trashed_parent locks, FOR SHARE, every row of the
 * parent side of edge that keys (of the child side) reference, and
 * returns the key (as text) of one that is in the trash, or NULL.  The
 * lock makes a concurrent soft delete of the parent wait: a soft delete
 * is an UPDATE of a non-key column, which FOR KEY SHARE would not block.
 */
char *
softdelete_first_trashed_parent(const FkEdge *edge, KeyArrays *keys)
{
	const SoftDeleteTable *parent = softdelete_lookup(edge->parent);
	char	   *key = NULL;

	/* every referenced parent is locked, then a trashed one is looked for */
	run_key_query(edge, true,
				  psprintf(", p.%s IS NOT NULL", quote_identifier(NameStr(parent->column_name))),
				  "", " FOR SHARE OF p", keys, read_first_flagged, &key,
				  SD_RUN_GENERIC_PLAN);
	return key;
}

/*
 * softdelete_read_rows_as_owner runs a query of one whole-row column as
 * the owner of relid, past the soft-delete filter, and puts every row
 * into store, fetching through a cursor so that a big table is not held
 * in SPI's memory at once.
 */
void
softdelete_read_rows_as_owner(Oid relid, const char *sql, Tuplestorestate *store)
{
	SoftDeleteIdentity saved;
	Portal		portal;

	softdelete_become_owner(relid, &saved);
	softdelete_spi_connect();
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, false, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull);
			HeapTupleHeader th;
			HeapTupleData tuple;

			if (isnull)
				continue;
			th = DatumGetHeapTupleHeader(d);
			tuple.t_len = HeapTupleHeaderGetDatumLength(th);
			ItemPointerSetInvalid(&tuple.t_self);
			tuple.t_tableOid = relid;
			tuple.t_data = th;
			tuplestore_puttuple(store, &tuple);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	softdelete_spi_finish();
	softdelete_restore_identity(&saved);
}

/*
 * softdelete_stamp_left says whether rows of relid still carry stamp
 * (the trash of one deletion is not empty).
 */
bool
softdelete_stamp_left(Oid relid, TimestampTz stamp)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	char	   *sql = psprintf("SELECT 1 FROM %s r WHERE r.%s OPERATOR(pg_catalog.=) $1 LIMIT 1",
							   softdelete_qualified_name(relid),
							   quote_identifier(NameStr(softdelete_lookup(relid)->column_name)));

	values[0] = TimestampTzGetDatum(stamp);
	return softdelete_run_as_owner(relid, sql, 1, types, values, SPI_OK_SELECT,
								   NULL, NULL, 0) > 0;
}
