# softdelete: PGXS build for PostgreSQL 15, 17 and 18 (differences in src/compat.h)
EXTENSION   = softdelete
MODULE_big  = softdelete
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA        = $(wildcard softdelete--*.sql)
PGFILEDESC  = "softdelete - soft delete for PostgreSQL"

REGRESS     = install upgrade enable delete trash restore soft_delete purge hard_delete \
              references \
              cascade cascade_restore cascade_shapes event_trigger partitions protection \
              fidelity privileges bad_input quoting truncate search_path_attack ddl_attacks \
              nothing_lost journal unique_among_live hard_delete_cascade flags retention \
              upsert copy_from uninstall
REGRESS_OPTS = --inputdir=.
ISOLATION   = delete_delete delete_restore cascade_delete_race cascade_restore_race purge_repeatable_read \
              purge_expired_twice purge_expired_restore references_race undo_race \
              flag_update_race upsert_race cascade_key_race
ISOLATION_OPTS = --load-extension=softdelete

PG_CONFIG  ?= pg_config
# PostgreSQL's headers are not -Wextra clean; read them as system headers
# so that warnings (and -Werror in CI) judge our code only.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
