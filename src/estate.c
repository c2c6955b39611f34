/*-------------------------------------------------------------------------
 *
 * estate.c
 *	  The executor state our row writers share: apply.c's stamping,
 *	  unstamping and removal, and journal.c's insert of an entry, write
 *	  rows as logical replication's apply does, through a result relation
 *	  in an executor state of their own.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/sysattr.h"
#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * softdelete_executor_state makes an executor state whose range table
 * holds rel alone, with the stamp column (if attnum > 0) as the updated
 * column, so that the table's "UPDATE OF column" triggers see what
 * changed; *rri is rel's result relation in it, opened.  The active
 * snapshot is the executor's.
 */
EState *
softdelete_executor_state(Relation rel, AttrNumber attnum, ResultRelInfo **rri)
{
	EState	   *estate = CreateExecutorState();
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	Bitmapset  *updated = NULL;

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	if (attnum > 0)
		updated = bms_make_singleton(attnum - FirstLowInvalidHeapAttributeNumber);
	compat_init_range_table(estate, rte, updated);
	*rri = makeNode(ResultRelInfo);
	InitResultRelInfo(*rri, rel, 1, NULL, 0);
	estate->es_opened_result_relations =
		lappend(estate->es_opened_result_relations, *rri);
	estate->es_output_cid = GetCurrentCommandId(true);
	estate->es_snapshot = GetActiveSnapshot();
	return estate;
}
