/*-------------------------------------------------------------------------
 *
 * softdelete.c
 *	  Module entry: the module magic and _PG_init, which registers the
 *	  cache-invalidation and transaction callbacks the other rooms need.
 *
 * Nothing here needs shared_preload_libraries: the library is loaded by
 * the first call of any of its functions or triggers in a backend, and
 * the callbacks are registered then.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/inval.h"

PG_MODULE_MAGIC;

/*
 * _PG_init registers, once per backend, the relcache callbacks that keep
 * our per-backend caches honest and the transaction callbacks that drop
 * rows collected by statements that did not finish.
 */
void
_PG_init(void)
{
	CacheRegisterRelcacheCallback(softdelete_registry_invalidate, (Datum) 0);
	CacheRegisterRelcacheCallback(softdelete_apply_invalidate, (Datum) 0);
	RegisterXactCallback(softdelete_pending_xact_callback, NULL);
	RegisterSubXactCallback(softdelete_pending_subxact_callback, NULL);
}
