"""A minimal Django app for clients/test_django.py (label "app": tables app_author, app_book)."""
