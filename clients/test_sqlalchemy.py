"""softdelete under the SQLAlchemy ORM (written for SQLAlchemy 1.4, Debian 12).

The tables are created by metadata.create_all() as the application role; the
extension's event trigger enables them because they have a nullable
`deleted_at timestamptz` column.  The ORM then deletes as usual: it checks the
row counts the server reports (strictly, with a version counter), so a soft
DELETE must report the rows it trashed, or the ORM raises StaleDataError or
warns (turned into errors here).
"""

import sys

sys.dont_write_bytecode = True  # before importing _common: no __pycache__

import warnings

import sqlalchemy
from sqlalchemy import (Column, DateTime, ForeignKey, Integer, String,
                        create_engine, text)
from sqlalchemy.orm import Session, declarative_base, relationship

from _common import Sandbox, Tap

t = Tap("SQLAlchemy %s" % sqlalchemy.__version__)

Base = declarative_base()


class Parent(Base):
    __tablename__ = "parent"
    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(40), nullable=False)
    # a version counter makes the ORM check DELETE's row count strictly
    # (StaleDataError on a mismatch instead of a warning)
    version = Column(Integer, nullable=False)
    deleted_at = Column(DateTime(timezone=True), nullable=True)
    children = relationship("Child", back_populates="parent",
                            cascade="all, delete-orphan", passive_deletes=True)
    __mapper_args__ = {"version_id_col": version}


class Child(Base):
    __tablename__ = "child"
    id = Column(Integer, primary_key=True, autoincrement=False)
    parent_id = Column(Integer, ForeignKey("parent.id", ondelete="CASCADE"),
                       nullable=False)
    name = Column(String(40), nullable=False)
    deleted_at = Column(DateTime(timezone=True), nullable=True)
    parent = relationship("Parent", back_populates="children")


def seed(session):
    for pid in (1, 2, 3):
        p = Parent(id=pid, name="p%d" % pid)
        for k in range(3):
            p.children.append(Child(id=pid * 10 + k, name="c%d_%d" % (pid, k)))
        session.add(p)
    session.commit()


def child_ids(session):
    return [c.id for c in session.query(Child).order_by(Child.id)]


def parent_ids(session):
    return [p.id for p in session.query(Parent).order_by(Parent.id)]


def main(sb):
    engine = create_engine(sb.sqlalchemy_url(), future=True)
    try:
        run(engine)
    finally:
        engine.dispose()


def run(engine):
    Base.metadata.create_all(engine)

    with engine.connect() as conn:
        reg = conn.execute(text(
            "SELECT table_name::text, column_name::text FROM softdelete.tables ORDER BY 1")).all()
    t.eq([tuple(r) for r in reg], [("child", "deleted_at"), ("parent", "deleted_at")],
         "create_all's tables are auto-enabled (softdelete.tables)")

    # every warning from here on is an error: a SAWarning about row counts fails
    warnings.simplefilter("error")

    with Session(engine) as s:
        seed(s)
        t.eq(parent_ids(s), [1, 2, 3], "seeded parents")

    # ---- session.delete + commit, children not loaded: the DB cascades ------
    with Session(engine) as s:
        p1 = s.get(Parent, 1)
        try:
            s.delete(p1)
            s.commit()
            t.ok(True, "session.delete(parent); commit(): no StaleDataError, no SAWarning")
        except Exception as e:  # noqa: BLE001
            s.rollback()
            t.ok(False, "session.delete(parent); commit(): no StaleDataError, no SAWarning",
                 "%s: %s" % (type(e).__name__, e))

    with Session(engine) as s:
        t.eq(parent_ids(s), [2, 3], "the parent is gone from session.query(Parent)")
        t.eq(s.get(Parent, 1), None, "session.get(Parent, 1) is None")
        t.eq(child_ids(s), [20, 21, 22, 30, 31, 32],
             "its children are gone from session.query(Child) (DB cascade)")
        # the trash, read back as ORM objects through the mapped deleted_at
        trashed = s.query(Child).from_statement(
            text("SELECT * FROM softdelete.trash(NULL::child) ORDER BY id")).all()
        t.eq([c.id for c in trashed], [10, 11, 12], "the children are in the trash")
        t.ok(all(c.deleted_at is not None and c.deleted_at.tzinfo is not None for c in trashed),
             "trashed Child objects carry an aware deleted_at")
        s.rollback()

    # ---- raw restore ---------------------------------------------------------
    with Session(engine) as s:
        n = s.execute(text("SELECT softdelete.restore('parent', :id)"), {"id": 1}).scalar_one()
        s.commit()
        t.eq(n, 4, "softdelete.restore('parent', 1) returns 4 (parent + 3 children)")
    with Session(engine) as s:
        p1 = s.get(Parent, 1)
        t.ok(p1 is not None and p1.deleted_at is None, "the parent is back, deleted_at None")
        t.eq(sorted(c.id for c in p1.children) if p1 else None, [10, 11, 12],
             "its children are back (relationship load)")

    # ---- session.delete with the children loaded: the ORM deletes them -------
    with Session(engine) as s:
        p2 = s.get(Parent, 2)
        t.eq(len(p2.children), 3, "parent 2 has 3 children loaded")
        try:
            s.delete(p2)
            s.commit()
            t.ok(True, "delete with loaded children (ORM deletes them first): no error/warning")
        except Exception as e:  # noqa: BLE001
            s.rollback()
            t.ok(False, "delete with loaded children (ORM deletes them first): no error/warning",
                 "%s: %s" % (type(e).__name__, e))
    with Session(engine) as s:
        t.eq(parent_ids(s), [1, 3], "parent 2 gone")
        t.eq(child_ids(s), [10, 11, 12, 30, 31, 32], "children of parent 2 gone")
        stamps = s.execute(text(
            "SELECT count(DISTINCT deleted_at) FROM ("
            " SELECT deleted_at FROM softdelete.trash(NULL::parent) WHERE id = 2"
            " UNION ALL SELECT deleted_at FROM softdelete.trash(NULL::child) WHERE parent_id = 2) x"
        )).scalar_one()
        t.eq(stamps, 1, "parent 2 and its children share one stamp (one transaction)")
        n = s.execute(text("SELECT softdelete.restore('parent', 2)")).scalar_one()
        s.commit()
        t.eq(n, 4, "restore brings back parent 2 and the 3 children the ORM deleted")
        t.eq(child_ids(s), [10, 11, 12, 20, 21, 22, 30, 31, 32], "all children back")

    # ---- delete-orphan: removing a child from the collection -----------------
    with Session(engine) as s:
        p3 = s.get(Parent, 3)
        orphan = [c for c in p3.children if c.id == 31][0]
        p3.children.remove(orphan)
        try:
            s.commit()
            t.ok(True, "delete-orphan flush: no error/warning")
        except Exception as e:  # noqa: BLE001
            s.rollback()
            t.ok(False, "delete-orphan flush: no error/warning", "%s: %s" % (type(e).__name__, e))
        t.eq(sorted(c.id for c in s.get(Parent, 3).children), [30, 32],
             "the orphan is gone from the collection after reload")

    # ---- bulk query.delete() ----------------------------------------------------
    with Session(engine) as s:
        n = s.query(Child).filter(Child.parent_id == 1, Child.id >= 11).delete(
            synchronize_session=False)
        s.commit()
        t.eq(n, 2, "bulk query(Child).filter(...).delete() returns 2")
        n = s.query(Child).filter(Child.parent_id == 1).delete(synchronize_session="evaluate")
        s.commit()
        t.eq(n, 1, "a second bulk delete counts only the live row left (1)")
        t.eq(child_ids(s), [20, 21, 22, 30, 32], "bulk-deleted children gone")
        trashed = s.execute(text(
            "SELECT id FROM softdelete.trash(NULL::child) ORDER BY id")).scalars().all()
        t.eq(trashed, [10, 11, 12, 31], "and in the trash")
        n = s.query(Parent).filter(Parent.id.in_([1, 3])).delete(synchronize_session="fetch")
        s.commit()
        t.eq(n, 2, "bulk delete of 2 parents returns 2 (the parents, as a hard delete would)")
        t.eq(child_ids(s), [20, 21, 22], "their live children cascaded")

    # nothing was really removed
    with engine.connect() as conn:
        total = conn.execute(text(
            "SELECT (SELECT count(*) FROM softdelete.with_trash(NULL::parent)),"
            "       (SELECT count(*) FROM softdelete.with_trash(NULL::child))")).one()
    t.eq(tuple(total), (3, 9), "with_trash still holds every row (3 parents, 9 children)")


with Sandbox("sqlalchemy") as sb:
    try:
        main(sb)
    except Exception:  # noqa: BLE001
        warnings.resetwarnings()
        t.crash("test_sqlalchemy")
t.done()
