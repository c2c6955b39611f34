/*-------------------------------------------------------------------------
 *
 * fkgraph.c
 *	  Who references whom: the foreign keys of the database, read from
 *	  pg_constraint once and cached per backend.
 *
 * pg_constraint has no index on the referenced table (confrelid), so the
 * whole graph is built in one scan, as heap_truncate_find_FKs does, and
 * kept until a syscache callback on pg_constraint says some constraint
 * changed.  Only top-level constraints (conparentid = 0) are kept: the
 * copies PostgreSQL makes for each partition of a partitioned table say
 * nothing new.  A partition answers for the foreign keys of itself and of
 * its ancestors.
 *
 * Invalidation may arrive at any catalog access (table_open, a syscache
 * miss, get_partition_ancestors), also in the middle of building or
 * reading the graph.  So the callback frees nothing: it only bumps a
 * generation counter.  The graph is built into a context of its own and
 * installed only if no invalidation arrived while it was read, else it is
 * thrown away and read again; the stale graph it replaces is freed then,
 * when nobody can be reading it.  Between installing (or finding) a valid
 * graph and copying the answer out, nothing touches the catalogs, and
 * callers get copies.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/partition.h"
#include "catalog/pg_constraint.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/* Per relation: the edges that reference it, and the edges it holds */
typedef struct FkNode
{
	Oid			relid;			/* hash key */
	List	   *incoming;		/* FkEdge *, this relation is the parent */
	List	   *outgoing;		/* FkEdge *, this relation is the child */
} FkNode;

/* Per relation, with ancestors folded in (what callers ask for) */
typedef struct FkView
{
	Oid			relid;			/* hash key */
	List	   *incoming;
	List	   *outgoing;
} FkView;

/* The installed graph: its context, its nodes, and the views made of it */
static MemoryContext graph_context = NULL;
static HTAB *graph = NULL;
static HTAB *views = NULL;

/*
 * Bumped by every invalidation of pg_constraint; graph_built_at is the
 * value it had when the installed graph started to be read.
 */
static uint64 graph_generation = 0;
static uint64 graph_built_at = 0;

/*
 * softdelete_fkgraph_invalidate is the syscache callback on pg_constraint
 * (registered in _PG_init): any change to any constraint makes the whole
 * graph stale.  It frees nothing, since it may run while the graph is
 * being built or read; the next use rebuilds it.
 */
void
softdelete_fkgraph_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	graph_generation++;
}

/*
 * graph_is_valid says whether a graph is installed and no invalidation
 * arrived since it started to be read.
 */
static bool
graph_is_valid(void)
{
	return graph != NULL && graph_built_at == graph_generation;
}

/*
 * node_for returns the node of relid in nodes, creating it empty.
 */
static FkNode *
node_for(HTAB *nodes, Oid relid)
{
	bool		found;
	FkNode	   *node = hash_search(nodes, &relid, HASH_ENTER, &found);

	if (!found)
	{
		node->incoming = NIL;
		node->outgoing = NIL;
	}
	return node;
}

/*
 * build_graph reads every top-level foreign key from pg_constraint into a
 * new context and installs it, freeing the stale graph.  It reads again
 * until no invalidation arrived during a read.  The new context hangs
 * under the caller's context while it is built, so that an error leaks
 * nothing into CacheMemoryContext.
 */
static void
build_graph(void)
{
	while (!graph_is_valid())
	{
		uint64		started_at = graph_generation;
		MemoryContext cxt;
		MemoryContext old;
		HTAB	   *nodes;
		HTAB	   *new_views;
		HASHCTL		ctl;
		Relation	conrel;
		SysScanDesc scan;
		HeapTuple	tup;

		cxt = AllocSetContextCreate(CurrentMemoryContext,
									"softdelete foreign-key graph",
									ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FkNode);
		ctl.hcxt = cxt;
		nodes = hash_create("softdelete fk nodes", 128, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		ctl.entrysize = sizeof(FkView);
		new_views = hash_create("softdelete fk views", 128, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

		/* table_open may process invalidations: nothing installed is used */
		conrel = table_open(ConstraintRelationId, AccessShareLock);
		old = MemoryContextSwitchTo(cxt);
		scan = systable_beginscan(conrel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
			FkEdge	   *edge;
			FkNode	   *node;
			Oid			pp_eq[INDEX_MAX_KEYS];
			Oid			ff_eq[INDEX_MAX_KEYS];

			if (con->contype != CONSTRAINT_FOREIGN || OidIsValid(con->conparentid))
				continue;

			edge = palloc0(sizeof(FkEdge));
			edge->conoid = con->oid;
			edge->conname = con->conname;
			edge->child = con->conrelid;
			edge->parent = con->confrelid;
			edge->del_action = con->confdeltype;
			edge->deferrable = con->condeferrable;
			edge->deferred = con->condeferred;
			DeconstructFkConstraintRow(tup, &edge->nkeys,
									   edge->child_attnums, edge->parent_attnums,
									   edge->pf_eq_op, pp_eq, ff_eq, NULL, NULL);
			node = node_for(nodes, edge->parent);
			node->incoming = lappend(node->incoming, edge);
			node = node_for(nodes, edge->child);
			node->outgoing = lappend(node->outgoing, edge);
		}
		systable_endscan(scan);
		MemoryContextSwitchTo(old);
		table_close(conrel, AccessShareLock);

		if (graph_generation != started_at)
		{
			/* a constraint changed while we read: read again */
			MemoryContextDelete(cxt);
			continue;
		}

		/* install; nobody holds a pointer into the stale graph */
		MemoryContextSetParent(cxt, CacheMemoryContext);
		if (graph_context != NULL)
			MemoryContextDelete(graph_context);
		graph_context = cxt;
		graph = nodes;
		views = new_views;
		graph_built_at = started_at;
	}
}

/*
 * view_for returns the foreign keys that concern rows of relid: those on
 * relid itself and, for a partition, those on its ancestors.  The result
 * points into the cache: the caller must copy what it needs before it
 * next touches the catalogs.
 */
static FkView *
view_for(Oid relid)
{
	FkView	   *view;
	List	   *rels;
	List	   *incoming = NIL;
	List	   *outgoing = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (graph_is_valid())
	{
		view = hash_search(views, &relid, HASH_FIND, NULL);
		if (view != NULL)
			return view;
	}

	/*
	 * The ancestors first: reading them may process invalidations, so it
	 * is done before the graph is made valid and read.
	 */
	rels = list_make1_oid(relid);
	if (get_rel_relispartition(relid))
		rels = list_concat(rels, get_partition_ancestors(relid));

	build_graph();

	/* from here on, no catalog access until the caller has copied */
	old = MemoryContextSwitchTo(graph_context);
	foreach(lc, rels)
	{
		FkNode	   *node = hash_search(graph, &lfirst_oid(lc), HASH_FIND, NULL);

		if (node == NULL)
			continue;
		incoming = list_concat(incoming, node->incoming);
		outgoing = list_concat(outgoing, node->outgoing);
	}
	view = hash_search(views, &relid, HASH_ENTER, NULL);
	view->incoming = incoming;
	view->outgoing = outgoing;
	MemoryContextSwitchTo(old);
	list_free(rels);
	return view;
}

/*
 * copy_edges copies a cached list of edges into the current memory
 * context: once the caller touches the catalogs again, an invalidation
 * may make the graph stale, and the next rebuild frees it.
 */
static List *
copy_edges(List *edges)
{
	List	   *copy = NIL;
	ListCell   *lc;

	foreach(lc, edges)
	{
		FkEdge	   *edge = palloc(sizeof(FkEdge));

		memcpy(edge, lfirst(lc), sizeof(FkEdge));
		copy = lappend(copy, edge);
	}
	return copy;
}

/*
 * softdelete_fk_incoming lists the foreign keys whose referenced table is
 * relid or one of its partitioned ancestors, as a fresh copy.
 */
List *
softdelete_fk_incoming(Oid relid)
{
	return copy_edges(view_for(relid)->incoming);
}

/*
 * softdelete_fk_outgoing lists the foreign keys held by relid or one of
 * its partitioned ancestors, as a fresh copy.
 */
List *
softdelete_fk_outgoing(Oid relid)
{
	return copy_edges(view_for(relid)->outgoing);
}

/*
 * softdelete_fk_has_incoming says whether any foreign key references
 * relid (or its ancestors), without copying anything: the hot path asks
 * this for every stamped table.  The view is read before anything else
 * can run.
 */
bool
softdelete_fk_has_incoming(Oid relid)
{
	return view_for(relid)->incoming != NIL;
}
