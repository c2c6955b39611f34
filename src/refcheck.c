/*-------------------------------------------------------------------------
 *
 * refcheck.c
 *	  The trash in referential integrity: no new reference to a trashed row
 *	  (issue 13).
 *
 * PostgreSQL's own foreign-key check runs past row-level security and
 * locks the parent FOR KEY SHARE, which a soft delete (an UPDATE of a
 * non-key column) does not conflict with.  So a row inserted, or updated
 * to point, at a trashed parent would be accepted, and one inserted while
 * a concurrent transaction trashes its parent would slip in too.
 *
 * Every foreign key whose referenced table is soft-deletable therefore
 * gets, on each referencing table (each leaf partition of a partitioned
 * one), one more trigger of its own: AFTER INSERT OR UPDATE OF the key
 * columns, FOR EACH ROW, with the key's deferrability.  It is created the
 * way PostgreSQL creates its own foreign-key triggers: internal, tied to
 * the foreign key's pg_constraint row (tgconstraint), on exactly the
 * tables where PostgreSQL put the key's RI_FKey_check_ins trigger.  So
 *  - it fires when the key is checked: SET CONSTRAINTS naming the foreign
 *    key defers or hastens it with PostgreSQL's own check;
 *  - it goes when the foreign key goes (an internal dependency), cannot be
 *    dropped or disabled by the table's owner (a system trigger), and is
 *    not in pg_dump's output: the restore's ADD CONSTRAINT makes the
 *    event trigger put it back;
 *  - like PostgreSQL's, it does not fire under session_replication_role =
 *    replica.
 *
 * The check locks the parent row FOR SHARE, which conflicts with the
 * stamping UPDATE, and reads the stamp of its latest version: a
 * concurrent soft delete of the parent either waits for this transaction
 * (and then sees the new row, through its own RESTRICT / CASCADE checks)
 * or is waited for, and then seen (READ COMMITTED follows the update;
 * REPEATABLE READ and SERIALIZABLE get a serialization failure).
 *
 * Not checked: a row that is itself in the trash (a trashed row may
 * reference a trashed one), a key with a NULL column (MATCH SIMPLE
 * ignores it; MATCH FULL refuses partial NULLs by itself), an UPDATE that
 * leaves the key as it was, and writes made by referential actions or by
 * this extension (they run with row security not forced, as the RI
 * triggers do: ON UPDATE CASCADE keeps references, it makes none).
 *
 * This file is the check itself, run as the trigger fires; refcheck_sync.c
 * puts the triggers where they belong.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_trigger.h"
#include "commands/tablecmds.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(softdelete_reference_check);

/* What one foreign key's check needs, cached per backend by constraint */
typedef struct RefCheck
{
	Oid			conoid;			/* hash key */
	bool		valid;
	Oid			child;			/* conrelid: the table the trigger is on */
	Oid			parent;			/* confrelid */
	NameData	conname;
	NameData	stamp;			/* the parent's stamp column, for the plan */
	int			nkeys;
	AttrNumber	child_attnums[INDEX_MAX_KEYS];
	AttrNumber	parent_attnums[INDEX_MAX_KEYS];
	Oid			pf_eq_op[INDEX_MAX_KEYS];
	Oid			child_types[INDEX_MAX_KEYS];
	SPIPlanPtr	plan;			/* SPI_keepplan'd, or NULL */
} RefCheck;

static HTAB *checks = NULL;

/*
 * refcheck_invalidate is the syscache callback on pg_constraint: every
 * cached check is re-read at its next use (its plan freed then, when
 * nobody is running it).
 */
static void
refcheck_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	RefCheck   *entry;

	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	if (checks == NULL)
		return;
	hash_seq_init(&status, checks);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

/*
 * refcheck_invalidate_rel is the relcache callback: the plans name the
 * parent and its columns in SQL text, so a renamed parent (or key or
 * stamp column) makes the checks that reference it be re-read.
 */
static void
refcheck_invalidate_rel(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	RefCheck   *entry;

	(void) arg;
	if (checks == NULL)
		return;
	hash_seq_init(&status, checks);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || entry->parent == relid || entry->child == relid)
			entry->valid = false;
}

/*
 * softdelete_refcheck_init registers the cache callbacks; _PG_init calls it.
 */
void
softdelete_refcheck_init(void)
{
	CacheRegisterSyscacheCallback(CONSTROID, refcheck_invalidate, (Datum) 0);
	CacheRegisterRelcacheCallback(refcheck_invalidate_rel, (Datum) 0);
}

/*
 * append_operator writes OPERATOR(schema.name) for an operator OID.
 */
static void
append_operator(StringInfo buf, Oid opoid)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opoid));
	Form_pg_operator op;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opoid);
	op = (Form_pg_operator) GETSTRUCT(tup);
	appendStringInfo(buf, "OPERATOR(%s.%s)",
					 quote_identifier(get_namespace_name(op->oprnamespace)),
					 NameStr(op->oprname));
	ReleaseSysCache(tup);
}

/*
 * load_check (re)reads the constraint conoid into entry and prepares the
 * query that locks the parent row and reads its stamp:
 *   SELECT p.stamp IS NOT NULL FROM parent p
 *    WHERE p.k1 OPERATOR(=) $1 AND ... FOR SHARE OF p
 * Everything in it is schema-qualified; the parameters have the types of
 * the referencing columns, as in PostgreSQL's own check.
 */
static void
load_check(RefCheck *entry)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(entry->conoid));
	Form_pg_constraint con;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", entry->conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	if (con->contype != CONSTRAINT_FOREIGN)
		elog(ERROR, "constraint %u is not a foreign key", entry->conoid);
	entry->child = con->conrelid;
	entry->parent = con->confrelid;
	namestrcpy(&entry->conname, NameStr(con->conname));
	DeconstructFkConstraintRow(tup, &entry->nkeys, entry->child_attnums,
							   entry->parent_attnums, entry->pf_eq_op,
							   NULL, NULL, NULL, NULL);
	ReleaseSysCache(tup);
	for (i = 0; i < entry->nkeys; i++)
		entry->child_types[i] = get_atttype(entry->child, entry->child_attnums[i]);
	NameStr(entry->stamp)[0] = '\0';
	entry->valid = true;
}

/*
 * prepare_check makes entry's plan for the parent's stamp column.
 */
static void
prepare_check(RefCheck *entry, const char *stamp)
{
	StringInfoData sql;
	SPIPlanPtr	plan;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT p.%s IS NOT NULL FROM %s p WHERE ",
					 quote_identifier(stamp), softdelete_qualified_name(entry->parent));
	for (i = 0; i < entry->nkeys; i++)
	{
		appendStringInfo(&sql, "%sp.%s ", i > 0 ? " AND " : "",
						 quote_identifier(get_attname(entry->parent,
													  entry->parent_attnums[i], false)));
		append_operator(&sql, entry->pf_eq_op[i]);
		appendStringInfo(&sql, " $%d", i + 1);
	}
	appendStringInfoString(&sql, " FOR SHARE OF p");

	softdelete_spi_connect();
	plan = SPI_prepare(sql.data, entry->nkeys, entry->child_types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	softdelete_spi_finish();
	pfree(sql.data);
	entry->plan = plan;
	namestrcpy(&entry->stamp, stamp);
}

/*
 * get_check returns the cached check of conoid, loaded and valid; its
 * plan is made by ensure_plan.
 */
static RefCheck *
get_check(Oid conoid)
{
	RefCheck   *entry;
	bool		found;

	if (checks == NULL)
		checks = softdelete_oid_hash("softdelete reference checks", 16,
									 sizeof(RefCheck), CacheMemoryContext);
	entry = hash_search(checks, &conoid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->plan = NULL;
	}
	if (entry->valid)
		return entry;
	if (entry->plan != NULL)
	{
		SPIPlanPtr	old = entry->plan;

		entry->plan = NULL;
		SPI_freeplan(old);
	}
	load_check(entry);
	return entry;
}

/*
 * ensure_plan gives check a plan for the parent's current stamp column.
 */
static void
ensure_plan(RefCheck *check, const char *stamp)
{
	if (check->plan != NULL && strcmp(NameStr(check->stamp), stamp) == 0)
		return;
	if (check->plan != NULL)
	{
		SPIPlanPtr	old = check->plan;

		check->plan = NULL;
		SPI_freeplan(old);
	}
	prepare_check(check, stamp);
}

/*
 * key_text returns "a, b" and "1, 2": the referencing columns and their
 * values in the new row.
 */
static void
key_text(RefCheck *check, TupleTableSlot *slot, char **columns, char **values)
{
	StringInfoData cols;
	StringInfoData vals;
	int			i;

	initStringInfo(&cols);
	initStringInfo(&vals);
	for (i = 0; i < check->nkeys; i++)
	{
		bool		isnull;
		Datum		value = slot_getattr(slot, check->child_attnums[i], &isnull);
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(check->child_types[i], &output, &varlena);
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(get_attname(check->child,
													  check->child_attnums[i], false)));
		appendStringInfo(&vals, "%s%s", i > 0 ? ", " : "",
						 isnull ? "null" : OidOutputFunctionCall(output, value));
	}
	*columns = cols.data;
	*values = vals.data;
}

/*
 * key_visible says whether the current role may see the key values of
 * the new row in an error: ri_ReportViolation's rule for the referencing
 * side (no row-level security on it, and SELECT on the table or on each
 * key column), widened to those who may manage the table.
 */
static bool
key_visible(RefCheck *check)
{
	int			i;

	if (softdelete_may_manage(check->child))
		return true;
	if (check_enable_rls(check->child, InvalidOid, true) == RLS_ENABLED)
		return false;
	if (pg_class_aclcheck(check->child, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return true;
	for (i = 0; i < check->nkeys; i++)
		if (pg_attribute_aclcheck(check->child, check->child_attnums[i],
								  GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			return false;
	return true;
}

/*
 * report_trashed_parent raises foreign_key_violation for a new reference
 * to a trashed row, with the constraint's fields as core's error has them.
 */
static void
report_trashed_parent(RefCheck *check, Relation rel, TupleTableSlot *slot)
{
	char	   *columns;
	char	   *values;
	char	   *parent = get_rel_name(check->parent);

	key_text(check, slot, &columns, &values);
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("insert or update on table \"%s\" violates foreign key constraint \"%s\"",
					RelationGetRelationName(rel), NameStr(check->conname)),
			 key_visible(check) ?
			 errdetail("Key (%s)=(%s) is in the trash of table \"%s\".",
					   columns, values, parent) :
			 errdetail("The referenced row of table \"%s\" is in the trash.", parent),
			 errhint("Restore the parent row first, with softdelete.restore('%s', ...).",
					 softdelete_hint_name(check->parent)),
			 errtableconstraint(rel, NameStr(check->conname))));
}

/*
 * softdelete_reference_check is the AFTER INSERT OR UPDATE row trigger on
 * a referencing table: the new row may not reference a trashed row.
 */
Datum
softdelete_reference_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleTableSlot *newslot;
	const SoftDeleteTable *parent;
	const SoftDeleteTable *self;
	RefCheck   *check;
	Datum		values[INDEX_MAX_KEYS];
	Oid			saved_userid;
	int			saved_sec_context;
	Oid			owner = InvalidOid;
	bool		trashed = false;
	int			ret;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"softdelete_reference_check")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) ||
		!OidIsValid(trigdata->tg_trigger->tgconstraint))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER INSERT OR UPDATE FOR EACH ROW by a foreign key",
						"softdelete_reference_check")));

	/* referential actions and our own writes keep references, make none */
	if (InNoForceRLSOperation())
		return PointerGetDatum(NULL);

	rel = trigdata->tg_relation;
	newslot = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newslot : trigdata->tg_trigslot;

	/* a row version updated or deleted since is checked by its successor */
	if (!table_tuple_satisfies_snapshot(rel, newslot, SnapshotSelf))
		return PointerGetDatum(NULL);

	check = get_check(trigdata->tg_trigger->tgconstraint);
	parent = softdelete_lookup(check->parent);
	if (!OidIsValid(parent->root))
		return PointerGetDatum(NULL);	/* disabled since; sync removes us */

	/* a row that is itself in the trash may reference a trashed one */
	self = softdelete_lookup(RelationGetRelid(rel));
	if (OidIsValid(self->root) && self->attnum > 0)
	{
		bool		isnull;

		(void) slot_getattr(newslot, self->attnum, &isnull);
		if (!isnull)
			return PointerGetDatum(NULL);
	}

	for (i = 0; i < check->nkeys; i++)
	{
		bool		isnull;

		values[i] = slot_getattr(newslot, check->child_attnums[i], &isnull);
		if (isnull)
			return PointerGetDatum(NULL);	/* no reference */
	}

	/* an UPDATE that keeps the key makes no new reference */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		same = true;

		for (i = 0; i < check->nkeys && same; i++)
		{
			bool		isnull;
			Datum		old = slot_getattr(trigdata->tg_trigslot,
										   check->child_attnums[i], &isnull);
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel),
												  check->child_attnums[i] - 1);

			same = !isnull && datum_image_eq(old, values[i], att->attbyval,
											 att->attlen);
		}
		if (same)
			return PointerGetDatum(NULL);
	}

	/*
	 * As the parent's owner, past its row-level security, as core's RI
	 * check runs; the query is fully qualified, so search_path is left
	 * alone (as ri_triggers.c does).
	 */
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(check->parent));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", check->parent);
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(owner, saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	/* planned as it runs: the plan cache does not tell NOFORCE apart */
	ensure_plan(check, NameStr(parent->column_name));
	softdelete_spi_connect();
	ret = SPI_execute_plan(check->plan, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		bool		isnull;

		trashed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	softdelete_spi_finish();
	SetUserIdAndSecContext(saved_userid, saved_sec_context);

	if (trashed)
		report_trashed_parent(check, rel, newslot);
	return PointerGetDatum(NULL);
}
