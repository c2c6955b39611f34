/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Small catalog services the rooms share: a scan of a system catalog
 *	  for the rows that describe one table (and the search of one such
 *	  row, a trigger or a policy of ours), and the hash tables keyed by an
 *	  OID that the caches are made of.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"

/*
 * softdelete_scan_of_table begins a scan of catalog (opened by the
 * caller) through its index indexid for the rows whose OID column attno
 * equals relid: a table's triggers, its policies.  The caller reads it
 * with systable_getnext and ends it with systable_endscan.
 */
SysScanDesc
softdelete_scan_of_table(Relation catalog, Oid indexid, AttrNumber attno, Oid relid)
{
	ScanKeyData *key = palloc(sizeof(ScanKeyData));

	ScanKeyInit(key, attno, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	return systable_beginscan(catalog, indexid, true, NULL, 1, key);
}

/*
 * softdelete_oid_hash creates a hash table in cxt whose entries, of
 * entrysize bytes, start with their OID key.
 */
HTAB *
softdelete_oid_hash(const char *name, long nelem, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * softdelete_attribute returns a copy of the fixed part of the
 * pg_attribute row of relid's column attnum, which must exist.
 */
FormData_pg_attribute
softdelete_attribute(Oid relid, AttrNumber attnum)
{
	FormData_pg_attribute att;
	HeapTuple	tup = SearchSysCacheAttNum(relid, attnum);

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u",
			 attnum, relid);
	memset(&att, 0, sizeof(att));
	memcpy(&att, GETSTRUCT(tup), ATTRIBUTE_FIXED_PART_SIZE);
	ReleaseSysCache(tup);
	return att;
}

/*
 * softdelete_find_preferred scans the rows of catalog that describe relid
 * (through index, on the OID column keyattr) and returns a copy of one
 * that match accepts (arg is match's), preferring one whose name (the
 * name column nameattr) is preferred; NULL if none is accepted.
 */
HeapTuple
softdelete_find_preferred(Oid catalog, Oid index, AttrNumber keyattr, Oid relid,
						  AttrNumber nameattr, const char *preferred,
						  CatalogRowMatch match, void *arg)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	SysScanDesc scan = softdelete_scan_of_table(rel, index, keyattr, relid);
	HeapTuple	tup;
	HeapTuple	found = NULL;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Name		name;

		if (!match(tup, desc, arg))
			continue;
		name = DatumGetName(heap_getattr(tup, nameattr, desc, &isnull));
		if (found == NULL || strcmp(NameStr(*name), preferred) == 0)
			found = heap_copytuple(tup);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* what softdelete_find_trigger looks for */
typedef struct WantedTrigger
{
	Oid			funcoid;
	int16		tgtype;
	bool		own_only;
} WantedTrigger;

/*
 * is_wanted_trigger says whether a pg_trigger row runs the wanted
 * function with the wanted type, has no WHEN and is not internal (nor,
 * with own_only, cloned from a partitioned parent).
 */
static bool
is_wanted_trigger(HeapTuple tup, TupleDesc desc, void *arg)
{
	const WantedTrigger *wanted = (const WantedTrigger *) arg;
	Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

	return trig->tgfoid == wanted->funcoid && trig->tgtype == wanted->tgtype &&
		!trig->tgisinternal && heap_attisnull(tup, Anum_pg_trigger_tgqual, desc) &&
		!(wanted->own_only && OidIsValid(trig->tgparentid));
}

/*
 * softdelete_find_trigger returns the name of a trigger of relid that runs
 * softdelete.<function>() with type tgtype and no WHEN (preferring one
 * named name), or NULL; *enabled says whether it fires
 * in ordinary sessions.  With own_only, a trigger cloned from a
 * partitioned parent does not count (it cannot be dropped on its own).
 */
char *
softdelete_find_trigger(Oid relid, const char *function, int16 tgtype,
						const char *name, bool own_only, bool *enabled)
{
	WantedTrigger wanted;
	HeapTuple	tup;
	Form_pg_trigger trig;

	wanted.funcoid = LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
											   makeString(pstrdup(function))),
									0, NULL, false);
	wanted.tgtype = tgtype;
	wanted.own_only = own_only;
	tup = softdelete_find_preferred(TriggerRelationId, TriggerRelidNameIndexId,
									Anum_pg_trigger_tgrelid, relid,
									Anum_pg_trigger_tgname, name,
									is_wanted_trigger, &wanted);
	if (tup == NULL)
		return NULL;
	trig = (Form_pg_trigger) GETSTRUCT(tup);
	if (enabled != NULL)
		*enabled = (trig->tgenabled == TRIGGER_FIRES_ON_ORIGIN ||
					trig->tgenabled == TRIGGER_FIRES_ALWAYS);
	return pstrdup(NameStr(trig->tgname));
}
