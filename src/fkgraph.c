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
 * its ancestors.  Callers get copies, since running SQL may process an
 * invalidation that frees the cache.
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

static MemoryContext graph_context = NULL;
static HTAB *graph = NULL;
static HTAB *views = NULL;
static bool callback_registered = false;

/*
 * invalidate_graph is the syscache callback on pg_constraint: any change
 * to any constraint drops the whole graph, to be rebuilt on next use.
 */
static void
invalidate_graph(Datum arg, int cacheid, uint32 hashvalue)
{
	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	if (graph_context != NULL)
		MemoryContextDelete(graph_context);
	graph_context = NULL;
	graph = NULL;
	views = NULL;
}

static FkNode *
node_for(Oid relid)
{
	bool		found;
	FkNode	   *node = hash_search(graph, &relid, HASH_ENTER, &found);

	if (!found)
	{
		node->incoming = NIL;
		node->outgoing = NIL;
	}
	return node;
}

/*
 * build_graph reads every top-level foreign key from pg_constraint.
 */
static void
build_graph(void)
{
	HASHCTL		ctl;
	Relation	conrel;
	SysScanDesc scan;
	HeapTuple	tup;
	MemoryContext old;

	if (!callback_registered)
	{
		CacheRegisterSyscacheCallback(CONSTROID, invalidate_graph, (Datum) 0);
		callback_registered = true;
	}

	graph_context = AllocSetContextCreate(CacheMemoryContext,
										  "softdelete foreign-key graph",
										  ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(FkNode);
	ctl.hcxt = graph_context;
	graph = hash_create("softdelete fk nodes", 128, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(FkView);
	views = hash_create("softdelete fk views", 128, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	old = MemoryContextSwitchTo(graph_context);
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	scan = systable_beginscan(conrel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		FkEdge	   *edge;
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
		node_for(edge->parent)->incoming =
			lappend(node_for(edge->parent)->incoming, edge);
		node_for(edge->child)->outgoing =
			lappend(node_for(edge->child)->outgoing, edge);
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	MemoryContextSwitchTo(old);
}

/*
 * view_for returns the foreign keys that concern rows of relid: those on
 * relid itself and, for a partition, those on its ancestors.
 */
static FkView *
view_for(Oid relid)
{
	FkView	   *view;
	bool		found;
	List	   *rels;
	List	   *incoming = NIL;
	List	   *outgoing = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (graph == NULL)
		build_graph();
	view = hash_search(views, &relid, HASH_FIND, NULL);
	if (view != NULL)
		return view;

	rels = list_make1_oid(relid);
	if (get_rel_relispartition(relid))
		rels = list_concat(rels, get_partition_ancestors(relid));

	old = MemoryContextSwitchTo(graph_context);
	foreach(lc, rels)
	{
		FkNode	   *node = hash_search(graph, &lfirst_oid(lc), HASH_FIND, NULL);

		if (node == NULL)
			continue;
		incoming = list_concat(incoming, node->incoming);
		outgoing = list_concat(outgoing, node->outgoing);
	}
	view = hash_search(views, &relid, HASH_ENTER, &found);
	view->incoming = incoming;
	view->outgoing = outgoing;
	MemoryContextSwitchTo(old);
	list_free(rels);
	return view;
}

/*
 * copy_edges copies a cached list of edges into the current memory
 * context: running SQL may process an invalidation that frees the cache.
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
 * this for every stamped table.
 */
bool
softdelete_fk_has_incoming(Oid relid)
{
	return view_for(relid)->incoming != NIL;
}
