"""Shared helpers for the client tests in clients/*.py.

scripts/test runs each clients/*.py (files starting with "_" are skipped) with
cwd=clients/ and PGHOST/PGPORT/PGUSER=postgres/PGDATABASE pointing at the
throwaway cluster, which preloads softdelete (shared_preload_libraries), so a
soft DELETE reports the true row count and RETURNING works.

Superusers bypass row-level security, so each test runs the application as a
non-superuser LOGIN role that owns the tables, in a database of its own:

    with Sandbox("psycopg") as sb:      # creates db + role, CREATE EXTENSION
        conn = sb.connect()             # psycopg2 connection as the app role
        ...
    t.done()                            # prints the summary, exits 1 on failure

Output is TAP-like: one "ok - name" / "not ok - name" line per check.
"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the checkout
import traceback
import uuid

import psycopg2
import psycopg2.extensions


def conn_params(dbname=None, user=None):
    """libpq keyword arguments for the cluster from the environment."""
    params = {}
    if os.environ.get("PGHOST"):
        params["host"] = os.environ["PGHOST"]
    if os.environ.get("PGPORT"):
        params["port"] = os.environ["PGPORT"]
    params["user"] = user or os.environ.get("PGUSER") or "postgres"
    params["dbname"] = dbname or os.environ.get("PGDATABASE") or "postgres"
    return params


def admin_connect(dbname=None):
    """An autocommit connection as the superuser (PGUSER, normally postgres)."""
    conn = psycopg2.connect(**conn_params(dbname=dbname))
    conn.autocommit = True
    return conn


def _ident(name):
    return '"' + name.replace('"', '""') + '"'


class Sandbox:
    """A database and a non-superuser LOGIN role, both unique and throwaway.

    On enter: CREATE ROLE <role> LOGIN, CREATE DATABASE <db> OWNER <role>,
    and CREATE EXTENSION softdelete in it (as the superuser); the role also
    owns schema public (PG15 no longer lets everyone create there).
    On exit: terminate leftover sessions, DROP DATABASE, DROP ROLE (and any
    extra roles made with new_role()).
    """

    def __init__(self, tag):
        suffix = uuid.uuid4().hex[:10]
        self.tag = tag
        self.dbname = "sd_client_%s_%s" % (tag, suffix)
        self.role = "sd_app_%s_%s" % (tag, suffix)
        self.extra_roles = []

    # -- lifecycle -----------------------------------------------------
    def __enter__(self):
        try:
            admin = admin_connect()
            try:
                with admin.cursor() as cur:
                    cur.execute("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS" % _ident(self.role))
                    cur.execute("CREATE DATABASE %s OWNER %s"
                                % (_ident(self.dbname), _ident(self.role)))
            finally:
                admin.close()
            admin = admin_connect(self.dbname)
            try:
                with admin.cursor() as cur:
                    cur.execute("CREATE EXTENSION softdelete")
                    cur.execute("ALTER SCHEMA public OWNER TO %s" % _ident(self.role))
            finally:
                admin.close()
        except BaseException:
            self.drop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.drop()
        return False

    def drop(self):
        admin = admin_connect()
        try:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.dbname,),
                )
                cur.execute("DROP DATABASE IF EXISTS %s" % _ident(self.dbname))
                for r in self.extra_roles + [self.role]:
                    cur.execute("DROP ROLE IF EXISTS %s" % _ident(r))
        finally:
            admin.close()

    # -- helpers -------------------------------------------------------
    def params(self, user=None):
        return conn_params(dbname=self.dbname, user=user or self.role)

    def connect(self, user=None, autocommit=False):
        """A psycopg2 connection to the sandbox db as the app role (or user)."""
        conn = psycopg2.connect(**self.params(user))
        conn.autocommit = autocommit
        return conn

    def admin(self):
        """An autocommit superuser connection to the sandbox db."""
        return admin_connect(self.dbname)

    def new_role(self, name):
        """Another non-superuser LOGIN role, dropped with the sandbox."""
        full = "%s_%s" % (self.role, name)
        admin = admin_connect()
        try:
            with admin.cursor() as cur:
                cur.execute("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS" % _ident(full))
        finally:
            admin.close()
        self.extra_roles.append(full)
        return full

    def sqlalchemy_url(self, user=None):
        """A SQLAlchemy URL for the sandbox db over the Unix socket."""
        p = self.params(user)
        q = []
        if "host" in p:
            q.append("host=" + p["host"])
        if "port" in p:
            q.append("port=" + str(p["port"]))
        return "postgresql+psycopg2://%s@/%s?%s" % (p["user"], p["dbname"], "&".join(q))


class Tap:
    """A tiny assertion harness: ok/not ok lines, a summary, the exit code."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        print("# %s" % name, flush=True)

    def ok(self, cond, name, detail=None):
        if cond:
            self.passed += 1
            print("ok - %s" % name, flush=True)
        else:
            self.failed += 1
            print("not ok - %s" % name, flush=True)
            if detail is not None:
                for line in str(detail).splitlines():
                    print("#   %s" % line, flush=True)
        return bool(cond)

    def eq(self, got, expected, name):
        return self.ok(got == expected, name,
                       "expected: %r\n     got: %r" % (expected, got))

    def raises(self, exc_type, fn, name, check=None):
        """fn() must raise exc_type; check(exc) (if given) must be true.
        Returns the exception (or None)."""
        try:
            fn()
        except exc_type as e:  # noqa: B902
            if check is not None and not check(e):
                self.ok(False, name, "raised %r but check failed" % (e,))
            else:
                self.ok(True, name)
            return e
        except Exception as e:  # noqa: BLE001
            self.ok(False, name, "expected %s, got %s: %s"
                    % (exc_type.__name__, type(e).__name__, e))
            return e
        self.ok(False, name, "expected %s, nothing was raised" % exc_type.__name__)
        return None

    def crash(self, where):
        """Record an unexpected exception as a failure (with its traceback)."""
        self.ok(False, "no unexpected exception (%s)" % where, traceback.format_exc())

    def done(self):
        total = self.passed + self.failed
        print("# %s: %d/%d passed" % (self.name, self.passed, total), flush=True)
        if total == 0:
            print("not ok - no checks ran", flush=True)
            sys.exit(1)
        sys.exit(1 if self.failed else 0)


def sqlstate(exc):
    """The SQLSTATE of a psycopg2 error (also when wrapped by an ORM)."""
    for e in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        code = getattr(e, "pgcode", None)
        if code:
            return code
    return None
