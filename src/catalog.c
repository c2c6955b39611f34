/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Small catalog services the rooms share: a scan of a system catalog
 *	  for the rows that describe one table, and the hash tables keyed by
 *	  an OID that the caches are made of.
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
	Oid			funcoid = LookupFuncName(list_make2(makeString(SOFTDELETE_SCHEMA),
													makeString(pstrdup(function))),
										 0, NULL, false);
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	SysScanDesc scan = softdelete_scan_of_table(tgrel, TriggerRelidNameIndexId,
												Anum_pg_trigger_tgrelid, relid);
	HeapTuple	tup;
	char	   *found = NULL;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

		if (trig->tgfoid != funcoid || trig->tgtype != tgtype ||
			trig->tgisinternal || !heap_attisnull(tup, Anum_pg_trigger_tgqual, NULL) ||
			(own_only && OidIsValid(trig->tgparentid)))
			continue;
		if (found == NULL || strcmp(NameStr(trig->tgname), name) == 0)
		{
			found = pstrdup(NameStr(trig->tgname));
			if (enabled != NULL)
				*enabled = (trig->tgenabled == TRIGGER_FIRES_ON_ORIGIN ||
							trig->tgenabled == TRIGGER_FIRES_ALWAYS);
		}
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return found;
}
