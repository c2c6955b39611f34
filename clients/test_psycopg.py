"""softdelete through psycopg2, as a plain application would use it.

Runs against the cluster of scripts/test (softdelete preloaded), in a
database and as a non-superuser role of its own (see _common.Sandbox).
"""

import sys

sys.dont_write_bytecode = True  # before importing _common: no __pycache__

import psycopg2
import psycopg2.errors

from _common import Sandbox, Tap, sqlstate

t = Tap("psycopg2 %s" % psycopg2.__version__)


def rows(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchall()


def ids(cur, sql, args=None):
    return [r[0] for r in rows(cur, sql, args)]


def main(sb):
    conn = sb.connect()  # the app role; not autocommit: one transaction per commit()
    cur = conn.cursor()

    # ---- schema, as the app role ------------------------------------------
    cur.execute("""
        CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
        INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 6) g;
        SELECT softdelete.enable('t');

        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE child (id int PRIMARY KEY,
                            parent_id int NOT NULL REFERENCES parent ON DELETE CASCADE);
        CREATE TABLE pin (id int PRIMARY KEY,
                          parent_id int NOT NULL REFERENCES parent ON DELETE RESTRICT);
        INSERT INTO parent VALUES (1), (2), (3);
        INSERT INTO child VALUES (10, 1), (11, 1), (12, 1), (20, 2), (30, 3);
        INSERT INTO pin VALUES (300, 3);
        SELECT softdelete.enable('parent'), softdelete.enable('child'),
               softdelete.enable('pin');
    """)
    conn.commit()
    t.eq(sorted(ids(cur, "SELECT table_name::text FROM softdelete.tables")),
         ["child", "parent", "pin", "t"], "the four tables are soft-deletable")

    # ---- rowcount ---------------------------------------------------------
    cur.execute("DELETE FROM t WHERE id IN (1, 2)")
    t.eq(cur.rowcount, 2, "cur.rowcount after DELETE is the number of rows soft-deleted")
    cur.execute("DELETE FROM t WHERE id IN (1, 2, 3)")
    t.eq(cur.rowcount, 1, "rows already in the trash are not counted again")
    cur.execute("DELETE FROM t WHERE id = 999")
    t.eq(cur.rowcount, 0, "DELETE of no row: rowcount 0")
    conn.commit()

    # ---- RETURNING ----------------------------------------------------------
    cur.execute("DELETE FROM t WHERE id IN (4, 5) RETURNING id, name, deleted_at")
    ret = sorted(cur.fetchall())
    t.eq(cur.rowcount, 2, "DELETE ... RETURNING: rowcount 2")
    t.eq([(r[0], r[1]) for r in ret], [(4, "n4"), (5, "n5")],
         "DELETE ... RETURNING returns the deleted rows")
    now = rows(cur, "SELECT now()")[0][0]
    t.ok(all(r[2] is not None for r in ret), "RETURNING shows deleted_at set",
         repr(ret))
    t.ok(all(r[2] == now for r in ret),
         "RETURNING's deleted_at is the transaction's now()", "%r vs now %r" % (ret, now))
    returned_stamp = ret[0][2] if ret else None
    conn.commit()

    # ---- gone from SELECT, present in the trash -----------------------------
    t.eq(ids(cur, "SELECT id FROM t ORDER BY id"), [6],
         "soft-deleted rows vanish from SELECT")
    t.eq(rows(cur, "SELECT count(*) FROM t WHERE id IN (1, 2, 3, 4, 5)")[0][0], 0,
         "even when asked for by key")
    trash = rows(cur, "SELECT id, name, deleted_at FROM softdelete.trash(NULL::t) ORDER BY id")
    t.eq([r[0] for r in trash], [1, 2, 3, 4, 5], "they are in softdelete.trash(NULL::t)")
    t.ok(all(r[2] is not None for r in trash), "trash rows carry deleted_at")
    t.eq([r[2] for r in trash if r[0] in (4, 5)], [returned_stamp, returned_stamp],
         "the trash keeps the stamp RETURNING showed")
    t.eq(ids(cur, "SELECT id FROM softdelete.with_trash(NULL::t) ORDER BY id"),
         [1, 2, 3, 4, 5, 6], "with_trash shows all rows")
    conn.commit()

    # ---- restore --------------------------------------------------------------
    t.eq(rows(cur, "SELECT softdelete.restore('t', 4)")[0][0], 1, "restore returns 1")
    t.eq(rows(cur, "SELECT softdelete.restore('t', 4)")[0][0], 0,
         "restore of a live row returns 0")
    conn.commit()
    t.eq(rows(cur, "SELECT id, name, deleted_at FROM t WHERE id = 4"), [(4, "n4", None)],
         "restored row is back, deleted_at NULL")
    t.eq(ids(cur, "SELECT id FROM softdelete.trash(NULL::t) ORDER BY id"), [1, 2, 3, 5],
         "and no longer in the trash")
    conn.commit()

    # ---- cascade along ON DELETE CASCADE ---------------------------------------
    cur.execute("DELETE FROM parent WHERE id = 1 RETURNING id")
    t.eq([r[0] for r in cur.fetchall()], [1],
         "DELETE parent RETURNING returns the parent (as a hard delete does)")
    t.eq(cur.rowcount, 1, "rowcount counts the parent only, as a hard delete does")
    conn.commit()
    t.eq(ids(cur, "SELECT id FROM parent ORDER BY id"), [2, 3], "parent 1 is gone")
    t.eq(ids(cur, "SELECT id FROM child ORDER BY id"), [20, 30],
         "its children are gone too (cascade)")
    ctrash = rows(cur, "SELECT c.id, c.deleted_at = p.deleted_at FROM softdelete.trash(NULL::child) c"
                       " JOIN softdelete.trash(NULL::parent) p ON p.id = c.parent_id ORDER BY c.id")
    t.eq(ctrash, [(10, True), (11, True), (12, True)],
         "the children are in the trash with the parent's stamp")
    t.eq(rows(cur, "SELECT softdelete.restore('parent', 1)")[0][0], 4,
         "restore(parent) returns 4: the parent and its 3 children")
    conn.commit()
    t.eq(ids(cur, "SELECT id FROM child ORDER BY id"), [10, 11, 12, 20, 30],
         "the children are back")
    t.eq(rows(cur, "SELECT softdelete.soft_delete('parent', 2)")[0][0], 2,
         "soft_delete() counts the cascade: parent 2 + child 20")
    conn.rollback()
    t.eq(ids(cur, "SELECT id FROM child WHERE parent_id = 2"), [20],
         "rolled back: child 20 still live")
    conn.commit()

    # ---- RESTRICT ---------------------------------------------------------------
    def delete_pinned():
        cur.execute("DELETE FROM parent WHERE id = 3")

    e = t.raises(psycopg2.errors.ForeignKeyViolation, delete_pinned,
                 "DELETE of a parent with a live RESTRICT child raises ForeignKeyViolation")
    t.eq(sqlstate(e), "23503", "SQLSTATE 23503")
    conn.rollback()
    t.eq(ids(cur, "SELECT id FROM parent ORDER BY id"), [1, 2, 3], "nothing changed: parents")
    t.eq(ids(cur, "SELECT id FROM child ORDER BY id"), [10, 11, 12, 20, 30],
         "nothing changed: children (child 30 not cascaded)")
    t.eq(ids(cur, "SELECT id FROM pin"), [300], "nothing changed: pin")
    t.eq(rows(cur, "SELECT count(*) FROM softdelete.trash(NULL::parent)")[0][0]
         + rows(cur, "SELECT count(*) FROM softdelete.trash(NULL::child)")[0][0], 0,
         "nothing in the trash of parent/child")
    conn.commit()
    # once the pin is trashed, the parent may go
    cur.execute("DELETE FROM pin WHERE id = 300")
    cur.execute("DELETE FROM parent WHERE id = 3")
    t.eq(cur.rowcount, 1, "after trashing the pin, the RESTRICT parent can be deleted")
    conn.rollback()

    # ---- a role with only DELETE --------------------------------------------------
    clerk = sb.new_role("clerk")
    cur.execute("""
        CREATE TABLE ledger (id int PRIMARY KEY, amount int);
        INSERT INTO ledger VALUES (1, 10), (2, 20), (3, 30);
        SELECT softdelete.enable('ledger');
    """)
    cur.execute('GRANT DELETE ON ledger TO "%s"' % clerk)
    conn.commit()

    cconn = sb.connect(user=clerk)
    ccur = cconn.cursor()
    ccur.execute("DELETE FROM ledger")
    t.eq(ccur.rowcount, 3, "a DELETE-only role soft-deletes (rowcount 3)")
    cconn.commit()
    for what, sql in (("trash", "SELECT * FROM softdelete.trash(NULL::ledger)"),
                      ("with_trash", "SELECT * FROM softdelete.with_trash(NULL::ledger)"),
                      ("restore", "SELECT softdelete.restore('ledger', 1)"),
                      ("purge", "SELECT softdelete.purge('ledger')")):
        e = t.raises(psycopg2.errors.InsufficientPrivilege,
                     lambda: ccur.execute(sql),
                     "DELETE-only role: %s refused with InsufficientPrivilege" % what)
        t.eq(sqlstate(e), "42501", "DELETE-only role: %s SQLSTATE 42501" % what)
        cconn.rollback()
    cconn.close()
    t.eq(ids(cur, "SELECT id FROM softdelete.trash(NULL::ledger) ORDER BY id"), [1, 2, 3],
         "the owner reads the trash: all 3 rows, none restored or purged")
    conn.commit()
    conn.close()


with Sandbox("psycopg") as sb:
    try:
        main(sb)
    except Exception:  # noqa: BLE001
        t.crash("test_psycopg")
t.done()
