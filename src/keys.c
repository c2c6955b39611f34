/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  Row selectors: the rows that soft_delete, restore, hard_delete and
 *	  purge name, as a condition on the table's own columns (unqualified,
 *	  for a query over that one table) with its parameters.
 *
 * A single-column key is a value of the key's type, of a type that
 * converts to it implicitly (an int for a bigint key), or a string that
 * the key type's input function reads (a uuid written as a literal); or
 * an array of such values, naming every row it holds.  A
 * composite key is a row constructor, ROW(a, b), its fields in the order
 * of the primary key's columns, each following the same rule.  Anything
 * else is refused with datatype_mismatch before any row is touched:
 * nothing is ever rounded or truncated into a different key.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

/*
 * key_type_fits says whether a value of type given can stand for a key
 * column of type wanted.
 */
static bool
key_type_fits(Oid given, Oid wanted)
{
	if (given == wanted)
		return true;
	if (can_coerce_type(1, &given, &wanted, COERCION_IMPLICIT))
		return true;
	return given == UNKNOWNOID || TypeCategory(given) == TYPCATEGORY_STRING;
}

/*
 * equality_operator returns "OPERATOR(schema.=)" for the default equality
 * of a key type, schema-qualified: the type's own operator even when it
 * lives outside pg_catalog (citext's, say), never one found through the
 * caller's search_path.
 */
static char *
equality_operator(Oid keytype)
{
	TypeCacheEntry *tc = lookup_type_cache(keytype, TYPECACHE_EQ_OPR);
	HeapTuple	optup;
	Form_pg_operator op;
	char	   *result;

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an equality operator for type %s",
						format_type_be(keytype))));
	optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(optup))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(optup);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(optup);
	return result;
}

/*
 * describe_key returns "(a, b) of type integer, text" for messages.
 */
static char *
describe_key(Oid relid, int nkeys, AttrNumber *attnums, Oid *types)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (i = 0; i < nkeys; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(get_attname(relid, attnums[i], false)));
	appendStringInfoString(&buf, ") of type ");
	for (i = 0; i < nkeys; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", format_type_be(types[i]));
	return buf.data;
}

/*
 * report_key_mismatch refuses a key whose type does not fit the primary
 * key of relid, with hint as the way to pass one that does.
 */
static void
report_key_mismatch(Oid relid, const char *given, int nkeys, AttrNumber *attnums,
					Oid *pktypes, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("key of type %s does not match the primary key of table \"%s\"",
					given, get_rel_name(relid)),
			 errdetail("The primary key is %s.",
					   describe_key(relid, nkeys, attnums, pktypes)),
			 errhint("%s", hint)));
}

/*
 * key_condition returns SQL text matching the primary key of relid to
 * the parameters $1..$n, and fills in those parameters from key (of type
 * keytype).  Raises an error, changing nothing, when the table has no
 * primary key or the key does not fit it.
 */
static char *
key_condition(Oid relid, Oid keytype, Datum key,
			  int *nparams, Oid **paramtypes, Datum **params)
{
	Relation	rel;
	Oid			pkindex;
	HeapTuple	indtup;
	Form_pg_index index;
	int			nkeys;
	AttrNumber *attnums;
	Oid		   *pktypes;
	StringInfoData sql;
	int			i;

	rel = table_open(relid, AccessShareLock);
	pkindex = sd_primary_key_index(rel);
	if (!OidIsValid(pkindex))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no primary key", RelationGetRelationName(rel)),
				 errdetail("A row can be named by its key only in a table with a primary key."),
				 errhint("Add a primary key, or use DELETE ... WHERE to soft-delete rows.")));
	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkindex));
	if (!HeapTupleIsValid(indtup))
		elog(ERROR, "cache lookup failed for index %u", pkindex);
	index = (Form_pg_index) GETSTRUCT(indtup);
	nkeys = index->indnkeyatts;
	attnums = palloc(sizeof(AttrNumber) * nkeys);
	pktypes = palloc(sizeof(Oid) * nkeys);
	for (i = 0; i < nkeys; i++)
	{
		attnums[i] = index->indkey.values[i];
		pktypes[i] = TupleDescAttr(RelationGetDescr(rel), attnums[i] - 1)->atttypid;
	}
	ReleaseSysCache(indtup);
	table_close(rel, AccessShareLock);

	*nparams = nkeys;
	*paramtypes = palloc(sizeof(Oid) * nkeys);
	*params = palloc(sizeof(Datum) * nkeys);

	if (nkeys == 1 && keytype != pktypes[0] && OidIsValid(get_element_type(keytype)) &&
		key_type_fits(get_element_type(keytype), pktypes[0]))
	{
		/* an array of keys: every row it names */
		Oid			pkarray = get_array_type(pktypes[0]);

		if (!OidIsValid(pkarray))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("primary key type %s of table \"%s\" has no array type",
							format_type_be(pktypes[0]), get_rel_name(relid))));
		(*paramtypes)[0] = keytype;
		(*params)[0] = key;
		initStringInfo(&sql);
		appendStringInfo(&sql, "%s %s ANY (",
						 quote_identifier(get_attname(relid, attnums[0], false)),
						 equality_operator(pktypes[0]));
		if (keytype == pkarray)
			appendStringInfoString(&sql, "$1)");
		else
			appendStringInfo(&sql, "CAST($1 AS %s))", format_type_be_qualified(pkarray));
		return sql.data;
	}
	if (nkeys == 1 && !type_is_rowtype(keytype))
	{
		if (!key_type_fits(keytype, pktypes[0]))
			report_key_mismatch(relid, format_type_be(keytype), nkeys, attnums, pktypes,
								psprintf("Pass a value of type %s.", format_type_be(pktypes[0])));
		if (keytype == UNKNOWNOID)
		{
			(*paramtypes)[0] = TEXTOID;
			(*params)[0] = CStringGetTextDatum(DatumGetCString(key));
		}
		else
		{
			(*paramtypes)[0] = keytype;
			(*params)[0] = key;
		}
	}
	else
	{
		HeapTupleHeader th;
		TupleDesc	desc;
		HeapTupleData tuple;
		Datum	   *values;
		bool	   *nulls;
		int			nfields = 0;
		int			field;
		bool		fits;

		if (!type_is_rowtype(keytype))
			report_key_mismatch(relid, format_type_be(keytype), nkeys, attnums, pktypes,
								"Pass a row constructor with one value for each key column, as in ROW(1, 2).");

		th = DatumGetHeapTupleHeader(key);
		desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
									  HeapTupleHeaderGetTypMod(th));
		tuple.t_len = HeapTupleHeaderGetDatumLength(th);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = th;
		values = palloc(sizeof(Datum) * desc->natts);
		nulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(&tuple, desc, values, nulls);

		fits = true;
		for (field = 0; field < desc->natts; field++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, field);

			if (att->attisdropped)
				continue;
			if (nfields >= nkeys || !key_type_fits(att->atttypid, pktypes[nfields]))
			{
				fits = false;
				break;
			}
			if (nulls[field])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("key of table \"%s\" must not contain NULL",
								get_rel_name(relid)),
						 errdetail("Field %d of the key is NULL.", nfields + 1)));
			if (att->atttypid == UNKNOWNOID)
			{
				/* an untyped literal in ROW(...): read it as text */
				(*paramtypes)[nfields] = TEXTOID;
				(*params)[nfields] = CStringGetTextDatum(DatumGetCString(values[field]));
			}
			else
			{
				(*paramtypes)[nfields] = att->atttypid;
				(*params)[nfields] = datumCopy(values[field], att->attbyval,
											   att->attlen);
			}
			nfields++;
		}
		if (!fits || nfields != nkeys)
		{
			char	   *given = format_type_be(keytype);

			ReleaseTupleDesc(desc);
			report_key_mismatch(relid, given, nkeys, attnums, pktypes,
								"Pass a row constructor with one value for each key column, in this order.");
		}
		ReleaseTupleDesc(desc);
	}

	initStringInfo(&sql);
	for (i = 0; i < nkeys; i++)
	{
		appendStringInfo(&sql, "%s%s %s ",
						 i > 0 ? " AND " : "",
						 quote_identifier(get_attname(relid, attnums[i], false)),
						 equality_operator(pktypes[i]));
		if ((*paramtypes)[i] == pktypes[i])
			appendStringInfo(&sql, "$%d", i + 1);
		else
			appendStringInfo(&sql, "CAST($%d AS %s)", i + 1,
							 format_type_be_qualified(pktypes[i]));
	}
	return sql.data;
}

/*
 * softdelete_select_by_key returns the selector of the rows of relid
 * whose primary key is key (a value, a ROW(...) or an array of values).
 */
RowSelector *
softdelete_select_by_key(Oid relid, Oid keytype, Datum key)
{
	RowSelector *sel = palloc0(sizeof(RowSelector));

	sel->condition = key_condition(relid, keytype, key, &sel->nparams,
								   &sel->types, &sel->values);
	return sel;
}

/*
 * softdelete_select_trashed_before returns the selector of the rows of
 * relid that were trashed at least older_than ago.
 */
RowSelector *
softdelete_select_trashed_before(Oid relid, Interval *older_than)
{
	RowSelector *sel = palloc0(sizeof(RowSelector));
	const char *column = quote_identifier(NameStr(softdelete_lookup(relid)->column_name));

	sel->condition = psprintf("%s IS NOT NULL AND %s OPERATOR(pg_catalog.<=)"
							  " (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
							  column, column);
	sel->nparams = 1;
	sel->types = palloc(sizeof(Oid));
	sel->values = palloc(sizeof(Datum));
	sel->types[0] = INTERVALOID;
	sel->values[0] = IntervalPGetDatum(older_than);
	return sel;
}
