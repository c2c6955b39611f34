"""softdelete through psycopg 3 (Debian's python3-psycopg), as an application uses it:
cursor.rowcount and statusmessage of DELETE, RETURNING, prepared statements,
executemany, a server-side (named) cursor with DELETE ... WHERE CURRENT OF,
pipeline mode, transactions and savepoints rolled back, the async connection,
and errors mapped to psycopg.errors classes.

Run by scripts/test-packages against the cluster of scripts/test (softdelete
preloaded), in a database and as a non-superuser role of its own
(clients/_common.Sandbox; its own connections use psycopg2, ours psycopg 3).
It lives in a folder of its own so that scripts/test's generic clients/*.py
hook does not run it before scripts/test-packages has installed
python3-psycopg.
"""

import os
import sys

sys.dont_write_bytecode = True  # before importing _common: no __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import asyncio

import psycopg
import psycopg.errors

from _common import Sandbox, Tap

t = Tap("psycopg %s (libpq %s)" % (psycopg.__version__, psycopg.pq.version()))


def ids(cur, sql, args=None):
    return [r[0] for r in cur.execute(sql, args).fetchall()]


def one(cur, sql, args=None):
    return cur.execute(sql, args).fetchone()[0]


def main(sb):
    params = sb.params()
    conn = psycopg.connect(**params)  # not autocommit: one transaction per commit()
    cur = conn.cursor()
    admin = sb.admin()
    with admin.cursor() as acur:
        acur.execute("SHOW shared_preload_libraries")
        t.ok("softdelete" in acur.fetchone()[0],
             "the server preloads softdelete (shared_preload_libraries)")
    admin.close()

    cur.execute("""
        CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
        INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 20) g;
        SELECT softdelete.enable('t');
        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE child (id int PRIMARY KEY,
                            parent_id int NOT NULL REFERENCES parent ON DELETE CASCADE);
        CREATE TABLE pin (id int PRIMARY KEY,
                          parent_id int NOT NULL REFERENCES parent ON DELETE RESTRICT);
        INSERT INTO parent VALUES (1), (2), (3);
        INSERT INTO child VALUES (10, 1), (11, 1), (20, 2);
        INSERT INTO pin VALUES (300, 3);
        SELECT softdelete.enable('parent'), softdelete.enable('child'),
               softdelete.enable('pin');
    """)
    conn.commit()

    # ---- rowcount and statusmessage ---------------------------------------
    cur.execute("DELETE FROM t WHERE id IN (1, 2)")
    t.eq((cur.rowcount, cur.statusmessage), (2, "DELETE 2"),
         "DELETE: rowcount 2, statusmessage 'DELETE 2'")
    cur.execute("DELETE FROM t WHERE id = ANY(%s)", ([1, 2, 3],))
    t.eq(cur.rowcount, 1, "rows already in the trash are not counted again")
    conn.commit()

    # ---- RETURNING ------------------------------------------------------------
    rows = cur.execute("DELETE FROM t WHERE id IN (4, 5) "
                       "RETURNING id, name, deleted_at, deleted_at = now()").fetchall()
    t.eq(cur.rowcount, 2, "DELETE ... RETURNING: rowcount 2")
    t.eq(sorted((r[0], r[1]) for r in rows), [(4, "n4"), (5, "n5")],
         "RETURNING returns the soft-deleted rows")
    t.ok(all(r[2] is not None and r[2].tzinfo is not None and r[3] for r in rows),
         "RETURNING's deleted_at is an aware datetime, the transaction's now()", repr(rows))
    conn.commit()

    # ---- prepared statements, binary results, executemany --------------------
    for k in (6, 7):
        cur.execute("DELETE FROM t WHERE id = %s", (k,), prepare=True)
        t.eq(cur.rowcount, 1, "prepare=True, id %d: rowcount 1" % k)
    bcur = conn.cursor(binary=True)
    got = bcur.execute("DELETE FROM t WHERE id = %s RETURNING id", (8,)).fetchall()
    t.eq(got, [(8,)], "binary cursor: RETURNING id 8")
    cur.executemany("DELETE FROM t WHERE id = %s", [(9,), (10,), (999,)])
    t.eq(cur.rowcount, 2, "executemany of 3 DELETEs (one matching nothing): rowcount 2")
    conn.commit()
    t.eq(ids(cur, "SELECT id FROM softdelete.trash(NULL::t) ORDER BY id"),
         list(range(1, 11)), "ids 1..10 are in the trash")
    conn.commit()

    # ---- a server-side cursor --------------------------------------------------
    with conn.cursor(name="live_rows") as sc:
        sc.itersize = 3
        sc.execute("SELECT id FROM t ORDER BY id")
        seen = [r[0] for r in sc]
    t.eq(seen, list(range(11, 21)), "a server-side cursor sees the live rows only")
    conn.commit()
    with conn.cursor(name="doomed") as sc:
        sc.execute("SELECT id FROM t WHERE id IN (11, 12) ORDER BY id FOR UPDATE")
        first = sc.fetchone()[0]
        cur.execute("DELETE FROM t WHERE CURRENT OF doomed RETURNING id")
        t.eq((first, cur.rowcount, cur.fetchall()), (11, 1, [(11,)]),
             "DELETE ... WHERE CURRENT OF a server-side cursor: rowcount 1, RETURNING 11")
    conn.commit()
    t.eq(one(cur, "SELECT deleted_at IS NOT NULL FROM softdelete.with_trash(NULL::t) "
                  "WHERE id = 11"), True, "row 11 is trashed, not removed")
    conn.commit()

    # ---- pipeline mode ---------------------------------------------------------
    t.ok(psycopg.Pipeline.is_supported(), "pipeline mode is supported by this libpq")
    c1, c2, c3 = conn.cursor(), conn.cursor(), conn.cursor()
    with conn.pipeline():
        c1.execute("DELETE FROM t WHERE id = %s", (13,))
        c2.execute("DELETE FROM t WHERE id IN (14, 15) RETURNING id")
        c3.execute("SELECT count(*) FROM t")
    t.eq((c1.rowcount, c2.rowcount, sorted(c2.fetchall()), c3.fetchone()[0]),
         (1, 2, [(14,), (15,)], 6),
         "pipeline: rowcounts 1 and 2, RETURNING 14 and 15, 6 rows left live")
    conn.commit()

    # ---- transactions and savepoints rolled back ---------------------------------
    conn.autocommit = True
    with conn.transaction():
        cur.execute("DELETE FROM t WHERE id = 16")
        t.eq(cur.rowcount, 1, "in conn.transaction(): rowcount 1")
        raise psycopg.Rollback()
    t.eq(ids(cur, "SELECT id FROM t WHERE id = 16"), [16],
         "psycopg.Rollback(): row 16 is live again")
    with conn.transaction():
        cur.execute("DELETE FROM t WHERE id = 17")
        with conn.transaction():  # a savepoint
            cur.execute("DELETE FROM t WHERE id = 18")
            raise psycopg.Rollback()
    t.eq(ids(cur, "SELECT id FROM t WHERE id IN (17, 18)"), [18],
         "savepoint rolled back: 18 live, 17 (outer transaction) trashed")
    t.eq(ids(cur, "SELECT id FROM softdelete.trash(NULL::t) WHERE id IN (16, 17, 18)"), [17],
         "only 17 is in the trash")

    # ---- cascade and restore ---------------------------------------------------------
    cur.execute("DELETE FROM parent WHERE id = 1")
    t.eq(cur.rowcount, 1, "DELETE parent: rowcount 1 (the parent, as a hard delete)")
    t.eq(ids(cur, "SELECT id FROM child ORDER BY id"), [20], "its children went with it")
    t.eq(one(cur, "SELECT softdelete.restore('parent', 1)"), 3,
         "restore(parent, 1) returns 3 (an int: bigint is loaded as int)")

    # ---- RESTRICT ---------------------------------------------------------------------
    try:
        cur.execute("DELETE FROM parent WHERE id = 3")
        t.ok(False, "DELETE of a parent with a live RESTRICT child raises ForeignKeyViolation")
    except psycopg.errors.ForeignKeyViolation as e:
        t.eq(e.sqlstate, "23503",
             "DELETE of a parent with a live RESTRICT child raises ForeignKeyViolation (23503)")
    t.eq(ids(cur, "SELECT id FROM parent ORDER BY id"), [1, 2, 3], "nothing changed")
    conn.close()

    # ---- the async connection -----------------------------------------------------------
    async def async_part():
        aconn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        async with aconn:
            acur = aconn.cursor()
            await acur.execute("DELETE FROM t WHERE id IN (19, 20) RETURNING id")
            return acur.rowcount, sorted(await acur.fetchall())

    t.eq(asyncio.run(async_part()), (2, [(19,), (20,)]),
         "AsyncConnection: rowcount 2, RETURNING 19 and 20")


with Sandbox("psycopg3") as sb:
    try:
        main(sb)
    except Exception:  # noqa: BLE001
        t.crash("test_psycopg3")
t.done()
