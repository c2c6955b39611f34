"""The recipes' schemas adopted as they are (README "Coming from the recipes").

Django 3.2 from Debian, standalone; the app is clients/_djrecipes (label
"recipes": tables recipes_textbook, recipes_note, recipes_post, recipes_comment,
recipes_account), written as a team would after following that README
section: the fields kept, every manager, queryset and delete()/restore()
override gone, softdelete.enable(...) and unique_among_live(...) in
migrations (0002, 0003).

The story: migration 0001 makes the recipes' tables as they were before the
extension (auto_enable off, as for tables that predate it), the old code's
data goes in (some rows already flagged deleted, a unique value renamed with
the suffix trick), then `migrate` adopts them.  Run preloaded (scripts/test
runs clients against a cluster with shared_preload_libraries), so delete()
returns true counts.
"""

import os
import sys

sys.dont_write_bytecode = True  # before importing _common: no __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Sandbox, Tap, sqlstate  # noqa: E402
from _djsettings import configure  # noqa: E402

import django  # noqa: E402

t = Tap("Django %s, the recipes' schemas" % django.get_version())


def main(sb):
    configure(sb, "_djrecipes.apps.RecipesConfig")
    from django.core.management import call_command
    from django.db import IntegrityError, NotSupportedError, connection, transaction
    from django.utils import timezone

    from _djrecipes.models import Account, Comment, Note, Post, Textbook

    def q(sql, args=None):
        with connection.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def one(sql, args=None):
        return q(sql, args)[0][0]

    def titles(qs, field="title"):
        return sorted(qs.values_list(field, flat=True))

    # ---- before: the recipes' tables, as the old code left them --------------
    q("SET softdelete.auto_enable = off")      # tables that predate the extension
    call_command("migrate", "recipes", "0001", verbosity=0)
    q("RESET softdelete.auto_enable")
    t.eq(one("SELECT count(*) FROM softdelete.tables WHERE table_name LIKE 'recipes%%'"), 0,
         "0001: the recipes' tables, not soft-deletable yet")

    # recipe 1's delete() set active = false
    for k in range(1, 6):
        Textbook.objects.create(title="t%d" % k, active=k <= 3)
    # recipe 4's soft_delete() set is_deleted
    for k in range(1, 5):
        Note.objects.create(text="n%d" % k, is_deleted=k > 2)
    # recipe 2's delete() set is_deleted and deleted_at, each row its own now()
    then = timezone.now() - timezone.timedelta(days=3)
    p1 = Post.objects.create(title="p1")
    p2 = Post.objects.create(title="p2")
    p3 = Post.objects.create(title="p3", is_deleted=True, deleted_at=then)
    # recipe 4's soft_delete() set only the flag
    p4 = Post.objects.create(title="p4", is_deleted=True)
    for body, post in (("c1", p1), ("c2", p1), ("c4", p2)):
        Comment.objects.create(post=post, body=body)
    c3 = Comment.objects.create(post=p1, body="c3", is_deleted=True, deleted_at=then)
    c5 = Comment.objects.create(post=p3, body="c5", is_deleted=True,
                                deleted_at=then + timezone.timedelta(milliseconds=1))
    # recipe 3's delete() renamed the unique value
    for email, gone in (("ann@example.org", None), ("bob@example.org__deleted_1700000000", then),
                        ("cy@example.org", None)):
        Account.objects.create(email=email, deleted_at=gone)

    # ---- adoption: migrate --------------------------------------------------------
    call_command("migrate", "recipes", verbosity=0)
    t.eq(q("SELECT table_name::text FROM softdelete.tables WHERE table_name LIKE 'recipes%%'"
           " ORDER BY 1"),
         [("recipes_account",), ("recipes_comment",), ("recipes_note",), ("recipes_post",),
          ("recipes_textbook",)],
         "migrate: the tables are soft-deletable (softdelete.tables)")

    # ================= recipe 3: unique values freed on delete =======================
    t.eq(q("SELECT indexdef FROM pg_indexes WHERE indexname = 'recipes_account_email_key'"),
         [("CREATE UNIQUE INDEX recipes_account_email_key ON public.recipes_account"
           " USING btree (email) WHERE (deleted_at IS NULL)",)],
         "unique_among_live: Django's email_key is unique among live rows, same name")
    t.eq(titles(Account.objects.all(), "email"), ["ann@example.org", "cy@example.org"],
         "Account.objects: live accounts only (the suffixed one is in the trash)")
    ann = Account.objects.get(email="ann@example.org")
    ann_id = ann.pk                            # delete() sets ann.pk to None
    t.eq(ann.delete(), (1, {"recipes.Account": 1}), "ann.delete() returns (1, ...)")
    again = Account(email="ann@example.org")
    try:
        again.full_clean()
        t.ok(True, "full_clean() of a new account with the trashed email passes"
                   " (Django's unique check reads live rows)")
    except Exception as e:  # noqa: BLE001
        t.ok(False, "full_clean() of a new account with the trashed email passes", e)
    again.save()
    t.ok(again.pk != ann_id, "the email is used again by a new account")

    def restore_ann():
        with transaction.atomic():
            q("SELECT softdelete.restore('recipes_account', %s)", [ann_id])

    e = t.raises(IntegrityError, restore_ann,
                 "restoring the old account into its taken email fails")
    t.eq(sqlstate(e), "23505", "SQLSTATE 23505")
    t.eq((list(Account.objects.filter(email="ann@example.org").values_list("pk", flat=True)),
          one("SELECT count(*) FROM softdelete.trash(NULL::recipes_account) WHERE id = %s",
              [ann_id])),
         ([again.pk], 1), "nothing changed: the new account live, the old one in the trash")
    again.delete()
    t.eq(one("SELECT softdelete.restore('recipes_account', %s)", [ann_id]), 1,
         "once the new one is deleted, the old one restores")
    t.eq(Account.objects.get(email="ann@example.org").pk, ann_id, "with its own email")

    def out_of_step():
        return q("SELECT (SELECT count(*) FROM softdelete.with_trash(NULL::recipes_textbook)"
                 "         WHERE active IS DISTINCT FROM (deleted_at IS NULL)),"
                 "       (SELECT count(*) FROM softdelete.with_trash(NULL::recipes_note)"
                 "         WHERE is_deleted IS DISTINCT FROM (deleted_at IS NOT NULL)),"
                 "       (SELECT count(*) FROM softdelete.with_trash(NULL::recipes_post)"
                 "         WHERE is_deleted IS DISTINCT FROM (deleted_at IS NOT NULL)),"
                 "       (SELECT count(*) FROM softdelete.with_trash(NULL::recipes_comment)"
                 "         WHERE is_deleted IS DISTINCT FROM (deleted_at IS NOT NULL))")[0]

    def in_step(when):
        t.eq(out_of_step(), (0, 0, 0, 0),
             "%s: flag and stamp in step on every row of the four tables" % when)

    in_step("after migrate")
    t.eq(q("SELECT rows, tables::text[], table_rows FROM softdelete.deletions"
           " WHERE tables <> '{recipes_account}'::regclass[]"),
         [(5, ["recipes_textbook", "recipes_note", "recipes_post"], [2, 2, 1])],
         "migration 0003 trashed the rows the old code had flagged: one deletion,"
         " one journal entry")

    # ================= recipe 1: active ==================================================
    t.eq(titles(Textbook.objects.all()), ["t1", "t2", "t3"],
         "Textbook.objects: the live rows; the rows the old code had made inactive are trashed")
    t1 = Textbook.objects.get(title="t1")
    t1_id = t1.pk
    t.eq(t1.delete(), (1, {"recipes.Textbook": 1}), "textbook.delete() returns (1, ...)")
    t.eq(titles(Textbook.objects.all()), ["t2", "t3"], "Textbook.objects no longer shows it")
    t.eq(titles(Textbook.objects.filter(active=True)), ["t2", "t3"],
         "the old filter(active=True) still means the same")
    t.eq(Textbook.objects.filter(title="t2").update(active=False), 1,
         "the old bulk delete, update(active=False), returns 1")
    t.eq(titles(Textbook.objects.all()), ["t3"], "and it is a soft delete: t2 is gone")
    t.eq(q("SELECT title, active, deleted_at IS NOT NULL"
           " FROM softdelete.trash(NULL::recipes_textbook) ORDER BY title"),
         [("t1", False, True), ("t2", False, True), ("t4", False, True), ("t5", False, True)],
         "softdelete.trash: t1, t2 (and t4, t5 from before), active false, stamped")
    in_step("after delete() and update(active=False)")

    t.eq(Textbook.objects.filter(pk=t1_id).update(active=True), 0,
         "the old restore, update(active=True), finds nothing: the row is in the trash")
    t.eq(one("SELECT active FROM softdelete.trash(NULL::recipes_textbook) WHERE id = %s",
             [t1_id]), False, "and t1 stays there")
    t.eq(one("SELECT softdelete.restore('recipes_textbook', %s)", [t1_id]), 1,
         "softdelete.restore('recipes_textbook', id) returns 1")
    t.eq(Textbook.objects.get(pk=t1_id).active, True, "t1 is back, active")
    t.eq(one("SELECT softdelete.hard_delete('recipes_textbook', %s, cascade => true)", [t1_id]), 1,
         "delete(hard=True) is softdelete.hard_delete(..., cascade => true): 1")
    t.eq(one("SELECT count(*) FROM softdelete.with_trash(NULL::recipes_textbook) WHERE id = %s",
             [t1_id]), 0, "t1 is gone for good")
    in_step("after restore and hard_delete")

    # ================= recipe 4: is_deleted only ===========================================
    t.eq(titles(Note.objects.all(), "text"), ["n1", "n2"],
         "Note.objects: the live notes; the ones soft_delete() had flagged are trashed")
    n1 = Note.objects.get(text="n1")
    n1_id = n1.pk
    t.eq(n1.delete(), (1, {"recipes.Note": 1}), "soft_delete() is delete(): (1, ...)")
    t.eq(titles(Note.objects.filter(is_deleted=False), "text"), ["n2"],
         "the old filter(is_deleted=False) sees what Note.objects sees")
    t.eq(q("SELECT text, is_deleted FROM softdelete.trash(NULL::recipes_note) ORDER BY text"),
         [("n1", True), ("n3", True), ("n4", True)], "the trash, is_deleted true on each")
    t.eq(one("SELECT softdelete.restore('recipes_note', ARRAY(SELECT id FROM"
             " softdelete.trash(NULL::recipes_note) WHERE text IN ('n3', 'n4')))"), 2,
         "softdelete.restore('recipes_note', ARRAY[...]) brings back the old code's: 2")
    t.eq(one("SELECT softdelete.restore('recipes_note', %s)", [n1_id]), 1,
         "softdelete.restore('recipes_note', id): 1")
    t.eq(q("SELECT text, is_deleted, deleted_at IS NULL"
           " FROM softdelete.with_trash(NULL::recipes_note) ORDER BY text"),
         [("n1", False, True), ("n2", False, True), ("n3", False, True), ("n4", False, True)],
         "every note live again, is_deleted false")
    def save_changed():
        n = Note.objects.get(text="n2")
        n.is_deleted = True
        n.text = "changed"
        with transaction.atomic():
            n.save()

    e = t.raises(NotSupportedError, save_changed,
                 "save() that sets the flag and changes another field is refused")
    t.eq(sqlstate(e), "0A000", "SQLSTATE 0A000")
    t.eq(q("SELECT text, is_deleted FROM softdelete.with_trash(NULL::recipes_note)"
           " WHERE text IN ('n2', 'changed')"), [("n2", False)], "nothing changed")
    n2 = Note.objects.get(text="n2")
    n2.is_deleted = True
    n2.save()       # the old soft_delete(): an UPDATE of every field, the flag set
    t.eq((titles(Note.objects.all(), "text"),
          q("SELECT is_deleted, deleted_at IS NOT NULL FROM softdelete.trash(NULL::recipes_note)")),
         (["n1", "n3", "n4"], [(True, True)]),
         "the old soft_delete() (is_deleted = True; save()) left in the code is a soft delete")

    def create_trashed():
        with transaction.atomic():
            Note.objects.create(text="n9", is_deleted=True)

    e = t.raises(IntegrityError, create_trashed, "a note created already deleted is refused")
    t.eq(sqlstate(e), "23514", "SQLSTATE 23514 (check constraint softdelete_flag_in_step)")
    t.eq(one("SELECT count(*) FROM softdelete.with_trash(NULL::recipes_note)"), 4,
         "nothing inserted")

    # ================= recipe 2: is_deleted + deleted_at, a CASCADE child ================
    t.eq(titles(Post.objects.all()), ["p1", "p2"],
         "Post.objects: the live posts; p3 (stamped) and p4 (only flagged) are trashed")
    t.eq(titles(Comment.objects.all(), "body"), ["c1", "c2", "c4"], "Comment.objects likewise")
    p1_id = p1.pk
    with transaction.atomic():
        q("SET LOCAL enable_seqscan = off")
        plan = Post.objects.filter(is_deleted=False, title="p2").explain()
    t.ok("recipes_post_live_title" in plan,
         "the recipe's own partial index (WHERE NOT is_deleted) serves filter(is_deleted=False)",
         plan)
    t.eq(p1.delete(), (3, {"recipes.Comment": 2, "recipes.Post": 1}),
         "post.delete() returns (3, ...): Django deletes the 2 live comments, then the post")
    t.eq(titles(Post.objects.filter(is_deleted=False)), ["p2"],
         "the old filter(is_deleted=False) sees what Post.objects sees")
    t.eq(titles(Post.objects.all()), ["p2"], "Post.objects no longer shows p1")
    t.eq(q("SELECT body, is_deleted FROM softdelete.trash(NULL::recipes_comment) ORDER BY body"),
         [("c1", True), ("c2", True), ("c3", True), ("c5", True)],
         "the trash of comments, is_deleted true on each")
    t.eq(one("SELECT count(DISTINCT deleted_at) FROM ("
             " SELECT deleted_at FROM softdelete.trash(NULL::recipes_post) WHERE id = %s"
             " UNION ALL SELECT deleted_at FROM softdelete.trash(NULL::recipes_comment)"
             "  WHERE post_id = %s AND body <> 'c3') x", [p1_id, p1_id]), 1,
         "the post and its 2 comments share one stamp (one transaction)")
    in_step("after post.delete()")
    t.eq(one("SELECT softdelete.restore('recipes_post', %s)", [p1_id]), 3,
         "softdelete.restore('recipes_post', id) returns 3: the post and its 2 comments")
    t.eq(titles(Comment.objects.filter(post_id=p1_id), "body"), ["c1", "c2"],
         "c3, deleted earlier on its own, stays in the trash")
    t.eq(one("SELECT softdelete.restore('recipes_post', %s)", [p3.pk]), 1,
         "the old code's deletion of p3: restore brings back the post (1)")
    t.eq(one("SELECT softdelete.restore('recipes_comment', ARRAY[%s])", [c5.pk]), 1,
         "and its comment, stamped a millisecond later by the old code, by its own key (1)")
    t.eq(titles(Post.objects.all()), ["p1", "p2", "p3"], "Post.objects sees p1, p2, p3")
    in_step("after restore")

    def hard_cascade():
        with transaction.atomic():
            q("SELECT softdelete.hard_delete('recipes_post', %s, cascade => true)", [p1_id])

    e = t.raises(IntegrityError, hard_cascade,
                 "hard_delete(cascade => true) of a post with live comments fails:"
                 " Django declares the key NO ACTION, not CASCADE")
    t.eq(sqlstate(e), "23503", "SQLSTATE 23503")
    t.eq(titles(Comment.objects.filter(post_id=p1_id), "body"), ["c1", "c2"], "nothing changed")
    with transaction.atomic():
        n = Post.objects.get(pk=p1_id).delete()
        m = one("SELECT softdelete.hard_delete('recipes_post', %s)", [p1_id])
    t.eq((n[0], m), (3, 4),
         "delete(hard=True) for Django: delete(), then hard_delete() in one transaction"
         " removes the post and its trashed comments (c3 too): 4")
    t.eq(q("SELECT count(*) FROM softdelete.with_trash(NULL::recipes_comment) WHERE post_id = %s",
           [p1_id]), [(0,)], "no comment of p1 is left, live or trashed")
    in_step("after the hard deletes")

    connection.close()


with Sandbox("djrecipes") as sb:
    try:
        main(sb)
    except Exception:  # noqa: BLE001
        t.crash("test_django_recipes")
    finally:
        try:
            from django.db import connections
            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
t.done()
