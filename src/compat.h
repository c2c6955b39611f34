/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL majors softdelete builds
 *	  against (15, 16, 17, 18), in one place, behind PG_VERSION_NUM.
 *
 * The rest of the source is written against PostgreSQL 15 and uses the
 * names below where a later major changed an interface; each name says
 * what it stands for on each side.  Tested on 15, 17 and 18 (see the
 * README's Compatibility section); 16 is built by the same guards (every
 * change below dates from 16 or 18) but cannot be had here with server
 * headers, so it is untested.
 *
 * Included by softdelete.h, right after postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SOFTDELETE_COMPAT_H
#define SOFTDELETE_COMPAT_H

#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "utils/relcache.h"

#if PG_VERSION_NUM < 150000
#error "softdelete needs PostgreSQL 15 or later"
#endif

/*
 * sd_class_ownercheck(relid, roleid): does roleid own relation relid
 * (directly or through membership)?  16 folded the per-class owner
 * checks into object_ownercheck().
 */
#if PG_VERSION_NUM >= 160000
#define sd_class_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define sd_class_ownercheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
#endif

/*
 * SD_RTE_UPDATED_COLS(query, rte): the set of columns an UPDATE on rte
 * assigns (an lvalue).  16 moved the permission fields of RangeTblEntry
 * (requiredPerms, checkAsUser, selectedCols, insertedCols, updatedCols)
 * into RTEPermissionInfo, listed in Query.rteperminfos.
 */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#define SD_RTE_UPDATED_COLS(query, rte) \
	(getRTEPermissionInfo((query)->rteperminfos, (rte))->updatedCols)
#else
#define SD_RTE_UPDATED_COLS(query, rte) ((rte)->updatedCols)
#endif

/*
 * SD_RTE_REQUIRED_PERMS(estate, rte): the privileges a running statement
 * needs on rte (the same move in 16: EState.es_rteperminfos).
 */
#if PG_VERSION_NUM >= 160000
#define SD_RTE_REQUIRED_PERMS(estate, rte) \
	(getRTEPermissionInfo((estate)->es_rteperminfos, (rte))->requiredPerms)
#else
#define SD_RTE_REQUIRED_PERMS(estate, rte) ((rte)->requiredPerms)
#endif

/*
 * SD_CASE_AT_ADD_COLUMN_RECURSE: the case label of the AlterTableType an
 * ALTER TABLE ... ADD COLUMN carries once it recurses to inheritance
 * children, up to 15; put it under "case AT_AddColumn:".  16 dropped the
 * *Recurse subtypes (AlterTableCmd.recurse says it instead), so it is
 * empty there.
 */
#if PG_VERSION_NUM >= 160000
#define SD_CASE_AT_ADD_COLUMN_RECURSE
#else
#define SD_CASE_AT_ADD_COLUMN_RECURSE case AT_AddColumnRecurse:
#endif

/*
 * SD_EXECUTE_ONCE_PARAM / SD_EXECUTE_ONCE_ARG: the last parameter of an
 * ExecutorRun hook, and the argument that passes it on.  18 removed
 * execute_once from ExecutorRun; write
 *		hook(QueryDesc *queryDesc, ScanDirection direction, uint64 count
 *			 SD_EXECUTE_ONCE_PARAM)
 *		standard_ExecutorRun(queryDesc, direction, count SD_EXECUTE_ONCE_ARG);
 */
#if PG_VERSION_NUM >= 180000
#define SD_EXECUTE_ONCE_PARAM
#define SD_EXECUTE_ONCE_ARG
#else
#define SD_EXECUTE_ONCE_PARAM	, bool execute_once
#define SD_EXECUTE_ONCE_ARG		, execute_once
#endif

/*
 * sd_primary_key_index(rel): the OID of rel's primary key index, or
 * InvalidOid.  18 made RelationGetPrimaryKeyIndex() say whether a
 * deferrable primary key will do; up to 17 it never returns a
 * deferrable one, so "false" keeps that meaning.
 */
#if PG_VERSION_NUM >= 180000
#define sd_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define sd_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/*
 * Executor pieces used by apply.c to write rows as logical replication's
 * apply does.
 */
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "parser/parse_relation.h"

/*
 * sd_epq_init(epqstate, estate): an EvalPlanQual state with no plan.  15
 * has EvalPlanQualInitExt for the resultRelations argument that 16 added
 * to EvalPlanQualInit.
 */
#if PG_VERSION_NUM >= 160000
#define sd_epq_init(epqstate, estate) \
	EvalPlanQualInit((epqstate), (estate), NULL, NIL, -1, NIL)
#else
#define sd_epq_init(epqstate, estate) \
	EvalPlanQualInitExt((epqstate), (estate), NULL, NIL, -1, NIL)
#endif

/*
 * SdUpdateIndexes: what table_tuple_update says of the indexes (a bool up
 * to 15; 16 made it TU_UpdateIndexes, with summarizing indexes apart);
 * sd_insert_index_tuples inserts the index entries of an updated row.
 */
#include "access/tableam.h"
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes SdUpdateIndexes;
#define SD_UPDATE_NO_INDEXES TU_None
#define sd_insert_index_tuples(rri, slot, estate, which) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL, \
						  (which) == TU_Summarizing)
#else
typedef bool SdUpdateIndexes;
#define SD_UPDATE_NO_INDEXES false
#define sd_insert_index_tuples(rri, slot, estate, which) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL)
#endif

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

/*
 * compat_check_insert_columns checks that the user may INSERT into the
 * columns attnums of the relation nsitem names, as COPY FROM does
 * (ExecCheckRTPerms on the RangeTblEntry up to 15, ExecCheckPermissions
 * on its RTEPermissionInfo from 16).
 */
static inline void
compat_check_insert_columns(ParseState *pstate, ParseNamespaceItem *nsitem,
							List *attnums)
{
	ListCell   *lc;
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *perm = nsitem->p_perminfo;

	perm->requiredPerms = ACL_INSERT;
	foreach(lc, attnums)
		perm->insertedCols = bms_add_member(perm->insertedCols,
											lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckPermissions(pstate->p_rtable, list_make1(perm), true);
#else
	RangeTblEntry *rte = nsitem->p_rte;

	rte->requiredPerms = ACL_INSERT;
	foreach(lc, attnums)
		rte->insertedCols = bms_add_member(rte->insertedCols,
										   lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);
#endif
}

/*
 * SD_COPY_PROGRAM_REFUSAL / SD_COPY_FILE_REFUSAL: the errmsg (and errdetail)
 * of PostgreSQL's refusal of COPY from a program or a file to a role
 * without pg_execute_server_program / pg_read_server_files, as DoCopy words
 * it; 16 reworded it.  Use inside ereport(ERROR, (errcode(...), ...)).
 */
#if PG_VERSION_NUM >= 160000
#define SD_COPY_PROGRAM_REFUSAL \
	errmsg("permission denied to COPY to or from an external program"), \
	errdetail("Only roles with privileges of the \"%s\" role may COPY to or from an external program.", \
			  "pg_execute_server_program")
#define SD_COPY_FILE_REFUSAL \
	errmsg("permission denied to COPY from a file"), \
	errdetail("Only roles with privileges of the \"%s\" role may COPY from a file.", \
			  "pg_read_server_files")
#else
#define SD_COPY_PROGRAM_REFUSAL \
	errmsg("must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program")
#define SD_COPY_FILE_REFUSAL \
	errmsg("must be superuser or have privileges of the pg_read_server_files role to COPY from a file")
#endif

/*
 * sd_root_to_child_map(leaf, estate): the map that converts a row of a
 * partitioned table to the row type of its partition leaf (NULL if none
 * is needed).  16 made it lazily built, behind ExecGetRootToChildMap.
 */
#if PG_VERSION_NUM >= 160000
#define sd_root_to_child_map(leaf, estate) ExecGetRootToChildMap((leaf), (estate))
#else
#define sd_root_to_child_map(leaf, estate) ((leaf)->ri_RootToPartitionMap)
#endif

/*
 * sd_check_index_constraints(rri, slot, estate, conflict, arbiters): the
 * speculative-insertion pre-check of ON CONFLICT.  18 added the TID of
 * the row being updated (NULL for an INSERT).
 */
#if PG_VERSION_NUM >= 180000
#define sd_check_index_constraints(rri, slot, estate, conflict, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflict), NULL, (arbiters))
#else
#define sd_check_index_constraints(rri, slot, estate, conflict, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflict), (arbiters))
#endif

#endif							/* SOFTDELETE_COMPAT_H */
