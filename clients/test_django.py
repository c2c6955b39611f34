"""softdelete under the Django ORM (standalone, written for Django 3.2, Debian 12).

The app lives in clients/_djapp (label "app": tables app_author, app_book,
app_review).  Its tables are created with the schema editor as the
application role and enabled by the extension's event trigger (they have a
nullable `deleted_at timestamptz`).  Django declares its foreign keys
NO ACTION DEFERRABLE INITIALLY DEFERRED and deletes the children itself, then
the parent, in one transaction; it reads the row counts from cursor.rowcount.
"""

import os
import sys

sys.dont_write_bytecode = True  # before importing _common: no __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Sandbox, Tap, sqlstate  # noqa: E402
from _djsettings import configure  # noqa: E402

import django  # noqa: E402

t = Tap("Django %s" % django.get_version())


def main(sb):
    configure(sb, "_djapp.apps.DjAppConfig")
    from django.db import IntegrityError, connection, transaction
    from django.db.models.signals import post_delete

    from _djapp.models import Author, Book, Review

    def q(sql, args=None):
        with connection.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    with connection.schema_editor() as editor:
        for model in (Author, Book, Review):
            editor.create_model(model)

    t.eq(q("SELECT table_name::text, column_name::text FROM softdelete.tables ORDER BY 1"),
         [("app_author", "deleted_at"), ("app_book", "deleted_at"),
          ("app_review", "deleted_at")],
         "schema_editor's tables are auto-enabled (softdelete.tables)")
    t.eq(q("SELECT confdeltype, condeferrable, condeferred FROM pg_constraint"
           " WHERE conrelid = 'app_book'::regclass AND contype = 'f'"),
         [("a", True, True)],
         "Django's FK is NO ACTION DEFERRABLE INITIALLY DEFERRED")

    def seed():
        out = {}
        for name in ("ann", "bob", "cy", "dee"):
            a = Author.objects.create(name=name)
            books = [Book.objects.create(author=a, title="%s-%d" % (name, k)) for k in range(3)]
            Review.objects.create(book=books[0], stars=5)
            Review.objects.create(book=books[1], stars=3)
            out[name] = a
        return out

    authors = seed()
    ann, bob, cy, dee = (authors[k] for k in ("ann", "bob", "cy", "dee"))

    # ---- author.delete(): true counts --------------------------------------
    ann_id = ann.id
    n, per_model = ann.delete()
    t.eq((n, per_model), (6, {"app.Review": 2, "app.Book": 3, "app.Author": 1}),
         "author.delete() returns the true counts (Django reads cursor.rowcount)")
    t.ok(not Author.objects.filter(id=ann_id).exists(), "Author.objects no longer shows it")
    t.eq(Book.objects.filter(author_id=ann_id).count(), 0, "Book.objects no longer shows its books")
    t.eq(Review.objects.filter(book__author_id=ann_id).count(), 0, "nor their reviews")
    t.eq(sorted(Author.objects.values_list("name", flat=True)), ["bob", "cy", "dee"],
         "the other authors are live")
    trashed = list(Book.objects.raw(
        "SELECT * FROM softdelete.trash(NULL::app_book) ORDER BY id"))
    t.eq([b.title for b in trashed], ["ann-0", "ann-1", "ann-2"],
         "the books are in the trash (Book.objects.raw over softdelete.trash)")
    t.ok(all(b.deleted_at is not None for b in trashed), "with deleted_at set")
    t.eq(q("SELECT count(DISTINCT deleted_at) FROM ("
           " SELECT deleted_at FROM softdelete.trash(NULL::app_author)"
           " UNION ALL SELECT deleted_at FROM softdelete.trash(NULL::app_book)"
           " UNION ALL SELECT deleted_at FROM softdelete.trash(NULL::app_review)) x")[0][0], 1,
         "Django's separate DELETEs share one stamp (one transaction)")

    # ---- restore: the author and everything Django deleted with it -----------
    t.eq(q("SELECT softdelete.restore('app_author', %s)", [ann_id])[0][0], 6,
         "softdelete.restore('app_author', id) returns 6 (author, 3 books, 2 reviews)")
    t.ok(Author.objects.filter(id=ann_id, deleted_at__isnull=True).exists(), "the author is back")
    t.eq(sorted(Book.objects.filter(author_id=ann_id).values_list("title", flat=True)),
         ["ann-0", "ann-1", "ann-2"], "and its books")
    t.eq(Review.objects.filter(book__author_id=ann_id).count(), 2, "and their reviews")

    # ---- the non-fast collector path (a post_delete receiver) ----------------
    seen = []

    def on_delete(sender, instance, **kw):
        seen.append(instance.pk)

    post_delete.connect(on_delete, sender=Review)
    try:
        n, per_model = bob.delete()
    finally:
        post_delete.disconnect(on_delete, sender=Review)
    t.eq((n, per_model), (6, {"app.Review": 2, "app.Book": 3, "app.Author": 1}),
         "author.delete() with a post_delete receiver (rows deleted by pk): true counts")
    t.eq(len(seen), 2, "post_delete fired for each review")
    t.eq(Book.objects.filter(author__name="bob").count(), 0, "bob's books are gone")

    # ---- bulk QuerySet.delete() ------------------------------------------------
    n, per_model = Book.objects.filter(author=cy, title__in=["cy-1", "cy-2"]).delete()
    t.eq((n, per_model), (3, {"app.Review": 1, "app.Book": 2}),
         "Book.objects.filter(...).delete() returns the true counts")
    n, per_model = Review.objects.filter(book__author=dee).delete()
    t.eq((n, per_model), (2, {"app.Review": 2}), "bulk fast delete of reviews: count 2")
    n, per_model = Review.objects.filter(book__author=dee).delete()
    t.eq(n, 0, "again: nothing live left, count 0")
    t.eq(sorted(Book.objects.filter(author=cy).values_list("title", flat=True)), ["cy-0"],
         "cy keeps one book")

    # ---- a delete that skips Django's collector: the deferred check ------------
    before = (
        sorted(Author.objects.values_list("id", flat=True)),
        sorted(Book.objects.values_list("id", flat=True)),
        q("SELECT count(*) FROM softdelete.trash(NULL::app_author)")[0][0],
    )
    dee_id = dee.id

    def raw_delete():
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("DELETE FROM app_author WHERE id = %s", [dee_id])
                t.eq(cur.rowcount, 1, "raw DELETE of an author with live books: rowcount 1 "
                                      "(the check is deferred)")

    e = t.raises(IntegrityError, raw_delete,
                 "raw DELETE FROM app_author in transaction.atomic() fails at commit "
                 "with IntegrityError")
    t.eq(sqlstate(e), "23503", "SQLSTATE 23503")
    after = (
        sorted(Author.objects.values_list("id", flat=True)),
        sorted(Book.objects.values_list("id", flat=True)),
        q("SELECT count(*) FROM softdelete.trash(NULL::app_author)")[0][0],
    )
    t.eq(after, before, "nothing changed: same live authors, books, and trash")
    t.ok(Author.objects.filter(id=dee_id, deleted_at__isnull=True).exists(),
         "the author is still live")

    # ... and with the books trashed first in the same transaction, it passes
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("DELETE FROM app_book WHERE author_id = %s", [dee_id])
            nb = cur.rowcount
            cur.execute("DELETE FROM app_author WHERE id = %s", [dee_id])
            na = cur.rowcount
    t.eq((nb, na), (3, 1), "raw DELETE books then author in one transaction commits")

    # nothing was really removed
    t.eq(q("SELECT (SELECT count(*) FROM softdelete.with_trash(NULL::app_author)),"
           "       (SELECT count(*) FROM softdelete.with_trash(NULL::app_book)),"
           "       (SELECT count(*) FROM softdelete.with_trash(NULL::app_review))")[0],
         (4, 12, 8), "with_trash still holds every row")

    connection.close()


with Sandbox("django") as sb:
    try:
        main(sb)
    except Exception:  # noqa: BLE001
        t.crash("test_django")
    finally:
        try:
            from django.db import connections
            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
t.done()
