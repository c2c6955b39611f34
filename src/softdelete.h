/*-------------------------------------------------------------------------
 *
 * softdelete.h
 *	  The one shared header of the softdelete extension: the data that
 *	  flows between its rooms and the functions each room offers.
 *
 * Data flows one way: a DELETE enters intercept.c, which collects the
 * rows and hands them to apply.c to be stamped as one set per table.
 * The SQL functions in api.c enter from the other side.  registry.c
 * says which tables are soft-deletable, policy.c installs and removes
 * what enable() puts on a table, privileges.c checks who may do what
 * and switches identity.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SOFTDELETE_H
#define SOFTDELETE_H

#include "postgres.h"

#include "compat.h"

#include "access/attnum.h"
#include "access/xact.h"
#include "nodes/pg_list.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#define SOFTDELETE_SCHEMA			"softdelete"
#define SOFTDELETE_ADMIN_ROLE		"softdelete_admin"
#define SOFTDELETE_DEFAULT_COLUMN	"deleted_at"

/* Names of what enable() installs on a table */
#define SOFTDELETE_TRIG_ROW			"softdelete_before_delete"
#define SOFTDELETE_TRIG_STMT		"softdelete_after_delete"
#define SOFTDELETE_TRIG_MOVE		"softdelete_before_update"
#define SOFTDELETE_TRIG_TRUNCATE	"softdelete_before_truncate"
#define SOFTDELETE_POLICY_FILTER	"softdelete_filter"
#define SOFTDELETE_POLICY_ALLOW		"softdelete_allow"

/*
 * What the registry knows of one relation, as seen from that relation.
 * For a partition, "root" is the registered partitioned table whose
 * settings it follows; for a registered table, root == relid.
 */
typedef struct SoftDeleteTable
{
	Oid			relid;			/* the relation looked up (hash key) */
	Oid			root;			/* registered table it belongs to, or
								 * InvalidOid if not soft-deletable */
	AttrNumber	attnum;			/* the stamp column in relid */
	NameData	column_name;	/* the stamp column's name */
} SoftDeleteTable;

/* A registry row, as enable/disable read and write it */
typedef struct RegistryRow
{
	bool		found;
	NameData	column_name;
	bool		rls_was_enabled;
	bool		rls_was_forced;
} RegistryRow;

/* Rows of one relation */
typedef struct RowSet
{
	Oid			relid;
	int			n;
	ItemPointerData *tids;
} RowSet;

/* A foreign key, as fkgraph.c caches it */
typedef struct FkEdge
{
	Oid			conoid;
	NameData	conname;
	Oid			child;			/* referencing table (conrelid) */
	Oid			parent;			/* referenced table (confrelid) */
	int			nkeys;
	AttrNumber	child_attnums[INDEX_MAX_KEYS];
	AttrNumber	parent_attnums[INDEX_MAX_KEYS];
	Oid			pf_eq_op[INDEX_MAX_KEYS];	/* parent = child operators */
	char		del_action;		/* FKCONSTR_ACTION_xxx */
	bool		deferrable;
	bool		deferred;
} FkEdge;

/* Saved identity, for privileges.c's switch and restore */
typedef struct SoftDeleteIdentity
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nestlevel;
} SoftDeleteIdentity;

/* softdelete.c */
extern void _PG_init(void);
extern bool softdelete_auto_enable;
extern bool softdelete_delete_as_update;
extern int	softdelete_ddl_depth;

/* registry.c */
extern const SoftDeleteTable *softdelete_lookup(Oid relid);
extern RegistryRow softdelete_registry_read(Oid relid);
extern void softdelete_registry_insert(Oid relid, const char *column_name,
									   bool rls_was_enabled, bool rls_was_forced);
extern void softdelete_registry_delete(Oid relid);
extern void softdelete_registry_set_column(Oid relid, const char *column_name);
extern RegistryRow softdelete_partition_read(Oid relid, Oid *root);
extern void softdelete_partition_write(Oid relid, Oid root, bool rls_was_enabled,
									   bool rls_was_forced, bool insert);
extern List *softdelete_partitions_recorded(Oid root);
extern List *softdelete_oid_list(const char *sql, Oid param);
extern void softdelete_registry_invalidate(Datum arg, Oid relid);

/* privileges.c */
extern void softdelete_check_table_kind(Oid relid, const char *action);
extern void softdelete_check_may_manage(Oid relid, const char *action);
extern bool softdelete_may_manage(Oid relid);
extern void softdelete_check_stamp_writable(Oid relid, const char *column,
											bool automatic);
extern void softdelete_become_owner(Oid relid, SoftDeleteIdentity *saved);
extern void softdelete_become_extension_owner(SoftDeleteIdentity *saved);
extern void softdelete_restore_identity(SoftDeleteIdentity *saved);
extern char *softdelete_qualified_name(Oid relid);

/* intercept.c */
extern void softdelete_collect(Oid relid, ItemPointer tid);
extern bool softdelete_bypass_allows(Oid relid, ItemPointer tid);
extern void softdelete_bypass_push(const RowSet *rows);
extern void softdelete_bypass_pop(void);
extern bool softdelete_bypass_active(void);
extern void softdelete_pending_xact_callback(XactEvent event, void *arg);
extern void softdelete_pending_subxact_callback(SubXactEvent event,
												SubTransactionId mySubid,
												SubTransactionId parentSubid,
												void *arg);
extern void softdelete_flush_pending(void);

/* What apply.c does to a set of rows */
typedef enum SoftDeleteAction
{
	SD_STAMP,					/* soft-delete: set the stamp */
	SD_UNSTAMP,					/* restore: clear the stamp */
	SD_REMOVE					/* purge, hard_delete: delete for real */
} SoftDeleteAction;

/* deletion.c */
extern TimestampTz softdelete_deletion_stamp(void);

/* apply.c */
extern uint64 softdelete_rows_stamped;
extern uint64 softdelete_apply(const RowSet *set, SoftDeleteAction action,
							   TimestampTz stamp, RowSet *done);
extern void softdelete_stamp(Oid relid, ItemPointer tids, int ntids,
							 RowSet *stamped);

/* fkgraph.c */
extern List *softdelete_fk_incoming(Oid relid);
extern List *softdelete_fk_outgoing(Oid relid);
extern bool softdelete_fk_has_incoming(Oid relid);
extern void softdelete_fkgraph_invalidate(Datum arg, int cacheid,
										  uint32 hashvalue);

/* cascade.c */
extern void softdelete_delete_rows(Oid relid, ItemPointer tids, int ntids);
extern void softdelete_cascade_stamped(Oid relid, ItemPointer tids, int ntids);
extern uint64 softdelete_restore_rows(Oid relid, const char *cond, int nparams,
									  Oid *types, Datum *values);
extern uint64 softdelete_remove_rows(Oid relid, const char *cond, int nparams,
									 Oid *types, Datum *values);
extern void softdelete_check_deferred(void);
extern void softdelete_forget_deferred(void);

/* fidelity.c */
extern void softdelete_install_hooks(void);
extern void softdelete_forget_captured(void);
extern int64 softdelete_rows_collected;

/* policy.c */
extern void softdelete_install(Oid relid, const char *column_name,
							   const RegistryRow *prior);
extern bool softdelete_installed_fully(Oid relid, const RegistryRow *row);
extern const char *softdelete_missing_piece(Oid relid, const char *column_name,
											bool with_allow, bool is_partition);
extern void softdelete_uninstall(Oid relid, const RegistryRow *row);
extern void softdelete_sync_partitions(Oid root, const char *column_name,
									   bool only_new);

/* refcheck.c: the trash in referential integrity (issue 13) */
#define SOFTDELETE_TRIG_REFCHECK	"softdelete_reference_check"
extern void softdelete_refcheck_init(void);
extern void softdelete_refcheck_sync(Oid relid);

/* keys.c */
extern char *softdelete_key_condition(Oid relid, Oid keytype, Datum key,
									  int *nparams, Oid **paramtypes,
									  Datum **params);

#endif							/* SOFTDELETE_H */
