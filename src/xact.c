/*-------------------------------------------------------------------------
 *
 * xact.c
 *	  Transaction state in one room: the transaction and subtransaction
 *	  callbacks, which call each concern's own end-of-transaction work.
 *
 * Before commit (and before PREPARE TRANSACTION, which must check what
 * COMMIT checks): rows collected without a statement trigger to stamp
 * them are soft-deleted, then the deferred NO ACTION checks run, then
 * the deletion's journal entry is written.  At
 * transaction end every concern forgets its per-transaction state.  A
 * subtransaction's abort takes the rows it collected with it.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "utils/snapmgr.h"

/*
 * softdelete_xact_callback is registered by _PG_init.
 */
void
softdelete_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			PushActiveSnapshot(GetTransactionSnapshot());
			softdelete_delete_pending();
			softdelete_check_deferred();
			softdelete_deletion_record();
			PopActiveSnapshot();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			softdelete_deletion_reset();
			softdelete_bypass_reset();
			softdelete_moving_reset();
			softdelete_fidelity_reset();
			softdelete_ddl_depth = 0;
			break;
		default:
			break;
	}
}

/*
 * softdelete_subxact_callback is registered by _PG_init.
 */
void
softdelete_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	(void) arg;
	if (event == SUBXACT_EVENT_ABORT_SUB || event == SUBXACT_EVENT_COMMIT_SUB)
		softdelete_deletion_subxact(event == SUBXACT_EVENT_COMMIT_SUB,
									mySubid, parentSubid);
}
