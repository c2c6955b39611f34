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
