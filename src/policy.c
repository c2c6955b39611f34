/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Install and remove what enable() puts on a table and its partitions:
 *	  the stamp column, the triggers, the row-level security filter, and
 *	  the records of the row-level security state each had before.
 *
 * The DDL runs as the extension's owner with search_path pinned; the
 * caller has checked the user's privileges and locked the table.  Every
 * name put into SQL text is quoted.  softdelete_ddl_depth is raised
 * meanwhile, so that our own event triggers leave this DDL alone.
 *
 * The filter is one RESTRICTIVE policy "USING (column IS NULL)", so the
 * planner sees exactly that predicate.  A permissive allow-all policy is
 * added only where the table had row-level security off, so a table that
 * already had its own policies keeps their meaning.  FORCE ROW LEVEL
 * SECURITY makes the owner see the filter too.
 *
 * Partitions: the row trigger of a partitioned table is cloned to every
 * partition by PostgreSQL; each partition also gets the statement
 * triggers (a DELETE naming a partition fires only the partition's) and
 * the filter (a query naming a partition does not see the parent's
 * policies).  Every step checks what is there first, so installing on a
 * partition is idempotent: the event trigger calls it for partitions
 * created or attached later.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * Our objects are known by what they are, never by their names alone: a
 * trigger is ours when it runs one of our trigger functions (by OID) at
 * the right timing, level and event, without a WHEN condition; a policy
 * is ours when it has exactly the shape enable() gives it.  So a renamed
 * trigger or policy is still found (and still protected, and dropped by
 * disable), and a look-alike of the user's, named like ours, is not
 * taken for ours.  The names are only what we give new objects.
 */
typedef struct OurTrigger
{
	const char *name;			/* name given on creation */
	const char *function;		/* softdelete.<function>() */
	int16		tgtype;
	const char *when;			/* for CREATE TRIGGER */
	const char *level;
} OurTrigger;

static const OurTrigger row_trigger = {
	SOFTDELETE_TRIG_ROW, "before_delete_trigger",
	TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_DELETE,
	"BEFORE DELETE", "ROW"
};
/* on partitioned tables: an UPDATE that moves a row deletes it */
static const OurTrigger move_trigger = {
	SOFTDELETE_TRIG_MOVE, "before_delete_trigger",
	TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_UPDATE,
	"BEFORE UPDATE", "ROW"
};
static const OurTrigger stmt_trigger = {
	SOFTDELETE_TRIG_STMT, "after_delete_trigger",
	TRIGGER_TYPE_DELETE,
	"AFTER DELETE", "STATEMENT"
};
static const OurTrigger truncate_trigger = {
	SOFTDELETE_TRIG_TRUNCATE, "truncate_trigger",
	TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_TRUNCATE,
	"BEFORE TRUNCATE", "STATEMENT"
};

static char *
find_trigger(Oid relid, const OurTrigger *which, bool own_only, bool *enabled)
{
	return softdelete_find_trigger(relid, which->function, which->tgtype,
								   which->name, own_only, enabled);
}

/*
 * is_filter_qual says whether a policy expression is "attnum IS NULL";
 * is_true_qual whether it is the constant true.
 */
static bool
is_filter_qual(Node *qual, AttrNumber attnum)
{
	NullTest   *nt = (NullTest *) qual;

	return qual != NULL && IsA(qual, NullTest) && nt->nulltesttype == IS_NULL &&
		nt->arg != NULL && IsA(nt->arg, Var) &&
		((Var *) nt->arg)->varattno == attnum && attnum > 0;
}

static bool
is_true_qual(Node *qual)
{
	return qual != NULL && IsA(qual, Const) &&
		((Const *) qual)->consttype == BOOLOID &&
		!((Const *) qual)->constisnull && DatumGetBool(((Const *) qual)->constvalue);
}

/*
 * policy_expr reads one pg_node_tree column of a pg_policy row.
 */
static Node *
policy_expr(HeapTuple tup, TupleDesc desc, AttrNumber column)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, column, desc, &isnull);

	return isnull ? NULL : (Node *) stringToNode(TextDatumGetCString(d));
}

/* what find_policy looks for */
typedef struct WantedPolicy
{
	bool		filter;
	AttrNumber	attnum;			/* the stamp column, for the filter */
} WantedPolicy;

/*
 * is_wanted_policy says whether a pg_policy row is the filter policy
 * (FOR ALL TO PUBLIC, RESTRICTIVE, USING (column IS NULL)) or the
 * allow-all one (FOR ALL TO PUBLIC, PERMISSIVE, USING (true)), as wanted.
 */
static bool
is_wanted_policy(HeapTuple tup, TupleDesc desc, void *arg)
{
	const WantedPolicy *wanted = (const WantedPolicy *) arg;
	Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tup);
	bool		isnull;
	Datum		roles = heap_getattr(tup, Anum_pg_policy_polroles, desc, &isnull);
	ArrayType  *rolearr;
	Node	   *qual;
	Node	   *check;

	if (pol->polcmd != '*' || pol->polpermissive == wanted->filter || isnull)
		return false;
	rolearr = DatumGetArrayTypeP(roles);
	if (ARR_NDIM(rolearr) != 1 || ARR_DIMS(rolearr)[0] != 1 ||
		((Oid *) ARR_DATA_PTR(rolearr))[0] != ACL_ID_PUBLIC)
		return false;
	qual = policy_expr(tup, desc, Anum_pg_policy_polqual);
	check = policy_expr(tup, desc, Anum_pg_policy_polwithcheck);
	if (wanted->filter)
		return is_filter_qual(qual, wanted->attnum) && check == NULL;
	return is_true_qual(qual) && (check == NULL || is_true_qual(check));
}

/*
 * find_policy returns the name of relid's filter policy or of its
 * allow-all policy (see is_wanted_policy), preferring one of our name;
 * NULL if there is none.
 */
static char *
find_policy(Oid relid, bool filter, const char *column_name)
{
	WantedPolicy wanted;
	HeapTuple	tup;

	wanted.filter = filter;
	wanted.attnum = filter ? get_attnum(relid, column_name) : InvalidAttrNumber;
	tup = softdelete_find_preferred(PolicyRelationId, PolicyPolrelidPolnameIndexId,
									Anum_pg_policy_polrelid, relid,
									Anum_pg_policy_polname,
									filter ? SOFTDELETE_POLICY_FILTER : SOFTDELETE_POLICY_ALLOW,
									is_wanted_policy, &wanted);
	return tup == NULL ? NULL : pstrdup(NameStr(((Form_pg_policy) GETSTRUCT(tup))->polname));
}

/*
 * rls_state reads a relation's ENABLE and FORCE ROW LEVEL SECURITY flags.
 */
static void
rls_state(Oid relid, bool *enabled, bool *forced)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	*enabled = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	*forced = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
}

/*
 * softdelete_missing_piece says what relid lacks of what enable() puts on
 * a soft-deletable table (is_partition: on a recorded partition, whose row
 * trigger is the clone of its root's), or NULL if nothing is missing.
 * with_allow: the allow-all policy is ours too.
 */
const char *
softdelete_missing_piece(Oid relid, const char *column_name, bool with_allow,
						 bool is_partition)
{
	bool		enabled = false;
	bool		forced;

	if (find_trigger(relid, &row_trigger, false, &enabled) == NULL || !enabled)
		return is_partition ? "row trigger cloned from its partitioned table" :
			"BEFORE DELETE row trigger";
	if ((is_partition || get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE) &&
		(find_trigger(relid, &move_trigger, false, &enabled) == NULL || !enabled))
		return is_partition ? "BEFORE UPDATE row trigger cloned from its partitioned table" :
			"BEFORE UPDATE row trigger";
	if (find_trigger(relid, &stmt_trigger, true, &enabled) == NULL || !enabled)
		return "AFTER DELETE statement trigger";
	if (find_trigger(relid, &truncate_trigger, true, &enabled) == NULL || !enabled)
		return "BEFORE TRUNCATE trigger";
	if (find_policy(relid, true, column_name) == NULL)
		return "filter policy";
	if (with_allow && find_policy(relid, false, NULL) == NULL)
		return "allow-all policy";
	rls_state(relid, &enabled, &forced);
	if (!enabled || !forced)
		return "row-level security, enabled and forced";
	return NULL;
}

/*
 * ensure_trigger creates one of our triggers on relid unless it is there,
 * and enables it if it was disabled.
 */
static void
ensure_trigger(Oid relid, const OurTrigger *which)
{
	bool		enabled = false;
	char	   *found = find_trigger(relid, which, false, &enabled);
	char	   *sql;

	if (found != NULL && enabled)
		return;
	if (found != NULL)
		sql = psprintf("ALTER TABLE %s ENABLE TRIGGER %s",
					   softdelete_qualified_name(relid), quote_identifier(found));
	else
		sql = psprintf("CREATE TRIGGER %s %s ON %s FOR EACH %s EXECUTE FUNCTION softdelete.%s()",
					   quote_identifier(which->name), which->when,
					   softdelete_qualified_name(relid), which->level,
					   which->function);
	softdelete_run_ddl(sql);
	pfree(sql);
}

/*
 * drop_trigger drops every trigger of relid that is "which", whatever it
 * is called (clones go with their parent's).
 */
static void
drop_trigger(Oid relid, const OurTrigger *which)
{
	char	   *name;

	while ((name = find_trigger(relid, which, true, NULL)) != NULL)
	{
		char	   *sql = psprintf("DROP TRIGGER %s ON %s", quote_identifier(name),
								   softdelete_qualified_name(relid));

		softdelete_run_ddl(sql);
		pfree(sql);
	}
}

/*
 * ensure_statement_triggers puts the statement-level triggers on relid.
 */
static void
ensure_statement_triggers(Oid relid)
{
	ensure_trigger(relid, &stmt_trigger);
	ensure_trigger(relid, &truncate_trigger);
}

/*
 * ensure_filter puts the filter policy (and, if wanted, the allow-all
 * policy) on relid and turns row-level security on and forced.
 */
static void
ensure_filter(Oid relid, const char *column_name, bool with_allow)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *sql;

	if (find_policy(relid, true, column_name) == NULL)
	{
		sql = psprintf("CREATE POLICY %s ON %s AS RESTRICTIVE FOR ALL TO PUBLIC"
					   " USING (%s IS NULL)",
					   quote_identifier(SOFTDELETE_POLICY_FILTER), qualified,
					   quote_identifier(column_name));
		softdelete_run_ddl(sql);
		pfree(sql);
	}
	if (with_allow && find_policy(relid, false, NULL) == NULL)
	{
		sql = psprintf("CREATE POLICY %s ON %s AS PERMISSIVE FOR ALL TO PUBLIC"
					   " USING (true) WITH CHECK (true)",
					   quote_identifier(SOFTDELETE_POLICY_ALLOW), qualified);
		softdelete_run_ddl(sql);
		pfree(sql);
	}
	sql = psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
				   qualified);
	softdelete_run_ddl(sql);
	pfree(sql);
}

/*
 * remove_filter drops our policies from relid, whatever they are called,
 * and puts its row-level security flags back as recorded.  The allow-all
 * policy is ours only where row-level security was off before.
 */
static void
remove_filter(Oid relid, const char *column_name, bool rls_was_enabled,
			  bool rls_was_forced)
{
	const char *qualified = softdelete_qualified_name(relid);
	char	   *name;
	char	   *sql;

	while ((name = find_policy(relid, true, column_name)) != NULL)
	{
		sql = psprintf("DROP POLICY %s ON %s", quote_identifier(name), qualified);
		softdelete_run_ddl(sql);
		pfree(sql);
	}
	if (!rls_was_enabled && (name = find_policy(relid, false, NULL)) != NULL)
	{
		sql = psprintf("DROP POLICY %s ON %s", quote_identifier(name), qualified);
		softdelete_run_ddl(sql);
		pfree(sql);
	}
	sql = psprintf("ALTER TABLE %s %s ROW LEVEL SECURITY, %s ROW LEVEL SECURITY",
				   qualified,
				   rls_was_enabled ? "ENABLE" : "DISABLE",
				   rls_was_forced ? "FORCE" : "NO FORCE");
	softdelete_run_ddl(sql);
	pfree(sql);
}

/* What one piece of our DDL works on */
typedef struct DdlWork
{
	Oid			relid;
	const char *column_name;
	const RegistryRow *row;		/* install: the prior registry row; uninstall: ours */
	bool		keep_prior;
	bool		rls_enabled;
	bool		rls_forced;
	bool		only_new;
} DdlWork;

/*
 * run_as_ddl runs work(w) inside begin_ddl and end_ddl, putting the
 * depth back if it fails (a caller may catch the error and go on).
 */
static void
run_as_ddl(void (*work) (DdlWork *w), DdlWork *w)
{
	SoftDeleteIdentity saved;
	int			depth = softdelete_begin_ddl(&saved);

	PG_TRY();
	{
		work(w);
	}
	PG_CATCH();
	{
		softdelete_abort_ddl(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	softdelete_end_ddl(&saved);
}

/*
 * install_on_partition gives one partition of root its statement triggers
 * and filter, recording its row-level security state the first time.
 * The caller is inside begin_ddl.
 */
static void
install_on_partition(Oid root, Oid part, const char *column_name)
{
	Oid			recorded_root;
	RegistryRow record = softdelete_partition_read(part, &recorded_root);

	if (!record.found)
	{
		rls_state(part, &record.rls_was_enabled, &record.rls_was_forced);
		softdelete_partition_write(part, root, record.rls_was_enabled,
								   record.rls_was_forced, true);
	}
	ensure_statement_triggers(part);
	ensure_filter(part, column_name, !record.rls_was_enabled);
	CacheInvalidateRelcacheByRelid(part);
}

/*
 * partitions_of lists the partitions of relid at every level (not relid
 * itself); empty for an ordinary table.
 */
static List *
partitions_of(Oid relid)
{
	List	   *all;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return NIL;
	all = find_all_inheritors(relid, NoLock, NULL);
	return list_delete_first(all);
}

/*
 * softdelete_installed_fully says whether relid, registered as row says,
 * and each of its partitions have everything enable() installs.
 */
bool
softdelete_installed_fully(Oid relid, const RegistryRow *row)
{
	List	   *parts = partitions_of(relid);
	ListCell   *lc;

	if (softdelete_missing_piece(relid, NameStr(row->column_name),
								 !row->rls_was_enabled, false) != NULL)
		return false;
	foreach(lc, parts)
	{
		Oid			root;
		RegistryRow record = softdelete_partition_read(lfirst_oid(lc), &root);

		if (!record.found || root != relid ||
			softdelete_missing_piece(lfirst_oid(lc), NameStr(row->column_name),
									 !record.rls_was_enabled, true) != NULL)
			return false;
	}
	return true;
}

/*
 * install_work does the DDL of softdelete_install, as the extension's
 * owner (see run_as_ddl).
 */
static void
install_work(DdlWork *w)
{
	ListCell   *lc;
	List	   *parts;

	if (w->row != NULL && w->row->found && !w->keep_prior)
		softdelete_registry_delete(w->relid);
	if (get_attnum(w->relid, w->column_name) == InvalidAttrNumber)
	{
		char	   *sql = psprintf("ALTER TABLE %s ADD COLUMN %s pg_catalog.timestamptz",
								   softdelete_qualified_name(w->relid),
								   quote_identifier(w->column_name));

		softdelete_run_ddl(sql);
		pfree(sql);
	}
	ensure_trigger(w->relid, &row_trigger);
	/* an UPDATE that moves a row between partitions deletes it: see it */
	if (get_rel_relkind(w->relid) == RELKIND_PARTITIONED_TABLE)
		ensure_trigger(w->relid, &move_trigger);
	ensure_statement_triggers(w->relid);
	ensure_filter(w->relid, w->column_name, !w->rls_enabled);
	if (!w->keep_prior)
		softdelete_registry_insert(w->relid, w->column_name, w->rls_enabled, w->rls_forced);

	parts = partitions_of(w->relid);
	foreach(lc, parts)
		install_on_partition(w->relid, lfirst_oid(lc), w->column_name);
}

/*
 * softdelete_install makes relid soft-deletable with the given stamp
 * column; prior is its registry row, if any, kept when what it records
 * is still on the table.
 */
void
softdelete_install(Oid relid, const char *column_name, const RegistryRow *prior)
{
	DdlWork		w;

	memset(&w, 0, sizeof(w));
	w.relid = relid;
	w.column_name = column_name;
	w.row = prior;
	w.keep_prior = prior != NULL && prior->found &&
		find_policy(relid, true, column_name) != NULL;
	if (w.keep_prior)
	{
		w.rls_enabled = prior->rls_was_enabled;
		w.rls_forced = prior->rls_was_forced;
	}
	else
		rls_state(relid, &w.rls_enabled, &w.rls_forced);
	run_as_ddl(install_work, &w);
	CacheInvalidateRelcacheByRelid(relid);
	/* issue 13: new references to its trash are refused */
	CommandCounterIncrement();
	softdelete_refcheck_sync(relid);
}

/*
 * uninstall_work does the DDL of softdelete_uninstall, as the
 * extension's owner (see run_as_ddl).
 */
static void
uninstall_work(DdlWork *w)
{
	List	   *parts;
	ListCell   *lc;

	parts = softdelete_partitions_recorded(w->relid);
	foreach(lc, parts)
	{
		Oid			part = lfirst_oid(lc);
		Oid			root;
		RegistryRow record = softdelete_partition_read(part, &root);

		drop_trigger(part, &stmt_trigger);
		drop_trigger(part, &truncate_trigger);
		remove_filter(part, NameStr(w->row->column_name), record.rls_was_enabled,
					  record.rls_was_forced);
		softdelete_partition_write(part, w->relid, false, false, false);
		CacheInvalidateRelcacheByRelid(part);
	}
	drop_trigger(w->relid, &row_trigger);
	drop_trigger(w->relid, &move_trigger);
	drop_trigger(w->relid, &stmt_trigger);
	drop_trigger(w->relid, &truncate_trigger);
	remove_filter(w->relid, NameStr(w->row->column_name), w->row->rls_was_enabled,
				  w->row->rls_was_forced);
	softdelete_registry_delete(w->relid);
}

/*
 * softdelete_uninstall removes what softdelete_install put on relid and
 * its partitions, and puts each one's row-level security state back as
 * recorded.  The column and every row stay.
 */
void
softdelete_uninstall(Oid relid, const RegistryRow *row)
{
	DdlWork		w;

	memset(&w, 0, sizeof(w));
	w.relid = relid;
	w.row = row;
	run_as_ddl(uninstall_work, &w);
	CacheInvalidateRelcacheByRelid(relid);
	/* issue 13: its reference checks go */
	CommandCounterIncrement();
	softdelete_refcheck_sync(relid);
}

/*
 * sync_work does the DDL of softdelete_sync_partitions, as the
 * extension's owner (see run_as_ddl).
 */
static void
sync_work(DdlWork *w)
{
	List	   *parts = partitions_of(w->relid);
	List	   *recorded;
	ListCell   *lc;

	recorded = softdelete_partitions_recorded(w->relid);
	foreach(lc, parts)
	{
		if (w->only_new && list_member_oid(recorded, lfirst_oid(lc)))
			continue;
		install_on_partition(w->relid, lfirst_oid(lc), w->column_name);
	}

	foreach(lc, recorded)
	{
		Oid			part = lfirst_oid(lc);
		Oid			recorded_root;
		RegistryRow record;

		if (list_member_oid(parts, part))
			continue;
		record = softdelete_partition_read(part, &recorded_root);
		softdelete_partition_write(part, w->relid, false, false, false);
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(part)))
			continue;
		ensure_trigger(part, &row_trigger);
		softdelete_registry_insert(part, w->column_name, record.rls_was_enabled,
								   record.rls_was_forced);
		softdelete_flags_copy(w->relid, part);	/* issue 12 */
		CacheInvalidateRelcacheByRelid(part);
	}
}

/*
 * softdelete_sync_partitions brings the partitions of the soft-deletable
 * table root in line after DDL: a partition created or attached since
 * gets the statement triggers and the filter; a recorded partition that
 * was detached becomes a soft-deletable table of its own, keeping its
 * trash, its filter and its recorded row-level security state (it gets
 * the row trigger it used to inherit).  With only_new (a restore, whose
 * dump brings the recorded partitions' triggers and policies itself),
 * partitions already recorded are left as they are.
 */
void
softdelete_sync_partitions(Oid root, const char *column_name, bool only_new)
{
	DdlWork		w;

	memset(&w, 0, sizeof(w));
	w.relid = root;
	w.column_name = column_name;
	w.only_new = only_new;
	run_as_ddl(sync_work, &w);
}
