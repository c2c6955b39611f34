#!/usr/bin/python3
"""bench/bench.py -- the driver behind bench/run.

Expects a running cluster reachable through PGHOST/PGPORT with a superuser
`postgres` and the softdelete extension installed (bench/run does both).
Creates the database `bench` and the non-superuser role `bench_app`, runs the
workloads, prints Markdown tables and writes them to --out.

Every timed statement runs as bench_app, a plain role (NOSUPERUSER,
NOBYPASSRLS) that owns every table, so softdelete's FORCE ROW LEVEL SECURITY
applies to it exactly as to an application.  Setup, CHECKPOINT, WAL positions
and verification counts run as the superuser `postgres`, who bypasses RLS and
so sees the trash.
"""

import argparse
import collections
import atexit
import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2

APP = "bench_app"
DB = "bench"


# --------------------------------------------------------------------------
# connections and small helpers
# --------------------------------------------------------------------------

def connect(user, dbname=DB, options=None):
    kw = {"options": options} if options else {}
    conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"],
                            user=user, dbname=dbname,
                            application_name="softdelete-bench", **kw)
    conn.autocommit = True
    return conn


def run(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        if cur.description is not None:
            return cur.fetchall()
        return None


def one(conn, sql, params=None):
    return run(conn, sql, params)[0][0]


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Ctx:
    """Shared state: connections, arguments, sizes."""

    def __init__(self, args):
        self.args = args
        self.su = None
        self.tmpdir = tempfile.mkdtemp(prefix="softdelete-bench-")
        atexit.register(shutil.rmtree, self.tmpdir, True)

    def app(self, contender=None):
        """A fresh bench_app session, with the contender's session settings."""
        return connect(APP, options=SESSION_OPTIONS.get(contender))

    def checkpoint(self):
        run(self.su, "CHECKPOINT")

    def wal_lsn(self):
        return one(self.su, "SELECT pg_current_wal_insert_lsn()::text")

    def wal_diff(self, a, b):
        return int(one(self.su, "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (b, a)))

    def is_enabled(self, table):
        return bool(one(self.su, "SELECT count(*) FROM softdelete.registry"
                                 " WHERE tbl = to_regclass(%s)", (table,)))

    def guard_not_enabled(self, app, tables):
        """A contender other than softdelete must not be soft-deletable.  The
        event trigger may enable tables that have a deleted_at column on its
        own (softdelete.auto_enable); undo that so each contender runs on a
        plain table."""
        for t in tables:
            if self.is_enabled(t):
                run(app, "SELECT softdelete.disable(%s::regclass)", (t,))

    def pgbench(self, name, script, seconds, contender=None):
        path = os.path.join(self.tmpdir, name + ".sql")
        with open(path, "w") as f:
            f.write(script)
        cmd = [self.args.pgbench, "-n", "-c", "2", "-j", "2", "-T", str(seconds),
               "-M", "prepared", "-f", path, "-U", APP, "-d", DB]
        env = dict(os.environ)
        env.pop("PGOPTIONS", None)
        if contender in SESSION_OPTIONS:
            env["PGOPTIONS"] = SESSION_OPTIONS[contender]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, env=env)
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", p.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", p.stdout)
        if p.returncode != 0 or m is None or (failed and int(failed.group(1)) > 0):
            tail = " | ".join(p.stdout.strip().splitlines()[-4:])
            raise RuntimeError("pgbench failed: " + tail)
        return float(m.group(1))


def rotated(items, rep):
    """The contenders in a different order each repetition, so that no one
    always runs first (cold) or last."""
    k = rep % len(items)
    return items[k:] + items[:k]


def timed(conn, statements, params=None):
    """Run statements (a list, in one transaction when more than one) and
    return (elapsed ms, rowcount of the first statement)."""
    with conn.cursor() as cur:
        t0 = time.perf_counter()
        if len(statements) > 1:
            cur.execute("BEGIN")
        first_count = None
        for s in statements:
            cur.execute(s, params)
            if first_count is None:
                first_count = cur.rowcount
        if len(statements) > 1:
            cur.execute("COMMIT")
        t1 = time.perf_counter()
    return (t1 - t0) * 1000.0, first_count


# --------------------------------------------------------------------------
# database setup and templates
# --------------------------------------------------------------------------

def setup_database(ctx):
    pg = connect("postgres", "postgres")
    run(pg, "DROP DATABASE IF EXISTS " + DB)
    if not one(pg, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (APP,)):
        run(pg, "CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE" % APP)
    run(pg, "CREATE DATABASE %s" % DB)
    pg.close()
    ctx.su = connect("postgres")
    a = ctx.args
    if a.sql_sha and sha256_of(a.sql_file) != a.sql_sha:
        sys.exit("error: %s is not the script bench/run just built (another session installed"
                 " a different softdelete meanwhile); run again" % a.sql_file)
    run(ctx.su, "CREATE EXTENSION softdelete")
    if a.sql_sha and sha256_of(a.sql_file) != a.sql_sha:
        sys.exit("error: %s changed during CREATE EXTENSION (another session installed"
                 " a different softdelete); run again" % a.sql_file)
    if a.module:
        # Pin the library: every C function of the extension loads the copy
        # that bench/run built, whatever other sessions install meanwhile.
        run(ctx.su, "UPDATE pg_proc SET probin = %s WHERE probin = '$libdir/softdelete'", (a.module,))
        if not one(ctx.su, "SELECT count(*) FROM pg_proc WHERE probin = %s", (a.module,)):
            sys.exit("error: no C function of softdelete found to pin to " + a.module)
    # This session loaded $libdir/softdelete (CREATE FUNCTION validates C
    # functions by loading them); continue in a new one.  bench/run restarts
    # the cluster with the pinned copy preloaded before phase `run`.
    ctx.su.close()
    ctx.su = connect("postgres")
    run(ctx.su, "ALTER SCHEMA public OWNER TO " + APP)
    # Keep the (future) event trigger from enabling tables on its own; the
    # guard in guard_not_enabled() covers the case where this does not stick.
    try:
        run(ctx.su, "ALTER ROLE %s IN DATABASE %s SET softdelete.auto_enable = off" % (APP, DB))
    except psycopg2.Error:
        pass


def mapped_softdelete_libraries(pid):
    """The softdelete shared objects mapped into a backend's address space."""
    with open("/proc/%d/maps" % pid) as f:
        return sorted({line.split(None, 5)[5].strip() for line in f
                       if len(line.split(None, 5)) == 6 and "softdelete" in line.split(None, 5)[5]})


def open_database(ctx):
    """Phase `run`: the cluster was restarted with the library preloaded.
    Check that the preloaded file is the one the C functions are pinned to,
    and that a backend that has used every path maps exactly that one copy."""
    a = ctx.args
    ctx.su = connect("postgres")
    preload = one(ctx.su, "SHOW shared_preload_libraries")
    if preload != a.preload:
        sys.exit("error: shared_preload_libraries is %r, expected %r" % (preload, a.preload))
    probins = [r[0] for r in run(ctx.su, """
        SELECT DISTINCT p.probin FROM pg_proc p
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'softdelete'
         WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')""")]
    want = a.module if a.module else "$libdir/softdelete"
    if probins != [want]:
        sys.exit("error: the C functions of softdelete load %s, expected only %s" % (probins, want))
    pkglibdir = subprocess.run([os.path.join(os.path.dirname(a.pgbench), "pg_config"), "--pkglibdir"],
                               stdout=subprocess.PIPE, universal_newlines=True).stdout.strip() \
        if not a.module else None
    expect_file = os.path.realpath(a.module if a.module else os.path.join(pkglibdir, "softdelete.so"))
    # Exercise both DELETE paths, the cascade and restore in one backend.
    app = ctx.app()
    run(app, "CREATE TABLE libcheck_p (id int PRIMARY KEY, deleted_at timestamptz)")
    run(app, "CREATE TABLE libcheck_c (id int PRIMARY KEY, p int REFERENCES libcheck_p ON DELETE CASCADE,"
             " deleted_at timestamptz)")
    run(app, "INSERT INTO libcheck_p SELECT g FROM generate_series(1, 4) g")
    run(app, "INSERT INTO libcheck_c SELECT g, g FROM generate_series(1, 4) g")
    run(app, "SELECT softdelete.enable('libcheck_c'), softdelete.enable('libcheck_p')")
    with app.cursor() as cur:
        cur.execute("DELETE FROM libcheck_p WHERE id <= 2")
        n_update_path = cur.rowcount
        cur.execute("SET softdelete.delete_as_update = off")
        cur.execute("DELETE FROM libcheck_p WHERE id = 3")
        n_trigger_path = cur.rowcount
    run(app, "SELECT softdelete.restore('libcheck_p', 1)")
    trashed = one(ctx.su, "SELECT count(*) FROM libcheck_c WHERE deleted_at IS NOT NULL")
    maps = mapped_softdelete_libraries(one(app, "SELECT pg_backend_pid()"))
    app.close()
    run(ctx.su, "DROP TABLE libcheck_c, libcheck_p")
    if (n_update_path, n_trigger_path, trashed) != (2, 1, 2):
        sys.exit("error: library check: DELETE reported %s and %s rows (expected 2 and 1), %s children"
                 " trashed (expected 2)" % (n_update_path, n_trigger_path, trashed))
    if [os.path.realpath(m) for m in maps] != [expect_file]:
        sys.exit("error: a backend maps %s; expected exactly one copy, %s" % (maps, expect_file))
    log("library check: one copy mapped (%s); preloaded = probin = %s" % (maps[0], want))
    info = {
        "mapped": maps[0],
        "version": one(ctx.su, "SELECT version()"),
        "extversion": one(ctx.su, "SELECT extversion FROM pg_extension WHERE extname = 'softdelete'"),
        "settings": run(ctx.su, """
            SELECT name, setting || coalesce(unit, '') FROM pg_settings
             WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout',
                            'synchronous_commit', 'fsync', 'full_page_writes', 'work_mem',
                            'jit', 'autovacuum', 'max_parallel_workers_per_gather',
                            'shared_preload_libraries', 'wal_level')
             ORDER BY name"""),
        "rolsuper": one(ctx.su, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", (APP,)),
    }
    return info


def make_templates(ctx, sizes, workloads):
    app = ctx.app()
    if workloads & {"bulk", "single", "reads", "purge", "flags", "ingest"}:
        n = max(sizes["bulk"], sizes["single"], sizes["reads"], 2 * sizes["purge"], sizes["copy"])
        log("templates: bulk_src (%d rows)" % n)
        run(app, """
            CREATE TABLE bulk_src AS
            SELECT g AS id,
                   ((g * 7919) %% 100000)::int AS a,
                   substr(md5(g::text), 1, 20) AS b,
                   ((g %% 100000) / 100.0)::numeric(12,2) AS c
              FROM generate_series(1::bigint, %s) AS g""", (n,))
        run(app, "VACUUM ANALYZE bulk_src")
    if "cascade" in workloads:
        np_ = sizes["parents"]
        log("templates: cascade sources (%d / %d / %d rows)" % (np_, np_ * 10, np_ * 20))
        run(app, """
            CREATE TABLE parent_src AS
            SELECT g AS id, (g %% 1000)::int AS a, substr(md5(g::text), 1, 20) AS b
              FROM generate_series(1::bigint, %s) AS g""", (np_,))
        run(app, """
            CREATE TABLE child_src AS
            SELECT g AS id, (g - 1) / 10 + 1 AS parent_id, (g %% 1000)::int AS a,
                   substr(md5(g::text), 1, 20) AS b
              FROM generate_series(1::bigint, %s) AS g""", (np_ * 10,))
        run(app, """
            CREATE TABLE grandchild_src AS
            SELECT g AS id, (g - 1) / 2 + 1 AS child_id, (g %% 1000)::int AS a,
                   substr(md5(g::text), 1, 20) AS b
              FROM generate_series(1::bigint, %s) AS g""", (np_ * 20,))
        run(app, "VACUUM ANALYZE parent_src, child_src, grandchild_src")
    app.close()
    ctx.checkpoint()


def make_bulk_table(app, name, n):
    """The one table definition every bulk/single/read contender gets."""
    run(app, """
        CREATE TABLE {t} (id bigint NOT NULL, a int NOT NULL, b text NOT NULL,
                          c numeric(12,2) NOT NULL, deleted_at timestamptz)
        """.format(t=name))
    run(app, "INSERT INTO {t} (id, a, b, c) SELECT id, a, b, c FROM bulk_src WHERE id <= %s"
        .format(t=name), (n,))
    run(app, "ALTER TABLE {t} ADD PRIMARY KEY (id)".format(t=name))


# --------------------------------------------------------------------------
# the single-table contenders
# --------------------------------------------------------------------------

CONTENDERS = ["hard", "update", "trigger", "rule", "softdelete", "sd_trigger"]
LABEL = {
    "hard": "native hard `DELETE`",
    "update": "hand-written `UPDATE ... SET deleted_at = now()`",
    "trigger": "PL/pgSQL `BEFORE DELETE` trigger",
    "rule": "`DO INSTEAD UPDATE` rule",
    "softdelete": "**softdelete** (`DELETE`, planned as `UPDATE`)",
    "sd_trigger": "**softdelete, trigger path** (`delete_as_update = off`)",
}
# The two softdelete contenders: the same enabled table and the same DELETE;
# the library is preloaded for both (and for everyone).  "softdelete" keeps
# the default softdelete.delete_as_update = on (the planner hook plans the
# DELETE as the stamping UPDATE); "sd_trigger" turns it off for the session,
# so the DELETE runs and its row triggers collect the rows for one stamping
# UPDATE by TID at the end of the statement.
SOFTDELETES = ("softdelete", "sd_trigger")
SHORT = {"hard": "hard DELETE", "update": "hand-written UPDATE", "trigger": "PL/pgSQL trigger",
         "rule": "rule", "softdelete": "softdelete", "sd_trigger": "softdelete trigger path"}
SESSION_OPTIONS = {"sd_trigger": "-c softdelete.delete_as_update=off"}
# The top plan node each contender's statement must have (checked with
# EXPLAIN in a separate session with the contender's settings).
EXPECT_PLAN = {"hard": "Delete on", "update": "Update on", "trigger": "Delete on",
               "rule": "Update on", "softdelete": "Update on", "sd_trigger": "Delete on"}


def check_plan(ctx, contender, sql):
    """EXPLAIN the contender's statement in a session of its own (so that the
    timed session stays fresh); fail unless the top node is the expected one,
    i.e. unless softdelete.delete_as_update took the intended path."""
    conn = ctx.app(contender)
    try:
        top = plan_of(conn, sql)[0].strip()
        if contender in SOFTDELETES:
            guc = one(conn, "SHOW softdelete.delete_as_update")
            if guc != ("off" if contender == "sd_trigger" else "on"):
                raise RuntimeError("softdelete.delete_as_update is %s in the session" % guc)
    finally:
        conn.close()
    want = EXPECT_PLAN.get(contender)
    if want and not top.startswith(want):
        raise RuntimeError("planned as `%s`, expected `%s ...`" % (top, want))
    return top


def install_contender(ctx, app, contender, t):
    if contender == "trigger":
        run(app, """
            CREATE FUNCTION {t}_soft() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE {t} SET deleted_at = now() WHERE id = OLD.id;
                RETURN NULL;
            END
            $$""".format(t=t))
        run(app, "CREATE TRIGGER {t}_soft BEFORE DELETE ON {t}"
                 " FOR EACH ROW EXECUTE FUNCTION {t}_soft()".format(t=t))
    elif contender == "rule":
        run(app, "CREATE RULE {t}_soft AS ON DELETE TO {t}"
                 " DO INSTEAD UPDATE {t} SET deleted_at = now() WHERE id = OLD.id".format(t=t))
    elif contender in SOFTDELETES:
        run(app, "SELECT softdelete.enable(%s::regclass)", (t,))
    if contender not in SOFTDELETES:
        ctx.guard_not_enabled(app, [t])


def drop_contender(app, t):
    run(app, "DROP TABLE IF EXISTS {t}".format(t=t))
    run(app, "DROP FUNCTION IF EXISTS {t}_soft()".format(t=t))


def delete_sql(contender, t, where):
    if contender == "update":
        return "UPDATE {t} SET deleted_at = now() WHERE {w} AND deleted_at IS NULL".format(t=t, w=where)
    return "DELETE FROM {t} WHERE {w}".format(t=t, w=where)


# --------------------------------------------------------------------------
# workload 1: bulk
# --------------------------------------------------------------------------

def wl_bulk(ctx, sizes):
    n = sizes["bulk"]
    expect = n // 2
    res = {c: {"ms": [], "wal": [], "reported": None, "plan": None, "error": None} for c in CONTENDERS}
    for rep in range(ctx.args.reps):
        for c in rotated(CONTENDERS, rep):
            if res[c]["error"]:
                continue
            t = "bulk_" + c
            app = ctx.app()
            try:
                drop_contender(app, t)
                make_bulk_table(app, t, n)
                install_contender(ctx, app, c, t)
                run(app, "VACUUM ANALYZE " + t)
                app.close()
                res[c]["plan"] = check_plan(ctx, c, delete_sql(c, t, "id % 2 = 0"))
                ctx.checkpoint()
                app = ctx.app(c)         # fresh session, as an application's
                w0 = ctx.wal_lsn()
                ms, count = timed(app, [delete_sql(c, t, "id % 2 = 0")])
                w1 = ctx.wal_lsn()
                if c == "hard":
                    done = n - one(ctx.su, "SELECT count(*) FROM " + t)
                else:
                    done = one(ctx.su, "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL" % t)
                    kept = one(ctx.su, "SELECT count(*) FROM " + t)
                    if kept != n:
                        raise RuntimeError("%d rows hard-deleted" % (n - kept))
                if done != expect:
                    raise RuntimeError("%d rows deleted, expected %d" % (done, expect))
                res[c]["ms"].append(ms)
                res[c]["wal"].append(ctx.wal_diff(w0, w1))
                res[c]["reported"] = count
                log("bulk rep %d %-10s %10.1f ms  WAL %6.1f MB  reported %s"
                    % (rep + 1, c, ms, res[c]["wal"][-1] / 1048576.0, count))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("bulk %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                drop_contender(ctx.su, t)
    return res


# --------------------------------------------------------------------------
# workload 2: single rows by primary key (pgbench)
# --------------------------------------------------------------------------

def wl_single(ctx, sizes):
    n = sizes["single"]
    res = {c: {"tps": [], "error": None} for c in CONTENDERS}
    for rep in range(ctx.args.reps):
        for c in rotated(CONTENDERS, rep):
            if res[c]["error"]:
                continue
            t = "single_" + c
            app = ctx.app()
            try:
                drop_contender(app, t)
                make_bulk_table(app, t, n)
                install_contender(ctx, app, c, t)
                run(app, "VACUUM ANALYZE " + t)
                app.close()
                check_plan(ctx, c, delete_sql(c, t, "id = 1"))
                ctx.checkpoint()
                script = "\\set id random(1, %d)\n%s;\n" % (n, delete_sql(c, t, "id = :id"))
                tps = ctx.pgbench("single_" + c, script, ctx.args.seconds, c)
                hit = one(ctx.su, ("SELECT %d - count(*) FROM %s" % (n, t)) if c == "hard" else
                          "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL" % t)
                if hit == 0:
                    raise RuntimeError("no row was deleted")
                if c != "hard":
                    kept = one(ctx.su, "SELECT count(*) FROM " + t)
                    if kept != n:
                        raise RuntimeError("%d rows hard-deleted" % (n - kept))
                res[c]["tps"].append(tps)
                log("single rep %d %-10s %10.1f TPS  (%d rows deleted)" % (rep + 1, c, tps, hit))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("single %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                drop_contender(ctx.su, t)
    return res


# --------------------------------------------------------------------------
# workload 3: reads after half the rows are soft-deleted
# --------------------------------------------------------------------------

READERS = ["hard", "update", "softdelete"]
READ_LABEL = {
    "hard": "hard-deleted table (reference, full index)",
    "update": "hand-written `WHERE deleted_at IS NULL`",
    "softdelete": "**softdelete** RLS filter",
}


def read_queries(c, t):
    """(count query, point lookup, partial-index query) for a reader."""
    if c == "update":
        f = " AND deleted_at IS NULL"
        return ("SELECT count(*) FROM %s WHERE deleted_at IS NULL" % t,
                "SELECT * FROM %s WHERE id = :id%s" % (t, f),
                "SELECT sum(c) FROM %s WHERE a = :a%s" % (t, f))
    return ("SELECT count(*) FROM %s" % t,
            "SELECT * FROM %s WHERE id = :id" % t,
            "SELECT sum(c) FROM %s WHERE a = :a" % t)


def plan_of(app, sql):
    rows = run(app, "EXPLAIN (COSTS OFF) " + sql)
    return [r[0] for r in rows]


def wl_reads(ctx, sizes):
    n = sizes["reads"]
    live = n - n // 2
    res = {c: {"count": [], "point": [], "partial": [], "plans": {}, "error": None}
           for c in READERS}
    app = ctx.app()
    for c in READERS:
        t = "read_" + c
        try:
            drop_contender(app, t)
            make_bulk_table(app, t, n)
            if c == "hard":
                run(app, "CREATE INDEX %s_a_idx ON %s (a)" % (t, t))
            else:
                run(app, "CREATE INDEX %s_a_idx ON %s (a) WHERE deleted_at IS NULL" % (t, t))
            install_contender(ctx, app, c, t)
            run(app, delete_sql(c, t, "id % 2 = 0"))
            run(app, "VACUUM ANALYZE " + t)
            seen = one(app, read_queries(c, t)[0])
            if seen != live:
                raise RuntimeError("%s sees %d rows, expected %d (RLS bypassed?)" % (APP, seen, live))
            cq, pq, aq = read_queries(c, t)
            res[c]["plans"]["count"] = plan_of(app, cq)
            res[c]["plans"]["point"] = plan_of(app, pq.replace(":id", "4242"))
            res[c]["plans"]["partial"] = plan_of(app, aq.replace(":a", "4242"))
            res[c]["uses_index"] = any(("%s_a_idx" % t) in line
                                       for line in res[c]["plans"]["partial"])
        except (psycopg2.Error, RuntimeError) as e:
            res[c]["error"] = str(e).strip().splitlines()[0]
            log("reads %s: ERROR %s" % (c, res[c]["error"]))
    app.close()
    ctx.checkpoint()

    for rep in range(ctx.args.reps):
        for c in rotated(READERS, rep):
            if res[c]["error"]:
                continue
            t = "read_" + c
            cq, pq, aq = read_queries(c, t)
            try:
                app = ctx.app()
                run(app, cq)             # warm-up
                times = []
                for _ in range(5):
                    ms, _ = timed(app, [cq])
                    times.append(ms)
                app.close()
                res[c]["count"].append(statistics.median(times))
                res[c]["point"].append(ctx.pgbench(
                    "point_" + c, "\\set id random(1, %d)\n%s;\n" % (n, pq), ctx.args.read_seconds))
                res[c]["partial"].append(ctx.pgbench(
                    "partial_" + c, "\\set a random(0, 99999)\n%s;\n" % aq, ctx.args.read_seconds))
                log("reads rep %d %-10s count %8.1f ms  point %9.1f TPS  partial-index %9.1f TPS"
                    % (rep + 1, c, res[c]["count"][-1], res[c]["point"][-1], res[c]["partial"][-1]))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("reads %s: ERROR %s" % (c, res[c]["error"]))
    for c in READERS:
        drop_contender(ctx.su, "read_" + c)
    return res


# --------------------------------------------------------------------------
# workloads 4 and 5: cascade and its restore
# --------------------------------------------------------------------------

CASCADERS = ["hard", "update", "softdelete", "sd_trigger"]
CASCADE_LABEL = {
    "hard": "native `ON DELETE CASCADE` (hard)",
    "update": "hand-written: 3 `UPDATE`s in one transaction",
    "softdelete": "**softdelete** (one `DELETE` on the parent, planned as `UPDATE`)",
    "sd_trigger": "**softdelete, trigger path** (one `DELETE`, `delete_as_update = off`)",
}
RESTORE_LABEL = {
    "update": "hand-written: 3 `UPDATE ... SET deleted_at = NULL`",
    "softdelete": "**softdelete** `restore(parent, ARRAY[ids])`, one call for the deleted parents",
    "sd_trigger": "**softdelete** `undo(deletion)`, the cascade's journal entry",
}


def make_cascade_tables(app, pfx):
    p, ch, g = pfx + "_p", pfx + "_c", pfx + "_g"
    run(app, "CREATE TABLE %s (id bigint NOT NULL, a int NOT NULL, b text NOT NULL,"
             " deleted_at timestamptz)" % p)
    run(app, "CREATE TABLE %s (id bigint NOT NULL, parent_id bigint NOT NULL, a int NOT NULL,"
             " b text NOT NULL, deleted_at timestamptz)" % ch)
    run(app, "CREATE TABLE %s (id bigint NOT NULL, child_id bigint NOT NULL, a int NOT NULL,"
             " b text NOT NULL, deleted_at timestamptz)" % g)
    run(app, "INSERT INTO %s (id, a, b) SELECT id, a, b FROM parent_src" % p)
    run(app, "INSERT INTO %s (id, parent_id, a, b) SELECT id, parent_id, a, b FROM child_src" % ch)
    run(app, "INSERT INTO %s (id, child_id, a, b) SELECT id, child_id, a, b FROM grandchild_src" % g)
    for t in (p, ch, g):
        run(app, "ALTER TABLE %s ADD PRIMARY KEY (id)" % t)
    run(app, "CREATE INDEX ON %s (parent_id)" % ch)
    run(app, "CREATE INDEX ON %s (child_id)" % g)
    run(app, "ALTER TABLE %s ADD FOREIGN KEY (parent_id) REFERENCES %s ON DELETE CASCADE" % (ch, p))
    run(app, "ALTER TABLE %s ADD FOREIGN KEY (child_id) REFERENCES %s ON DELETE CASCADE" % (g, ch))
    return p, ch, g


def drop_cascade_tables(conn, pfx):
    run(conn, "DROP TABLE IF EXISTS %s_g, %s_c, %s_p" % (pfx, pfx, pfx))


def wl_cascade(ctx, sizes):
    np_ = sizes["parents"]
    expect = (np_ // 10, np_ // 10 * 10, np_ // 10 * 20)
    res = {c: {"ms": [], "wal": [], "reported": None, "error": None, "na": False} for c in CASCADERS}
    # The restore is measured after the cascade of the "softdelete"
    # contender, undo after that of "sd_trigger" (both paths leave the same
    # rows and stamps, and one journal entry).
    rres = {c: {"ms": [], "wal": [], "error": None, "na": False}
            for c in ("update", "softdelete", "sd_trigger")}
    for rep in range(ctx.args.reps):
        for c in rotated(CASCADERS, rep):
            if res[c]["error"] or res[c]["na"]:
                continue
            pfx = "casc_" + c
            app = ctx.app()
            try:
                drop_cascade_tables(app, pfx)
                p, ch, g = make_cascade_tables(app, pfx)
                if c in SOFTDELETES:
                    for t in (g, ch, p):
                        run(app, "SELECT softdelete.enable(%s::regclass)", (t,))
                else:
                    ctx.guard_not_enabled(app, [p, ch, g])
                run(app, "VACUUM ANALYZE %s, %s, %s" % (p, ch, g))
                app.close()
                if c != "update":
                    check_plan(ctx, c, "DELETE FROM %s WHERE id %% 10 = 0" % p)
                ctx.checkpoint()
                app = ctx.app(c)
                if c == "update":
                    stmts = [
                        "UPDATE %s SET deleted_at = now() WHERE id %% 10 = 0 AND deleted_at IS NULL" % p,
                        "UPDATE %s SET deleted_at = now() WHERE deleted_at IS NULL AND parent_id IN"
                        " (SELECT id FROM %s WHERE deleted_at = now())" % (ch, p),
                        "UPDATE %s SET deleted_at = now() WHERE deleted_at IS NULL AND child_id IN"
                        " (SELECT id FROM %s WHERE deleted_at = now())" % (g, ch),
                    ]
                else:
                    stmts = ["DELETE FROM %s WHERE id %% 10 = 0" % p]
                w0 = ctx.wal_lsn()
                ms, count = timed(app, stmts)
                w1 = ctx.wal_lsn()
                res[c]["reported"] = count
                if c == "hard":
                    got = tuple(n0 - one(ctx.su, "SELECT count(*) FROM " + t)
                                for n0, t in zip((np_, np_ * 10, np_ * 20), (p, ch, g)))
                else:
                    got = tuple(one(ctx.su, "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL" % t)
                                for t in (p, ch, g))
                    kept = tuple(one(ctx.su, "SELECT count(*) FROM " + t) for t in (p, ch, g))
                    if kept != (np_, np_ * 10, np_ * 20):
                        raise RuntimeError("rows hard-deleted: %s rows left, expected %s"
                                           % (kept, (np_, np_ * 10, np_ * 20)))
                if c in SOFTDELETES and got[0] == expect[0] and got[1] == 0:
                    res[c]["na"] = True
                    rres[c]["na"] = True
                    log("cascade %s: children not stamped -> n/a (cascade not implemented)" % c)
                    continue
                if got != expect:
                    raise RuntimeError("deleted %s rows, expected %s" % (got, expect))
                res[c]["ms"].append(ms)
                res[c]["wal"].append(ctx.wal_diff(w0, w1))
                log("cascade rep %d %-10s %10.1f ms  WAL %6.1f MB  reported %s"
                    % (rep + 1, c, ms, res[c]["wal"][-1] / 1048576.0, count))
                if c not in rres:
                    continue

                # restore of the same deletion, on the same tables
                if rres[c]["error"]:
                    continue
                try:
                    stamp = one(ctx.su, "SELECT min(deleted_at)::text FROM %s" % p)
                    run(app, "VACUUM ANALYZE %s, %s, %s" % (p, ch, g))
                    ctx.checkpoint()
                    if c == "update":
                        stmts = ["UPDATE %s SET deleted_at = NULL WHERE deleted_at = %%(stamp)s::timestamptz" % t
                                 for t in (p, ch, g)]
                        params = {"stamp": stamp}
                    elif c == "sd_trigger":
                        entry = one(ctx.su, "SELECT id FROM softdelete.deletions WHERE %s::regclass"
                                            " OPERATOR(pg_catalog.=) ANY (tables) ORDER BY id DESC LIMIT 1", (p,))
                        stmts = ["SELECT softdelete.undo(%s)"]
                        params = (entry,)
                    else:
                        ids = [r[0] for r in run(ctx.su, "SELECT id FROM %s WHERE deleted_at IS NOT NULL"
                                                          " ORDER BY id" % p)]
                        stmts = ["SELECT softdelete.restore(%s::regclass, %s::bigint[])"]
                        params = (p, ids)
                    w0 = ctx.wal_lsn()
                    ms, _ = timed(app, stmts, params)
                    w1 = ctx.wal_lsn()
                    left = tuple(one(ctx.su, "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL" % t)
                                 for t in (p, ch, g))
                    if left != (0, 0, 0):
                        raise RuntimeError("restore left %s rows in the trash" % (left,))
                    rres[c]["ms"].append(ms)
                    rres[c]["wal"].append(ctx.wal_diff(w0, w1))
                    log("restore rep %d %-10s %10.1f ms  WAL %6.1f MB"
                        % (rep + 1, c, ms, rres[c]["wal"][-1] / 1048576.0))
                except (psycopg2.Error, RuntimeError) as e:
                    rres[c]["error"] = str(e).strip().splitlines()[0]
                    log("restore %s: ERROR %s" % (c, rres[c]["error"]))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("cascade %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                drop_cascade_tables(ctx.su, pfx)
    return res, rres


# --------------------------------------------------------------------------
# workload 6: purge_expired over expired trash, against one hard DELETE
# --------------------------------------------------------------------------

def make_purge_table(ctx, app, t, n, enable):
    """2n rows, the n even ids trashed 40 days ago (stamps written by the
    superuser, as an aged trash would have them), the table VACUUM ANALYZEd."""
    make_bulk_table(app, t, 2 * n)
    if enable:
        run(app, "SELECT softdelete.enable(%s::regclass)", (t,))
        run(app, "SELECT softdelete.set_retention(%s::regclass, '30 days')", (t,))
    else:
        ctx.guard_not_enabled(app, [t])
    run(ctx.su, "UPDATE %s SET deleted_at = now() - interval '40 days' WHERE id %% 2 = 0" % t)
    run(app, "VACUUM ANALYZE " + t)


def wl_purge(ctx, sizes):
    """purge_expired over n expired trashed rows (default batch) against one
    hard DELETE of the same rows; the longest batch transaction comes from
    purge_expired's DEBUG1 line per batch."""
    n = sizes["purge"]
    names = ["hard", "purge_expired"]
    res = {c: {"ms": [], "max_batch": [], "batches": None, "error": None} for c in names}
    for rep in range(ctx.args.reps):
        for c in rotated(names, rep):
            if res[c]["error"]:
                continue
            t = "purge_" + ("hard" if c == "hard" else "sd")
            app = ctx.app()
            try:
                drop_contender(app, t)
                make_purge_table(ctx, app, t, n, c != "hard")
                app.close()
                ctx.checkpoint()
                app = ctx.app()
                if c == "hard":
                    ms, count = timed(app, ["DELETE FROM %s WHERE deleted_at <= now() - interval '30 days'" % t])
                else:
                    run(app, "SET client_min_messages = debug1")
                    # every notice (a plain list keeps only the last 50)
                    app.notices = collections.deque()
                    ms, _ = timed(app, ["CALL softdelete.purge_expired()"])
                    batches = [float(m.group(1)) for m in
                               (re.search(r"batch of \d+ rows took ([0-9.]+) ms", x) for x in app.notices)
                               if m]
                    if not batches:
                        raise RuntimeError("no batch timings in the NOTICEs")
                    res[c]["max_batch"].append(max(batches))
                    res[c]["batches"] = len(batches)
                left = one(ctx.su, "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL" % t)
                kept = one(ctx.su, "SELECT count(*) FROM " + t)
                if left != 0 or kept != n:
                    raise RuntimeError("%d trashed rows left, %d rows kept (expected 0, %d)" % (left, kept, n))
                res[c]["ms"].append(ms)
                log("purge rep %d %-13s %10.1f ms%s" % (rep + 1, c, ms,
                    "  longest batch %.1f ms of %d" % (res[c]["max_batch"][-1], res[c]["batches"])
                    if c != "hard" else ""))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("purge %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                if ctx.is_enabled(t):
                    run(ctx.su, "SELECT softdelete.disable(%s::regclass)", (t,))
                drop_contender(ctx.su, t)
    return res


# --------------------------------------------------------------------------
# workload 7: a boolean flag next to the stamp (issue 12)
# --------------------------------------------------------------------------

FLAG_CONTENDERS = ["update_both", "softdelete", "sd_flag_update"]
FLAG_LABEL = {
    "update_both": "hand-written `UPDATE ... SET deleted_at = now(), active = false`",
    "softdelete": "**softdelete** `DELETE` (`live_flag => 'active'`: sets both)",
    "sd_flag_update": "**softdelete** `UPDATE ... SET active = false` (a soft delete)",
}


def flag_sql(contender, t, where):
    if contender == "update_both":
        return ("UPDATE {t} SET deleted_at = now(), active = false"
                " WHERE {w} AND deleted_at IS NULL".format(t=t, w=where))
    if contender == "sd_flag_update":
        return "UPDATE {t} SET active = false WHERE {w}".format(t=t, w=where)
    return "DELETE FROM {t} WHERE {w}".format(t=t, w=where)


def wl_flags(ctx, sizes):
    """Bulk soft delete of half the rows of a table with the recipes'
    `active` flag and a partial index on it: softdelete (DELETE, and an
    UPDATE of the flag) against the hand-written UPDATE of both columns."""
    n = sizes["bulk"]
    expect = n // 2
    res = {c: {"ms": [], "reported": None, "error": None} for c in FLAG_CONTENDERS}
    for rep in range(ctx.args.reps):
        for c in rotated(FLAG_CONTENDERS, rep):
            if res[c]["error"]:
                continue
            t = "flags_" + c
            app = ctx.app()
            try:
                drop_contender(app, t)
                make_bulk_table(app, t, n)
                run(app, "ALTER TABLE {t} ADD COLUMN active boolean NOT NULL DEFAULT true".format(t=t))
                run(app, "CREATE INDEX ON {t} (a) WHERE active".format(t=t))
                if c == "update_both":
                    ctx.guard_not_enabled(app, [t])
                else:
                    run(app, "SELECT softdelete.enable(%s::regclass, live_flag => 'active')", (t,))
                run(app, "VACUUM ANALYZE " + t)
                app.close()
                ctx.checkpoint()
                app = ctx.app()
                ms, count = timed(app, [flag_sql(c, t, "id % 2 = 0")])
                done = one(ctx.su, "SELECT count(*) FROM %s WHERE deleted_at IS NOT NULL AND NOT active" % t)
                if done != expect or one(ctx.su, "SELECT count(*) FROM " + t) != n:
                    raise RuntimeError("%d rows flagged and stamped, expected %d" % (done, expect))
                res[c]["ms"].append(ms)
                res[c]["reported"] = count
                log("flags rep %d %-14s %10.1f ms  reported %s" % (rep + 1, c, ms, count))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("flags %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                if ctx.is_enabled(t):
                    run(ctx.su, "SELECT softdelete.disable(%s::regclass)", (t,))
                drop_contender(ctx.su, t)
    return res


# --------------------------------------------------------------------------
# workload 8: ingest -- plain INSERTs (pgbench) and COPY FROM, into a
# soft-deletable table against the same table without the extension
# --------------------------------------------------------------------------

INGESTERS = ["plain", "softdelete"]


def make_ingest_table(ctx, app, t, enable):
    run(app, """
        CREATE TABLE {t} (id bigserial PRIMARY KEY, a int NOT NULL, b text NOT NULL,
                          c numeric(12,2) NOT NULL, deleted_at timestamptz)
        """.format(t=t))
    if enable:
        run(app, "SELECT softdelete.enable(%s::regclass)", (t,))
    else:
        ctx.guard_not_enabled(app, [t])


def wl_ingest(ctx, sizes):
    """Single-row INSERTs (pgbench, no ON CONFLICT) and one COPY FROM STDIN
    of n rows, as the table's owner, into a plain table and into a
    soft-deletable one (the COPY then takes the extension's utility hook)."""
    n = sizes["copy"]
    su = ctx.su
    buf = io.BytesIO()
    with su.cursor() as cur:
        cur.copy_expert("COPY (SELECT a, b, c FROM bulk_src WHERE id <= %d) TO STDOUT" % n, buf)
    res = {c: {"tps": [], "ms": [], "error": None} for c in INGESTERS}
    for rep in range(ctx.args.reps):
        for c in rotated(INGESTERS, rep):
            if res[c]["error"]:
                continue
            t = "ingest_" + c
            app = ctx.app()
            try:
                drop_contender(app, t)
                make_ingest_table(ctx, app, t, c == "softdelete")
                run(app, "VACUUM ANALYZE " + t)
                ctx.checkpoint()
                script = ("\\set a random(1, 100000)\n"
                          "INSERT INTO %s (a, b, c) VALUES (:a, 'x', 1.5);\n" % t)
                tps = ctx.pgbench("ingest_" + c, script, ctx.args.seconds)
                # a fresh table for the COPY (TRUNCATE is refused on a soft-deletable one)
                if ctx.is_enabled(t):
                    run(su, "SELECT softdelete.disable(%s::regclass)", (t,))
                drop_contender(su, t)
                make_ingest_table(ctx, app, t, c == "softdelete")
                ctx.checkpoint()
                buf.seek(0)
                with app.cursor() as cur:
                    t0 = time.perf_counter()
                    cur.copy_expert("COPY %s (a, b, c) FROM STDIN" % t, buf)
                    ms = (time.perf_counter() - t0) * 1000.0
                loaded = one(su, "SELECT count(*) FROM " + t)
                if loaded != n:
                    raise RuntimeError("COPY loaded %d rows of %d" % (loaded, n))
                res[c]["tps"].append(tps)
                res[c]["ms"].append(ms)
                log("ingest rep %d %-10s INSERT %10.1f TPS   COPY %d rows %10.1f ms"
                    % (rep + 1, c, tps, n, ms))
            except (psycopg2.Error, RuntimeError) as e:
                res[c]["error"] = str(e).strip().splitlines()[0]
                log("ingest %s: ERROR %s" % (c, res[c]["error"]))
            finally:
                app.close()
                if ctx.is_enabled(t):
                    run(su, "SELECT softdelete.disable(%s::regclass)", (t,))
                drop_contender(su, t)
    return res


# --------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else None


def fmt_num(x, digits=1):
    if x is None:
        return "—"
    return "{:,.{d}f}".format(x, d=digits)


def fmt_ratio(x):
    return "—" if x is None else "%.2f×" % x


def runs_str(xs, digits=0):
    return ", ".join(fmt_num(x, digits) for x in xs) if xs else ""


def ratio(a, b, inverse=False):
    if a is None or b is None or a == 0 or b == 0:
        return None
    return (b / a) if inverse else (a / b)


def cell(r, key, value_fmt):
    if r.get("na"):
        return "n/a (cascade not implemented)"
    if r.get("error"):
        return "error: " + r["error"].replace("|", "\\|")[:120]
    return value_fmt(med(r[key]))


def verdict(value, target, higher_is_better):
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return "**met**" if ok else "**not met**"


def report(ctx, info, sizes, results, wall):
    a = ctx.args
    out = []
    w = out.append
    w("# softdelete benchmark results")
    w("")
    w("- %s" % info["version"])
    w("- softdelete %s, built from the working tree of `%s`%s%s" % (
        info["extversion"], a.source_dir, git_rev(a.source_dir),
        "; source digest %s; C functions pinned to that build's `softdelete.so`" % a.source_digest
        if a.module else " (not rebuilt: `--no-build`)"))
    w("- library preloaded for every contender: `shared_preload_libraries = '%s'`, the same file the"
      " C functions load; a backend that ran both DELETE paths, a cascade and a restore maps exactly"
      " one copy, `%s`" % (a.preload, info["mapped"]))
    w("- machine: %d cores, %.1f GiB RAM; load average before/after: %s / %s"
      % (os.cpu_count(), mem_gib(), ctx.load_before, load_avg()))
    w("- run: `bench/run --reps %d --seconds %d --read-seconds %d --scale %s`, wall time %s"
      % (a.reps, a.seconds, a.read_seconds, a.scale, fmt_wall(wall)))
    w("- same server configuration for every contender: " +
      ", ".join("`%s=%s`" % (k, v) for k, v in info["settings"]))
    w("- every timed statement runs as `%s` (non-superuser, no BYPASSRLS: %s), the owner of the"
      " tables, in a fresh session; softdelete's FORCE ROW LEVEL SECURITY applies to it."
      " Setup and verification run as superuser." % (APP, "ok" if not info["rolsuper"] else "NOT OK"))
    w("- medians of %d repetitions; contenders run in rotated order each repetition;"
      " each timed run starts on a fresh identical table after `VACUUM ANALYZE` and `CHECKPOINT`."
      % a.reps)
    w("")

    if "purge" in results:
        res = results["purge"]
        n = sizes["purge"]
        h, p = res["hard"], res["purge_expired"]
        w("## 6. `CALL softdelete.purge_expired()` over %s expired trashed rows (of %s), default batch"
          % (fmt_num(n, 0), fmt_num(2 * n, 0)))
        w("")
        w("| contender | median ms | vs hard DELETE | longest batch transaction, ms | batches | runs (ms) |")
        w("|---|---:|---:|---:|---:|---|")
        w("| one hard `DELETE ... WHERE deleted_at <= now() - '30 days'` | %s | 1.00× | %s | 1 | %s |" % (
            cell(h, "ms", fmt_num), cell(h, "ms", fmt_num), runs_str(h["ms"])))
        w("| **`purge_expired()`** (10,000 rows a transaction) | %s | %s | %s | %s | %s |" % (
            cell(p, "ms", fmt_num), fmt_ratio(ratio(med(p["ms"]), med(h["ms"]))),
            fmt_num(max(p["max_batch"])) if p["max_batch"] else "—",
            "—" if p["batches"] is None else p["batches"], runs_str(p["ms"])))
        w("")
        w("Target: no batch transaction over 1 s at the default batch size. The longest batch is the"
          " largest, over all repetitions, of the per-batch times purge_expired reports at DEBUG1"
          " (from before the batch to after its COMMIT).")
        w("")

    if "flags" in results:
        res = results["flags"]
        n = sizes["bulk"]
        base = med(res["update_both"]["ms"])
        w("## 7. A boolean flag next to the stamp: soft-delete %s of %s rows (`WHERE id %% 2 = 0`),"
          " `active` with a partial index" % (fmt_num(n // 2, 0), fmt_num(n, 0)))
        w("")
        w("| contender | median ms | vs hand-written UPDATE of both | rows reported | runs (ms) |")
        w("|---|---:|---:|---:|---|")
        for c in FLAG_CONTENDERS:
            r = res[c]
            w("| %s | %s | %s | %s | %s |" % (
                FLAG_LABEL[c], cell(r, "ms", fmt_num), fmt_ratio(ratio(med(r["ms"]), base)),
                "—" if r["reported"] is None else fmt_num(r["reported"], 0), runs_str(r["ms"])))
        w("")
        w("Target: softdelete's DELETE ≤ 1.10 × the hand-written UPDATE of both columns — %s (%s)." % (
            verdict(ratio(med(res["softdelete"]["ms"]), base), 1.10, False),
            fmt_ratio(ratio(med(res["softdelete"]["ms"]), base))))
    if "ingest" in results:
        res = results["ingest"]
        p, q = res["plain"], res["softdelete"]
        w("## 8. Ingest: single-row `INSERT` (pgbench `-n -c 2 -j 2 -T %d -M prepared`) and"
          " `COPY FROM STDIN` of %s rows" % (a.seconds, fmt_num(sizes["copy"], 0)))
        w("")
        w("| table | INSERT median TPS | vs plain | COPY median ms | vs plain (speed) | INSERT runs (TPS) | COPY runs (ms) |")
        w("|---|---:|---:|---:|---:|---|---|")
        for c, label in (("plain", "without the extension"), ("softdelete", "**soft-deletable**")):
            r = res[c]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                label, cell(r, "tps", lambda x: fmt_num(x, 0)),
                fmt_ratio(ratio(med(r["tps"]), med(p["tps"]))),
                cell(r, "ms", fmt_num), fmt_ratio(ratio(med(r["ms"]), med(p["ms"]), inverse=True)),
                runs_str(r["tps"]), runs_str(r["ms"])))
        vi = ratio(med(q["tps"]), med(p["tps"]))
        vc = ratio(med(q["ms"]), med(p["ms"]), inverse=True)
        w("")
        w("Targets: INSERT ≥ 0.95 × plain — %s (%s); COPY FROM ≥ 0.95 × plain — %s (%s)."
          % (verdict(vi, 0.95, True), fmt_ratio(vi), verdict(vc, 0.95, True), fmt_ratio(vc)))
        w("")

    if "bulk" in results:
        res = results["bulk"]
        n = sizes["bulk"]
        base_u, base_h = med(res["update"]["ms"]), med(res["hard"]["ms"])
        w("## 1. Bulk: soft-delete %s of %s rows (`WHERE id %% 2 = 0`)" % (fmt_num(n // 2, 0), fmt_num(n, 0)))
        w("")
        w("| contender | median ms | vs hand-written UPDATE | vs hard DELETE | WAL MB | rows reported | runs (ms) |")
        w("|---|---:|---:|---:|---:|---:|---|")
        for c in CONTENDERS:
            r = res[c]
            m = med(r["ms"])
            wal = med(r["wal"])
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                LABEL[c], cell(r, "ms", fmt_num), fmt_ratio(ratio(m, base_u)),
                fmt_ratio(ratio(m, base_h)), fmt_num(wal / 1048576.0 if wal else None),
                "—" if r["reported"] is None else fmt_num(r["reported"], 0), runs_str(r["ms"])))
        w("")
        w("Top plan node of each contender's statement (`EXPLAIN`, checked before every run in a session"
          " with the contender's settings): " +
          "; ".join("%s `%s`" % (SHORT[c], res[c]["plan"] or "?") for c in CONTENDERS) + ".")
        w("")
        w("Target: softdelete ≤ 1.10 × hand-written UPDATE — " + "; ".join(
            "%s %s (%s)" % (SHORT[c], verdict(ratio(med(res[c]["ms"]), base_u), 1.10, False),
                            fmt_ratio(ratio(med(res[c]["ms"]), base_u))) for c in SOFTDELETES) + ".")
        w("")

    if "single" in results:
        res = results["single"]
        base_u, base_h = med(res["update"]["tps"]), med(res["hard"]["tps"])
        w("## 2. Single rows by primary key: pgbench `-n -c 2 -j 2 -T %d -M prepared`, %s-row table"
          % (a.seconds, fmt_num(sizes["single"], 0)))
        w("")
        w("| contender | median TPS | vs hand-written UPDATE | vs hard DELETE | runs (TPS) |")
        w("|---|---:|---:|---:|---|")
        for c in CONTENDERS:
            r = res[c]
            m = med(r["tps"])
            w("| %s | %s | %s | %s | %s |" % (
                LABEL[c], cell(r, "tps", fmt_num), fmt_ratio(ratio(m, base_u)),
                fmt_ratio(ratio(m, base_h)), runs_str(r["tps"])))
        w("")
        w("Ratios are TPS / TPS (higher is better). Target: softdelete ≥ 0.95 × hand-written UPDATE — " +
          "; ".join("%s %s (%s)" % (SHORT[c], verdict(ratio(med(res[c]["tps"]), base_u), 0.95, True),
                                    fmt_ratio(ratio(med(res[c]["tps"]), base_u))) for c in SOFTDELETES) + ".")
        w("")

    if "reads" in results:
        res = results["reads"]
        w("## 3. Reads after soft-deleting half of %s rows" % fmt_num(sizes["reads"], 0))
        w("")
        w("Cost ratios (higher is slower): time / time for `count(*)`, and hand-written TPS / TPS"
          " for the pgbench queries (`-c 2 -j 2 -T %d -M prepared`)." % a.read_seconds)
        w("")
        w("| query | contender | median | vs hand-written `WHERE` | vs hard-deleted table | runs |")
        w("|---|---|---:|---:|---:|---|")
        verdicts = []
        for key, qlabel, unit, inverse in (
                ("count", "`SELECT count(*)`", "ms", False),
                ("point", "point lookup by pk", "TPS", True),
                ("partial", "`sum(c) WHERE a = :a` (partial index)", "TPS", True)):
            base_u, base_h = med(res["update"][key]), med(res["hard"][key])
            for c in READERS:
                r = res[c]
                m = med(r[key])
                w("| %s | %s | %s | %s | %s | %s |" % (
                    qlabel, READ_LABEL[c], cell(r, key, lambda x, u=unit: fmt_num(x) + " " + u if x else "—"),
                    fmt_ratio(ratio(m, base_u, inverse)), fmt_ratio(ratio(m, base_h, inverse)),
                    runs_str(r[key], 1 if unit == "ms" else 0)))
            verdicts.append("%s %s (%s)" % (qlabel, verdict(ratio(med(res["softdelete"][key]), base_u, inverse),
                                                           1.05, False),
                                           fmt_ratio(ratio(med(res["softdelete"][key]), base_u, inverse))))
        w("")
        w("Target: softdelete ≤ 1.05 × hand-written — " + "; ".join(verdicts) + ".")
        w("")
        w("Plans (as `%s`):" % APP)
        w("")
        for c in READERS:
            r = res[c]
            if "partial" not in r["plans"]:
                continue
            idx_line = next((ln.strip() for ln in r["plans"]["partial"] if "Index" in ln or "Scan" in ln), "?")
            cnt_line = " → ".join(ln.strip() for ln in r["plans"]["count"] if "Scan" in ln or "Aggregate" in ln)
            pt_line = next((ln.strip() for ln in r["plans"]["point"] if "Scan" in ln), "?")
            w("- %s: `sum(c) WHERE a = 4242`: `%s` (uses `%s_a_idx`%s: %s); count: `%s`; point: `%s`"
              % (READ_LABEL[c], idx_line, "read_" + c, "" if c == "hard" else ", the partial index",
                 "yes" if r.get("uses_index") else "**no**", cnt_line, pt_line))
        w("")

    if "cascade" in results:
        res, rres = results["cascade"]
        np_ = sizes["parents"]
        w("## 4. Cascade: delete %s of %s parents (`WHERE id %% 10 = 0`), %s children, %s grandchildren"
          % (fmt_num(np_ // 10, 0), fmt_num(np_, 0), fmt_num(np_ * 10, 0), fmt_num(np_ * 20, 0)))
        w("")
        w("| contender | median ms | vs hand-written UPDATEs | vs hard cascade | WAL MB | rows reported | runs (ms) |")
        w("|---|---:|---:|---:|---:|---:|---|")
        base_u, base_h = med(res["update"]["ms"]), med(res["hard"]["ms"])
        for c in CASCADERS:
            r = res[c]
            m = med(r["ms"])
            wal = med(r["wal"])
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                CASCADE_LABEL[c], cell(r, "ms", fmt_num), fmt_ratio(ratio(m, base_u)),
                fmt_ratio(ratio(m, base_h)), fmt_num(wal / 1048576.0 if wal else None),
                "—" if r["reported"] is None else fmt_num(r["reported"], 0), runs_str(r["ms"])))
        w("")
        w("Rows reported: what the first statement told the client (the parents; the hand-written"
          " contender's first `UPDATE`).")
        w("")
        w("Target (issue 11): softdelete ≤ 1.10 × hand-written — " + "; ".join(
            "%s %s (%s)" % (SHORT[c], "n/a" if res[c]["na"] else
                            verdict(ratio(med(res[c]["ms"]), base_u), 1.10, False),
                            fmt_ratio(ratio(med(res[c]["ms"]), base_u))) for c in SOFTDELETES) + ".")
        w("")
        w("## 5. Restore of that cascade (%s + %s + %s rows)"
          % (fmt_num(np_ // 10, 0), fmt_num(np_ // 10 * 10, 0), fmt_num(np_ // 10 * 20, 0)))
        w("")
        w("| contender | median ms | vs hand-written UPDATEs | vs hard DELETE | WAL MB | runs (ms) |")
        w("|---|---:|---:|---:|---:|---|")
        base_u = med(rres["update"]["ms"])
        for c in ("update", "softdelete", "sd_trigger"):
            r = rres[c]
            m = med(r["ms"])
            wal = med(r["wal"])
            w("| %s | %s | %s | — (nothing to restore) | %s | %s |" % (
                RESTORE_LABEL[c], cell(r, "ms", fmt_num), fmt_ratio(ratio(m, base_u)),
                fmt_num(wal / 1048576.0 if wal else None), runs_str(r["ms"])))
        v = ratio(med(rres["softdelete"]["ms"]), base_u)
        vu = ratio(med(rres["sd_trigger"]["ms"]), base_u)
        w("")
        w("Target (issue 11): restore and undo ≤ 1.10 × hand-written — restore %s (%s), undo %s (%s)."
          % ("n/a" if rres["softdelete"]["na"] else verdict(v, 1.10, False), fmt_ratio(v),
             "n/a" if rres["sd_trigger"]["na"] else verdict(vu, 1.10, False), fmt_ratio(vu)))
        w("")
    return "\n".join(out)


def git_rev(path):
    try:
        rev = subprocess.run(["git", "-C", path, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True).stdout.strip()
        return " (commit %s%s)" % (rev, ", with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return ""


def load_avg():
    return "%.2f" % os.getloadavg()[0]


def mem_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1048576.0
    except OSError:
        pass
    return 0.0


def fmt_wall(s):
    return "%dm%02ds" % (int(s) // 60, int(s) % 60)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--read-seconds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workloads", default="bulk,single,reads,cascade")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pgbench", default="pgbench")
    ap.add_argument("--start-epoch", type=float, default=None)
    ap.add_argument("--source-dir", default=".")
    ap.add_argument("--module", default=None, help="pin the extension's C functions to this .so")
    ap.add_argument("--sql-sha", default=None)
    ap.add_argument("--sql-file", default=None)
    ap.add_argument("--source-digest", default=None)
    ap.add_argument("--phase", choices=("setup", "run"), required=True,
                    help="setup: database, role, extension, pin (cluster not preloaded); "
                         "run: the workloads (cluster restarted with the library preloaded)")
    ap.add_argument("--preload", default=None, help="the expected shared_preload_libraries (phase run)")
    a = ap.parse_args()
    start = a.start_epoch if a.start_epoch else time.time()
    workloads = set(x.strip() for x in a.workloads.split(",") if x.strip())
    unknown = workloads - {"bulk", "single", "reads", "cascade", "restore", "purge", "flags", "ingest"}
    if unknown:
        sys.exit("unknown workload(s): " + ", ".join(sorted(unknown)))
    if "restore" in workloads:
        workloads.add("cascade")

    sizes = {
        "bulk": max(100, int(2000000 * a.scale)),
        "single": max(100, int(2000000 * a.scale)),
        "reads": max(100, int(2000000 * a.scale)),
        "parents": max(100, int(100000 * a.scale)) // 10 * 10,
        "purge": max(100, int(1000000 * a.scale)),
        "copy": max(100, int(1000000 * a.scale)),
    }
    ctx = Ctx(a)
    if a.phase == "setup":
        setup_database(ctx)
        return
    ctx.load_before = load_avg()
    info = open_database(ctx)
    make_templates(ctx, sizes, workloads)

    results = {}
    for name, fn in (("bulk", wl_bulk), ("single", wl_single), ("reads", wl_reads),
                     ("cascade", wl_cascade), ("purge", wl_purge), ("flags", wl_flags),
                     ("ingest", wl_ingest)):
        if name in workloads:
            log("== workload: %s ==" % name)
            t0 = time.time()
            results[name] = fn(ctx, sizes)
            log("== %s took %s ==" % (name, fmt_wall(time.time() - t0)))

    md = report(ctx, info, sizes, results, time.time() - start)
    print(md)
    with open(a.out, "w") as f:
        f.write(md + "\n")
    log("results written to %s" % a.out)


if __name__ == "__main__":
    main()
