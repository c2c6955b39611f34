/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  PostgreSQL version differences, in one place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SOFTDELETE_COMPAT_H
#define SOFTDELETE_COMPAT_H

#include "postgres.h"

#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "parser/parse_relation.h"

/*
 * compat_init_range_table gives estate a range table of one relation,
 * rte, whose updated columns are "updated" (RangeTblEntry.updatedCols
 * up to 15, RTEPermissionInfo from 16).
 */
static inline void
compat_init_range_table(EState *estate, RangeTblEntry *rte, Bitmapset *updated)
{
#if PG_VERSION_NUM >= 160000
	List	   *perminfos = NIL;
	RTEPermissionInfo *perminfo = addRTEPermissionInfo(&perminfos, rte);

	perminfo->requiredPerms = ACL_UPDATE;
	perminfo->updatedCols = updated;
#if PG_VERSION_NUM >= 180000
	ExecInitRangeTable(estate, list_make1(rte), perminfos,
					   bms_make_singleton(1));
#else
	ExecInitRangeTable(estate, list_make1(rte), perminfos);
#endif
#else
	rte->requiredPerms = ACL_UPDATE;
	rte->updatedCols = updated;
	ExecInitRangeTable(estate, list_make1(rte));
#endif
}

#endif							/* SOFTDELETE_COMPAT_H */
