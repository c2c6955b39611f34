/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  Who may do what, which relations qualify, and identity switching.
 *
 * Reading the trash, restore, purge, hard delete, enable and disable are
 * for the table's owner (or a member of the owning role) and members of
 * softdelete_admin.  Work done on their behalf runs as the table's owner
 * with SECURITY_NOFORCE_RLS, as core's referential-integrity triggers
 * do, so that it sees past the soft-delete filter.  Like those, it leaves
 * search_path alone: the SQL we run is fully qualified, and the table's
 * own triggers, which fire on our UPDATEs and DELETEs, keep resolving
 * names as they would for the caller's statement.  DDL runs as the
 * extension's owner with search_path pinned to pg_catalog, pg_temp.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/htup_details.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "access/table.h"
#include "optimizer/optimizer.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * softdelete_qualified_name returns the relation's schema-qualified,
 * quoted name, ready to be put into SQL text.
 */
char *
softdelete_qualified_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	nspname = get_namespace_name(get_rel_namespace(relid));
	return quote_qualified_identifier(nspname, relname);
}

/*
 * softdelete_hint_name returns the relation's qualified name for use
 * inside a single-quoted string in a hint, as in
 * softdelete.enable('%s'): single quotes doubled, so that a hint copied
 * and run names that table, whatever it is called.
 */
char *
softdelete_hint_name(Oid relid)
{
	const char *name = softdelete_qualified_name(relid);
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *name; name++)
	{
		if (*name == '\'')
			appendStringInfoChar(&buf, '\'');
		appendStringInfoChar(&buf, *name);
	}
	return buf.data;
}

/*
 * softdelete_check_table_kind refuses relations that cannot be
 * soft-deletable: anything but an ordinary or partitioned table, and
 * system catalogs.  "action" names the call, for the message.
 */
void
softdelete_check_table_kind(Oid relid, const char *action)
{
	HeapTuple	tup;
	Form_pg_class form;
	char		relkind;
	char	   *relname;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tup);
	relkind = form->relkind;
	relname = pstrdup(NameStr(form->relname));
	ReleaseSysCache(tup);

	if (IsCatalogRelationOid(relid) || IsCatalogNamespace(get_rel_namespace(relid)) ||
		IsToastNamespace(get_rel_namespace(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot %s system catalog \"%s\"", action, relname),
				 errdetail("Only user tables can be soft-deletable.")));

	if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
		return;

	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("cannot %s \"%s\" because it is %s", action, relname,
					relkind == RELKIND_VIEW ? "a view" :
					relkind == RELKIND_MATVIEW ? "a materialized view" :
					relkind == RELKIND_FOREIGN_TABLE ? "a foreign table" :
					relkind == RELKIND_INDEX ||
					relkind == RELKIND_PARTITIONED_INDEX ? "an index" :
					relkind == RELKIND_SEQUENCE ? "a sequence" :
					relkind == RELKIND_COMPOSITE_TYPE ? "a composite type" :
					"not a table"),
			 errdetail("Only ordinary and partitioned tables can be soft-deletable."),
			 relkind == RELKIND_VIEW ?
			 errhint("Enable the table the view reads from; deletes through an updatable view then become soft.") : 0));
}

/*
 * softdelete_check_stamp_writable refuses a stamp column that a soft
 * delete could not write: a generated column (DELETE would fail, or
 * restore could not clear it), or one that relid or a partitioned table
 * below it is partitioned on (the stamp is written by UPDATE ONLY on the
 * partition, which may not move the row).  automatic: the check is the
 * event trigger's, and the hint says how to create the table anyway.
 */
void
softdelete_check_stamp_writable(Oid relid, const char *column, bool automatic)
{
	AttrNumber	attnum = get_attnum(relid, column);
	char		generated;
	List	   *tree;
	ListCell   *lc;

	if (attnum <= 0)
		return;
	generated = softdelete_attribute(relid, attnum).attgenerated;
	if (generated != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of table \"%s\" is a generated column",
						column, get_rel_name(relid)),
				 errdetail("A soft delete writes the stamp into the column, and restore clears it."),
				 automatic ?
				 errhint("Make \"%s\" an ordinary column, or SET softdelete.auto_enable = off to create the table without soft delete.", column) :
				 errhint("Make \"%s\" an ordinary column, or name another one.", column)));

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return;
	tree = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, tree)
	{
		Oid			part = lfirst_oid(lc);
		Relation	rel;
		PartitionKey key;
		AttrNumber	partattnum;
		bool		keyed = false;
		int			i;
		ListCell   *lc2;

		if (get_rel_relkind(part) != RELKIND_PARTITIONED_TABLE)
			continue;
		partattnum = get_attnum(part, column);
		rel = table_open(part, NoLock);
		key = RelationGetPartitionKey(rel);
		for (i = 0; i < key->partnatts; i++)
			if (key->partattrs[i] == partattnum)
				keyed = true;
		foreach(lc2, key->partexprs)
		{
			Bitmapset  *attrs = NULL;

			pull_varattnos((Node *) lfirst(lc2), 1, &attrs);
			if (bms_is_member(partattnum - FirstLowInvalidHeapAttributeNumber, attrs))
				keyed = true;
		}
		table_close(rel, NoLock);
		if (keyed)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" is partitioned on soft-delete column \"%s\"",
							get_rel_name(part), column),
					 errdetail("A soft delete stamps rows where they are; it cannot move them to another partition."),
					 automatic ?
					 errhint("Partition on another column, or SET softdelete.auto_enable = off to create the table without soft delete.") :
					 errhint("Partition on another column.")));
	}
}

/*
 * softdelete_may_manage says whether the current user owns relid
 * (directly or through role membership) or has the privileges of
 * softdelete_admin: who may read the trash, restore, purge and so on.
 */
bool
softdelete_may_manage(Oid relid)
{
	Oid			userid = GetUserId();
	Oid			admin = get_role_oid(SOFTDELETE_ADMIN_ROLE, true);

	if (sd_class_ownercheck(relid, userid))
		return true;
	return OidIsValid(admin) && has_privs_of_role(userid, admin);
}

/*
 * softdelete_check_may_manage raises insufficient_privilege unless
 * softdelete_may_manage(relid).
 */
void
softdelete_check_may_manage(Oid relid, const char *action)
{
	if (softdelete_may_manage(relid))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s table \"%s\"", action,
					get_rel_name(relid)),
			 errdetail("Only the table's owner and members of role \"%s\" may do this.",
					   SOFTDELETE_ADMIN_ROLE),
			 errhint("Ask the table's owner, or an administrator to grant you role \"%s\".",
					 SOFTDELETE_ADMIN_ROLE)));
}

/*
 * pin_search_path opens a GUC nest level with search_path set to
 * pg_catalog, pg_temp; softdelete_restore_identity closes it.
 */
static int
pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * softdelete_become_owner switches to relid's owner, with row-level
 * security not forced on it, so that queries see every row as a
 * referential-integrity trigger would.  Restore with
 * softdelete_restore_identity; an error restores it anyway (transaction
 * abort resets the user id).
 */
void
softdelete_become_owner(Oid relid, SoftDeleteIdentity *saved)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&saved->saved_userid, &saved->saved_sec_context);
	SetUserIdAndSecContext(owner, saved->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	/* nothing run with the owner's rights resolves the caller's names */
	saved->guc_nestlevel = pin_search_path();
}

/*
 * softdelete_become_owner_to_write switches to the owner of rel, a table
 * about to get a row written straight through the executor (no SQL, no
 * defaults evaluated): only a trigger on rel could then resolve a name,
 * so the search_path is pinned only when rel has triggers.
 */
void
softdelete_become_owner_to_write(Relation rel, SoftDeleteIdentity *saved)
{
	GetUserIdAndSecContext(&saved->saved_userid, &saved->saved_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner, saved->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	saved->guc_nestlevel = rel->trigdesc != NULL ? pin_search_path() : -1;
}

/*
 * softdelete_become_extension_owner switches to the role that installed
 * the extension (a superuser), for the DDL that enable and disable run
 * on a table whose owner or admin asked for it.
 */
void
softdelete_become_extension_owner(SoftDeleteIdentity *saved)
{
	Oid			extoid = get_extension_oid("softdelete", false);
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extoid));
	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
		ReleaseSysCache(tup);
	}
	else
		owner = BOOTSTRAP_SUPERUSERID;

	GetUserIdAndSecContext(&saved->saved_userid, &saved->saved_sec_context);
	SetUserIdAndSecContext(owner, saved->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE);
	saved->guc_nestlevel = pin_search_path();
}

/*
 * softdelete_restore_identity undoes either switch.
 */
void
softdelete_restore_identity(SoftDeleteIdentity *saved)
{
	if (saved->guc_nestlevel >= 0)
		AtEOXact_GUC(true, saved->guc_nestlevel);
	SetUserIdAndSecContext(saved->saved_userid, saved->saved_sec_context);
}

/*
 * softdelete_arg_required raises null_value_not_allowed for a NULL argument.
 */
void
softdelete_arg_required(FunctionCallInfo fcinfo, int argno, const char *argname,
			const char *funcname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" of softdelete.%s() must not be NULL",
						argname, funcname)));
}

/*
 * softdelete_arg_table returns the OID of a regclass argument, checking that the
 * relation exists and (unless action is NULL) can be soft-deletable.
 */
Oid
softdelete_arg_table(FunctionCallInfo fcinfo, int argno, const char *funcname,
		  const char *action)
{
	Oid			relid;

	softdelete_arg_required(fcinfo, argno, "tbl", funcname);
	relid = PG_GETARG_OID(argno);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (action != NULL)
		softdelete_check_table_kind(relid, action);
	return relid;
}
