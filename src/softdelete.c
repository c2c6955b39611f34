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
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

/* softdelete.auto_enable: the event trigger enables tables with deleted_at */
bool		softdelete_auto_enable = true;

/* softdelete.actor: who the application says is acting */
char	   *softdelete_actor = NULL;

/* softdelete.delete_as_update: preloaded, plan DELETEs as the stamping UPDATE */
bool		softdelete_delete_as_update = true;

/*
 * Whether this session has our hooks (the library is preloaded; set by
 * fidelity.c): only then are the rows a trigger skipped added to a
 * statement's count.
 */
bool		softdelete_preloaded = false;

/* Raised while the extension runs its own DDL; event triggers then stay out */
int			softdelete_ddl_depth = 0;

/*
 * _PG_init registers, once per backend, the relcache and syscache
 * callbacks that keep our per-backend caches honest (the registry, the
 * stamp plans, the foreign-key graph) and the transaction callbacks that
 * drop rows collected by statements that did not finish.  Registering
 * here, not at a cache's first use, means no invalidation is missed and
 * no callback slot is taken twice.
 */
void
_PG_init(void)
{
	DefineCustomBoolVariable("softdelete.auto_enable",
							 "Makes tables created or altered to have a deleted_at timestamptz column soft-deletable.",
							 "Only while row_security is on: pg_dump's scripts turn it off, so that a restore reproduces exactly what was dumped.",
							 &softdelete_auto_enable,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("softdelete.delete_as_update",
							 "Plans DELETE on a soft-deletable table as the UPDATE that soft-deletes the same rows.",
							 "Only with the library preloaded. Gives true row counts and RETURNING; off leaves DELETEs to the trigger path. Takes effect for statements planned after the change.",
							 &softdelete_delete_as_update,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("softdelete.actor",
							   "Who the application says is acting, recorded in softdelete.deletions.",
							   "Set it per request, as in SET LOCAL softdelete.actor = 'alice@example.com'. Taken when a transaction first soft-deletes a row.",
							   &softdelete_actor,
							   NULL,
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("softdelete");

	CacheRegisterRelcacheCallback(softdelete_registry_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(CONSTROID, softdelete_fkgraph_invalidate,
								  (Datum) 0);
	RegisterXactCallback(softdelete_xact_callback, NULL);
	RegisterSubXactCallback(softdelete_subxact_callback, NULL);
	softdelete_refcheck_init();	/* reference checks' caches */
	softdelete_install_hooks();
}
