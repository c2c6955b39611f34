/*-------------------------------------------------------------------------
 *
 * softdelete.h
 *	  The one shared header of the softdelete extension: the map of its
 *	  rooms, the data that flows between them, and what each room offers.
 *
 * Layers, top to bottom (a room calls only rooms of its layer or below
 * it, and no files call each other in a circle):
 *
 *	entries		softdelete.c (_PG_init, GUCs), xact.c (transaction
 *				callbacks), api.c (SQL functions), retention.c
 *				(set_retention, purge_expired), unique.c and
 *				unique_put_back.c (unique_among_live, and disable's side of
 *				it), intercept.c (DELETE triggers), fidelity.c
 *				(planner/executor hooks), event.c (event triggers);
 *				preloaded only: upsert.c (INSERT ...
 *				ON CONFLICT meeting the trash, executor-start hook) and
 *				copyfrom.c (COPY FROM under our row-level security,
 *				utility hook)
 *	flows		cascade.c (soft delete and its FK checks), restore.c,
 *				remove.c (purge, hard_delete, the bypass), policy.c (what
 *				enable installs), flags.c (boolean flags: their checks at
 *				enable, their constraint, their UPDATE triggers), refcheck.c
 *				(the reference check) and refcheck_sync.c (where its
 *				triggers go)
 *	services	apply.c (write a set of rows as the caller), run.c (SQL
 *				run on a table's behalf, as its owner), ddl.c (our own
 *				DDL, as the extension's owner), report.c (the foreign-key
 *				refusals), keys.c (row selectors), deletion.c (this
 *				transaction's deletion), journal.c (the deletions journal
 *				and unique stamps)
 *	state		registry.c and fkgraph.c (caches), privileges.c (who may,
 *				identity, argument checks)
 *	plumbing	spi.c (SPI checked, row readers, a step tried in a
 *				subtransaction), catalog.c (catalog scans, our triggers
 *				and policies found by what they are, OID hashes),
 *				estate.c (the executor state our row writers share),
 *				standin.c (a plan node's ExecProcNode taken over)
 *
 * The flow of a DELETE: intercept.c's row trigger adds each row's TID to
 * the deletion (softdelete_deletion_collect) and keeps it; the statement
 * trigger calls softdelete_delete_pending (cascade.c), which takes the
 * rows as one RowSet per table and, for each, softdelete_delete_rows:
 * softdelete_apply (apply.c) stamps the set and returns the new TIDs,
 * and cascade_from follows the foreign keys level by level (rows found
 * by run.c, stamped by apply.c).  Preloaded, fidelity.c plans the DELETE
 * as the stamping UPDATE, whose stamp() notes each row in the deletion
 * (softdelete_deletion_note_stamped); the executor-finish hook takes them
 * (softdelete_deletion_take_noted) and hands them to
 * softdelete_cascade_stamped.  At commit xact.c stamps what is left and
 * runs the deferred checks.  An UPDATE that sets a table's flag to its
 * trashed value (flags.c) is collected like a DELETE's row and stamped by
 * the flag's AFTER UPDATE statement trigger; apply.c writes the flag with
 * the stamp, and the constraint softdelete_flag_in_step holds them together.
 *
 * The flow of an API call: api.c checks arguments and privileges, turns
 * the key into a RowSelector (keys.c), and calls restore.c or remove.c,
 * which find the rows through run.c and write them through apply.c.
 *
 * Caches and their lifetimes: registry.c's lookups and fkgraph.c's
 * graph, and refcheck.c's checks with their kept plans, live in
 * CacheMemoryContext for the backend's life, invalidated
 * by relcache/syscache callbacks registered in _PG_init; callers get
 * copies, never pointers into a cache.  deletion.c's state, remove.c's
 * bypass stack and intercept.c's noted move live for one transaction
 * (xact.c resets them).  fidelity.c's executor depth is per statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SOFTDELETE_H
#define SOFTDELETE_H

#include "postgres.h"

#include "compat.h"

#include "access/attnum.h"
#include "access/genam.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "storage/itemptr.h"
#include "utils/hsearch.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

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
	AttrNumber	flag_attnum;	/* the flag column in relid, or 0 (issue 12) */
	bool		flag_live_value;	/* the flag's value on live rows */
} SoftDeleteTable;

/* A registry row, as enable/disable read and write it */
typedef struct RegistryRow
{
	bool		found;
	NameData	column_name;
	bool		rls_was_enabled;
	bool		rls_was_forced;
	NameData	flag_name;		/* live_flag or deleted_flag, or "" */
	bool		flag_live_value;	/* true for a live_flag */
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
extern char *softdelete_actor;
extern int	softdelete_ddl_depth;
extern bool softdelete_preloaded;

/* registry.c */
extern const SoftDeleteTable *softdelete_lookup(Oid relid);
extern RegistryRow softdelete_registry_read(Oid relid);
extern void softdelete_registry_insert(Oid relid, const char *column_name,
									   bool rls_was_enabled, bool rls_was_forced);
extern void softdelete_registry_delete(Oid relid);
extern void softdelete_registry_set_column(Oid relid, const char *column_name);
extern void softdelete_registry_set_flag(Oid relid, const char *flag_name,
										 bool live_value);
extern RegistryRow softdelete_partition_read(Oid relid, Oid *root);
extern void softdelete_partition_write(Oid relid, Oid root, bool rls_was_enabled,
									   bool rls_was_forced, bool insert);
extern List *softdelete_partitions_recorded(Oid root);
extern List *softdelete_oid_list(const char *sql, Oid param);
extern void softdelete_registry_invalidate(Datum arg, Oid relid);
extern const SoftDeleteTable *softdelete_require_root(Oid relid,
													  const char *partition_detail,
													  const char *partition_hint);

/* privileges.c */
extern void softdelete_check_table_kind(Oid relid, const char *action);
extern void softdelete_arg_required(FunctionCallInfo fcinfo, int argno,
									const char *argname, const char *funcname);
extern Oid	softdelete_arg_table(FunctionCallInfo fcinfo, int argno,
								 const char *funcname, const char *action);
extern void softdelete_check_may_manage(Oid relid, const char *action);
extern bool softdelete_may_manage(Oid relid);
extern void softdelete_check_stamp_writable(Oid relid, const char *column,
											bool automatic);
extern void softdelete_become_owner(Oid relid, SoftDeleteIdentity *saved);
extern void softdelete_become_owner_to_write(Relation rel, SoftDeleteIdentity *saved);
extern void softdelete_become_extension_owner(SoftDeleteIdentity *saved);
extern void softdelete_restore_identity(SoftDeleteIdentity *saved);
extern char *softdelete_qualified_name(Oid relid);
extern char *softdelete_hint_name(Oid relid);

/* A condition naming rows of one table, on its own (unqualified) columns */
typedef struct RowSelector
{
	char	   *condition;		/* SQL, parameters $1..$nparams */
	int			nparams;
	Oid		   *types;
	Datum	   *values;
} RowSelector;

/* Keys of a set of rows, one array per key column */
typedef struct KeyArrays
{
	int			nkeys;
	int			nrows;
	Oid			arraytypes[INDEX_MAX_KEYS];
	Datum		arrays[INDEX_MAX_KEYS];
} KeyArrays;

/* What apply.c does to a set of rows */
typedef enum SoftDeleteAction
{
	SD_STAMP,					/* soft-delete: set the stamp */
	SD_UNSTAMP,					/* restore: clear the stamp */
	SD_REMOVE					/* purge, hard_delete: delete for real */
} SoftDeleteAction;

/* Which rows of a child table run.c selects */
typedef enum SoftDeleteRowState
{
	SD_ROWS_LIVE,
	SD_ROWS_TRASHED,
	SD_ROWS_STAMPED,			/* trashed with a given stamp */
	SD_ROWS_ANY					/* live or trashed */
} SoftDeleteRowState;

/* The refusals report.c raises */
typedef enum SoftDeleteRefusal
{
	SD_REFUSE_STILL_REFERENCED,	/* RESTRICT / NO ACTION after a soft delete */
	SD_REFUSE_CASCADE_NOT_SOFT, /* soft cascade into a plain table */
	SD_REFUSE_REMOVE_CASCADE_NOT_SOFT,	/* removal cascading into a plain table */
	SD_REFUSE_REMOVE_REFERENCED,	/* removal with live referencing rows */
	SD_REFUSE_RESTORE_ORPHAN,	/* restore under a trashed parent */
	SD_REFUSE_REFERENTIAL_ACTION	/* core's ON DELETE CASCADE into the trash */
} SoftDeleteRefusal;

/* run.c: flags of softdelete_run_as_owner */
#define SD_RUN_GENERIC_PLAN		0x01	/* plan without looking at the values */
#define SD_RUN_LATEST			0x02	/* latest committed state, as RI checks */
#define SD_RUN_EXTENSION_OWNER	0x04	/* as the extension's owner (its tables) */

typedef void (*SoftDeleteReader) (SPITupleTable *tuptable, uint64 nrows, void *out);

/* xact.c */
extern void softdelete_xact_callback(XactEvent event, void *arg);
extern void softdelete_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
										SubTransactionId parentSubid, void *arg);

/* intercept.c */
extern void softdelete_moving_reset(void);

/* deletion.c */
extern TimestampTz softdelete_deletion_stamp(void);
extern void softdelete_deletion_collect(Oid relid, ItemPointer tid);
extern List *softdelete_deletion_take_to_stamp(void);
extern void softdelete_deletion_note_stamped(Oid relid, ItemPointer tid, int depth);
extern List *softdelete_deletion_take_noted(int min_depth);
extern int64 softdelete_deletion_swap_collected(int64 collected);
extern void softdelete_deletion_count_stamped(Oid relid, uint64 rows);
extern uint64 softdelete_deletion_rows_stamped(void);
extern void softdelete_deletion_defer_check(const FkEdge *edge);
extern List *softdelete_deletion_take_deferred(void);
extern void softdelete_deletion_subxact(bool commit, SubTransactionId mySubid,
										SubTransactionId parentSubid);
extern void softdelete_deletion_record(void);
extern void softdelete_deletion_reset(void);

/* journal.c: an entry of softdelete.deletions, as undo reads it */
typedef struct JournalEntry
{
	bool		found;
	TimestampTz stamp;
	List	   *tables;			/* OIDs */
	int64	   *table_rows;		/* rows stamped per table, in that order */
} JournalEntry;

/*
 * Rows of one deletion (its stamp) that a restore brought back in one
 * soft-deletable table (a partition's count for its partitioned table).
 * Once they are as many as the deletion stamped there, as its journal
 * entry says, nothing of it is left in that table.
 */
typedef struct RestoredRows
{
	TimestampTz stamp;
	Oid			table;
	uint64		rows;
} RestoredRows;

extern TimestampTz softdelete_journal_choose_stamp(TimestampTz start);
extern void softdelete_journal_record(TimestampTz stamp, Oid deleted_by,
									  const char *actor, uint64 rows, int ntables,
									  Oid *tables, int64 *table_rows);
extern JournalEntry softdelete_journal_entry(int64 id);
extern bool softdelete_journal_all_back(const List *restored_rows,
										const JournalEntry *entry, int index);
extern void softdelete_journal_forget_emptied(Oid relid, TimestampTz from,
											  TimestampTz to,
											  const List *restored_rows);
extern void softdelete_journal_forget(TimestampTz stamp);

/* apply.c */
extern uint64 softdelete_apply(const RowSet *set, SoftDeleteAction action,
							   TimestampTz stamp, RowSet *done);
extern uint64 softdelete_apply_unmoved(const RowSet *set, SoftDeleteAction action,
									   TimestampTz stamp, RowSet *done,
									   RowSet *moved);
extern List *softdelete_apply_sets(List *sets, SoftDeleteAction action,
								   TimestampTz stamp, uint64 *count);
extern void softdelete_stamp(Oid relid, ItemPointer tids, int ntids,
							 RowSet *stamped);

/* estate.c */
extern struct EState *softdelete_executor_state(Relation rel, AttrNumber attnum,
											   struct ResultRelInfo **rri);

/* catalog.c */
extern SysScanDesc softdelete_scan_of_table(Relation catalog, Oid indexid,
											AttrNumber attno, Oid relid);
extern HTAB *softdelete_oid_hash(const char *name, long nelem, Size entrysize,
								 MemoryContext cxt);
extern FormData_pg_attribute softdelete_attribute(Oid relid, AttrNumber attnum);
typedef bool (*CatalogRowMatch) (HeapTuple tup, TupleDesc desc, void *arg);
extern HeapTuple softdelete_find_preferred(Oid catalog, Oid index, AttrNumber keyattr,
										   Oid relid, AttrNumber nameattr,
										   const char *preferred,
										   CatalogRowMatch match, void *arg);
extern char *softdelete_find_trigger(Oid relid, const char *function, int16 tgtype,
									 const char *name, bool own_only, bool *enabled);

/* spi.c */
extern void softdelete_spi_connect(void);
extern void softdelete_spi_finish(void);
extern uint64 softdelete_spi_run(const char *sql, int nargs, Oid *types,
								 Datum *values, const char *nulls,
								 bool read_only, long count, int expect);
extern ErrorData *softdelete_try(void (*step) (void *arg), void *arg);
typedef void (*SoftDeleteRowReader) (HeapTuple tup, TupleDesc desc, void *state);
extern uint64 softdelete_spi_rows(const char *sql, int nargs, Oid *types,
								  Datum *values, bool read_only,
								  MemoryContext into, SoftDeleteRowReader reader,
								  void *state);

/* run.c */
extern uint64 softdelete_run_as_owner(Oid relid, const char *sql, int nargs,
									  Oid *types, Datum *values, int expected,
									  SoftDeleteReader reader, void *out, int flags);
extern void softdelete_read_rowsets(SPITupleTable *tuptable, uint64 nrows, void *out);
extern void softdelete_read_keys(SPITupleTable *tuptable, uint64 nrows, void *out);
extern void softdelete_read_first_text(SPITupleTable *tuptable, uint64 nrows, void *out);
extern void softdelete_read_stamps(SPITupleTable *tuptable, uint64 nrows, void *out);
extern Datum softdelete_tid_array(const RowSet *set);
extern void softdelete_append_columns(StringInfo buf, Oid relid,
									  const AttrNumber *attnums, int n,
									  const char *prefix, const char *sep);
extern bool softdelete_fetch_keys(const RowSet *set, Oid names_rel,
								  const AttrNumber *attnums, int n, KeyArrays *keys);
extern void softdelete_append_key_match(StringInfo buf, const FkEdge *edge,
										int first_param, const char *alias,
										bool child_keys);
extern bool softdelete_edge_keys(const RowSet *set, const FkEdge *edge,
								 bool from_parent, KeyArrays *keys);
extern char *softdelete_find_live_child(const FkEdge *edge, KeyArrays *keys);
extern List *softdelete_select_children(const FkEdge *edge, KeyArrays *keys,
										SoftDeleteRowState state, TimestampTz stamp,
										uint64 limit);
extern List *softdelete_write_children(const FkEdge *edge, KeyArrays *keys,
									   SoftDeleteRowState state, TimestampTz stamp,
									   SoftDeleteAction action, uint64 *count);
extern char *softdelete_first_trashed_parent(const FkEdge *edge, KeyArrays *keys);
extern bool softdelete_stamp_left(Oid relid, TimestampTz stamp);
extern void softdelete_read_rows_as_owner(Oid relid, const char *sql,
										  Tuplestorestate *store);

/* report.c */
extern void softdelete_report_refusal(SoftDeleteRefusal kind, const FkEdge *edge,
									  const char *key);

/* fkgraph.c */
extern List *softdelete_fk_incoming(Oid relid);
extern List *softdelete_fk_outgoing(Oid relid);
extern bool softdelete_fk_has_incoming(Oid relid);
extern void softdelete_fkgraph_invalidate(Datum arg, int cacheid,
										  uint32 hashvalue);

/* cascade.c */
extern void softdelete_delete_pending(void);
extern void softdelete_delete_rows(Oid relid, ItemPointer tids, int ntids);
extern void softdelete_cascade_stamped(Oid relid, ItemPointer tids, int ntids);
extern void softdelete_check_deferred(void);

/* restore.c */
extern uint64 softdelete_restore_rows(Oid relid, const RowSelector *sel);
extern uint64 softdelete_restore_deletion(const JournalEntry *entry);
extern bool softdelete_revive_row(Oid relid, ItemPointer tid, TimestampTz stamp);

/* remove.c */
extern uint64 softdelete_remove_rows(Oid relid, const RowSelector *sel,
									 bool cascade);
extern uint64 softdelete_remove_rows_limited(Oid relid, const RowSelector *sel,
											 uint64 limit, ItemPointer resume);
extern bool softdelete_bypass_allows(Oid relid, ItemPointer tid);
extern void softdelete_bypass_push(const RowSet *rows);
extern void softdelete_bypass_pop(void);
extern bool softdelete_bypass_active(void);
extern void softdelete_bypass_reset(void);

/* fidelity.c */
extern void softdelete_install_hooks(void);
extern void softdelete_fidelity_reset(void);
extern void softdelete_fidelity_count_cte_deletes(EState *estate);

/* standin.c: a plan node's ExecProcNode taken over for its query */
extern void softdelete_stand_in(PlanState *node, ExecProcNodeMtd stand_in, void *arg);
extern ExecProcNodeMtd softdelete_stood_in(PlanState *node, void **arg);

/* upsert.c: INSERT ... ON CONFLICT meeting a trashed row (preloaded) */
extern void softdelete_upsert_install_hook(void);

/* copyfrom.c: COPY FROM into a soft-deletable table (preloaded) */
extern void softdelete_copy_install_hook(void);

/* ddl.c */
extern int	softdelete_begin_ddl(SoftDeleteIdentity *saved);
extern void softdelete_end_ddl(SoftDeleteIdentity *saved);
extern void softdelete_abort_ddl(int depth);
extern void softdelete_run_ddl(const char *sql);

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
extern RowSelector *softdelete_select_by_key(Oid relid, Oid keytype, Datum key);
extern RowSelector *softdelete_select_trashed_before(Oid relid, Interval *older_than);

/* flags.c: boolean flags kept in step with the stamp (issue 12) */
#define SOFTDELETE_FLAG_CHECK		"softdelete_flag_in_step"
#define SOFTDELETE_TRIG_FLAG_ROW	"softdelete_flag_update"
#define SOFTDELETE_TRIG_FLAG_STMT	"softdelete_flag_after_update"
extern void softdelete_flags_check_args(Oid relid, const char *column,
										const char *live_flag,
										const char *deleted_flag,
										const RegistryRow *row);
extern void softdelete_flags_adopt(Oid relid, const char *column,
								   const char *flag, bool live_value);
extern void softdelete_flags_sync(Oid relid);
extern void softdelete_flags_copy(Oid root, Oid part);
extern void softdelete_flags_spare_row_lock(EState *estate);
extern void softdelete_flags_remove(Oid relid);
extern bool softdelete_flags_missing(Oid relid, const char *dropped_column);

/* unique.c: unique values among live rows (issue 12) */
extern void softdelete_unique_notice(Oid relid);
extern bool softdelete_index_live_only(HeapTuple indextup, AttrNumber attnum);
extern void softdelete_partition_index_names(Oid indexoid, List **parts, List **names);
extern void softdelete_rename_partition_indexes(Oid relid, const char *name,
												List *parts, List *names);

/* unique_put_back.c: disable() puts unique constraints back */
extern void softdelete_unique_put_back(Oid relid);

#endif							/* SOFTDELETE_H */
