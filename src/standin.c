/*-------------------------------------------------------------------------
 *
 * standin.c
 *	  Plan nodes whose ExecProcNode an executor hook stands in for, for
 *	  the life of their query.
 *
 * ExecInitNode sets a node's ExecProcNode to ExecProcNodeFirst, which
 * calls the node's ExecProcNodeReal from its first row on; a hook that
 * replaces ExecProcNodeReal once ExecutorStart is done therefore sees
 * every row the node produces.  The stand-in finds the node's own
 * function, and the data its hook gave, by the node.  Each stand-in
 * lives in its query's memory and leaves the list when that memory goes
 * (normal end or error), through its reset callback.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "nodes/execnodes.h"
#include "utils/memutils.h"

typedef struct StandIn
{
	PlanState  *node;
	ExecProcNodeMtd real;		/* the node's own ExecProcNodeReal */
	void	   *arg;			/* the hook's data */
	MemoryContextCallback forget;	/* drops the stand-in with its query */
} StandIn;

/* The stand-ins of the running statements, newest first */
static List *stand_ins = NIL;

/*
 * forget_stand_in removes a stand-in from the list, when its query's
 * memory goes.
 */
static void
forget_stand_in(void *arg)
{
	stand_ins = list_delete_ptr(stand_ins, arg);
}

/*
 * softdelete_stand_in makes stand_in the ExecProcNodeReal of node, for
 * the life of its query; arg is handed back by softdelete_stood_in.  A
 * node has one stand-in at most: one that would stand in for itself
 * would call itself for ever (a hook may meet a node twice: PostgreSQL
 * lists a rule's ModifyTable both as the plan and as a secondary one),
 * so a second one is not taken.
 */
void
softdelete_stand_in(PlanState *node, ExecProcNodeMtd stand_in, void *arg)
{
	MemoryContext query = node->state->es_query_cxt;
	StandIn    *s;
	MemoryContext old;
	ListCell   *lc;

	foreach(lc, stand_ins)
	{
		if (((StandIn *) lfirst(lc))->node == node)
			return;
	}
	s = MemoryContextAllocZero(query, sizeof(StandIn));

	s->node = node;
	s->real = node->ExecProcNodeReal;
	s->arg = arg;
	s->forget.func = forget_stand_in;
	s->forget.arg = s;
	MemoryContextRegisterResetCallback(query, &s->forget);
	old = MemoryContextSwitchTo(TopMemoryContext);
	stand_ins = lcons(s, stand_ins);
	MemoryContextSwitchTo(old);
	node->ExecProcNodeReal = stand_in;
}

/*
 * softdelete_stood_in returns the own ExecProcNodeReal of a node a
 * stand-in took over, and sets *arg to the data its hook gave.
 */
ExecProcNodeMtd
softdelete_stood_in(PlanState *node, void **arg)
{
	ListCell   *lc;

	foreach(lc, stand_ins)
	{
		StandIn    *s = (StandIn *) lfirst(lc);

		if (s->node == node)
		{
			*arg = s->arg;
			return s->real;
		}
	}
	elog(ERROR, "softdelete: no stand-in for plan node %p", (void *) node);
	return NULL;
}
