from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=40)
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "app"


class Book(models.Model):
    # Django declares the key NO ACTION DEFERRABLE INITIALLY DEFERRED and
    # deletes the books itself (its collector), before the author.
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=40)
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "app"


class Review(models.Model):
    # a model with a post_delete receiver (see test_django.py): Django's
    # collector then loads the rows and deletes them by primary key instead
    # of one "fast" DELETE ... WHERE author_id IN (...)
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField()
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "app"
