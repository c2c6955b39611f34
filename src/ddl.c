/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  How the extension runs its own DDL (enable's triggers and policies,
 *	  unique_among_live's indexes): as the extension's owner with
 *	  search_path pinned, through SPI, with our own event triggers told to
 *	  stay out (softdelete_ddl_depth), and that depth put back when the DDL
 *	  fails.
 *
 * Every name put into the SQL text is quoted by the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "softdelete.h"

/*
 * begin_ddl and end_ddl bracket our DDL: the extension's owner, pinned
 * search_path, an SPI connection, and our event triggers told to stay out.
 * The caller runs the DDL under PG_TRY and calls abort_ddl when it fails:
 * an error caught by a PL/pgSQL EXCEPTION block must not leave our event
 * triggers out for the rest of the transaction.  (The subtransaction's
 * abort puts back the identity, the GUC nest level and SPI by itself.)
 */
int
softdelete_begin_ddl(SoftDeleteIdentity *saved)
{
	int			depth = softdelete_ddl_depth;

	softdelete_become_extension_owner(saved);
	softdelete_ddl_depth++;
	softdelete_spi_connect();
	return depth;
}

void
softdelete_end_ddl(SoftDeleteIdentity *saved)
{
	softdelete_spi_finish();
	softdelete_ddl_depth--;
	softdelete_restore_identity(saved);
}

void
softdelete_abort_ddl(int depth)
{
	softdelete_ddl_depth = depth;
}

/*
 * softdelete_run_ddl executes one utility statement; the caller is inside
 * begin_ddl.
 */
void
softdelete_run_ddl(const char *sql)
{
	(void) softdelete_spi_run(sql, 0, NULL, NULL, NULL, false, 0, 0);
}
