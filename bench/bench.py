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
import hashlib
import os
import re
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

def connect(user, dbname=DB):
    conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"],
                            user=user, dbname=dbname,
                            application_name="softdelete-bench")
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

    def app(self):
        return connect(APP)

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

    def pgbench(self, name, script, seconds):
        path = os.path.join(self.tmpdir, name + ".sql")
        with open(path, "w") as f:
            f.write(script)
        cmd = [self.args.pgbench, "-n", "-c", "2", "-j", "2", "-T", str(seconds),
               "-M", "prepared", "-f", path, "-U", APP, "-d", DB]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
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
