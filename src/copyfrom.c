/*-------------------------------------------------------------------------
 *
 * copyfrom.c
 *	  COPY ... FROM into a soft-deletable table, when the library is
 *	  preloaded.
 *
 * PostgreSQL refuses COPY FROM into a table whose row-level security
 * applies to the role (0A000), and enable() forces row-level security,
 * so every bulk load into a soft-deletable table would stop working,
 * the owner's included.  The utility hook runs such a COPY FROM itself,
 * doing what core's DoCopy does (commands/copy.c) minus that refusal:
 * the same privilege checks (INSERT on the columns loaded,
 * pg_read_server_files for a file, pg_execute_server_program for a
 * program), its WHERE clause, the read-only check, then BeginCopyFrom,
 * CopyFrom and EndCopyFrom.  STDIN (and so psql's \copy) works alike.
 *
 * Nothing else is weakened:
 *	- only our own two policies may stand in the way: if the table has a
 *	  policy of its own that applies to INSERT for this role, core's
 *	  refusal stands, naming the policy (COPY cannot apply it);
 *	- our filter's WITH CHECK (a new row is live) is kept for roles that
 *	  may not restore on the table: a guard added to the COPY's WHERE
 *	  refuses, row by row, a row that arrives with its stamp set, with
 *	  the 42501 an INSERT of that row would get.  Roles that may restore
 *	  may load rows into the trash.
 * The guard is STABLE, so COPY keeps its multi-row inserts.  Superusers
 * and BYPASSRLS roles are left to core, which lets them COPY already.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_collate.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_func.h"
#include "parser/parse_relation.h"
#include "rewrite/rowsecurity.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

PG_FUNCTION_INFO_V1(softdelete_copy_row_check);

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * ours says whether a policy is one enable() installed.
 */
static bool
ours(RowSecurityPolicy *policy)
{
	if (policy->polcmd != '*')
		return false;
	if (policy->permissive)
		return strcmp(policy->policy_name, SOFTDELETE_POLICY_ALLOW) == 0;
	return strcmp(policy->policy_name, SOFTDELETE_POLICY_FILTER) == 0;
}

/*
 * applies_to_role says whether a policy's roles include the current user
 * (PUBLIC, or a role whose privileges it has), as rowsecurity.c decides.
 */
static bool
applies_to_role(RowSecurityPolicy *policy)
{
	Oid		   *roles = (Oid *) ARR_DATA_PTR(policy->roles);
	int			n = ARR_DIMS(policy->roles)[0];
	int			i;

	for (i = 0; i < n; i++)
	{
		if (roles[i] == ACL_ID_PUBLIC || has_privs_of_role(GetUserId(), roles[i]))
			return true;
	}
	return false;
}

/*
 * own_insert_policy returns the name of a policy of the table's own that
 * applies to INSERT for this role, or NULL; *allowed says whether our
 * allow-all policy is there (without it, INSERT is denied by default).
 */
static const char *
own_insert_policy(Relation rel, bool *allowed)
{
	ListCell   *lc;

	*allowed = false;
	if (rel->rd_rsdesc == NULL)
		return NULL;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);

		if (policy->polcmd != '*' && policy->polcmd != ACL_INSERT_CHR)
			continue;
		if (ours(policy))
		{
			*allowed |= policy->permissive;
			continue;
		}
		if (applies_to_role(policy))
			return policy->policy_name;
	}
	return NULL;
}

/*
 * check_server_side refuses a COPY from a file or a program to a role
 * without pg_read_server_files or pg_execute_server_program, as DoCopy.
 */
static void
check_server_side(CopyStmt *stmt)
{
	if (stmt->filename == NULL)
		return;
	if (stmt->is_program)
	{
		if (!has_privs_of_role(GetUserId(), ROLE_PG_EXECUTE_SERVER_PROGRAM))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 SD_COPY_PROGRAM_REFUSAL,
					 errhint("Anyone can COPY to stdout or from stdin. "
							 "psql's \\copy command also works for anyone.")));
	}
	else if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 SD_COPY_FILE_REFUSAL,
				 errhint("Anyone can COPY to stdout or from stdin. "
						 "psql's \\copy command also works for anyone.")));
}

/*
 * where_clause turns the COPY's WHERE into the implicit-AND list CopyFrom
 * evaluates, as DoCopy does; NIL without one.
 */
static List *
where_clause(ParseState *pstate, ParseNamespaceItem *nsitem, Node *raw)
{
	Node	   *where;

	if (raw == NULL)
		return NIL;
	addNSItemToQuery(pstate, nsitem, false, true, true);
	where = transformExpr(pstate, raw, EXPR_KIND_COPY_WHERE);
	where = coerce_to_boolean(pstate, where, "WHERE");
	assign_expr_collations(pstate, where);
	where = eval_const_expressions(NULL, where);
	where = (Node *) canonicalize_qual((Expr *) where, false);
	return make_ands_implicit((Expr *) where);
}

/*
 * stamp_guard returns softdelete.copy_row_check(table, stamp column),
 * marked as ours (COERCE_SQL_SYNTAX, which no SQL call carries).
 */
static Expr *
stamp_guard(Relation rel, const SoftDeleteTable *table)
{
	Oid			argtypes[2] = {REGCLASSOID, TIMESTAMPTZOID};
	Oid			fn = LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
											   makeString("copy_row_check")),
									2, argtypes, false);

	return (Expr *) makeFuncExpr(fn, BOOLOID,
								 list_make2(makeConst(REGCLASSOID, -1, InvalidOid,
													  sizeof(Oid),
													  ObjectIdGetDatum(RelationGetRelid(rel)),
													  false, true),
											makeVar(1, table->attnum, TIMESTAMPTZOID,
													-1, InvalidOid, 0)),
								 InvalidOid, InvalidOid, COERCE_SQL_SYNTAX);
}

/*
 * copy_from runs the COPY FROM into rel (opened and locked), returning
 * the rows loaded.
 */
static uint64
copy_from(CopyStmt *stmt, Relation rel, const SoftDeleteTable *table,
		  const char *queryString, QueryEnvironment *queryEnv)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	List	   *attnums;
	List	   *where;
	CopyFromState cstate;
	uint64		processed;

	pstate->p_sourcetext = queryString;
	pstate->p_queryEnv = queryEnv;
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	where = where_clause(pstate, nsitem, stmt->whereClause);

	/* INSERT on the columns loaded */
	attnums = CopyGetAttnums(RelationGetDescr(rel), rel, stmt->attlist);
	compat_check_insert_columns(pstate, nsitem, attnums);

	/* our filter's WITH CHECK, for those who may not put rows in the trash */
	if (!softdelete_may_manage(table->root))
		where = lappend(where, stamp_guard(rel, table));

	if (XactReadOnly && !rel->rd_islocaltemp)
		PreventCommandIfReadOnly("COPY FROM");

	cstate = BeginCopyFrom(pstate, rel, (Node *) where, stmt->filename,
						   stmt->is_program, NULL, stmt->attlist, stmt->options);
	processed = CopyFrom(cstate);
	EndCopyFrom(cstate);
	free_parsestate(pstate);
	return processed;
}

/*
 * take_copy says whether the statement is a COPY FROM that is ours to
 * run: into a soft-deletable table, by a role whose row-level security
 * core would refuse it for, and with no policy of the table's own in the
 * way (refused here, naming it).  Opens and locks the table then.
 */
static Relation
take_copy(CopyStmt *stmt, const SoftDeleteTable **table)
{
	Oid			relid;
	Relation	rel;
	const char *policy;
	bool		allowed;

	if (!stmt->is_from || stmt->relation == NULL || stmt->query != NULL)
		return NULL;
	relid = RangeVarGetRelid(stmt->relation, RowExclusiveLock, true);
	if (!OidIsValid(relid))
		return NULL;			/* core says it does not exist */
	*table = softdelete_lookup(relid);
	/* with row_security = off, PostgreSQL's own 42501 (as DoCopy) */
	if (!OidIsValid((*table)->root) || (*table)->attnum <= 0 ||
		check_enable_rls(relid, InvalidOid, false) != RLS_ENABLED)
		return NULL;
	rel = table_open(relid, NoLock);
	policy = own_insert_policy(rel, &allowed);
	if (policy != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("COPY FROM not supported with row-level security"),
				 errdetail("Policy \"%s\" of table \"%s\" applies to INSERT for this role, and COPY cannot apply it.",
						   policy, RelationGetRelationName(rel)),
				 errhint("Use INSERT statements instead.")));
	if (!allowed)
	{
		table_close(rel, NoLock);
		return NULL;			/* no policy lets INSERT in: core refuses */
	}
	return rel;
}

/*
 * softdelete_process_utility is the utility hook: COPY FROM into a
 * soft-deletable table, otherwise what comes next.
 */
static void
softdelete_process_utility(PlannedStmt *pstmt, const char *queryString,
						   bool readOnlyTree, ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, CopyStmt))
	{
		CopyStmt   *stmt = (CopyStmt *) pstmt->utilityStmt;
		const SoftDeleteTable *table = NULL;
		Relation	rel;

		rel = take_copy(stmt, &table);
		if (rel != NULL)
		{
			uint64		processed;

			check_server_side(stmt);
			processed = copy_from(stmt, rel, table, queryString, queryEnv);

			table_close(rel, NoLock);
			if (qc)
				SetQueryCompletion(qc, CMDTAG_COPY, processed);
			return;
		}
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * copy_row_check(tbl regclass, stamp timestamptz) is the guard a COPY
 * FROM of a role that may not restore carries: true for a live row, our
 * filter's refusal for a row that arrives in the trash.  Only our COPY
 * calls it (see stamp_guard); a call written in SQL gets one clean error.
 */
Datum
softdelete_copy_row_check(PG_FUNCTION_ARGS)
{
	Node	   *call = fcinfo->flinfo ? fcinfo->flinfo->fn_expr : NULL;
	char	   *relname;

	if (call == NULL || !IsA(call, FuncExpr) ||
		((FuncExpr *) call)->funcformat != COERCE_SQL_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("softdelete.copy_row_check() can only be called by COPY FROM into a soft-deletable table"),
				 errdetail("It is the check a COPY FROM adds for rows that arrive in the trash; it cannot be called by hand.")));
	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(true);
	relname = PG_ARGISNULL(0) ? NULL : get_rel_name(PG_GETARG_OID(0));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("new row violates row-level security policy \"%s\" for table \"%s\"",
					SOFTDELETE_POLICY_FILTER, relname ? relname : "?"),
			 errdetail("The row arrives with its stamp set, that is in the trash; only the table's owner and members of softdelete_admin may load rows into the trash."),
			 errhint("Load the row with the stamp column empty.")));
	PG_RETURN_BOOL(false);
}

/*
 * softdelete_copy_install_hook chains the utility hook (fidelity.c calls
 * it when the library is preloaded).
 */
void
softdelete_copy_install_hook(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = softdelete_process_utility;
}
