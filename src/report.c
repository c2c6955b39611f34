/*-------------------------------------------------------------------------
 *
 * report.c
 *	  The one reporter of foreign-key refusals, in the style of core's
 *	  ri_ReportViolation: SQLSTATE, a message naming the tables and the
 *	  constraint, the key shown only to a role that may read it, a hint,
 *	  and the schema, table and constraint fields drivers expose.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/table.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

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
 * softdelete_report_refusal raises the error for one kind of refusal
 * along edge; key is the referencing (or referenced) key as text, or
 * NULL when it is not known.
 */
void
softdelete_report_refusal(SoftDeleteRefusal kind, const FkEdge *edge,
						  const char *key)
{
	const char *parent = get_rel_name(edge->parent);
	const char *child = get_rel_name(edge->child);
	const char *conname = NameStr(edge->conname);

	switch (kind)
	{
		case SD_REFUSE_STILL_REFERENCED:
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("soft delete on table \"%s\" violates foreign key constraint \"%s\" on table \"%s\"",
							parent, conname, child),
					 errdetail("%s is still referenced from live rows of table \"%s\".",
							   key_phrase(edge, key), child),
					 errhint("Delete the referencing rows first, or declare the foreign key ON DELETE CASCADE."),
					 edge_constraint(edge)));
			break;
		case SD_REFUSE_CASCADE_NOT_SOFT:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot soft-delete rows of table \"%s\": foreign key \"%s\" would cascade into table \"%s\", which is not soft-deletable",
							parent, conname, child),
					 errdetail("%s is referenced from table \"%s\". Nothing was deleted.",
							   key_phrase(edge, key), child),
					 errhint("Call softdelete.enable('%s') too, so that the cascade is soft.",
							 softdelete_hint_name(edge->child)),
					 edge_constraint(edge)));
			break;
		case SD_REFUSE_REMOVE_CASCADE_NOT_SOFT:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot permanently remove rows of table \"%s\": foreign key \"%s\" would cascade into table \"%s\", which is not soft-deletable",
							parent, conname, child),
					 errdetail("%s is referenced from table \"%s\". Nothing was removed.",
							   key_phrase(edge, key), child),
					 edge_constraint(edge)));
			break;
		case SD_REFUSE_REMOVE_REFERENCED:
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("cannot permanently remove rows of table \"%s\": live rows of table \"%s\" reference them",
							parent, child),
					 errdetail("%s is referenced through foreign key \"%s\". Nothing was removed.",
							   key_phrase(edge, key), conname),
					 errhint("Delete or remove the referencing rows first."),
					 edge_constraint(edge)));
			break;
		case SD_REFUSE_RESTORE_ORPHAN:
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("cannot restore rows of table \"%s\" whose parent in table \"%s\" is in the trash",
							child, parent),
					 errdetail("%s of table \"%s\" is in the trash; foreign key \"%s\" references it. Nothing was restored.",
							   key_phrase(edge, key), parent, conname),
					 errhint("Restore the parent row first."),
					 edge_constraint(edge)));
			break;
		case SD_REFUSE_REFERENTIAL_ACTION:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot delete rows of table \"%s\": foreign key \"%s\" would cascade into soft-deletable table \"%s\"",
							parent, conname, child),
					 errdetail("The referenced rows would be gone for real while the referencing rows stay in the trash. Nothing was deleted."),
					 errhint("Call softdelete.enable('%s') too, so that deletes are soft all the way, or remove the referencing rows first.",
							 softdelete_hint_name(edge->parent)),
					 edge_constraint(edge)));
			break;
	}
	pg_unreachable();
}
