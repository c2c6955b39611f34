/*-------------------------------------------------------------------------
 *
 * cascade.c
 *	  One deletion, restore or removal as a set, level by level along the
 *	  foreign keys that PostgreSQL knows (fkgraph.c).
 *
 * Soft delete: the rows a statement collected are stamped (apply.c), then
 * for each foreign key that references them, by its ON DELETE action:
 * CASCADE stamps the live referencing rows with the same stamp, level by
 * level; RESTRICT and NO ACTION refuse (23503) if live referencing rows
 * remain once the whole cascade is done, NO ACTION at commit when the
 * constraint is INITIALLY DEFERRED; SET NULL and SET DEFAULT leave the
 * referencing rows alone.  A CASCADE into a table that is not
 * soft-deletable refuses the statement: never a hard delete on the side.
 *
 * Restore: the row, then recursively the rows that reference a restored
 * row through any foreign key and carry the same stamp.  Afterwards every
 * restored row's soft-deletable parents are locked FOR SHARE (a soft
 * delete is an UPDATE of a non-key column, which FOR KEY SHARE would not
 * block) and must be live.
 *
 * Removal (purge, hard_delete): trashed descendants go first, children
 * before parents, through our own DELETEs with a narrow bypass of the
 * soft-delete trigger; a live descendant refuses the removal.
 *
 * Every level is one statement per (table, foreign key): keys are passed
 * as arrays and matched with the constraint's own equality operators.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* Keys of a set of rows, one array per key column */
typedef struct KeyArrays
{
	int			nkeys;
	int			nrows;
	Oid			arraytypes[INDEX_MAX_KEYS];
	Datum		arrays[INDEX_MAX_KEYS];
} KeyArrays;

/* A RESTRICT / NO ACTION check to run once the cascade is done */
typedef struct PendingCheck
{
	FkEdge	   *edge;
	RowSet	   *parents;
} PendingCheck;

/* NO ACTION constraints, INITIALLY DEFERRED, to check at commit */
static List *deferred_checks = NIL;

typedef void (*ResultReader) (SPITupleTable *tuptable, uint64 nrows, void *out);

/*
 * run_as_owner runs one statement as the owner of relid, past the
 * soft-delete filter, and lets reader copy what it needs of the result
 * into the caller's memory context before the SPI connection closes.
 * Returns the number of rows processed.  With generic_plan, the plan is
 * made without looking at the parameters: a big array of TIDs as a
 * constant would cost much to plan and tempt the planner into a
 * sequential scan, where the generic plan is a TID scan.
 */
static uint64
run_as_owner_planned(Oid relid, const char *sql, int nargs, Oid *types,
					 Datum *values, int expected, ResultReader reader, void *out,
					 bool generic_plan, bool latest)
{
	SoftDeleteIdentity saved;
	MemoryContext caller = CurrentMemoryContext;
	uint64		processed;
	int			ret;

	softdelete_become_owner(relid, &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
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
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	softdelete_restore_identity(&saved);
	return processed;
}

static uint64
run_as_owner(Oid relid, const char *sql, int nargs, Oid *types, Datum *values,
			 int expected, ResultReader reader, void *out)
{
	return run_as_owner_planned(relid, sql, nargs, types, values, expected,
								reader, out, false, false);
}

/*
 * read_rowsets groups a result whose first two columns are tableoid and
 * ctid into one RowSet per relation, appended to the List * at out.
 */
static void
read_rowsets(SPITupleTable *tuptable, uint64 nrows, void *out)
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
 * read_keys turns a result of key columns (no NULLs) into one array per
 * column; out is a KeyArrays * whose nkeys is set.
 */
static void
read_keys(SPITupleTable *tuptable, uint64 nrows, void *out)
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
 * read_first_text copies the first column of the first row as text;
 * out is a char **.  Used for the key shown in an error.
 */
static void
read_first_text(SPITupleTable *tuptable, uint64 nrows, void *out)
{
	char	  **text = (char **) out;

	*text = nrows > 0 ? SPI_getvalue(tuptable->vals[0], tuptable->tupdesc, 1) : NULL;
}

/*
 * tid_array makes a tid[] datum of a RowSet.
 */
static Datum
tid_array(const RowSet *set)
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
 * column_names appends "prefix.col1, prefix.col2" for attnums of relid.
 */
static void
append_columns(StringInfo buf, Oid relid, const AttrNumber *attnums, int n,
			   const char *prefix, const char *sep)
{
	int			i;

	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%s.%s", i > 0 ? sep : "", prefix,
						 quote_identifier(get_attname(relid, attnums[i], false)));
}

/*
 * fetch_keys reads the distinct, non-NULL values of the given columns of
 * a set of rows (relid's own attnums, named through names_rel), sorted,
 * as arrays.  Returns false if there are none.
 */
static bool
fetch_keys(const RowSet *set, Oid names_rel, const AttrNumber *attnums, int n,
		   KeyArrays *keys)
{
	StringInfoData sql;
	Oid			types[1] = {TIDARRAYOID};
	Datum		values[1];
	int			i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT DISTINCT ");
	append_columns(&sql, names_rel, attnums, n, "r", ", ");
	appendStringInfo(&sql, " FROM ONLY %s r WHERE r.ctid OPERATOR(pg_catalog.=) ANY ($1)",
					 softdelete_qualified_name(set->relid));
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, " AND r.%s IS NOT NULL",
						 quote_identifier(get_attname(names_rel, attnums[i], false)));
	appendStringInfoString(&sql, " ORDER BY ");
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, "%s%d", i > 0 ? ", " : "", i + 1);

	values[0] = tid_array(set);
	keys->nkeys = n;
	run_as_owner_planned(set->relid, sql.data, 1, types, values, SPI_OK_SELECT,
						 read_keys, keys, true, false);
	pfree(sql.data);
	return keys->nrows > 0;
}

/*
 * append_key_match appends "EXISTS (SELECT 1 FROM ROWS FROM (unnest($1),
 * unnest($2), ...) k WHERE k.k1 = alias.col1 AND ...)", matching keys of the parent side of
 * edge (in the arrays) to the child side's columns under alias, or the
 * other way round when child_keys: the constraint's own operators.
 */
static void
append_key_match(StringInfo buf, const FkEdge *edge, int first_param,
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
 * key_columns_text returns "a, b" naming the parent side of edge, for
 * messages.
 */
static char *
key_columns_text(const FkEdge *edge)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < edge->nkeys; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(get_attname(edge->parent,
													  edge->parent_attnums[i], false)));
	return buf.data;
}

/*
 * key_phrase returns "Key (a, b)=(1, 2)" for a key of the parent side of
 * edge, or just "Key" when the current role may not read those values:
 * ri_ReportViolation's rule (the role may select the columns and no
 * row-level security applies), widened to those who may manage the
 * table, who can read every row of it through with_trash().
 */
static char *
key_phrase(const FkEdge *edge, const char *values)
{
	bool		visible = softdelete_may_manage(edge->parent);

	if (!visible && check_enable_rls(edge->parent, InvalidOid, true) != RLS_ENABLED)
	{
		visible = true;
		if (pg_class_aclcheck(edge->parent, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		{
			int			i;

			for (i = 0; i < edge->nkeys; i++)
				if (pg_attribute_aclcheck(edge->parent, edge->parent_attnums[i],
										  GetUserId(), ACL_SELECT) != ACLCHECK_OK)
					visible = false;
		}
	}
	if (!visible || values == NULL)
		return pstrdup("Key");
	return psprintf("Key (%s)=(%s)", key_columns_text(edge), values);
}

/*
 * edge_constraint adds to an error the schema, table and constraint
 * name of edge's foreign key (errtableconstraint), as core's
 * referential-integrity errors do: drivers show them as diagnostics.
 */
static int
edge_constraint(const FkEdge *edge)
{
	Relation	rel = table_open(edge->child, AccessShareLock);
	int			result = errtableconstraint(rel, NameStr(edge->conname));

	table_close(rel, AccessShareLock);
	return result;
}

/*
 * find_live_child returns the key (as text) of a live row of the child
 * side of edge that references one of keys, or NULL if there is none.
 * Rows of a child table that is not soft-deletable all count as live.
 */
static char *
find_live_child(const FkEdge *edge, KeyArrays *keys)
{
	const SoftDeleteTable *child = softdelete_lookup(edge->child);
	StringInfoData sql;
	char	   *found = NULL;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.concat_ws(', ', ");
	append_columns(&sql, edge->child, edge->child_attnums, edge->nkeys, "c", ", ");
	appendStringInfo(&sql, ") FROM %s c WHERE ", softdelete_qualified_name(edge->child));
	if (OidIsValid(child->root))
		appendStringInfo(&sql, "c.%s IS NULL AND ",
						 quote_identifier(NameStr(child->column_name)));
	append_key_match(&sql, edge, 1, "c", false);
	appendStringInfoString(&sql, " LIMIT 1");
	run_as_owner_planned(edge->child, sql.data, keys->nkeys, keys->arraytypes,
						 keys->arrays, SPI_OK_SELECT, read_first_text, &found,
						 false, IsolationUsesXactSnapshot());
	pfree(sql.data);
	return found;
}

/*
 * report_still_referenced raises foreign_key_violation for a soft delete
 * that leaves live rows referencing trashed ones.
 */
static void
report_still_referenced(const FkEdge *edge, const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("soft delete on table \"%s\" violates foreign key constraint \"%s\" on table \"%s\"",
					get_rel_name(edge->parent), NameStr(edge->conname),
					get_rel_name(edge->child)),
			 errdetail("%s is still referenced from live rows of table \"%s\".",
					   key_phrase(edge, key), get_rel_name(edge->child)),
			 errhint("Delete the referencing rows first, or declare the foreign key ON DELETE CASCADE."),
			 edge_constraint(edge)));
}

/*
 * apply_sets applies action to each set of sets and returns the rows
 * written, as new sets, adding their number to *count.
 */
static List *
apply_sets(List *sets, SoftDeleteAction action, TimestampTz stamp,
		   uint64 *count)
{
	List	   *written = NIL;
	ListCell   *lc;

	foreach(lc, sets)
	{
		RowSet	   *done = palloc(sizeof(RowSet));

		*count += softdelete_apply((RowSet *) lfirst(lc), action, stamp, done);
		if (done->n > 0)
			written = lappend(written, done);
	}
	return written;
}

/*
 * update_children stamps (stamp given, restoring false) the live rows of
 * the child side of edge that reference keys, or restores (restoring
 * true) those that carry stamp; returns them grouped by relation and adds
 * their number to *count.  The rows are found and locked as the child's
 * owner, past the filter, and written as the caller (apply.c).
 */
static List *
update_children(const FkEdge *edge, KeyArrays *keys, TimestampTz stamp,
				bool restoring, uint64 *count)
{
	const SoftDeleteTable *child = softdelete_lookup(edge->child);
	const char *column = quote_identifier(NameStr(child->column_name));
	StringInfoData sql;
	Oid			types[INDEX_MAX_KEYS + 1];
	Datum		values[INDEX_MAX_KEYS + 1];
	List	   *sets = NIL;

	memcpy(types, keys->arraytypes, sizeof(Oid) * keys->nkeys);
	memcpy(values, keys->arrays, sizeof(Datum) * keys->nkeys);
	types[keys->nkeys] = TIMESTAMPTZOID;
	values[keys->nkeys] = TimestampTzGetDatum(stamp);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT c.tableoid, c.ctid FROM %s c WHERE ",
					 softdelete_qualified_name(edge->child));
	if (restoring)
		appendStringInfo(&sql, "c.%s OPERATOR(pg_catalog.=) $%d AND ",
						 column, keys->nkeys + 1);
	else
		appendStringInfo(&sql, "c.%s IS NULL AND $%d IS NOT NULL AND ",
						 column, keys->nkeys + 1);
	append_key_match(&sql, edge, 1, "c", false);
	appendStringInfoString(&sql, " FOR UPDATE OF c");
	run_as_owner(edge->child, sql.data, keys->nkeys + 1, types, values,
				 SPI_OK_SELECT, read_rowsets, &sets);
	pfree(sql.data);
	return apply_sets(sets, restoring ? SD_UNSTAMP : SD_STAMP, stamp, count);
}

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
		char	   *key = find_live_child(edge, keys);

		if (key != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot soft-delete rows of table \"%s\": foreign key \"%s\" would cascade into table \"%s\", which is not soft-deletable",
							get_rel_name(edge->parent), NameStr(edge->conname),
							get_rel_name(edge->child)),
					 errdetail("%s is referenced from table \"%s\". Nothing was deleted.",
							   key_phrase(edge, key), get_rel_name(edge->child)),
					 errhint("Call softdelete.enable('%s') too, so that the cascade is soft.",
							 softdelete_qualified_name(edge->child)),
					 edge_constraint(edge)));
		return NIL;
	}

	{
		uint64		stamped = 0;	/* apply.c counts stamped rows itself */

		return update_children(edge, keys, stamp, false, &stamped);
	}
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

						if (fetch_keys(set, edge->parent, edge->parent_attnums,
									   edge->nkeys, &keys))
							queue = list_concat(queue, cascade_stamp(edge, &keys, stamp));
						break;
					}
				case FKCONSTR_ACTION_RESTRICT:
				case FKCONSTR_ACTION_NOACTION:
					if (edge->del_action == FKCONSTR_ACTION_NOACTION && edge->deferred)
					{
						MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
						FkEdge	   *copy = palloc(sizeof(FkEdge));

						memcpy(copy, edge, sizeof(FkEdge));
						deferred_checks = lappend(deferred_checks, copy);
						MemoryContextSwitchTo(old);
					}
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

		if (!fetch_keys(check->parents, check->edge->parent,
						check->edge->parent_attnums, check->edge->nkeys, &keys))
			continue;
		key = find_live_child(check->edge, &keys);
		if (key != NULL)
			report_still_referenced(check->edge, key);
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
	TimestampTz stamp = softdelete_deletion_stamp();
	List	   *done = NIL;
	ListCell   *lc;

	if (deferred_checks == NIL)
		return;

	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, deferred_checks)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		const SoftDeleteTable *parent;
		StringInfoData sql;
		KeyArrays	keys;
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1];
		char	   *key;
		int			i;

		if (list_member_oid(done, edge->conoid))
			continue;
		done = lappend_oid(done, edge->conoid);
		parent = softdelete_lookup(edge->parent);
		if (!OidIsValid(parent->root))
			continue;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT DISTINCT ");
		append_columns(&sql, edge->parent, edge->parent_attnums, edge->nkeys, "r", ", ");
		appendStringInfo(&sql, " FROM %s r WHERE r.%s OPERATOR(pg_catalog.=) $1",
						 softdelete_qualified_name(edge->parent),
						 quote_identifier(NameStr(parent->column_name)));
		for (i = 0; i < edge->nkeys; i++)
			appendStringInfo(&sql, " AND r.%s IS NOT NULL",
							 quote_identifier(get_attname(edge->parent,
														  edge->parent_attnums[i], false)));
		values[0] = TimestampTzGetDatum(stamp);
		keys.nkeys = edge->nkeys;
		run_as_owner(edge->parent, sql.data, 1, types, values, SPI_OK_SELECT,
					 read_keys, &keys);
		if (keys.nrows == 0)
			continue;
		key = find_live_child(edge, &keys);
		if (key != NULL)
			report_still_referenced(edge, key);
	}
	PopActiveSnapshot();
	deferred_checks = NIL;
}

/*
 * softdelete_forget_deferred drops the deferred checks at transaction end.
 */
void
softdelete_forget_deferred(void)
{
	deferred_checks = NIL;
}

/*
 * check_parents_live locks, FOR SHARE, every soft-deletable row that the
 * restored rows of set reference, and refuses the restore if one of them
 * is in the trash.
 */
static void
check_parents_live(const RowSet *set)
{
	List	   *edges = softdelete_fk_outgoing(set->relid);
	ListCell   *lc;

	foreach(lc, edges)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		const SoftDeleteTable *parent = softdelete_lookup(edge->parent);
		StringInfoData sql;
		KeyArrays	keys;
		char	   *key = NULL;

		if (!OidIsValid(parent->root))
			continue;
		if (!fetch_keys(set, edge->child, edge->child_attnums, edge->nkeys, &keys))
			continue;

		/*
		 * Lock every referenced parent, then look for a trashed one.  The
		 * lock makes a concurrent soft delete of the parent wait for us.
		 */
		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT pg_catalog.concat_ws(', ', ");
		append_columns(&sql, edge->parent, edge->parent_attnums, edge->nkeys, "p", ", ");
		appendStringInfo(&sql, "), p.%s IS NOT NULL FROM %s p WHERE ",
						 quote_identifier(NameStr(parent->column_name)),
						 softdelete_qualified_name(edge->parent));
		append_key_match(&sql, edge, 1, "p", true);
		appendStringInfoString(&sql, " FOR SHARE OF p");
		{
			SoftDeleteIdentity saved;
			uint64		i;
			int			ret;
			MemoryContext caller = CurrentMemoryContext;

			softdelete_become_owner(edge->parent, &saved);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			ret = SPI_execute_with_args(sql.data, keys.nkeys, keys.arraytypes,
										keys.arrays, NULL, false, 0);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "SPI_execute_with_args failed: %s",
					 SPI_result_code_string(ret));
			for (i = 0; i < SPI_processed && key == NULL; i++)
			{
				bool		isnull;

				if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 2, &isnull)))
				{
					MemoryContext old = MemoryContextSwitchTo(caller);

					key = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
					MemoryContextSwitchTo(old);
				}
			}
			if (SPI_finish() != SPI_OK_FINISH)
				elog(ERROR, "SPI_finish failed");
			softdelete_restore_identity(&saved);
		}
		if (key != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("cannot restore rows of table \"%s\" whose parent in table \"%s\" is in the trash",
							get_rel_name(edge->child), get_rel_name(edge->parent)),
					 errdetail("%s of table \"%s\" is in the trash; foreign key \"%s\" references it. Nothing was restored.",
							   key_phrase(edge, key), get_rel_name(edge->parent),
							   NameStr(edge->conname)),
					 errhint("Restore the parent row first."),
					 edge_constraint(edge)));
		pfree(sql.data);
	}
}

/*
 * read_stamps copies the first column of a result, timestamps, into a
 * palloc'd array; out is a TimestampTz ** whose count is nrows.
 */
static void
read_stamps(SPITupleTable *tuptable, uint64 nrows, void *out)
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
 * softdelete_restore_rows restores the trashed rows of relid matching
 * cond (with its parameters), and with them the rows their deletion
 * cascaded to: rows that reference a restored row and carry the same
 * stamp, recursively.  Rows matched by cond that were deleted by
 * different deletions are restored each with its own deletion.  Returns
 * the number of rows restored.
 */
uint64
softdelete_restore_rows(Oid relid, const char *cond, int nparams, Oid *types,
						Datum *values)
{
	const SoftDeleteTable *table = softdelete_lookup(relid);
	const char *column = quote_identifier(NameStr(table->column_name));
	StringInfoData sql;
	List	   *restored = NIL;
	ListCell   *lc;
	TimestampTz *stamps = NULL;
	uint64		nstamps;
	uint64		s;
	uint64		count = 0;
	Oid		   *stamptypes = palloc(sizeof(Oid) * (nparams + 1));
	Datum	   *stampvalues = palloc(sizeof(Datum) * (nparams + 1));

	/* the deletions that took the rows, one stamp each */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT DISTINCT r.%s FROM %s r WHERE %s AND r.%s IS NOT NULL ORDER BY 1",
					 column, softdelete_qualified_name(relid), cond, column);
	nstamps = run_as_owner(relid, sql.data, nparams, types, values, SPI_OK_SELECT,
						   read_stamps, &stamps);
	memcpy(stamptypes, types, sizeof(Oid) * nparams);
	memcpy(stampvalues, values, sizeof(Datum) * nparams);
	stamptypes[nparams] = TIMESTAMPTZOID;

	for (s = 0; s < nstamps; s++)
	{
		List	   *found = NIL;
		List	   *queue = NIL;

		/* lock the rows of this deletion */
		stampvalues[nparams] = TimestampTzGetDatum(stamps[s]);
		resetStringInfo(&sql);
		appendStringInfo(&sql, "SELECT r.tableoid, r.ctid FROM %s r"
						 " WHERE %s AND r.%s OPERATOR(pg_catalog.=) $%d FOR UPDATE OF r",
						 softdelete_qualified_name(relid), cond, column, nparams + 1);
		run_as_owner(relid, sql.data, nparams + 1, stamptypes, stampvalues,
					 SPI_OK_SELECT, read_rowsets, &found);

		/* the rows themselves */
		queue = apply_sets(found, SD_UNSTAMP, stamps[s], &count);

		/* level by level, the rows that carry the same stamp */
		while (queue != NIL)
		{
			RowSet	   *set = (RowSet *) linitial(queue);
			List	   *edges = softdelete_fk_incoming(set->relid);
			ListCell   *lc2;

			queue = list_delete_first(queue);
			restored = lappend(restored, set);
			foreach(lc2, edges)
			{
				FkEdge	   *edge = (FkEdge *) lfirst(lc2);
				KeyArrays	keys;

				if (!OidIsValid(softdelete_lookup(edge->child)->root))
					continue;
				if (!fetch_keys(set, edge->parent, edge->parent_attnums, edge->nkeys, &keys))
					continue;
				queue = list_concat(queue, update_children(edge, &keys, stamps[s], true,
														   &count));
			}
		}
	}

	/* nothing restored may reference a row still in the trash */
	foreach(lc, restored)
		check_parents_live((RowSet *) lfirst(lc));

	return count;
}

/*
 * Removal: the rows already scheduled, so that cycles terminate.
 */
typedef struct RemovedKey
{
	Oid			relid;
	ItemPointerData tid;
} RemovedKey;

static bool
mark_scheduled(HTAB *scheduled, Oid relid, ItemPointer tid)
{
	RemovedKey	key;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.tid = *tid;
	hash_search(scheduled, &key, HASH_ENTER, &found);
	return !found;
}

static bool
is_scheduled(HTAB *scheduled, Oid relid, ItemPointer tid)
{
	RemovedKey	key;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.tid = *tid;
	hash_search(scheduled, &key, HASH_FIND, &found);
	return found;
}

/*
 * How many more rows one removal may take (purge_expired's batches), and
 * whether it had to leave rows for a later one.
 */
typedef struct RemovalBudget
{
	uint64		left;
	bool		cut;
} RemovalBudget;

/*
 * remove_set permanently removes the rows of set, after their trashed
 * descendants (which must be trashed).  The rows of set may be live
 * (hard_delete's own row): the caller chose them.  With a budget (NULL:
 * no limit), at most budget->left rows go, children first: rows of set
 * go only once all their trashed descendants are gone, and whatever is
 * left waits for a later call (budget->cut).
 */
static uint64
remove_set(RowSet *set, HTAB *scheduled, RemovalBudget *budget)
{
	List	   *edges = softdelete_fk_incoming(set->relid);
	ListCell   *lc;
	uint64		removed = 0;
	StringInfoData sql;
	bool		outer_cut = false;

	check_stack_depth();		/* one level per generation of descendants */
	if (budget != NULL)
	{
		if (budget->left == 0)
		{
			budget->cut = true;
			return 0;
		}
		/* from here, budget->cut says whether this set's subtree was cut */
		outer_cut = budget->cut;
		budget->cut = false;
	}
	foreach(lc, edges)
	{
		FkEdge	   *edge = (FkEdge *) lfirst(lc);
		const SoftDeleteTable *child;
		KeyArrays	keys;

		if (edge->del_action == FKCONSTR_ACTION_SETNULL ||
			edge->del_action == FKCONSTR_ACTION_SETDEFAULT)
			continue;			/* PostgreSQL's own action applies */
		if (!fetch_keys(set, edge->parent, edge->parent_attnums, edge->nkeys, &keys))
			continue;
		child = softdelete_lookup(edge->child);
		if (!OidIsValid(child->root))
		{
			char	   *key;

			if (edge->del_action != FKCONSTR_ACTION_CASCADE)
				continue;		/* PostgreSQL refuses by itself if need be */
			key = find_live_child(edge, &keys);
			if (key != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot permanently remove rows of table \"%s\": foreign key \"%s\" would cascade into table \"%s\", which is not soft-deletable",
								get_rel_name(edge->parent), NameStr(edge->conname),
								get_rel_name(edge->child)),
						 errdetail("%s is referenced from table \"%s\". Nothing was removed.",
								   key_phrase(edge, key), get_rel_name(edge->child)),
						 edge_constraint(edge)));
			continue;
		}
		else
		{
			char	   *key = find_live_child(edge, &keys);
			List	   *children = NIL;
			ListCell   *lc2;

			if (key != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("cannot permanently remove rows of table \"%s\": live rows of table \"%s\" reference them",
								get_rel_name(edge->parent), get_rel_name(edge->child)),
						 errdetail("%s is referenced through foreign key \"%s\". Nothing was removed.",
								   key_phrase(edge, key), NameStr(edge->conname)),
						 errhint("Delete or remove the referencing rows first."),
						 edge_constraint(edge)));

			/* the trashed referencing rows go first */
			initStringInfo(&sql);
			appendStringInfo(&sql, "SELECT c.tableoid, c.ctid FROM %s c WHERE c.%s IS NOT NULL AND ",
							 softdelete_qualified_name(edge->child),
							 quote_identifier(NameStr(child->column_name)));
			append_key_match(&sql, edge, 1, "c", false);
			{
				/* with a budget: no more children than it allows */
				uint64		fetched;
				uint64		kept_all = 0;
				int			prefix = sql.len;

				if (budget != NULL)
					appendStringInfo(&sql, " LIMIT " UINT64_FORMAT, budget->left);
				appendStringInfoString(&sql, " FOR UPDATE OF c");
				fetched = run_as_owner(edge->child, sql.data, keys.nkeys, keys.arraytypes,
									   keys.arrays, SPI_OK_SELECT, read_rowsets, &children);
				if (budget != NULL && fetched >= budget->left)
				{
					/* the limit may have hidden rows: all already scheduled? */
					foreach(lc2, children)
					{
						RowSet	   *childset = (RowSet *) lfirst(lc2);
						int			i;

						for (i = 0; i < childset->n; i++)
							if (!is_scheduled(scheduled, childset->relid, &childset->tids[i]))
								kept_all++;
					}
					if (kept_all == 0)
					{
						/* then read them all, a cycle back into this removal */
						sql.len = prefix;
						sql.data[prefix] = '\0';
						appendStringInfoString(&sql, " FOR UPDATE OF c");
						children = NIL;
						run_as_owner(edge->child, sql.data, keys.nkeys, keys.arraytypes,
									 keys.arrays, SPI_OK_SELECT, read_rowsets, &children);
					}
					else
						budget->cut = true;
				}
			}
			pfree(sql.data);
			foreach(lc2, children)
			{
				RowSet	   *childset = (RowSet *) lfirst(lc2);
				int			i,
							kept = 0;

				for (i = 0; i < childset->n; i++)
					if (mark_scheduled(scheduled, childset->relid, &childset->tids[i]))
						childset->tids[kept++] = childset->tids[i];
				childset->n = kept;
				if (kept > 0)
					removed += remove_set(childset, scheduled, budget);
			}
		}
	}

	/* with a budget, rows whose descendants had to wait wait too */
	if (budget != NULL)
	{
		if (budget->cut)
			return removed;
		if ((uint64) set->n > budget->left)
		{
			set->n = (int) budget->left;
			budget->cut = true;
		}
		budget->left -= set->n;
		budget->cut = budget->cut || outer_cut;
	}

	/*
	 * Now the rows themselves, past the soft-delete trigger: exactly these
	 * rows, so that anything else a trigger deletes meanwhile stays soft.
	 */
	softdelete_bypass_push(set);
	PG_TRY();
	{
		removed += softdelete_apply(set, SD_REMOVE, 0, NULL);
	}
	PG_CATCH();
	{
		softdelete_bypass_pop();
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_bypass_pop();
	return removed;
}

/*
 * remove_matching permanently removes the rows of relid that match cond,
 * after their trashed descendants, within budget if there is one (then
 * rows locked by others are skipped, left for a later call).
 */
static uint64
remove_matching(Oid relid, const char *cond, int nparams, Oid *types,
				Datum *values, RemovalBudget *budget)
{
	StringInfoData sql;
	List	   *sets = NIL;
	ListCell   *lc;
	HASHCTL		ctl;
	HTAB	   *scheduled;
	uint64		removed = 0;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT r.tableoid, r.ctid FROM %s r WHERE %s",
					 softdelete_qualified_name(relid), cond);
	if (budget != NULL)
		appendStringInfo(&sql, " LIMIT " UINT64_FORMAT " FOR UPDATE OF r SKIP LOCKED",
						 budget->left);
	else
		appendStringInfoString(&sql, " FOR UPDATE OF r");
	run_as_owner(relid, sql.data, nparams, types, values, SPI_OK_SELECT,
				 read_rowsets, &sets);

	ctl.keysize = sizeof(RemovedKey);
	ctl.entrysize = sizeof(RemovedKey);
	ctl.hcxt = CurrentMemoryContext;
	scheduled = hash_create("softdelete removal", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, sets)
	{
		RowSet	   *set = (RowSet *) lfirst(lc);
		int			i;

		for (i = 0; i < set->n; i++)
			mark_scheduled(scheduled, set->relid, &set->tids[i]);
	}
	foreach(lc, sets)
		removed += remove_set((RowSet *) lfirst(lc), scheduled, budget);
	hash_destroy(scheduled);
	return removed;
}

/*
 * softdelete_remove_rows permanently removes the rows of relid that
 * match cond (the caller's condition says whether live rows may), after their trashed
 * descendants.  Returns the number of rows removed, all tables together.
 */
uint64
softdelete_remove_rows(Oid relid, const char *cond, int nparams, Oid *types,
					   Datum *values)
{
	return remove_matching(relid, cond, nparams, types, values, NULL);
}

/*
 * softdelete_remove_rows_limited is softdelete_remove_rows for one batch
 * of purge_expired: it removes at most limit rows in all tables, children
 * before their parents, and skips rows that other transactions hold
 * locked.  A later call takes what is left; each call that finds a row it
 * may take removes at least one.  Returns the number of rows removed.
 */
uint64
softdelete_remove_rows_limited(Oid relid, const char *cond, int nparams,
							   Oid *types, Datum *values, uint64 limit)
{
	RemovalBudget budget;

	Assert(limit > 0);
	budget.left = limit;
	budget.cut = false;
	return remove_matching(relid, cond, nparams, types, values, &budget);
}
