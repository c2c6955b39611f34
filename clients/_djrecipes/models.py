"""Four of the recipes' models after README "Coming from the recipes".

What is gone from each recipe: the custom managers and querysets, the
delete()/soft_delete()/restore()/hard_delete() overrides, the cascade walker,
the unique-suffix code.  What stays: the fields, as they were, so that the
schema does not change.  The database does the rest (migrations 0002, 0003).
"""
from django.db import models


class Textbook(models.Model):
    # recipe 1: `active` is true while the row is live (softdelete.enable(...,
    # live_flag => 'active') keeps it in step); enable adds deleted_at, which
    # the model need not declare.
    title = models.CharField(max_length=80)
    active = models.BooleanField(default=True, db_index=True)

    class Meta:
        app_label = "recipes"


class Note(models.Model):
    # recipe 4: only is_deleted; its soft_delete() and every hand-written
    # filter(is_deleted=False) are gone (softdelete.enable(..., deleted_flag
    # => 'is_deleted') adds deleted_at).
    text = models.CharField(max_length=80)
    is_deleted = models.BooleanField(default=False, db_index=True)

    class Meta:
        app_label = "recipes"


class Post(models.Model):
    # recipe 2: is_deleted and deleted_at, both kept
    # (softdelete.enable(..., deleted_flag => 'is_deleted')).
    title = models.CharField(max_length=80)
    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "recipes"
        # the recipe's own partial index for its hand-written filter
        indexes = [models.Index(fields=["title"], name="recipes_post_live_title",
                                condition=models.Q(is_deleted=False))]


class Comment(models.Model):
    # Django declares the key NO ACTION DEFERRABLE INITIALLY DEFERRED and its
    # collector deletes the comments itself, in the post's transaction: one
    # deletion, one stamp, one restore.
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    body = models.CharField(max_length=80)
    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "recipes"


class Account(models.Model):
    # recipe 3: a unique value that a deleted row gives up
    # (softdelete.unique_among_live('recipes_account')): no suffix trick.
    email = models.EmailField(unique=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "recipes"
