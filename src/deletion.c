/*-------------------------------------------------------------------------
 *
 * deletion.c
 *	  The deletion of this transaction: the stamp that every row it
 *	  soft-deletes carries.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

#include "access/xact.h"

/*
 * softdelete_deletion_stamp returns the stamp of this transaction's
 * deletion: the transaction's start time.
 */
TimestampTz
softdelete_deletion_stamp(void)
{
	return GetCurrentTransactionStartTimestamp();
}
